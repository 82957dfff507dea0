"""Outbox delivery against a real SMTP server (aiosmtpd on a local port): once each, nothing lost."""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import anyio
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from market_mcp.auth import OrgContext, TokenIdentity
from market_mcp.db import Database
from market_mcp.db.tables import Email
from market_mcp.db.types import utcnow
from market_mcp.mail import DeliveryReport, Mailer, SmtpConfig, parse_smtp_url
from market_mcp.services.emails import queue_email
from tests.factories import Tenant

FROM = "markets@example.com"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class RecordingHandler:
    """An aiosmtpd handler that records what it accepts and can refuse or stall on demand."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.rcpt_replies: list[str] = []  # replies to give to the next RCPTs instead of accepting
        self.rcpt_attempts = 0
        self.hold: threading.Event | None = None  # when set up, DATA waits for it
        self.holding = threading.Event()  # set once a DATA is waiting on `hold`

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        self.rcpt_attempts += 1
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold is not None:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 10)
        message = message_from_bytes(envelope.content, policy=default_policy)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def free_port() -> int:
    # Not every aiosmtpd version accepts port=0, so ask the OS for a free port first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(handler: RecordingHandler, *, port: int | None = None, **smtp_options: Any) -> Iterator[int]:
    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port(), **smtp_options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
def smtp_port(handler: RecordingHandler) -> Iterator[int]:
    with smtp_server(handler) as port:
        yield port


@pytest.fixture
def smtp_url(smtp_port: int) -> str:
    return f"smtp://127.0.0.1:{smtp_port}?from={FROM}"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def identity(tenant: Tenant) -> TokenIdentity:
    return TokenIdentity(
        token_id=tenant.token_id,
        token_name=f"{tenant.slug} write",
        scope="write",
        last_used_at=None,
        organization_id=tenant.org_id,
        organization_name="Alice Markets",
        organization_slug=tenant.slug,
        currency="AUD",
        timezone="Australia/Melbourne",
    )


async def queue(
    tenant: Tenant,
    count: int = 1,
    *,
    to: str = "sam@example.com",
    subject: str = "See you Saturday",
    body: str = "Hi Sam,\n\nSee you at the market.",
) -> list[int]:
    """Queue `count` emails in one committed transaction; their ids."""
    async with tenant.db.transaction(write=True) as session:
        org = OrgContext.of(session, identity(tenant))
        emails = [queue_email(org, to=to, subject=subject, body=body, kind="market_message") for _ in range(count)]
    return [email.id for email in emails]  # type: ignore[misc]


async def stored(db: Database) -> list[Email]:
    async with db.transaction() as session:
        return list((await session.execute(select(Email).order_by(Email.id))).scalars())


async def eventually(condition: Callable[[], Any]) -> None:
    """Wait (at most 5 s) until condition() is true; it may be a coroutine function."""
    with anyio.fail_after(5):
        while not (await result if inspect.isawaitable(result := condition()) else result):
            await anyio.sleep(0.01)


def message_ids(handler: RecordingHandler) -> list[str]:
    return [r.message["Message-ID"] for r in handler.received]


def message_id(email_id: int) -> str:
    return f"<market-mcp-email-{email_id}@example.com>"


async def test_queued_emails_are_delivered_once_each_and_marked_sent(
    alice: Tenant, handler: RecordingHandler, smtp_url: str
) -> None:
    (first,) = await queue(alice, to="sam@example.com", subject="See you Saturday", body="Hi Sam,\n\nSee you at 8.")
    (second,) = await queue(alice, to="kim@example.com", subject="Your stall is confirmed", body="Hi Kim,\n\nStall 12.")
    before = utcnow()

    report = await Mailer(alice.db, smtp_url).deliver_due()

    assert report == DeliveryReport(sent=2, failed=0, retried=0)
    assert [
        (r.mail_from, r.rcpt_tos, r.message["From"], r.message["To"], r.message["Subject"], r.message["Message-ID"])
        for r in handler.received
    ] == [
        (
            FROM,
            ["sam@example.com"],
            f"Alice Markets <{FROM}>",
            "sam@example.com",
            "See you Saturday",
            message_id(first),
        ),
        (
            FROM,
            ["kim@example.com"],
            f"Alice Markets <{FROM}>",
            "kim@example.com",
            "Your stall is confirmed",
            message_id(second),
        ),
    ]
    # SMTP carries lines ending in CRLF; the text is the body as queued.
    assert [r.message.get_content().replace("\r\n", "\n") for r in handler.received] == [
        "Hi Sam,\n\nSee you at 8.\n",
        "Hi Kim,\n\nStall 12.\n",
    ]
    rows = await stored(alice.db)
    assert [(e.id, e.status, e.attempts, e.error) for e in rows] == [
        (first, "sent", 1, None),
        (second, "sent", 1, None),
    ]
    assert all(e.sent_at is not None and before <= e.sent_at <= utcnow() for e in rows)


async def test_delivering_again_sends_nothing_more(alice: Tenant, handler: RecordingHandler, smtp_url: str) -> None:
    await queue(alice, 2)
    mailer = Mailer(alice.db, smtp_url)
    await mailer.deliver_due()

    again = await mailer.deliver_due()
    from_a_new_process = await Mailer(alice.db, smtp_url).deliver_due()

    assert (again, from_a_new_process) == (DeliveryReport(), DeliveryReport())
    assert len(handler.received) == 2
    assert handler.rcpt_attempts == 2


async def test_an_email_queued_in_a_rolled_back_transaction_is_never_sent(
    alice: Tenant, handler: RecordingHandler, smtp_url: str
) -> None:
    with pytest.raises(RuntimeError):
        async with alice.db.transaction(write=True) as session:
            org = OrgContext.of(session, identity(alice))
            queue_email(org, to="lee@example.com", subject="Approved", body="Hi", kind="application_approved")
            raise RuntimeError("the change failed after the email was queued")
    (kept,) = await queue(alice)

    report = await Mailer(alice.db, smtp_url).deliver_due()

    assert report == DeliveryReport(sent=1)
    assert message_ids(handler) == [message_id(kept)]
    assert [r.rcpt_tos for r in handler.received] == [["sam@example.com"]]


async def test_a_temporary_refusal_is_retried_after_the_backoff_and_delivered_exactly_once(
    alice: Tenant, handler: RecordingHandler, smtp_url: str
) -> None:
    handler.rcpt_replies = ["451 try later", "451 try later"]
    (email_id,) = await queue(alice)
    clock = FakeClock()
    mailer = Mailer(alice.db, smtp_url, base_delay=2.0, clock=clock)

    assert await mailer.deliver_due() == DeliveryReport(retried=1)
    assert [(e.status, e.attempts, e.error, e.sent_at) for e in await stored(alice.db)] == [
        ("queued", 1, "SMTP 451 try later", None)
    ]

    clock.advance(1.9)  # first backoff is base_delay
    assert await mailer.deliver_due() == DeliveryReport()
    assert handler.rcpt_attempts == 1

    clock.advance(0.1)
    assert await mailer.deliver_due() == DeliveryReport(retried=1)
    assert [(e.status, e.attempts, e.error) for e in await stored(alice.db)] == [("queued", 2, "SMTP 451 try later")]

    clock.advance(3.9)  # second backoff is 2 * base_delay
    assert await mailer.deliver_due() == DeliveryReport()
    clock.advance(0.1)
    assert await mailer.deliver_due() == DeliveryReport(sent=1)
    assert await mailer.deliver_due() == DeliveryReport()

    assert handler.rcpt_attempts == 3
    assert message_ids(handler) == [message_id(email_id)]
    ((status, attempts, error, sent_at),) = [(e.status, e.attempts, e.error, e.sent_at) for e in await stored(alice.db)]
    assert (status, attempts, error, sent_at is not None) == ("sent", 3, None, True)


async def test_a_server_that_is_down_leaves_the_email_queued_with_the_error_and_nothing_is_lost(
    alice: Tenant, handler: RecordingHandler
) -> None:
    port = free_port()  # nothing listens here yet
    (email_id,) = await queue(alice)
    clock = FakeClock()
    mailer = Mailer(alice.db, f"smtp://127.0.0.1:{port}?from={FROM}", clock=clock)

    assert await mailer.deliver_due() == DeliveryReport(retried=1)
    ((status, attempts, error),) = [(e.status, e.attempts, e.error) for e in await stored(alice.db)]
    assert (status, attempts) == ("queued", 1)
    assert error is not None and error.startswith(f"Error connecting to 127.0.0.1 on port {port}")

    with smtp_server(handler, port=port):
        clock.advance(2.0)
        assert await mailer.deliver_due() == DeliveryReport(sent=1)
    assert message_ids(handler) == [message_id(email_id)]
    assert [(e.status, e.attempts, e.error) for e in await stored(alice.db)] == [("sent", 2, None)]


async def test_an_email_is_failed_after_max_attempts(alice: Tenant) -> None:
    port = free_port()
    await queue(alice)
    clock = FakeClock()
    mailer = Mailer(alice.db, f"smtp://127.0.0.1:{port}", max_attempts=3, base_delay=2.0, clock=clock)

    reports = [await mailer.deliver_due()]
    clock.advance(2.0)
    reports.append(await mailer.deliver_due())
    clock.advance(4.0)
    reports.append(await mailer.deliver_due())
    clock.advance(300.0)
    reports.append(await mailer.deliver_due())

    assert reports == [DeliveryReport(retried=1), DeliveryReport(retried=1), DeliveryReport(failed=1), DeliveryReport()]
    ((status, attempts, error, sent_at),) = [(e.status, e.attempts, e.error, e.sent_at) for e in await stored(alice.db)]
    assert (status, attempts, sent_at) == ("failed", 3, None)
    assert error is not None and error.startswith(f"Error connecting to 127.0.0.1 on port {port}")


async def test_a_permanent_refusal_fails_the_email_at_once(
    alice: Tenant, handler: RecordingHandler, smtp_url: str
) -> None:
    handler.rcpt_replies = ["550 5.1.1 no such mailbox"]
    await queue(alice, to="nobody@example.com")
    clock = FakeClock()
    mailer = Mailer(alice.db, smtp_url, clock=clock)

    assert await mailer.deliver_due() == DeliveryReport(failed=1)
    clock.advance(300.0)
    assert await mailer.deliver_due() == DeliveryReport()

    assert handler.rcpt_attempts == 1
    assert handler.received == []
    assert [(e.status, e.attempts, e.error, e.sent_at) for e in await stored(alice.db)] == [
        ("failed", 1, "SMTP 550 5.1.1 no such mailbox", None)
    ]


async def test_a_server_that_does_not_answer_is_given_up_on_after_the_send_timeout(
    alice: Tenant, handler: RecordingHandler, smtp_port: int, smtp_url: str
) -> None:
    handler.hold = threading.Event()
    await queue(alice)
    mailer = Mailer(alice.db, smtp_url, send_timeout=0.5)

    try:
        assert await mailer.deliver_due() == DeliveryReport(retried=1)
    finally:
        handler.hold.set()

    assert [(e.status, e.attempts, e.error) for e in await stored(alice.db)] == [
        ("queued", 1, f"No answer from smtp://127.0.0.1:{smtp_port} within 0.5 s")
    ]


async def test_an_email_that_cannot_be_written_as_a_message_fails_at_once(
    alice: Tenant, handler: RecordingHandler, smtp_url: str
) -> None:
    await queue(alice, subject="Two\nlines")

    assert await Mailer(alice.db, smtp_url).deliver_due() == DeliveryReport(failed=1)

    assert handler.rcpt_attempts == 0
    assert [(e.status, e.attempts, e.error) for e in await stored(alice.db)] == [
        ("failed", 1, "Cannot build the message: Header values may not contain linefeed or carriage return characters")
    ]


async def test_two_mailers_delivering_the_same_outbox_send_each_email_exactly_once(
    alice: Tenant, handler: RecordingHandler, smtp_url: str
) -> None:
    ids = await queue(alice, 60)  # more than one batch
    mailers = [Mailer(alice.db, smtp_url), Mailer(alice.db, smtp_url)]
    reports: list[DeliveryReport] = []

    async def deliver(mailer: Mailer) -> None:
        reports.append(await mailer.deliver_due())

    async with anyio.create_task_group() as tg:
        for mailer in mailers:
            tg.start_soon(deliver, mailer)

    assert sorted(message_ids(handler)) == sorted(message_id(i) for i in ids)
    assert sum(r.sent for r in reports) == 60 and sum(r.failed + r.retried for r in reports) == 0
    assert {(e.status, e.attempts) for e in await stored(alice.db)} == {("sent", 1)}


async def test_a_mailer_never_takes_an_email_another_mailer_is_sending(
    alice: Tenant, handler: RecordingHandler, smtp_url: str
) -> None:
    handler.hold = threading.Event()
    (email_id,) = await queue(alice)
    clock = FakeClock()
    sending, other = Mailer(alice.db, smtp_url), Mailer(alice.db, smtp_url, clock=clock)

    async with anyio.create_task_group() as tg:
        tg.start_soon(sending.deliver_due)
        assert await anyio.to_thread.run_sync(handler.holding.wait, 5)  # claimed, and mid-send
        assert await other.deliver_due() == DeliveryReport()
        clock.advance(other.abandoned_after)  # even once the claim looks old, it is sent by then
        handler.hold.set()
    assert await other.deliver_due() == DeliveryReport()

    assert message_ids(handler) == [message_id(email_id)]
    assert [(e.status, e.attempts) for e in await stored(alice.db)] == [("sent", 1)]


async def test_an_email_claimed_by_a_worker_that_died_is_sent_once_the_claim_is_abandoned(
    alice: Tenant, handler: RecordingHandler, smtp_url: str
) -> None:
    (email_id,) = await queue(alice)
    async with alice.db.transaction(write=True) as session:  # claimed, then the worker crashed
        await session.execute(update(Email).where(Email.id == email_id).values(attempts=1))  # type: ignore[arg-type]
    clock = FakeClock()
    mailer = Mailer(alice.db, smtp_url, clock=clock)

    assert await mailer.deliver_due() == DeliveryReport()
    clock.advance(mailer.abandoned_after - 1)
    assert await mailer.deliver_due() == DeliveryReport()
    clock.advance(1)
    assert await mailer.deliver_due() == DeliveryReport(sent=1)

    assert message_ids(handler) == [message_id(email_id)]
    assert [(e.status, e.attempts) for e in await stored(alice.db)] == [("sent", 2)]


async def test_the_worker_delivers_after_a_kick_without_waiting_for_the_poll_interval(
    alice: Tenant, handler: RecordingHandler, smtp_url: str
) -> None:
    mailer = Mailer(alice.db, smtp_url, poll_interval=3600)
    (first,) = await queue(alice)

    async def sent(email_id: int) -> bool:
        return any(e.id == email_id and e.status == "sent" for e in await stored(alice.db))

    async with anyio.create_task_group() as tg:
        await tg.start(mailer.run)
        await eventually(lambda: sent(first))  # the pass at start-up; the worker now waits an hour
        (second,) = await queue(alice, subject="One more thing")
        mailer.kick()
        await eventually(lambda: sent(second))
        tg.cancel_scope.cancel()

    assert message_ids(handler) == [message_id(first), message_id(second)]


async def test_the_worker_logs_a_failed_pass_and_keeps_going(
    alice: Tenant,
    handler: RecordingHandler,
    smtp_url: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mailer = Mailer(alice.db, smtp_url, poll_interval=3600)
    real_queued_after = mailer._queued_after
    calls = 0

    async def broken_once(after: int) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return await real_queued_after(after)

    mailer._queued_after = broken_once  # type: ignore[method-assign]
    (email_id,) = await queue(alice)

    with caplog.at_level(logging.INFO, logger="market_mcp.mail"):
        async with anyio.create_task_group() as tg:
            await tg.start(mailer.run)
            await eventually(lambda: calls >= 1)
            mailer.kick()
            await eventually(lambda: len(handler.received) == 1)
            tg.cancel_scope.cancel()

    assert message_ids(handler) == [message_id(email_id)]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [(r.name, r.getMessage(), r.exc_info[1].args) for r in failures] == [  # type: ignore[index]
        ("market_mcp.mail", "Outbox delivery pass failed; trying again in 3600 s", ("database went away",))
    ]
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", SmtpConfig(hostname="mail.example.com", port=25)),
        (
            "smtp://mailer:p%40ss%3Aword@mail.example.com:587?starttls=true&from=markets@example.com",
            SmtpConfig(
                hostname="mail.example.com",
                port=587,
                start_tls=True,
                from_address="markets@example.com",
                username="mailer",
                password="p@ss:word",
            ),
        ),
        ("smtp://mail.example.com:2525?starttls=false", SmtpConfig(hostname="mail.example.com", port=2525)),
        ("smtps://mail.example.com", SmtpConfig(hostname="mail.example.com", port=465, use_tls=True)),
        (
            "smtps://u:pw@mail.example.com:4650/?from=hello@market.example",
            SmtpConfig(
                hostname="mail.example.com",
                port=4650,
                use_tls=True,
                from_address="hello@market.example",
                username="u",
                password="pw",
            ),
        ),
    ],
)
def test_parse_smtp_url_reads_host_port_tls_sender_and_credentials(url: str, expected: SmtpConfig) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://mail.example.com", "Bad SMTP URL: it must start with smtp:// or smtps://"),
        ("mail.example.com:25", "Bad SMTP URL: it must start with smtp:// or smtps://"),
        ("smtp://", "Bad SMTP URL: it has no host name"),
        (
            "smtp://mailer:hunter2@mail.example.com:twentyfive",
            "Bad SMTP URL: the port must be a number from 1 to 65535",
        ),
        ("smtp://mail.example.com:70000", "Bad SMTP URL: the port must be a number from 1 to 65535"),
        ("smtp://mail.example.com:0", "Bad SMTP URL: the port must be a number from 1 to 65535"),
        ("smtp://mail.example.com/inbox", "Bad SMTP URL: it must not have a path"),
        ("smtp://mailer@mail.example.com", "Bad SMTP URL: give both a user name and a password, or neither"),
        ("smtp://mail.example.com?colour=blue", "Bad SMTP URL: unknown option 'colour'"),
        ("smtp://mail.example.com?starttls=maybe", "Bad SMTP URL: starttls must be true or false"),
        ("smtps://mail.example.com?starttls=true", "Bad SMTP URL: smtps:// is already encrypted"),
        ("smtp://mail.example.com?from=markets", "Bad SMTP URL: from must be a plain email address"),
        ("smtp://mail.example.com?from=Markets <m@example.com>", "Bad SMTP URL: from must be a plain email address"),
    ],
)
def test_parse_smtp_url_refuses_a_bad_url_without_repeating_it(url: str, problem: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_smtp_url(url)
    message = str(refused.value)
    assert message.startswith(problem)
    assert message.endswith(
        "Expected smtp://[user:pass@]host[:port][?from=addr&starttls=true] or smtps://[user:pass@]host[:port][?from=addr]."
    )
    assert "hunter2" not in message and refused.value.__cause__ is None


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"c0rrect-h0rse",
    )
    return AuthResult(success=good, handled=False)  # not handled: aiosmtpd replies 535 itself


async def test_smtp_credentials_never_appear_in_logs_or_recorded_errors(
    alice: Tenant, handler: RecordingHandler, caplog: pytest.LogCaptureFixture
) -> None:
    (email_id,) = await queue(alice)
    clock = FakeClock()
    with (
        caplog.at_level(logging.DEBUG, logger="market_mcp.mail"),
        smtp_server(handler, authenticator=_authenticator, auth_require_tls=False) as port,
    ):
        wrong = Mailer(alice.db, f"smtp://mailer:hunter2@127.0.0.1:{port}?from={FROM}", clock=clock)
        assert await wrong.deliver_due() == DeliveryReport(retried=1)
        (failed,) = await stored(alice.db)

        right = Mailer(alice.db, f"smtp://mailer:c0rrect-h0rse@127.0.0.1:{port}?from={FROM}", clock=clock)
        assert await right.deliver_due() == DeliveryReport()  # another worker's attempt: wait till abandoned
        clock.advance(right.abandoned_after)
        assert await right.deliver_due() == DeliveryReport(sent=1)
        down = Mailer(alice.db, f"smtp://mailer:hunter2@127.0.0.1:{free_port()}", clock=clock)
        await queue(alice)
        assert await down.deliver_due() == DeliveryReport(retried=1)

    assert (failed.status, failed.error) == ("queued", "SMTP 535 5.7.8 Authentication credentials invalid")
    assert message_ids(handler) == [message_id(email_id)]
    assert f"Outbox delivery via smtp://127.0.0.1:{port}, from {FROM}" in caplog.messages
    assert "SMTP 535 5.7.8 Authentication credentials invalid" in caplog.text
    recorded = " ".join(e.error or "" for e in await stored(alice.db))
    for password in ("hunter2", "c0rrect-h0rse"):
        assert password not in caplog.text and password not in recorded
    assert "hunter2" not in repr(wrong.config) and "mailer" not in repr(wrong.config)


async def test_retries_back_off_from_base_delay_doubling_up_to_five_minutes(alice: Tenant) -> None:
    await queue(alice)
    clock = FakeClock()
    mailer = Mailer(alice.db, f"smtp://127.0.0.1:{free_port()}", max_attempts=20, base_delay=2.0, clock=clock)
    assert await mailer.deliver_due() == DeliveryReport(retried=1)

    for delay in [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0]:
        clock.advance(delay - 0.5)
        assert await mailer.deliver_due() == DeliveryReport(), delay
        clock.advance(0.5)
        assert await mailer.deliver_due() == DeliveryReport(retried=1), delay

    assert [e.attempts for e in await stored(alice.db)] == [11]


async def test_the_server_delivers_what_a_tool_call_queued_once_the_call_commits(
    alice: Tenant, handler: RecordingHandler, smtp_url: str
) -> None:
    from mcp import Client

    from market_mcp.config import Settings
    from market_mcp.server import build_server
    from tests.factories import Caller

    server = build_server(Settings(database_url=str(alice.db.url), smtp_url=smtp_url), db=alice.db, token=alice.token)
    # A long poll interval: only the kick after commit can deliver within the test's wait.
    server.mailer.poll_interval = 3600  # type: ignore[union-attr]
    async with server.delivering(), Client(server) as client:
        c = Caller(client)
        vendor = await c.ok("create_vendor", business_name="Rosa's Bakery", email="rosa@example.com")
        sent = await c.ok("send_vendor_email", vendor_id=vendor["id"], subject="Your space", message="Space 12.")
        assert sent["emails"]["queued"] == 1
        with anyio.fail_after(10):
            while not handler.received:
                await anyio.sleep(0.02)
        with anyio.fail_after(10):
            while (outbox := await c.ok("list_emails"))["items"][0]["status"] != "sent":
                await anyio.sleep(0.02)

    (received,) = handler.received
    assert received.rcpt_tos == ["rosa@example.com"]
    assert received.message["Subject"] == "Your space"
    assert "Space 12." in received.message.get_content()
    assert (outbox["delivery"], sent["emails"]["delivery"]) == ("sending", "sending")


async def test_a_payment_received_email_goes_with_its_receipt_as_a_pdf_attachment(
    alice: Tenant, smtp_url: str, handler: RecordingHandler
) -> None:
    from io import BytesIO

    from pypdf import PdfReader

    from tests.tools.test_payments import approved

    async with alice.client() as c:
        _, order = await approved(c)
        await c.ok("record_order_payment", order_id=order["id"], method="cash", amount="50", reference="R-1")
    report = await Mailer(alice.db, smtp_url).deliver_due()
    assert (report.sent, report.failed) == (2, 0)  # the approval, then the payment
    message = handler.received[1].message
    [body, attachment] = list(message.iter_parts())
    assert "Your receipt RCT-0001 is attached." in body.get_content()
    assert (attachment.get_content_type(), attachment.get_filename()) == ("application/pdf", "RCT-0001.pdf")
    assert attachment.get_content_disposition() == "attachment"
    text = PdfReader(BytesIO(attachment.get_content())).pages[0].extract_text()
    assert "RCT-0001" in text and "Amount received $50.00" in text and "Reference R-1" in text
    assert not handler.received[0].message.is_multipart()  # the approval has nothing to attach


async def test_an_attachment_that_cannot_be_rendered_fails_its_email_for_good_with_the_reason(
    alice: Tenant, smtp_url: str, handler: RecordingHandler
) -> None:
    async with alice.db.transaction(write=True) as session:
        org = OrgContext.of(session, identity(alice))
        queue_email(
            org, to="sam@example.com", subject="Receipt", body="Hi", kind="payment_received", attachment="receipt:77"
        )
    report = await Mailer(alice.db, smtp_url).deliver_due()
    [email] = await stored(alice.db)
    assert (report.sent, report.failed, handler.received) == (0, 1, [])
    assert (email.status, email.error) == ("failed", "Cannot render its attachment receipt:77: Payment 77 not found.")
