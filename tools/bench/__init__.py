"""The benchmark (`make bench`, `python -m tools.bench`): one build's timing through the deployed pipeline
(timing), the emulator's floor (floor), the measurements on the deployed stack and the scaling sweeps
(measure) on scratch stacks (scratch), the targets (targets), the printed table (report), the plots
(plots) and py-spy profiles (profiling); the entry point is __main__."""
