"""Prompts: the organiser's recurring jobs, each a message that walks the assistant through the tools.

Arguments are what a person types: a market's name and a trading day (YYYY-MM-DD), both offered by
completion/complete. prompts/get resolves them to ids where it can, through the services and scope.py like any
read; where it cannot, the message says how to find them instead of failing, so the job can still start.
Every job previews its writes with dry_run, waits for the organiser's yes before any write, and reports email
as queued (the outbox delivers it later), never as sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    CompleteRequestParams,
    Completion,
    GetPromptResult,
    Prompt,
    PromptArgument,
    PromptMessage,
    ResourceTemplateReference,
    TextContent,
)

from market_mcp import resources
from market_mcp.auth import OrgContext
from market_mcp.db.tables import MarketDate
from market_mcp.schemas.common import MAX_LIMIT, long_date
from market_mcp.schemas.market_dates import MarketDateOut
from market_mcp.schemas.markets import MarketOut
from market_mcp.schemas.text import one_line, quoted
from market_mcp.services import market_dates, markets
from market_mcp.services.scope import scoped

MAX_VALUES = 100  # the spec's limit on one completion's values
MAX_NAME = 200  # a market's name is at most this long (schemas.markets.MarketName)


@dataclass(frozen=True)
class Argument:
    name: str
    description: str
    required: bool = True


MARKET = Argument("market", "The market's name, e.g. Riverside Farmers Market (completion offers your markets).")
DATE = Argument("date", "The trading day, YYYY-MM-DD (completion offers the market's upcoming dates).")


def _shown(text: str) -> str:
    """What the organiser typed, quoted and short enough to repeat back."""
    return quoted(text if len(text) <= 80 else text[:80] + "…")


@dataclass
class Where:
    """What a prompt's arguments named, resolved as far as they go; notes say how to find the rest."""

    org: OrgContext
    market: MarketOut | None = None
    day: date | None = None
    market_date: MarketDateOut | None = None
    typed_market: str = ""
    typed_date: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def market_id(self) -> str:
        return str(self.market.id) if self.market else "<market_id>"

    @property
    def market_date_id(self) -> str:
        return str(self.market_date.id) if self.market_date else "<market_date_id>"

    @property
    def market_words(self) -> str:
        return one_line(self.market.name) if self.market else _shown(self.typed_market)

    @property
    def date_words(self) -> str:
        return long_date(self.day) if self.day else _shown(self.typed_date)

    @property
    def ids(self) -> str:
        known = [f"market_id {self.market.id}"] if self.market else []
        known += [f"market_date_id {self.market_date.id}"] if self.market_date else []
        return f" ({', '.join(known)})" if known else ""


@dataclass(frozen=True)
class Job:
    name: str
    title: str
    description: str
    arguments: tuple[Argument, ...]
    tools: frozenset[str]  # every tool its message names: it is offered only where they all are
    write: Callable[[Where], tuple[str, list[str]]]  # the request and its numbered steps

    def listed(self) -> Prompt:
        return Prompt(
            name=self.name,
            title=self.title,
            description=self.description,
            arguments=[
                PromptArgument(name=a.name, description=a.description, required=a.required) for a in self.arguments
            ],
        )


RULES = "\n".join(
    [
        "Rules for this job:",
        "- Change nothing until I have said yes to the exact change; show me first what you will do.",
        "- Where a write offers dry_run, run it with dry_run=true first and show me the preview.",
        "- Emails go to the outbox: report them as queued, never as sent, and repeat the result's emails.note (it "
        "says whether anyone receives them yet).",
        "- If a call is refused, tell me its error sentence and follow what it suggests.",
    ]
)

READ_ONLY = (
    "This connection's token is read-only: prepare every change, but the writes will be refused until I "
    "connect with a write token (market-mcp token create)."
)


def _monday_briefing(w: Where) -> tuple[str, list[str]]:
    today, last = w.org.today(), w.org.today() + timedelta(days=6)
    scope = f", market_id={w.market_id}" if w.market or w.typed_market else ""
    where = f" for {w.market_words}{w.ids}" if w.market or w.typed_market else ""
    ask = (
        f"Give me my Monday briefing{where}: what needs my attention this week, in a few short lines I can act "
        f"on. Today is {long_date(today)}; the week runs to {long_date(last)}."
    )
    return ask, [
        "get_dashboard_summary() for what needs attention today.",
        f'list_applications(status="pending"{scope}): the applications waiting for my decision, oldest first.',
        f'list_market_dates(date_filter="upcoming"{scope}): the dates up to {long_date(last)}, each with '
        "confirmed_count of capacity, spaces_left and waitlist_count.",
        f'list_orders(status="payment_pending"{scope}, from_date="{today}", to_date="{last}"): who still owes '
        "money for this week's trading, and how much (amount_due_cents) per market.",
        "Where one of this week's dates has spaces_left above 0 and a waitlist, say so: the fill_empty_spaces "
        "prompt can offer those spaces.",
        "Finish with the next actions, most urgent first. This is a briefing: change nothing.",
    ]


def _rained_off(w: Where) -> tuple[str, list[str]]:
    ask = (
        f"{w.market_words} is rained off on {w.date_words}{w.ids}. Help me cancel the day properly and offer "
        "its waitlist a place on the next date."
    )
    return ask, [
        f"get_market_date(market_date_id={w.market_date_id}): check it is the right day and still scheduled, and "
        "tell me how many bookings are confirmed and pending.",
        f"list_waitlist(market_date_id={w.market_date_id}): note the waiting vendors now, because cancelling "
        "closes this date's waitlist.",
        f'cancel_market_date(market_date_id={w.market_date_id}, reason="Rained off", credit_vendors=true, '
        "dry_run=true): show me who would be cancelled and the credit each vendor would get. Ask me whether to "
        "credit vendors and whether to word the reason differently.",
        f"Only after my yes: cancel_market_date(market_date_id={w.market_date_id}, reason=…, credit_vendors=…, "
        "dry_run=false). It emails every booked vendor: report those emails as queued.",
        f'list_market_dates(market_id={w.market_id}, date_filter="upcoming", status="scheduled"): the next date '
        f"after {w.date_words} and its spaces_left. Ask me whom to offer it: the waiting vendors from step 2, and "
        "the cancelled vendors if I want. For each one I approve: add_to_waitlist(market_date_id=<the next "
        "date's id>, vendor_id=…), then notify_waitlist(entry_id=…) to offer the space for 48 hours (an email, "
        "queued).",
        "Finish with a summary: bookings cancelled, credits issued (in my currency), emails queued, offers made.",
    ]


def _market_day_checklist(w: Where) -> tuple[str, list[str]]:
    ask = f"Prepare my market-day checklist for {w.market_words} on {w.date_words}{w.ids}."
    return ask, [
        f"get_market_date(market_date_id={w.market_date_id}): status, capacity, confirmed, pending, spaces_left "
        "and waitlist_count.",
        f"list_market_date_bookings(market_date_id={w.market_date_id}): the roster (follow next_offset until it "
        "is null), in space order.",
        "Spaces unassigned: the roster's rows whose space_number is null. Suggest free space numbers; after my "
        "yes, update_space_number(booking_id=…, space_number=…) for each.",
        f'Unpaid: list_orders(status="payment_pending", market_id={w.market_id}, from_date="{w.day or "<date>"}", '
        f'to_date="{w.day or "<date>"}"): who still owes what for this day. Pending rows on the roster are not '
        "approved yet: list them too (confirm_booking or reject_booking, after my yes).",
        f"Empty spaces: if spaces_left is above 0, list_waitlist(market_date_id={w.market_date_id}) for who could "
        "take them.",
        "Give me the checklist as short lines, each done or to do: bookings on the roster, spaces unassigned, "
        "unpaid orders with amounts, pending bookings, empty spaces.",
    ]


def _fill_empty_spaces(w: Where) -> tuple[str, list[str]]:
    ask = f"Help me fill the empty spaces at {w.market_words} on {w.date_words}{w.ids}."
    return ask, [
        f"get_market_date(market_date_id={w.market_date_id}): spaces_left is how many spaces can be offered "
        "(capacity less confirmed bookings and open offers).",
        f"list_waitlist(market_date_id={w.market_date_id}): the waiting vendors, in offer order.",
        "If vendors are waiting: propose offering the first ones in order, as many as spaces_left. After my yes, "
        "notify_waitlist(entry_id=…) for each: it emails a 48-hour offer (queued) and holds the space meanwhile.",
        f"If spaces remain and nobody is waiting: list_vendors(market_id={w.market_id}) and "
        f"list_market_date_bookings(market_date_id={w.market_date_id}), and suggest vendors approved for this "
        f"market who are not booked on the day. To tell them: send_market_email(market_id={w.market_id}, "
        "subject=…, message=…, dry_run=true) to preview the recipients, then with dry_run=false after my yes. "
        f"To book one yourself: create_order(vendor_id=…, market_date_ids=[{w.market_date_id}]) after my yes.",
        "Finish with spaces left before and after, offers made and emails queued.",
    ]


FINDING = frozenset({"list_markets", "list_market_dates"})  # named by the notes when an argument does not resolve

JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "monday_briefing",
            "Monday briefing",
            "The week ahead in a few lines: applications waiting, this week's dates and spaces, unpaid orders, "
            "and what to do first. Reads only.",
            (Argument("market", "Only this market (its name); leave empty for all your markets.", required=False),),
            FINDING | {"get_dashboard_summary", "list_applications", "list_orders"},
            _monday_briefing,
        ),
        Job(
            "rained_off",
            "Rained off",
            "Cancel a market date (weather, or any reason): preview who is affected and the credits, confirm, "
            "cancel with credits, then offer the waitlist a place on the next date.",
            (MARKET, DATE),
            FINDING | {"get_market_date", "list_waitlist", "cancel_market_date", "add_to_waitlist", "notify_waitlist"},
            _rained_off,
        ),
        Job(
            "market_day_checklist",
            "Market-day checklist",
            "Before a market day: the roster, spaces unassigned, who has not paid, pending bookings and empty "
            "spaces, as a checklist.",
            (MARKET, DATE),
            FINDING
            | {
                "get_market_date",
                "list_market_date_bookings",
                "update_space_number",
                "list_orders",
                "confirm_booking",
                "reject_booking",
                "list_waitlist",
            },
            _market_day_checklist,
        ),
        Job(
            "fill_empty_spaces",
            "Fill the empty spaces",
            "Offer a market date's free spaces: to its waitlist first, in order, else to the market's approved "
            "vendors who are not booked.",
            (MARKET, DATE),
            FINDING
            | {
                "get_market_date",
                "list_waitlist",
                "notify_waitlist",
                "list_vendors",
                "list_market_date_bookings",
                "send_market_email",
                "create_order",
            },
            _fill_empty_spaces,
        ),
    )
}


def available(tools: set[str]) -> dict[str, Job]:
    """The jobs whose every tool this server offers (a server started with fewer toolsets offers fewer)."""
    return {name: job for name, job in JOBS.items() if job.tools <= tools}


def chosen(jobs: dict[str, Job], name: str, arguments: dict[str, str]) -> Job:
    """The job prompts/get asks for, or the refusal the spec gives an unknown prompt or a missing argument."""
    job = jobs.get(name)
    if job is None:
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise MCPError(
            INVALID_PARAMS,
            f"Unknown prompt {shown!r}; prompts/list names the prompts: {', '.join(jobs)}.",
            {"code": 404},
        )
    missing = [a.name for a in job.arguments if a.required and not (arguments.get(a.name) or "").strip()]
    if missing:
        wanted = " ".join(f"{a.name}: {a.description}" for a in job.arguments if a.name in missing)
        raise MCPError(INVALID_PARAMS, f"{name} needs {' and '.join(missing)}. {wanted}", {"code": 422})
    return job


def _typed(value: str | None) -> str:
    """What was typed, as a store can hold it: PostgreSQL's text has no NUL, so no name or date contains one."""
    return (value or "").replace("\x00", "").strip()


async def render(org: OrgContext, job: Job, arguments: dict[str, str]) -> GetPromptResult:
    where = await _resolve(org, job, {name: _typed(value) for name, value in arguments.items()})
    ask, steps = job.write(where)
    lines = [ask, ""]
    if where.notes:
        lines += [*where.notes, ""]
    lines += [f"{number}. {step}" for number, step in enumerate(steps, 1)]
    lines += ["", RULES] + ([READ_ONLY] if org.scope == "read" else [])
    message = PromptMessage(role="user", content=TextContent(type="text", text="\n".join(lines)))
    return GetPromptResult(description=job.description, messages=[message])


# ---------------------------------------------------------------- names and dates to records


async def find_market(org: OrgContext, typed: str) -> tuple[MarketOut | None, str | None]:
    """The market a person means by its name (any case; its slug or a unique part of its name will do), or
    None and a note saying how to find it."""
    wanted = typed.strip().casefold()
    named: list[MarketOut] = []
    if len(wanted) <= MAX_NAME:  # a longer text is no market's name: not worth a query
        page = await markets.list_markets(org, status=None, query=typed.strip(), limit=MAX_LIMIT, offset=0)
        exact = [m for m in page.items if wanted in (m.name.casefold(), m.slug)]
        named = exact or [m for m in page.items if wanted in m.name.casefold()]
    if len(named) == 1:
        return named[0], None
    if named:
        choices = " or ".join(f"{one_line(m.name)} (market_id {m.id})" for m in named[:5])
        return None, f"{_shown(typed)} could be {choices}: ask me which one I mean."
    return None, (
        f"No market of mine is named {_shown(typed)}. Call list_markets() to see them all and ask me which one I "
        "mean; use its id as market_id."
    )


def _day(typed: str) -> date | None:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", typed):
        return None
    try:
        return date.fromisoformat(typed)
    except ValueError:  # 2026-02-30
        return None


async def _resolve(org: OrgContext, job: Job, arguments: dict[str, str]) -> Where:
    where = Where(org, typed_market=arguments.get("market", ""))
    if where.typed_market:
        where.market, note = await find_market(org, where.typed_market)
        where.notes += [note] if note else []
    if DATE not in job.arguments:
        return where
    where.typed_date = arguments.get("date", "")
    where.day = _day(where.typed_date)
    dates = f'list_market_dates(market_id={where.market_id}, date_filter="upcoming")'
    if where.day is None:
        where.notes.append(
            f"{_shown(where.typed_date)} is not a date in YYYY-MM-DD form: {dates} shows the market's dates; ask "
            "me which one I mean and use its id as market_date_id."
        )
    elif where.market is None:
        where.notes.append(f"Then find the market date of {long_date(where.day)} with {dates}.")
    else:
        stmt = scoped(org, MarketDate, MarketDate.id).where(
            MarketDate.market_id == where.market.id, MarketDate.scheduled_at == where.day
        )
        found = (await org.session.execute(stmt)).scalar_one_or_none()
        if found is None:
            where.notes.append(
                f"{one_line(where.market.name)} has no market date on {long_date(where.day)}: {dates} shows its dates; ask "
                "me which one I mean and use its id as market_date_id."
            )
        else:
            where.market_date = await market_dates.get_market_date(org, found)
            if where.market_date.status != "scheduled":
                where.notes.append(f"That market date is {where.market_date.status}, not scheduled: tell me first.")
    return where


# ---------------------------------------------------------------- completion


def offers_completion(jobs: dict[str, Job], params: CompleteRequestParams) -> bool:
    """Whether completion/complete has anything for this prompt's or template's argument (asked before any read:
    for an unknown one the answer is simply no values)."""
    ref, argument = params.ref, params.argument.name
    if isinstance(ref, ResourceTemplateReference):
        return resources.completes(ref.uri, argument)
    return ref.name in jobs and argument in {a.name for a in jobs[ref.name].arguments}


async def completion(org: OrgContext, params: CompleteRequestParams) -> Completion:
    typed = _typed(params.argument.value)[:MAX_NAME]  # nothing longer can match
    if isinstance(params.ref, ResourceTemplateReference):
        values = await resources.complete(org, typed)
    elif params.argument.name == "market":
        values = await _market_names(org, typed)
    else:
        given = params.context.arguments if params.context and params.context.arguments else {}
        values = await _upcoming_days(org, _typed(given.get("market")), typed)
    return Completion(values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES)


async def _market_names(org: OrgContext, typed: str) -> list[str]:
    """The names of the organisation's markets that contain what was typed, those starting with it first."""
    page = await markets.list_markets(org, status=None, query=typed or None, limit=MAX_LIMIT, offset=0)
    folded = typed.casefold()
    names = {m.name for m in page.items if folded in m.name.casefold()}
    return sorted(names, key=lambda name: (not name.casefold().startswith(folded), name.casefold()))


async def _upcoming_days(org: OrgContext, market_typed: str, typed: str) -> list[str]:
    """The chosen market's upcoming scheduled days (every market's, before one is chosen) starting with what was
    typed, soonest first."""
    market = (await find_market(org, market_typed))[0] if market_typed else None
    if market is not None:
        upcoming = await market_dates.upcoming_market_dates(org, market.id, limit=MAX_LIMIT)
    else:
        page = await market_dates.list_market_dates(
            org, market_id=None, date_filter="upcoming", status="scheduled", limit=MAX_LIMIT, offset=0
        )
        upcoming = page.items
    return list(dict.fromkeys(str(d.scheduled_at) for d in upcoming if str(d.scheduled_at).startswith(typed)))
