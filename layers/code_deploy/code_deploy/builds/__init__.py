"""Builds: what a valid commit and a build id are, the artifact, the build's records and its lifecycle
from POST /builds to the global bucket, and the build's status as a client reads it."""
