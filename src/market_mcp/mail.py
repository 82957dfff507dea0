"""Outbox delivery over SMTP.

Emails are rows written in the transaction that caused them (services/emails.py); this module sends
the queued ones after commit. Each email goes through three steps, and no write transaction is ever
held across network I/O (a SQLite write holds the database lock for everyone):

1. claim: a short write transaction adds one to `attempts`, only if the row is still queued and its
   attempts are what we read; if no row changes, another worker has it and we move on;
2. send with aiosmtplib, outside any transaction;
3. record: a short write transaction marks the email sent, failed, or still queued with the error and
   a retry scheduled (retries back off in memory: base_delay * 2**(attempts-1), at most 300 s).

A claimed email stays `queued` while it is in flight (there is no `sending` status), so a worker only
claims a row it has not claimed itself when nobody has touched it (attempts 0), or when its attempts
have not moved for longer than a send can take: then the worker that claimed it is presumed gone.

Guarantee: an email is sent once, by this process or by concurrent workers on the same database. A
crash between sending and recording can send it again, so across crashes delivery is at-least-once:
every message carries `Message-ID: <market-mcp-email-{id}@{domain}>` so a receiver can drop the copy.

An email may name a document to attach (`attachment`, e.g. receipt:12): it is rendered from the store when the
email is sent (services.invoices; a receipt's payment row never changes, so neither does the PDF) and attached
as application/pdf. One that cannot be rendered fails the email for good, with the reason recorded.

Passwords and user names from the SMTP URL never appear in logs or in an email's recorded error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import aiosmtplib
import anyio
from anyio.abc import TaskStatus
from sqlalchemy import select, update

from market_mcp.db import Database
from market_mcp.db.tables import Email, Organization
from market_mcp.db.types import utcnow
from market_mcp.errors import MarketError

logger = logging.getLogger("market_mcp.mail")

DEFAULT_FROM = "market-mcp@localhost"
BATCH_SIZE = 50
MAX_BACKOFF = 300.0
ERROR_LIMIT = 1000
_URL_SHAPE = "smtp://[user:pass@]host[:port][?from=addr&starttls=true] or smtps://[user:pass@]host[:port][?from=addr]"
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class SmtpConfig:
    hostname: str
    port: int
    use_tls: bool = False  # smtps://: TLS from the first byte
    start_tls: bool = False  # smtp://…?starttls=true: upgrade a plain connection
    from_address: str = DEFAULT_FROM
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def redacted_url(self) -> str:
        """The server, safe to log: no credentials."""
        return f"{'smtps' if self.use_tls else 'smtp'}://{self.hostname}:{self.port}"

    @property
    def from_domain(self) -> str:
        return self.from_address.rpartition("@")[2]

    def redact(self, text: str) -> str:
        """Text with the credentials blanked out, in case a server or library echoes them."""
        for secret in (self.password, self.username):
            if secret:
                text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
        return text


def parse_smtp_url(url: str) -> SmtpConfig:
    """Parse MARKET_MCP_SMTP_URL. Error messages never repeat the URL: it may hold a password."""

    def bad(problem: str) -> ValueError:
        return ValueError(f"Bad SMTP URL: {problem}. Expected {_URL_SHAPE}.")

    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise bad("the port must be a number from 1 to 65535") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise bad("it must start with smtp:// or smtps://")
    if not parts.hostname:
        raise bad("it has no host name")
    if port == 0:
        raise bad("the port must be a number from 1 to 65535")
    if parts.path not in ("", "/") or parts.fragment:
        raise bad("it must not have a path")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if (username is None) != (password is None):
        raise bad("give both a user name and a password, or neither")

    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - {"from", "starttls"})
    if unknown:
        raise bad(f"unknown option {unknown[0]!r} (the options are from and starttls)")
    start_tls = _BOOLEANS.get(options.get("starttls", "false").lower())
    if start_tls is None:
        raise bad("starttls must be true or false")
    use_tls = parts.scheme == "smtps"
    if use_tls and start_tls:
        raise bad("smtps:// is already encrypted; use starttls=true only with smtp://")
    from_address = options.get("from", DEFAULT_FROM).strip()
    name, address = parseaddr(from_address)
    local, at, domain = address.rpartition("@")
    if name or address != from_address or not (local and at and domain):
        raise bad("from must be a plain email address such as markets@example.com")

    return SmtpConfig(
        hostname=parts.hostname,
        port=port or (465 if use_tls else 25),
        use_tls=use_tls,
        start_tls=start_tls,
        from_address=from_address,
        username=username,
        password=password,
    )


@dataclass
class DeliveryReport:
    """What one pass over the outbox did: emails sent, given up on, and left queued for a retry."""

    sent: int = 0
    failed: int = 0
    retried: int = 0


class _Queued(NamedTuple):
    id: int
    attempts: int
    to: str
    subject: str
    body: str
    organization_name: str
    organization_id: int
    attachment: str | None


class _Pending(NamedTuple):
    attempts: int  # the row's attempts when scheduled; if the row's count has moved on, another worker claimed it
    due_at: float  # on the Mailer's clock


class Mailer:
    """Sends the outbox. One per server process; `run` is its worker loop, `kick` wakes it."""

    def __init__(
        self,
        db: Database,
        smtp_url: str,
        *,
        max_attempts: int = 5,
        base_delay: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        poll_interval: float = 30.0,
        send_timeout: float = 30.0,
    ) -> None:
        self.db = db
        self.config = parse_smtp_url(smtp_url)
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.poll_interval = poll_interval
        self.send_timeout = send_timeout
        # A claim nobody has recorded after this long belongs to a worker that is gone
        # (a send is cut off at send_timeout; the margin covers recording it).
        self.abandoned_after = 2 * send_timeout + 30.0
        self._clock = clock
        self._pending: dict[int, _Pending] = {}
        self._lock = anyio.Lock()
        self._wake = anyio.Event()
        logger.info("Outbox delivery via %s, from %s", self.config.redacted_url, self.config.from_address)

    def kick(self) -> None:
        """Wake the worker: mail was queued. Call it from the event loop after the write commits."""
        self._wake.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Deliver what is due now, then whenever kicked or every poll_interval, until cancelled."""
        task_status.started()
        while True:
            try:
                await self.deliver_due()
            except Exception:
                logger.exception("Outbox delivery pass failed; trying again in %s s", self.poll_interval)
            with anyio.move_on_after(self.poll_interval):
                await self._wake.wait()
            # No await since wait() returned, so a kick from now on lands on the new event.
            self._wake = anyio.Event()

    async def deliver_due(self) -> DeliveryReport:
        """Send every queued email that is due, in id order, in batches."""
        report = DeliveryReport()
        async with self._lock:  # one pass at a time: the run loop and a direct call share the schedule
            queued: set[int] = set()
            after = 0
            while True:
                batch = await self._queued_after(after)
                for email in batch:
                    queued.add(email.id)
                    if self._is_due(email):
                        await self._deliver(email, report)
                if len(batch) < BATCH_SIZE:
                    break
                after = batch[-1].id
            # Forget emails that are no longer queued (sent or failed, here or elsewhere).
            self._pending = {i: p for i, p in self._pending.items() if i in queued}
        return report

    def _is_due(self, email: _Queued) -> bool:
        if email.attempts == 0:
            return True  # nobody has ever claimed it
        pending = self._pending.get(email.id)
        if pending is None or pending.attempts != email.attempts:
            # Claimed by another worker (or before a restart) that may be sending it right now.
            self._pending[email.id] = _Pending(email.attempts, self._clock() + self.abandoned_after)
            return False
        return self._clock() >= pending.due_at

    async def _deliver(self, email: _Queued, report: DeliveryReport) -> None:
        claimed = email.attempts + 1
        if not await self._claim(email.id, seen=email.attempts):
            self._pending.pop(email.id, None)  # another worker has it
            return
        # In flight: if we are interrupted before recording, treat this claim like anyone else's.
        self._pending[email.id] = _Pending(claimed, self._clock() + self.abandoned_after)
        error, permanent = await self._send(email)
        with anyio.CancelScope(shield=True):  # a sent email left unrecorded would be sent again
            if error is None:
                await self._record(email.id, claimed, status="sent", sent_at=utcnow(), error=None)
                self._pending.pop(email.id, None)
                report.sent += 1
                logger.info("Email %s sent", email.id)
            elif permanent or claimed >= self.max_attempts:
                await self._record(email.id, claimed, status="failed", error=error)
                self._pending.pop(email.id, None)
                report.failed += 1
                logger.error("Email %s failed after %s attempt(s): %s", email.id, claimed, error)
            else:
                await self._record(email.id, claimed, error=error)
                delay = min(self.base_delay * 2 ** (claimed - 1), MAX_BACKOFF)
                self._pending[email.id] = _Pending(claimed, self._clock() + delay)
                report.retried += 1
                logger.warning("Email %s not sent (attempt %s), retrying in %s s: %s", email.id, claimed, delay, error)

    async def _queued_after(self, after: int) -> list[_Queued]:
        stmt = (
            select(
                Email.id,
                Email.attempts,
                Email.to,
                Email.subject,
                Email.body,
                Organization.name,
                Email.organization_id,
                Email.attachment,
            )
            .join(Organization, Organization.id == Email.organization_id)  # type: ignore[arg-type]
            .where(Email.status == "queued", Email.id > after)  # type: ignore[operator]
            .order_by(Email.id)
            .limit(BATCH_SIZE)
        )
        async with self.db.transaction() as session:
            return [_Queued(*row) for row in await session.execute(stmt)]

    async def _claim(self, email_id: int, *, seen: int) -> bool:
        stmt = (
            update(Email)
            .where(Email.id == email_id, Email.status == "queued", Email.attempts == seen)  # type: ignore[arg-type]
            .values(attempts=Email.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        async with self.db.transaction(write=True) as session:
            return (await session.execute(stmt)).rowcount == 1  # type: ignore[attr-defined]

    async def _record(self, email_id: int, claimed: int, **values: object) -> None:
        stmt = (
            update(Email)
            .where(Email.id == email_id, Email.status == "queued", Email.attempts == claimed)  # type: ignore[arg-type]
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        async with self.db.transaction(write=True) as session:
            if (await session.execute(stmt)).rowcount != 1:  # type: ignore[attr-defined]
                logger.warning("Email %s changed while it was being sent; its outcome was not recorded", email_id)

    async def _send(self, email: _Queued) -> tuple[str | None, bool]:
        """None if the server took it, else (the error, whether it is permanent)."""
        try:
            document = await self._document(email)
        except (MarketError, ValueError) as exc:  # e.g. its payment is gone: no retry will bring it back
            reason = exc.message if isinstance(exc, MarketError) else str(exc)
            return self._error(f"Cannot render its attachment {email.attachment}: {reason}"), True
        try:
            message = self._message(email, document)
        except ValueError as exc:  # e.g. a line break in a header: no retry will fix it
            return self._error(f"Cannot build the message: {exc}"), True
        config = self.config
        try:
            with anyio.fail_after(self.send_timeout):  # the whole conversation, not just each reply
                await aiosmtplib.send(
                    message,
                    sender=config.from_address,
                    recipients=[email.to],
                    hostname=config.hostname,
                    port=config.port,
                    username=config.username,
                    password=config.password,
                    use_tls=config.use_tls,
                    start_tls=config.start_tls,
                    timeout=self.send_timeout,
                )
        except TimeoutError:
            return self._error(f"No answer from {config.redacted_url} within {self.send_timeout:g} s"), False
        except (aiosmtplib.SMTPException, OSError) as exc:
            text, permanent = _describe(exc)
            return self._error(text), permanent
        return None, False

    async def _document(self, email: _Queued) -> tuple[str, bytes] | None:
        """The email's attachment, rendered now: (file name, PDF), or None."""
        if email.attachment is None:
            return None
        from market_mcp.services import invoices  # the services only when there is something to render

        async with self.db.transaction() as session:
            return await invoices.attachment(session, email.organization_id, email.attachment)

    def _message(self, email: _Queued, document: tuple[str, bytes] | None = None) -> EmailMessage:
        message = EmailMessage()
        display_name = " ".join(email.organization_name.split())
        message["From"] = Address(display_name=display_name, addr_spec=self.config.from_address)
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = f"<market-mcp-email-{email.id}@{self.config.from_domain}>"
        message.set_content(email.body)
        if document is not None:
            filename, pdf = document
            message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
        return message

    def _error(self, text: str) -> str:
        return self.config.redact(text)[:ERROR_LIMIT]


def _describe(exc: Exception) -> tuple[str, bool]:
    """The error as a person would read it, and whether retrying is pointless.

    Permanent: the server refused the recipient (or this message) with a 5xx reply. Anything else,
    including 5xx for our sender or our login, is retried: it is ours to fix, not the vendor's.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refusals = exc.recipients
        text = "; ".join(f"SMTP {r.code} {r.message}" for r in refusals)
        return text, bool(refusals) and all(r.code >= 500 for r in refusals)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return f"SMTP {exc.code} {exc.message}", exc.code >= 500
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"SMTP {exc.code} {exc.message}", False
    return str(exc) or type(exc).__name__, False
