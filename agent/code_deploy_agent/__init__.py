"""The host agent of sam-code-deploy: runs on each host, learns its target build from its group's goal in its
region, fetches and verifies the artifact, installs it with its lifecycle hooks and reports the outcome.
The contract with the region is docs/agent.md."""

AGENT_VERSION = "0.1.0"
