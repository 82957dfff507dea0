"""compliance: document kinds set by name, vendors' documents recorded (with a file served back byte for byte),
who is booked on a date without valid documents, expiry reminders queued once, and another organisation's
kinds, documents, vendors and dates unseen. Through the MCP client; the store read back where a result could
mislead."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from sqlalchemy import select

from market_mcp.db.tables import AuditEntry, VendorDocument
from market_mcp.scheduler import run_once
from tests.factories import Caller, Tenant, today
from tests.tools.test_orders import Setup, approved_vendor, market_with_dates, order_of, outbox

INSURANCE = "Public liability insurance"
LICENCE = "Food licence"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def booked_market(c: Caller) -> tuple[Setup, dict[str, int]]:
    """Riverside trading three Saturdays, four vendors booked on all of them (pending orders), before any
    document is required."""
    s = await market_with_dates(c, dates=3)
    vendors = {}
    for name, category in (
        ("Green Bean Coffee", "Coffee"),
        ("Rosa's Bakery", "Bakery"),
        ("Hill Farm", "Produce"),
        ("Wool & Co", "Craft"),
    ):
        vendors[name] = await approved_vendor(c, s.market_id, name)
        await c.ok("update_vendor", vendor_id=vendors[name], category=category)
        await order_of(c, vendors[name], s.date_ids)
    return s, vendors


async def kinds_set(c: Caller, market_id: int) -> None:
    """Insurance for everyone; a food licence for coffee and bakery."""
    await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
    await c.ok("set_document_kind", name=LICENCE, required_for_categories=["coffee", "BAKERY"])


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


async def stored_documents(tenant: Tenant) -> list[tuple[int, int, bool, date | None]]:
    async with tenant.db.transaction() as session:
        rows = await session.execute(
            select(
                VendorDocument.id, VendorDocument.vendor_id, VendorDocument.is_current, VendorDocument.expires_on
            ).order_by(VendorDocument.id)
        )
    return [tuple(row) for row in rows.all()]  # type: ignore[misc]


# ---------------------------------------------------------------- kinds


async def test_a_kind_is_set_by_name_changed_ignoring_case_and_every_kind_is_returned(alice: Tenant) -> None:
    async with alice.client() as c:
        market = await c.ok("create_market", name="Riverside", default_fee="45")
        first = await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
        await c.ok("set_document_kind", name=LICENCE, required_for_categories=["Food", " Coffee ", "Food"])
        changed = await c.ok(
            "set_document_kind",
            name="FOOD LICENCE",
            required_for_market_ids=[market["id"]],
            remind_days_before=14,
        )
    assert first["summary"] == f'Added the document kind "{INSURANCE}": required of every vendor.'
    assert changed["summary"] == (
        'Updated the document kind "Food licence": required of vendors in Food, Coffee and every vendor at Riverside.'
    )
    assert [
        (k["name"], k["required_for_all"], k["required_for_categories"], k["required_for_market_ids"],
         k["remind_days_before"], k["documents_on_record"])
        for k in changed["kinds"]
    ] == [
        (LICENCE, False, ["Food", "Coffee"], [market["id"]], 14, 0),
        (INSURANCE, True, [], [], 30, 0),
    ]  # fmt: skip


async def test_removing_a_kind_removes_its_documents_and_an_unknown_one_is_not_found(alice: Tenant) -> None:
    async with alice.client() as c:
        vendor = await c.ok("create_vendor", business_name="Hill Farm", email="hill@example.com")
        await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
        await c.ok("record_vendor_document", vendor_id=vendor["id"], kind=INSURANCE)
        removed = await c.ok("set_document_kind", name=INSURANCE.upper(), remove=True)
        unknown = await c.refused("set_document_kind", 404, name="Electrical test tag", remove=True)
    assert removed == {"summary": f'Removed the document kind "{INSURANCE}" and its 1 document.', "kinds": []}
    assert unknown == (
        'There is no document kind "Electrical test tag" to remove. There are no document kinds yet; add one with '
        "set_document_kind."
    )
    assert await stored_documents(alice) == []


# ---------------------------------------------------------------- recording


async def test_a_document_of_an_unknown_kind_is_refused_naming_the_kinds(alice: Tenant) -> None:
    async with alice.client() as c:
        vendor = await c.ok("create_vendor", business_name="Hill Farm", email="hill@example.com")
        await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
        await c.ok("set_document_kind", name=LICENCE)
        refused = await c.refused("record_vendor_document", 422, vendor_id=vendor["id"], kind="Insurance")
    assert refused == (
        'kind "Insurance" is not a document kind of this organisation. The kinds are "Food licence", '
        f'"{INSURANCE}" (set_document_kind adds one).'
    )
    assert await stored_documents(alice) == []


async def test_a_file_over_5_mb_and_an_expiry_already_past_are_refused(alice: Tenant) -> None:
    async with alice.client() as c:
        vendor = await c.ok("create_vendor", business_name="Hill Farm", email="hill@example.com")
        await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
        too_big = await c.refused(
            "record_vendor_document", 422, vendor_id=vendor["id"], kind=INSURANCE,
            file_base64=b64(b"x" * (5 * 1024 * 1024 + 1)), filename="scan.pdf",
        )  # fmt: skip
        past = await c.refused(
            "record_vendor_document", 422, vendor_id=vendor["id"], kind=INSURANCE,
            expires_on=str(today() - timedelta(days=1)),
        )  # fmt: skip
    assert too_big == (
        "The file is 5.0 MB; the limit is 5 MB. Send a smaller scan or photo, or record the document without "
        "file_base64."
    )
    assert past == (
        f"expires_on {today() - timedelta(days=1)} is in the past, so this document is not valid for any market to "
        "come. Check the date, or record the vendor's current certificate."
    )
    assert await stored_documents(alice) == []


async def test_a_newer_document_supersedes_the_older_which_is_kept_as_history(alice: Tenant) -> None:
    year = today() + timedelta(days=200)
    async with alice.client() as c:
        vendor = (await c.ok("create_vendor", business_name="Hill Farm", email="hill@example.com"))["id"]
        await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
        old = await c.ok(
            "record_vendor_document", vendor_id=vendor, kind="public LIABILITY insurance", number="P-1",
            expires_on=str(today() + timedelta(days=10)),
        )  # fmt: skip
        new = await c.ok(
            "record_vendor_document", vendor_id=vendor, kind=INSURANCE, number="P-2", issuer="Acme Mutual",
            expires_on=str(year),
        )  # fmt: skip
        shown = await c.ok("get_vendor", vendor_id=vendor)
    assert old["summary"] == (
        f'Recorded "Hill Farm"\'s public liability insurance, valid until {today() + timedelta(days=10)}; it expires '
        "within 30 days, so the vendor will be reminded."
    )
    assert (old["status"], old["file_uri"], old["superseded_document_id"]) == ("expiring_soon", None, None)
    assert new["summary"] == (
        f'Recorded "Hill Farm"\'s public liability insurance, valid until {year}; it replaces document '
        f"{old['id']}, kept as history."
    )
    assert (new["superseded_document_id"], new["issuer"], new["status"]) == (old["id"], "Acme Mutual", "valid")
    assert shown["documents"] == [
        {"id": new["id"], "kind": INSURANCE, "number": "P-2", "expires_on": str(year), "status": "valid",
         "file_uri": None}
    ]  # fmt: skip
    assert await stored_documents(alice) == [
        (old["id"], vendor, False, today() + timedelta(days=10)),
        (new["id"], vendor, True, year),
    ]


async def test_the_stored_file_reads_back_byte_for_byte_as_a_resource(alice: Tenant, bob: Tenant) -> None:
    async with alice.client() as c:
        vendor = (await c.ok("create_vendor", business_name="Hill Farm", email="hill@example.com"))["id"]
        await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
        recorded = await c.ok(
            "record_vendor_document", vendor_id=vendor, kind=INSURANCE, file_base64=b64(PDF),
            filename="certificate.pdf",
        )  # fmt: skip
        plain = await c.ok("record_vendor_document", vendor_id=vendor, kind=INSURANCE)
        read = await c.client.read_resource(recorded["file_uri"])
        fileless = await refused_resource(c, f"market-mcp://vendor-documents/{plain['id']}/file")
    async with bob.client() as c:
        theirs = await refused_resource(c, recorded["file_uri"])
    assert recorded["file_uri"] == f"market-mcp://vendor-documents/{recorded['id']}/file"
    assert (recorded["filename"], recorded["content_type"], recorded["size"]) == (
        "certificate.pdf",
        "application/pdf",
        len(PDF),
    )
    [content] = read.contents
    assert (content.mime_type, base64.b64decode(content.blob)) == ("application/pdf", PDF)  # type: ignore[union-attr]
    assert fileless == (
        404,
        f"Vendor document {plain['id']} has no file; record_vendor_document with file_base64 adds one.",
    )
    assert theirs == (404, f"Vendor document {recorded['id']} not found.")


async def refused_resource(c: Caller, uri: str) -> tuple[int, str]:
    with pytest.raises(MCPError) as refused:
        await c.client.read_resource(uri)
    return refused.value.data["code"], refused.value.message  # type: ignore[index]


# ---------------------------------------------------------------- who is booked without valid documents


async def test_list_compliance_says_who_is_booked_on_a_date_without_valid_insurance(alice: Tenant) -> None:
    async with alice.client() as c:
        s, v = await booked_market(c)
        await kinds_set(c, s.market_id)
        first, second = s.days[0], s.days[1]
        # Coffee: insured past the second date, licensed; Bakery: insured only until the day before the second
        # date, no licence; Produce: insured until the first date itself; Craft: nothing.
        await c.ok("record_vendor_document", vendor_id=v["Green Bean Coffee"], kind=INSURANCE,
                   expires_on=str(second + timedelta(days=100)))  # fmt: skip
        await c.ok("record_vendor_document", vendor_id=v["Green Bean Coffee"], kind=LICENCE)
        bakery = await c.ok("record_vendor_document", vendor_id=v["Rosa's Bakery"], kind=INSURANCE,
                            expires_on=str(second - timedelta(days=1)))  # fmt: skip
        farm = await c.ok("record_vendor_document", vendor_id=v["Hill Farm"], kind=INSURANCE, expires_on=str(first))
        on_second = await c.ok("list_compliance", market_date_id=s.date_ids[1])
        by_day = await c.ok("list_compliance", date=str(second), status="all")
        coffee_all = await c.ok("list_compliance", vendor_id=v["Green Bean Coffee"], status="all")
    assert [(r["business_name"], r["documents"]) for r in on_second["items"]] == [
        ("Hill Farm", [{"kind": INSURANCE, "state": "expired", "expires_on": str(first), "document_id": farm["id"]}]),
        ("Rosa's Bakery", [
            {"kind": LICENCE, "state": "missing"},
            {"kind": INSURANCE, "state": "expired", "expires_on": str(second - timedelta(days=1)),
             "document_id": bakery["id"]},
        ]),
        ("Wool & Co", [{"kind": INSURANCE, "state": "missing"}]),
    ]  # fmt: skip
    assert on_second["summary"] == (
        f'4 bookings at "Riverside" on {second:%A} {second.day} {second:%B %Y}: 3 without a valid required '
        f'document: "Hill Farm" on {second} (public liability insurance expired); "Rosa\'s Bakery" on {second} '
        f'(food licence missing, public liability insurance expired); "Wool & Co" on {second} (public liability '
        "insurance missing). Record documents with record_vendor_document."
    )
    assert (on_second["total"], on_second["problems_only"]) == (3, True)
    assert on_second["document_kinds"] == [
        "Food licence: required of vendors in coffee, BAKERY",
        f"{INSURANCE}: required of every vendor",
    ]
    assert [(r["business_name"], r["compliant"]) for r in by_day["items"]] == [
        ("Green Bean Coffee", True),
        ("Hill Farm", False),
        ("Rosa's Bakery", False),
        ("Wool & Co", False),
    ]
    assert by_day["total"] == 4
    assert [(r["scheduled_at"], [d["state"] for d in r["documents"]]) for r in coffee_all["items"]] == [
        (str(day), ["valid", "valid"]) for day in s.days
    ]


async def test_with_no_kinds_list_compliance_says_nothing_is_required(alice: Tenant) -> None:
    async with alice.client() as c:
        s, _ = await booked_market(c)
        page = await c.ok("list_compliance", market_date_id=s.date_ids[0], status="all")
    assert page["summary"] == (
        "No document kinds are set up, so no document is required; add one with set_document_kind."
    )
    assert [(r["compliant"], r["documents"]) for r in page["items"]] == [(True, [])] * 4


# ---------------------------------------------------------------- reminders


def days_ahead(days: int) -> Any:
    return lambda: datetime.now(UTC) + timedelta(days=days)


async def test_a_document_near_expiry_is_reminded_once_and_a_newer_one_starts_afresh(alice: Tenant) -> None:
    expires = today() + timedelta(days=40)
    async with alice.client() as c:
        vendor = (
            await c.ok("create_vendor", business_name="Hill Farm", email="hill@example.com", contact_name="Jo Hill")
        )["id"]
        await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
        first = await c.ok(
            "record_vendor_document", vendor_id=vendor, kind=INSURANCE, number="P-77", expires_on=str(expires)
        )
    assert await run_once(alice.db, days_ahead(9), email_delivery=False) == 0  # 31 days before: not yet
    assert await run_once(alice.db, days_ahead(10), email_delivery=False) == 1
    assert await run_once(alice.db, days_ahead(11), email_delivery=False) == 0  # once
    async with alice.client(clock=days_ahead(11)) as c:
        second = await c.ok(
            "record_vendor_document", vendor_id=vendor, kind=INSURANCE, expires_on=str(expires + timedelta(days=5))
        )
    assert await run_once(alice.db, days_ahead(14), email_delivery=False) == 0  # 31 days before the new expiry
    assert await run_once(alice.db, days_ahead(15), email_delivery=False) == 1  # the new one, reminded afresh
    mail = [e for e in await outbox(alice) if e["kind"] == "document_expiring"]
    assert [(e["record_type"], e["record_id"], e["subject"]) for e in mail] == [
        ("vendor_document", first["id"], f"Your public liability insurance expires on {long(expires)}"),
        ("vendor_document", second["id"], f"Your public liability insurance expires on {long(expires + timedelta(5))}"),
    ]
    assert mail[0]["body"] == (
        "Hi Jo,\n\nOur records show that Hill Farm's public liability insurance (no. P-77) expires on "
        f"{long(expires)}. We need a current one on file for you to keep trading at our markets after that day.\n\n"
        "Please reply with the new certificate (a PDF or a clear photo is fine).\n\nThank you,\nAlice Markets"
    )
    async with alice.db.transaction() as session:
        entries = (
            (await session.execute(select(AuditEntry).where(AuditEntry.tool == "document_reminders"))).scalars().all()
        )
    assert [(e.token_name, e.arguments, e.records) for e in entries] == [
        ("scheduler", {"reminders_queued": 1}, [f"vendor_document:{first['id']}"]),
        ("scheduler", {"reminders_queued": 1}, [f"vendor_document:{second['id']}"]),
    ]


def long(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


# ---------------------------------------------------------------- another organisation


async def test_another_organisations_vendor_document_kind_and_date_are_not_found(alice: Tenant, bob: Tenant) -> None:
    async with bob.client() as c:
        s, v = await booked_market(c)
        await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
        document = await c.ok("record_vendor_document", vendor_id=v["Hill Farm"], kind=INSURANCE)
    async with alice.client() as c:
        await c.ok("set_document_kind", name=LICENCE)
        vendor = await c.refused("record_vendor_document", 404, vendor_id=v["Hill Farm"], kind=LICENCE)
        mine = (await c.ok("create_vendor", business_name="Alice Farm", email="farm@example.com"))["id"]
        kind = await c.refused("record_vendor_document", 422, vendor_id=mine, kind=INSURANCE)
        day = await c.refused("list_compliance", 404, market_date_id=s.date_ids[0])
        market = await c.refused("set_document_kind", 404, name=LICENCE, required_for_market_ids=[s.market_id])
        shown = await c.ok("get_vendor", vendor_id=mine)
        everything = await c.ok("list_compliance", status="all")
    assert vendor == f"Vendor {v['Hill Farm']} not found."
    assert kind == (
        f'kind "{INSURANCE}" is not a document kind of this organisation. The kinds are "Food licence" '
        "(set_document_kind adds one)."
    )
    assert (day, market) == (f"Market date {s.date_ids[0]} not found.", f"Market {s.market_id} not found.")
    assert shown["documents"] == [] and everything["items"] == [] and document["id"] == 1


# ---------------------------------------------------------------- approval and booking (services/admission.py)


async def test_create_order_is_refused_naming_the_document_then_goes_ahead_with_an_override(alice: Tenant) -> None:
    async with alice.client() as c:
        s = await market_with_dates(c, dates=2)
        bakery = await approved_vendor(c, s.market_id, "Rosa's Bakery")
        await c.ok("update_vendor", vendor_id=bakery, category="Bakery")
        await kinds_set(c, s.market_id)
        await c.ok(
            "record_vendor_document", vendor_id=bakery, kind=INSURANCE, expires_on=str(s.days[0] + timedelta(days=1))
        )
        refused = await c.refused("create_order", 409, vendor_id=bakery, market_date_ids=s.date_ids)
        before = await stored_documents(alice)
        order = await order_of(c, bakery, s.date_ids, override_reason="Licence seen on paper at the gate")
    assert refused == (
        f'"Rosa\'s Bakery" has no food licence on record valid on {s.days[0]}; record it with '
        f"record_vendor_document (vendor_id={bakery}). \"Rosa's Bakery\"'s public liability insurance expires on "
        f"{s.days[0] + timedelta(days=1)}, before {s.days[1]}; record the new one with record_vendor_document "
        f"(vendor_id={bakery}). To go ahead anyway, call again with override_reason saying why (kept in the audit "
        "log)."
    )
    assert (order["status"], len(order["bookings"])) == ("pending", 2) and len(before) == 1
    async with alice.db.transaction() as session:
        entries = (
            (await session.execute(select(AuditEntry).where(AuditEntry.tool == "create_order").order_by(AuditEntry.id)))
            .scalars()
            .all()
        )
    assert [(e.outcome, e.arguments.get("override_reason")) for e in entries] == [
        ("409", None),
        ("ok", "Licence seen on paper at the gate"),
    ]


async def test_approving_an_application_needs_the_documents_on_record_and_not_expired(alice: Tenant) -> None:
    async with alice.client() as c:
        market = (await c.ok("create_market", name="Riverside", default_fee="45"))["id"]
        vendor = (
            await c.ok("create_vendor", business_name="Green Bean Coffee", email="bean@example.com", category="Coffee")
        )["id"]
        await kinds_set(c, market)
        application = (await c.ok("create_application", market_id=market, vendor_id=vendor))["id"]
        refused = await c.refused(
            "update_application_status", 409, application_id=application, status="approved", send_notification=False
        )
        for kind in (INSURANCE, LICENCE):
            await c.ok("record_vendor_document", vendor_id=vendor, kind=kind, expires_on=str(today() + timedelta(400)))
        approved = await c.ok(
            "update_application_status", application_id=application, status="approved", send_notification=False
        )
    assert refused == (
        f'"Green Bean Coffee" has no food licence on record; record it with record_vendor_document '
        f'(vendor_id={vendor}). "Green Bean Coffee" has no public liability insurance on record; record it with '
        f"record_vendor_document (vendor_id={vendor}). To go ahead anyway, call again with override_reason saying "
        "why (kept in the audit log)."
    )
    assert approved["status"] == "approved"
