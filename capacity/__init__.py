"""The capacity and cost model (`make capacity`, `python -m capacity`): what the system does, costs and
meets as it grows, on paper. The model itself (model), the templates' settings it reads (templates), its
scenarios, the assumptions it measures on the code and the dated price and quota tables (scenarios), the
printed tables, the sweep over hosts and its plot (report); the entry point is __main__. Its results sit
beside it: results.json, plots/, and the price and quota tables it reads.

Not part of the layer: no function needs it, and every function's cold start would unpack it."""
