"""deployctl: the command line (and the local dashboard) of sam-code-deploy's builds API."""
