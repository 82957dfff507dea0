"""The audit log: every write and every refused write, with the token that made it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from market_mcp.auth import OrgContext, without_tokens
from market_mcp.db.tables import AuditEntry
from market_mcp.schemas.audit import AuditEntryOut
from market_mcp.schemas.common import Page
from market_mcp.services import ranges
from market_mcp.services.scope import count, scoped

# Contact details and secrets never reach the audit log.
_REDACTED_KEYS = {"email", "phone", "contact_name", "to"}
_MAX_ARGUMENT_CHARS = 500
_MAX_ARGUMENTS_JSON = 8000
SHOWN_RECORDS = 20  # a bulk cancel touches a thousand: the count says so, its arguments name them


def _redact(value: Any) -> Any:
    """The arguments without contact details or secrets, at any depth, and with long text shortened."""
    if isinstance(value, dict):
        kept = {
            _short(str(key)): "[redacted]" if _secret_or_contact(str(key)) else _redact(item)
            for key, item in list(value.items())[:50]
        }
        return kept | {"…": f"{len(value) - 50} more"} if len(value) > 50 else kept
    if isinstance(value, list):
        kept = [_redact(item) for item in value[:50]]
        return kept + [f"… {len(value) - 50} more"] if len(value) > 50 else kept
    if isinstance(value, str):
        return _short(value)
    return value


def _short(text: str) -> str:
    text = without_tokens(text).replace("\x00", "\\u0000")  # PostgreSQL stores no NUL, even in JSON
    return text[:_MAX_ARGUMENT_CHARS] + "…" if len(text) > _MAX_ARGUMENT_CHARS else text


def _bounded(arguments: dict[str, Any]) -> dict[str, Any]:
    """Arguments of a sane size as they are; a refused call's megabytes as a short excerpt of each argument."""
    if len(json.dumps(arguments, default=str)) <= _MAX_ARGUMENTS_JSON:
        return arguments
    excerpts = {key: json.dumps(value, default=str) for key, value in arguments.items()}
    return {key: text if len(text) <= 200 else text[:200] + "…" for key, text in excerpts.items()}


def _secret_or_contact(key: str) -> bool:
    key = key.lower()
    return key in _REDACTED_KEYS or any(word in key for word in ("token", "password", "email", "phone"))


def record(org: OrgContext, tool: str, arguments: dict[str, Any], outcome: str) -> None:
    touched = list(dict.fromkeys(org.touched))
    org.session.add(
        AuditEntry(
            organization_id=org.organization_id,
            token_id=org.token_id,
            token_name=org.token_name,
            tool=tool,
            outcome=outcome,
            records=touched[:1000],  # each once, in the order first touched
            record_count=len(touched),
            arguments=_bounded(_redact(arguments)),
        )
    )


async def list_audit_log(
    org: OrgContext,
    *,
    tool: str | None,
    since: datetime | None,
    from_date: date | None = None,
    to_date: date | None = None,
    limit: int,
    offset: int,
) -> Page[AuditEntryOut]:
    stmt = scoped(org, AuditEntry).where(*ranges.at_moments(org, AuditEntry.created_at, from_date, to_date))
    if tool:
        stmt = stmt.where(AuditEntry.tool == tool)
    if since:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)  # no offset given: UTC
        stmt = stmt.where(AuditEntry.created_at >= since)
    total = await count(org, stmt)
    rows = (
        (await org.session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))).scalars().all()  # type: ignore[union-attr]
    )
    items = [
        AuditEntryOut(
            id=row.id,  # type: ignore[arg-type]
            created_at=row.created_at,
            tool=row.tool,
            token_name=row.token_name,
            outcome=row.outcome,
            records=row.records[:SHOWN_RECORDS],
            record_count=len(row.records) if row.record_count is None else row.record_count,
            arguments=row.arguments,
        )
        for row in rows
    ]
    return Page.of(items, total=total, limit=limit, offset=offset)
