"""A deployment's id: what one looks like (the API's paths check it) and how one is made. Apart from the
deployment's rules, so the API's cold start reads it without the swarm model they use."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

DEPLOYMENT_ID_PATTERN = r"^deploy-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"
DEPLOYMENT_ID_RULE = "deploy-<UTC time as YYYYMMDDTHHMMSSZ>-<8 lowercase hex digits>"


def new_deployment_id(now: datetime | None = None, unique: str | None = None) -> str:
    """Sorts by creation time; `unique` (an AutoDeploy's replication) makes it the same on a retry."""
    now = now or datetime.now(UTC)
    suffix = hashlib.sha256(unique.encode()).hexdigest()[:8] if unique else secrets.token_hex(4)
    return f"deploy-{now:%Y%m%dT%H%M%SZ}-{suffix}"
