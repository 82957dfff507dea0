"""The server's scheduler: what is due by the clock rather than by a call. Today that is payment deadlines
(services/deadlines.py): every `deadline_check_seconds`, for each active organisation, the reminders due and the
release of unpaid bookings where a market asks for it; and reminders of compliance documents near expiry
(services/compliance.py), each in its own transaction and audit entry ("document_reminders").

Each organisation's pass is one write transaction with one audit entry (token "scheduler") when it changed
anything, so an organiser's list_audit_log shows what was released and when. The pass is idempotent and runs in
every server process (several on one store do the work once); a failure in one organisation is logged and the
others go on. It reads the server's clock, so tests move the clock instead of waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

import anyio
from anyio.abc import TaskStatus
from sqlalchemy import select

from market_mcp.auth import OrgContext
from market_mcp.db import Database
from market_mcp.db.tables import Organization
from market_mcp.services import audit, compliance, deadlines

logger = logging.getLogger("market_mcp.scheduler")

ACTOR = "scheduler"


async def run_once(
    db: Database, clock: Callable[[], datetime], *, email_delivery: bool, public_url: str | None = None
) -> int:
    """One pass over every active organisation; returns the emails it queued."""
    async with db.transaction() as session:
        found = (
            await session.execute(
                select(
                    Organization.id, Organization.name, Organization.slug, Organization.currency, Organization.timezone
                )
                .where(Organization.status == "active")
                .order_by(Organization.id)
            )
        ).all()
    queued = 0
    for org_id, name, slug, currency, timezone in found:
        as_scheduler = partial(
            OrgContext,
            organization_id=org_id,
            organization_name=name,
            organization_slug=slug,
            currency=currency,
            timezone=timezone,
            token_id=None,  # no token: the audit entry names the scheduler
            token_name=ACTOR,
            scope="write",
            clock=clock,
            email_delivery=email_delivery,
            public_url=public_url,
        )
        try:
            async with db.transaction(write=True) as session:
                org = as_scheduler(session=session)
                reminded, released = await deadlines.run(org)
                if org.touched:
                    arguments = {
                        "reminders_queued": reminded,
                        "released_orders": [r.order_id for r in released.released or ()],
                    }
                    audit.record(org, "payment_deadlines", arguments, "ok")
                queued += org.emails_queued
        except Exception:
            logger.exception("payment deadlines for organisation %s failed; the next pass tries again", slug)
        try:  # compliance documents near expiry: one reminder each (services/compliance.py)
            async with db.transaction(write=True) as session:
                org = as_scheduler(session=session)
                reminded = await compliance.send_reminders(org)
                if reminded:
                    audit.record(org, "document_reminders", {"reminders_queued": reminded}, "ok")
                queued += org.emails_queued
        except Exception:
            logger.exception("document reminders for organisation %s failed; the next pass tries again", slug)
    return queued


async def run(
    db: Database,
    clock: Callable[[], datetime],
    every: float,
    *,
    email_delivery: bool,
    queued: Callable[[], None],
    public_url: str | None = None,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Pass after pass, `every` seconds apart, until cancelled; `queued` is told when a pass queued email."""
    task_status.started()
    while True:
        # A pass is a few short transactions: one cancelled midway (the server stopping) left SQLAlchemy waiting
        # for an aiosqlite connection to close that never did, and the process never exited. So a pass, once
        # begun, finishes; the server stops while the scheduler sleeps.
        with anyio.CancelScope(shield=True):
            emailed = await run_once(db, clock, email_delivery=email_delivery, public_url=public_url)
        if emailed:
            queued()
        await anyio.sleep(every)
