"""How failures that are nobody's fault reach the caller: a clear 409 to retry, never a 500."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from market_mcp.config import Settings
from market_mcp.db import Database
from market_mcp.server import build_server


class _PostgresError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    "error",
    [
        DBAPIError("UPDATE booking …", {}, _PostgresError("40P01")),  # deadlock detected
        DBAPIError("UPDATE booking …", {}, _PostgresError("40001")),  # could not serialize access
        OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")),
    ],
    ids=["postgres deadlock", "postgres serialisation", "sqlite busy"],
)
def test_contention_between_transactions_is_a_409_to_retry(error: Exception) -> None:
    server = build_server(
        Settings(database_url="sqlite+aiosqlite:///:memory:"), db=Database("sqlite+aiosqlite:///:memory:")
    )
    try:
        raise RuntimeError("tool failed") from error
    except RuntimeError as wrapped:
        payload = server._refusal("cancel_booking", wrapped)
    assert payload == {
        "error": "Another change to the same records was being saved at the same moment; nothing was saved. Try again.",
        "code": 409,
    }
    assert "UPDATE" not in payload["error"]
