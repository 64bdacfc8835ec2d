"""The domain of sam-code-deploy: what a build is, how an artifact is laid out, how buckets are named,
how a rollout spreads through a region's hosts, and how a build's status reads.

Plain Python that the Lambda handlers call with explicit arguments and that unit tests call without AWS.
The package is shipped to every function once, as the SAM layer built from this folder.
"""
