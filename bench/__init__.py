"""The benchmark (`make bench`, `python -m bench`): one build's timing through the deployed pipeline
(timing), the emulator's floor (floor), the measurements on the deployed stack and the scaling sweeps
(measure) on scratch stacks (scratch), the targets (targets), the printed table (report), the plots
(plots), py-spy profiles (profiling), the functions' cold imports (cold_imports) and the dashboard's host
grid drawn in headless Chromium (host_grid); the entry point is __main__. Its results sit beside it:
results.json, plots/ and the profiles (profile/, not committed)."""
