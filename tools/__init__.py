"""Scripts that drive the deployed stack from outside: the demo, event invocation, stack outputs."""
