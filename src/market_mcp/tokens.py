"""What a token looks like and how it is stored (its SHA-256): stdlib only, so that a starting stdio server
can check its token's scope before the store's modules are imported (market_mcp.front)."""

from __future__ import annotations

import hashlib

TOKEN_PREFIX = "mk_org_"
ACCESS_TOKEN_PREFIX = "mk_at_"  # a connector's OAuth access token (market_mcp.oauth)


def hash_token(raw: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()
