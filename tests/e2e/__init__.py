"""End-to-end and performance checks (make e2e): whole runs of the load tool and the benchmark against
the stack deployed on the emulator. They find the stack as the integration tests do (tests/conftest.py)."""
