"""prompts/* and completion/complete: the organiser's recurring jobs, named by market and date as a person types
them, resolved to ids, and completed from the organisation's own markets and upcoming dates."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, INVALID_REQUEST, GetPromptResult, PromptReference, ResourceTemplateReference

from market_mcp.config import Settings
from market_mcp.errors import MISSING_TOKEN
from market_mcp.prompts import JOBS, RULES
from market_mcp.schemas.common import long_date
from market_mcp.server import build_server
from market_mcp.tools import TOOLSETS
from tests.clients import connect
from tests.factories import Tenant, today
from tests.tools.test_orders import Setup, market_with_dates


def text(result: GetPromptResult) -> str:
    [message] = result.messages
    assert message.role == "user" and message.content.type == "text"
    return message.content.text  # type: ignore[union-attr]


async def prompt(tenant: Tenant, name: str, **arguments: str) -> str:
    async with connect(tenant) as client:
        return text(await client.get_prompt(name, arguments))


async def riverside(tenant: Tenant) -> Setup:
    async with tenant.client() as c:
        return await market_with_dates(c, "Riverside Farmers Market")


async def values(client: Client, ref: PromptReference | ResourceTemplateReference, name: str, typed: str, **given: str):
    completion = (await client.complete(ref, {"name": name, "value": typed}, given or None)).completion
    assert completion.total == len(completion.values) and completion.has_more is False
    return completion.values


# ---------------------------------------------------------------- prompts/list and prompts/get


async def test_prompts_list_offers_the_four_jobs_with_their_arguments(alice: Tenant) -> None:
    async with connect(alice) as client:
        listed = (await client.list_prompts()).prompts
    assert [(p.name, p.title, [(a.name, a.required) for a in p.arguments or []]) for p in listed] == [
        ("monday_briefing", "Monday briefing", [("market", False)]),
        ("rained_off", "Rained off", [("market", True), ("date", True)]),
        ("market_day_checklist", "Market-day checklist", [("market", True), ("date", True)]),
        ("fill_empty_spaces", "Fill the empty spaces", [("market", True), ("date", True)]),
    ]
    assert all(p.description for p in listed)
    assert all(a.description for p in listed for a in p.arguments or [])


async def test_rained_off_previews_the_cancellation_waits_for_a_yes_and_offers_the_waitlist_the_next_date(
    alice: Tenant,
) -> None:
    s = await riverside(alice)
    async with connect(alice) as client:
        result = await client.get_prompt("rained_off", {"market": "Riverside Farmers Market", "date": str(s.days[0])})
    m, d, day = s.market_id, s.date_ids[0], long_date(s.days[0])
    assert result.description == JOBS["rained_off"].description
    assert text(result) == "\n".join(
        [
            f"Riverside Farmers Market is rained off on {day} (market_id {m}, market_date_id {d}). Help me cancel "
            "the day properly and offer its waitlist a place on the next date.",
            "",
            f"1. get_market_date(market_date_id={d}): check it is the right day and still scheduled, and tell me "
            "how many bookings are confirmed and pending.",
            f"2. list_waitlist(market_date_id={d}): note the waiting vendors now, because cancelling closes this "
            "date's waitlist.",
            f'3. cancel_market_date(market_date_id={d}, reason="Rained off", credit_vendors=true, dry_run=true): '
            "show me who would be cancelled and the credit each vendor would get. Ask me whether to credit vendors "
            "and whether to word the reason differently.",
            f"4. Only after my yes: cancel_market_date(market_date_id={d}, reason=…, credit_vendors=…, "
            "dry_run=false). It emails every booked vendor: report those emails as queued.",
            f'5. list_market_dates(market_id={m}, date_filter="upcoming", status="scheduled"): the next date after '
            f"{day} and its spaces_left. Ask me whom to offer it: the waiting vendors from step 2, and the "
            "cancelled vendors if I want. For each one I approve: add_to_waitlist(market_date_id=<the next date's "
            "id>, vendor_id=…), then notify_waitlist(entry_id=…) to offer the space for 48 hours (an email, "
            "queued).",
            "6. Finish with a summary: bookings cancelled, credits issued (in my currency), emails queued, offers "
            "made.",
            "",
            RULES,
        ]
    )
    assert RULES.splitlines()[1:] == [
        "- Change nothing until I have said yes to the exact change; show me first what you will do.",
        "- Where a write offers dry_run, run it with dry_run=true first and show me the preview.",
        "- Emails go to the outbox: report them as queued, never as sent, and repeat the result's emails.note (it "
        "says whether anyone receives them yet).",
        "- If a call is refused, tell me its error sentence and follow what it suggests.",
    ]


async def test_the_market_day_checklist_looks_for_unassigned_spaces_unpaid_orders_and_empty_spaces(
    alice: Tenant,
) -> None:
    s = await riverside(alice)
    said = await prompt(alice, "market_day_checklist", market="Riverside Farmers Market", date=str(s.days[1]))
    m, d, day = s.market_id, s.date_ids[1], s.days[1]
    lines = said.splitlines()
    assert lines[0] == (
        f"Prepare my market-day checklist for Riverside Farmers Market on {long_date(day)} (market_id {m}, "
        f"market_date_id {d})."
    )
    assert (
        f"2. list_market_date_bookings(market_date_id={d}): the roster (follow next_offset until it is null), in space order."
        in lines
    )
    assert (
        "3. Spaces unassigned: the roster's rows whose space_number is null. Suggest free space numbers; after my "
        "yes, update_space_number(booking_id=…, space_number=…) for each." in lines
    )
    assert (
        f'4. Unpaid: list_orders(status="payment_pending", market_id={m}, from_date="{day}", to_date="{day}"): who '
        "still owes what for this day. Pending rows on the roster are not approved yet: list them too "
        "(confirm_booking or reject_booking, after my yes)." in lines
    )
    assert (
        f"5. Empty spaces: if spaces_left is above 0, list_waitlist(market_date_id={d}) for who could take them."
        in lines
    )


async def test_fill_empty_spaces_offers_the_waitlist_first_then_the_markets_unbooked_vendors(alice: Tenant) -> None:
    s = await riverside(alice)
    said = await prompt(alice, "fill_empty_spaces", market="Riverside Farmers Market", date=str(s.days[2]))
    m, d = s.market_id, s.date_ids[2]
    assert f"2. list_waitlist(market_date_id={d}): the waiting vendors, in offer order." in said
    assert (
        "notify_waitlist(entry_id=…) for each: it emails a 48-hour offer (queued) and holds the space meanwhile."
        in said
    )
    assert f"send_market_email(market_id={m}, subject=…, message=…, dry_run=true) to preview the recipients" in said
    assert f"create_order(vendor_id=…, market_date_ids=[{d}]) after my yes." in said


async def test_the_monday_briefing_covers_the_coming_week_for_every_market_or_one(alice: Tenant) -> None:
    s = await riverside(alice)
    first, last = today(), today() + timedelta(days=6)
    every = await prompt(alice, "monday_briefing")
    one = await prompt(alice, "monday_briefing", market="riverside farmers market")
    assert every.splitlines()[:3] == [
        "Give me my Monday briefing: what needs my attention this week, in a few short lines I can act on. Today is "
        f"{long_date(first)}; the week runs to {long_date(last)}.",
        "",
        "1. get_dashboard_summary() for what needs attention today.",
    ]
    assert (
        f'4. list_orders(status="payment_pending", from_date="{first}", to_date="{last}"): who still owes money for '
        "this week's trading, and how much (amount_due_cents) per market." in every.splitlines()
    )
    assert one.startswith(f"Give me my Monday briefing for Riverside Farmers Market (market_id {s.market_id}):")
    assert f'list_applications(status="pending", market_id={s.market_id})' in one
    assert every.endswith(
        "Finish with the next actions, most urgent first. This is a briefing: change nothing.\n\n" + RULES
    )


@pytest.mark.parametrize(
    "typed",
    [
        "Riverside Farmers Market",
        "RIVERSIDE farmers market",
        "  riverside farmers market ",
        "riverside-farmers-market",
        "farmers",
    ],
)
async def test_a_market_is_found_by_its_name_in_any_case_its_slug_or_a_unique_part_of_its_name(
    alice: Tenant, typed: str
) -> None:
    s = await riverside(alice)
    async with alice.client() as c:
        await c.ok("create_market", name="Night Bazaar")
    said = await prompt(alice, "rained_off", market=typed, date=str(s.days[0]))
    assert said.startswith(
        f"Riverside Farmers Market is rained off on {long_date(s.days[0])} (market_id {s.market_id}, "
        f"market_date_id {s.date_ids[0]})."
    )


async def test_a_name_several_markets_share_asks_which_one_instead_of_guessing(alice: Tenant) -> None:
    s = await riverside(alice)
    async with alice.client() as c:
        night = (await c.ok("create_market", name="Riverside Night Market"))["id"]
    said = await prompt(alice, "fill_empty_spaces", market="riverside", date=str(s.days[0]))
    assert said.splitlines()[:3] == [
        f'Help me fill the empty spaces at "riverside" on {long_date(s.days[0])}.',
        "",
        f'"riverside" could be Riverside Farmers Market (market_id {s.market_id}) or Riverside Night Market '
        f"(market_id {night}): ask me which one I mean.",
    ]
    assert "get_market_date(market_date_id=<market_date_id>)" in said


async def test_a_market_nobody_runs_says_how_to_find_it_instead_of_failing(alice: Tenant) -> None:
    await riverside(alice)
    said = await prompt(alice, "rained_off", market="Harbourside", date="2030-01-05")
    assert said.splitlines()[:4] == [
        '"Harbourside" is rained off on Saturday 5 January 2030. Help me cancel the day properly and offer its '
        "waitlist a place on the next date.",
        "",
        'No market of mine is named "Harbourside". Call list_markets() to see them all and ask me which one I mean; '
        "use its id as market_id.",
        "Then find the market date of Saturday 5 January 2030 with list_market_dates(market_id=<market_id>, "
        'date_filter="upcoming").',
    ]


async def test_a_day_the_market_does_not_trade_says_how_to_find_its_dates(alice: Tenant) -> None:
    s = await riverside(alice)
    sunday = s.days[0] + timedelta(days=1)
    said = await prompt(alice, "market_day_checklist", market="Riverside Farmers Market", date=str(sunday))
    assert said.splitlines()[2] == (
        f"Riverside Farmers Market has no market date on {long_date(sunday)}: list_market_dates(market_id="
        f'{s.market_id}, date_filter="upcoming") shows its dates; ask me which one I mean and use its id as '
        "market_date_id."
    )


@pytest.mark.parametrize("typed", ["next saturday", "2030-02-30", "5/1/2030"])
async def test_a_date_not_in_yyyy_mm_dd_form_says_how_to_find_the_markets_dates(alice: Tenant, typed: str) -> None:
    s = await riverside(alice)
    said = await prompt(alice, "rained_off", market="Riverside Farmers Market", date=typed)
    assert said.splitlines()[2] == (
        f'"{typed}" is not a date in YYYY-MM-DD form: list_market_dates(market_id={s.market_id}, '
        'date_filter="upcoming") shows the market\'s dates; ask me which one I mean and use its id as market_date_id.'
    )


async def test_a_date_already_cancelled_is_pointed_out_first(alice: Tenant) -> None:
    s = await riverside(alice)
    async with alice.client() as c:
        await c.ok("cancel_market_date", market_date_id=s.date_ids[0], reason="Storm")
    said = await prompt(alice, "rained_off", market="Riverside Farmers Market", date=str(s.days[0]))
    assert said.splitlines()[2] == "That market date is cancelled, not scheduled: tell me first."


async def test_a_read_only_token_is_told_its_writes_will_be_refused(alice: Tenant) -> None:
    s = await riverside(alice)
    async with connect(alice, token=alice.read_token) as client:
        said = text(await client.get_prompt("rained_off", {"market": "farmers", "date": str(s.days[0])}))
    assert said.endswith(
        "\nThis connection's token is read-only: prepare every change, but the writes will be refused until I "
        "connect with a write token (market-mcp token create)."
    )


async def test_every_tool_a_prompt_names_is_one_the_server_has_and_the_prompt_declares(alice: Tenant) -> None:
    s = await riverside(alice)
    registered = {spec.name for toolset in TOOLSETS.values() for spec in toolset.tools}
    for name, job in JOBS.items():
        for arguments in ({"market": "farmers", "date": str(s.days[0])}, {"market": "nowhere", "date": "soon"}):
            named = set(re.findall(r"\b([a-z_]+)\(", await prompt(alice, name, **arguments)))
            assert named <= job.tools <= registered, (name, named - job.tools, job.tools - registered)


async def test_a_server_with_fewer_toolsets_offers_only_the_prompts_it_can_carry_out(alice: Tenant) -> None:
    server = build_server(
        Settings(database_url=str(alice.db.url)),
        db=alice.db,
        token=alice.token,
        toolsets=["dashboard", "markets", "market_dates", "applications", "orders"],
    )
    async with Client(server) as client:
        listed = [p.name for p in (await client.list_prompts()).prompts]
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("rained_off", {"market": "x", "date": "2030-01-05"})
    assert listed == ["monday_briefing"]
    assert refused.value.message == "Unknown prompt 'rained_off'; prompts/list names the prompts: monday_briefing."


async def test_an_unknown_prompt_or_a_missing_argument_is_invalid_params_and_says_what_is_wanted(
    alice: Tenant,
) -> None:
    async with connect(alice) as client:
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("weekly_report")
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("fill_empty_spaces", {"market": "Riverside", "date": "  "})
    assert (unknown.value.code, unknown.value.data) == (INVALID_PARAMS, {"code": 404})
    assert unknown.value.message == (
        "Unknown prompt 'weekly_report'; prompts/list names the prompts: monday_briefing, rained_off, "
        "market_day_checklist, fill_empty_spaces."
    )
    assert (missing.value.code, missing.value.data) == (INVALID_PARAMS, {"code": 422})
    assert missing.value.message == (
        "fill_empty_spaces needs date. date: The trading day, YYYY-MM-DD (completion offers the market's upcoming "
        "dates)."
    )


async def test_a_revoked_token_gets_no_prompt_and_is_told_the_tools_fix(alice: Tenant) -> None:
    async with connect(alice, token="mk_org_" + "x" * 43) as client:
        with pytest.raises(MCPError) as refused:
            await client.get_prompt("monday_briefing")
    assert (refused.value.code, refused.value.message, refused.value.data) == (
        INVALID_REQUEST,
        MISSING_TOKEN,
        {"code": 401},
    )


# ---------------------------------------------------------------- completion/complete


async def test_market_names_complete_from_any_part_of_the_name_in_any_case_those_starting_with_it_first(
    alice: Tenant,
) -> None:
    async with alice.client() as c:
        for name in ("Riverside Farmers Market", "Night Bazaar", "Bayside Makers Market", "Marketplace Twilight"):
            await c.ok("create_market", name=name)
    ref = PromptReference(name="rained_off")
    async with connect(alice) as client:
        market = await values(client, ref, "market", "MARKET")
        ba = await values(client, ref, "market", "ba")
        every = await values(client, ref, "market", "")
        none = await values(client, ref, "market", "harbour")
    assert market == ["Marketplace Twilight", "Bayside Makers Market", "Riverside Farmers Market"]
    assert ba == ["Bayside Makers Market", "Night Bazaar"]
    assert every == ["Bayside Makers Market", "Marketplace Twilight", "Night Bazaar", "Riverside Farmers Market"]
    assert none == []


async def test_dates_complete_from_the_chosen_markets_upcoming_scheduled_dates(alice: Tenant) -> None:
    s = await riverside(alice)
    async with alice.client() as c:
        other = await market_with_dates(c, "Night Bazaar", dates=1)
        await c.ok("cancel_market_date", market_date_id=s.date_ids[1])
    ref = PromptReference(name="market_day_checklist")
    async with connect(alice) as client:
        chosen = await values(client, ref, "date", "", market="riverside farmers market")
        typed = await values(client, ref, "date", str(s.days[2]), market="Riverside Farmers Market")
        unchosen = await values(client, ref, "date", "")
    assert chosen == [str(s.days[0]), str(s.days[2])]  # the cancelled one is not offered
    assert typed == [str(s.days[2])]
    assert other.days == s.days[:1]
    assert unchosen == [str(s.days[0]), str(s.days[2])]  # each day once, whichever market trades on it


async def test_market_ids_complete_for_the_market_template_and_nothing_else_does(alice: Tenant) -> None:
    async with alice.client() as c:
        ids = [(await c.ok("create_market", name=f"Market {n}"))["id"] for n in range(12)]
    async with connect(alice) as client:
        markets = await values(
            client, ResourceTemplateReference(uri="market-mcp://market/{market_id}"), "market_id", "1"
        )
        vendors = await client.complete(
            ResourceTemplateReference(uri="market-mcp://vendor/{vendor_id}"), {"name": "vendor_id", "value": ""}
        )
    assert markets == [str(i) for i in ids if str(i).startswith("1")]
    assert vendors.completion.values == []  # vendors are found with search


@pytest.mark.parametrize(
    ("ref", "argument"),
    [
        (PromptReference(name="test_prompt_with_arguments"), "arg1"),  # what the conformance suite asks
        (PromptReference(name="rained_off"), "reason"),
        (ResourceTemplateReference(uri="market-mcp://stall/{id}"), "id"),
    ],
)
async def test_an_unknown_prompt_template_or_argument_completes_to_nothing_rather_than_an_error(
    alice: Tenant, ref: PromptReference | ResourceTemplateReference, argument: str
) -> None:
    async with connect(alice, token="mk_org_" + "x" * 43) as client:  # nothing to offer: no read, no refusal
        completion = (await client.complete(ref, {"name": argument, "value": "par"})).completion
    assert completion.values == []


async def test_completion_never_offers_another_organisations_markets_or_dates(alice: Tenant, bob: Tenant) -> None:
    await riverside(alice)
    async with connect(bob) as client:
        names = await values(client, PromptReference(name="rained_off"), "market", "")
        days = await values(client, PromptReference(name="rained_off"), "date", "", market="Riverside Farmers Market")
    assert (names, days) == ([], [])


async def test_completion_needs_a_good_token_but_uses_none_of_its_tool_calls(alice: Tenant) -> None:
    await riverside(alice)
    ref = PromptReference(name="rained_off")
    async with connect(alice, rate_limit=1) as client:
        for typed in ("r", "ri", "riv", "rive"):
            assert await values(client, ref, "market", typed) == ["Riverside Farmers Market"]
        allowed = await client.call_tool("list_markets", {})
    async with connect(alice, token="mk_org_" + "x" * 43) as client:
        with pytest.raises(MCPError) as refused:
            await client.complete(ref, {"name": "market", "value": "r"})
    assert not allowed.is_error
    assert (refused.value.message, refused.value.data) == (MISSING_TOKEN, {"code": 401})


async def test_a_nul_in_what_was_typed_is_dropped_and_a_name_far_too_long_is_no_market(alice: Tenant) -> None:
    s = await riverside(alice)
    nul = await prompt(alice, "rained_off", market="riverside\x00 farmers", date=f"{s.days[0]}\x00")
    long = await prompt(alice, "rained_off", market="r" * 10_000, date=str(s.days[0]))
    async with connect(alice) as client:
        completed = await values(client, PromptReference(name="rained_off"), "market", "\x00farm")
    assert nul.startswith(f"Riverside Farmers Market is rained off on {long_date(s.days[0])} (market_id {s.market_id},")
    assert long.splitlines()[2] == (
        f'No market of mine is named "{"r" * 80}…". Call list_markets() to see them all and ask me which one I '
        "mean; use its id as market_id."
    )
    assert completed == ["Riverside Farmers Market"]
