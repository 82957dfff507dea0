"""The document upload page of vendor links: the link in a compliance document's expiry reminder (only with a
public URL), its form (a file, the expiry date, the number), what a multipart POST records (the store, get_vendor,
the file read back byte for byte, the audit entry as the vendor, the dashboard line), refusals that leave the link
usable, single use, and another organisation's token unknown. The ASGI app through httpx, in-process."""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy import select

from market_mcp.db.tables import VendorDocument, VendorLink
from market_mcp.scheduler import run_once
from market_mcp.services.compliance import MAX_FILE_BYTES
from market_mcp.vendor_pages import MAX_UPLOAD_BYTES
from tests.factories import Tenant, today
from tests.test_vendor_links import BASE, link_in, mail, organiser, pages
from tests.tools.test_compliance import INSURANCE, PDF
from tests.tools.test_waitlist import Clock

EXPIRES = today() + timedelta(days=20)  # within the kind's 30-day reminder window
NEW_EXPIRY = today() + timedelta(days=385)


async def reminded(
    tenant: Tenant, clock: Clock, *, public_url: str | None = BASE, name: str = "Green Bean Coffee"
) -> tuple[int, int]:
    """(vendor id, document id) of a vendor whose insurance expires in 20 days, once the scheduler's pass has
    queued its reminder."""
    async with organiser(tenant, clock=clock, public_url=public_url) as c:
        vendor = (await c.ok("create_vendor", business_name=name, email="bean@example.com", contact_name="Sam"))["id"]
        await c.ok("set_document_kind", name=INSURANCE, required_for_all=True)
        document = await c.ok(
            "record_vendor_document", vendor_id=vendor, kind=INSURANCE, number="P-77", expires_on=str(EXPIRES)
        )
    assert await run_once(tenant.db, clock, email_delivery=False, public_url=public_url) == 1
    return vendor, document["id"]


def upload(content: bytes = PDF, *, expires_on: str = str(NEW_EXPIRY), number: str = "P-88") -> dict[str, object]:
    return {
        "files": {"file": ("insurance 2027.pdf", content, "application/pdf")},
        "data": {"expires_on": expires_on, "number": number, "choice": "upload"},
    }


async def links(tenant: Tenant) -> list[VendorLink]:
    async with tenant.db.transaction() as session:
        stmt = select(VendorLink).where(VendorLink.organization_id == tenant.org_id).order_by(VendorLink.id)
        return list((await session.execute(stmt)).scalars())


async def documents(tenant: Tenant, vendor_id: int) -> list[VendorDocument]:
    async with tenant.db.transaction() as session:
        stmt = select(VendorDocument).where(VendorDocument.vendor_id == vendor_id).order_by(VendorDocument.id)
        return list((await session.execute(stmt)).scalars())


async def test_the_reminder_carries_an_upload_link_only_with_a_public_url(alice: Tenant, bob: Tenant) -> None:
    clock = Clock()
    _, document_id = await reminded(alice, clock)
    await reminded(bob, clock, public_url=None, name="Bob's Bagels")
    (alices,) = [e.body for e in await mail(alice, "document_expiring")]
    (bobs,) = [e.body for e in await mail(bob, "document_expiring")]
    [link] = await links(alice)
    assert "Upload the new certificate (a PDF or a clear photo is fine) here:\n" + BASE + "/v/" in alices
    assert alices.endswith("\n\nOr reply to this email with it.\n\nThank you,\nAlice Markets")
    assert "/v/" not in bobs and await links(bob) == []
    assert "after that day.\n\nPlease reply with the new certificate (a PDF or a clear photo is fine).\n\nThank" in bobs
    assert (link.action, link.record_id, link.vendor_id is not None) == ("document", document_id, True)
    # open for 14 days, or until the old certificate expires when that is later (here: 20 days)
    assert link.expires_at.date() >= EXPIRES and link.expires_at - clock() > timedelta(days=14)


async def test_the_page_asks_for_the_new_certificate_with_a_labelled_multipart_form(alice: Tenant) -> None:
    clock = Clock()
    await reminded(alice, clock)
    path = await link_in(alice, "document_expiring")
    async with pages(alice, clock) as http:
        shown = await http.get(path)
    text = shown.text
    assert shown.status_code == 200 and "<h1>Your new public liability insurance</h1>" in text
    assert f"Green Bean Coffee&#x27;s public liability insurance (no. P-77) on record, expiring on {EXPIRES:%A}" in text
    assert '<form method="post" enctype="multipart/form-data"' in text
    assert '<label for="f-file">The new certificate</label>' in text
    assert 'type="file" id="f-file" name="file" aria-describedby="f-file-hint" required' in text
    assert '<label for="f-expires_on">Expiry date</label>' in text
    assert 'type="date" id="f-expires_on" name="expires_on" aria-describedby="f-expires_on-hint" required' in text
    assert '<label for="f-number">Certificate or policy number (optional)</label>' in text
    assert 'name="number" maxlength="100">' in text
    assert "<script" not in text
    assert [link.used_at for link in await links(alice)] == [None]  # looking changes nothing


async def test_uploading_records_the_document_as_the_vendor_once(alice: Tenant) -> None:
    clock = Clock()
    vendor, old_id = await reminded(alice, clock)
    path = await link_in(alice, "document_expiring")
    async with pages(alice, clock) as http:
        done = await http.post(path, **upload())  # type: ignore[arg-type]
        again = await http.post(path, **upload())  # type: ignore[arg-type]
    async with organiser(alice, clock=clock) as c:
        seen = await c.ok("get_vendor", vendor_id=vendor)
        [brief] = seen["documents"]
        read = await c.client.read_resource(brief["file_uri"])
        audit = await c.ok("list_audit_log", tool="record_vendor_document", detail="full")
        summary = await c.ok("get_dashboard_summary")
    old, new = await documents(alice, vendor)
    [content] = read.contents
    assert done.status_code == 200 and "<h1>Thank you</h1>" in done.text
    assert f"Done: you uploaded a new public liability insurance (expires {NEW_EXPIRY})." in done.text
    assert again.status_code == 410 and "already been used" in again.text
    assert (old.id, old.is_current, new.is_current) == (old_id, False, True)
    assert (new.number, new.expires_on, new.filename, new.content_type, new.size) == (
        "P-88",
        NEW_EXPIRY,
        "insurance 2027.pdf",
        "application/pdf",
        len(PDF),
    )
    assert bytes(new.content or b"") == PDF
    assert (brief["id"], brief["kind"], brief["expires_on"], brief["status"]) == (
        new.id,
        INSURANCE,
        str(NEW_EXPIRY),
        "valid",
    )
    assert base64.b64decode(content.blob) == PDF  # type: ignore[union-attr]
    [entry] = [e for e in audit["items"] if e["token_name"] == "vendor: Green Bean Coffee (link)"]
    assert entry["arguments"] == {
        "vendor_id": vendor,
        "kind": INSURANCE,
        "number": "P-88",
        "expires_on": str(NEW_EXPIRY),
        "filename": "insurance 2027.pdf",
        "file_bytes": len(PDF),
        "via": "vendor link",
    }
    assert f"vendor_document:{new.id}" in entry["records"]
    line = f"Green Bean Coffee uploaded a new public liability insurance (expires {NEW_EXPIRY}) (via their link)."
    assert summary["vendor_actions"] == [line]
    assert line in summary["text"]


async def test_a_refused_file_or_date_shows_the_form_again_and_leaves_the_link_usable(alice: Tenant) -> None:
    clock = Clock()
    vendor, _ = await reminded(alice, clock)
    path = await link_in(alice, "document_expiring")
    async with pages(alice, clock) as http:
        too_big = await http.post(path, **upload(b"x" * (MAX_FILE_BYTES + 1)))  # type: ignore[arg-type]
        past = await http.post(path, **upload(expires_on=str(today() - timedelta(days=1))))  # type: ignore[arg-type]
        no_date = await http.post(path, **upload(expires_on=""))  # type: ignore[arg-type]
        empty = await http.post(path, **upload(b""))  # type: ignore[arg-type]
        body = await http.post(  # past the page's body limit: refused before it is read
            path, content=b"x" * (MAX_UPLOAD_BYTES + 1), headers={"content-type": "multipart/form-data; boundary=b"}
        )
        done = await http.post(path, **upload())  # type: ignore[arg-type]
    assert too_big.status_code == 422 and "The file is 5.0 MB; the limit is 5 MB." in too_big.text
    assert 'role="alert"' in too_big.text and 'value="P-88"' in too_big.text  # what was typed, kept
    assert past.status_code == 422 and "is in the past" in past.text and "expires_on" not in past.text.split("<form")[0]
    assert no_date.status_code == 422 and "Please enter the new certificate&#x27;s expiry date." in no_date.text
    assert empty.status_code == 422 and "Please choose the file of the new certificate" in empty.text
    assert body.status_code == 413 and "<h1>The file is too large</h1>" in body.text
    assert done.status_code == 200  # the same link, still usable after every refusal
    assert [d.expires_on for d in await documents(alice, vendor)] == [EXPIRES, NEW_EXPIRY]


async def test_another_organisations_token_is_unknown_and_buttons_do_not_answer_a_form(
    alice: Tenant, bob: Tenant
) -> None:
    clock = Clock()
    await reminded(alice, clock)
    bobs_vendor, _ = await reminded(bob, clock, name="Bob's Bagels")
    path = await link_in(bob, "document_expiring")
    async with pages(alice, clock) as http:
        altered = await http.post(path[:-2] + "xx", **upload())  # type: ignore[arg-type]
        buttons_only = await http.post(path, data={"choice": "upload"})
        theirs = await http.post(path, **upload())  # type: ignore[arg-type]
    assert altered.status_code == 404 and "This link doesn&#x27;t work" in altered.text
    assert buttons_only.status_code == 400
    assert theirs.status_code == 200  # a link acts in its own organisation only
    assert [d.is_current for d in await documents(bob, bobs_vendor)] == [False, True]
    assert [link.used_at is None for link in await links(alice)] == [True]


async def test_a_document_replaced_meanwhile_says_so_and_records_nothing(alice: Tenant) -> None:
    clock = Clock()
    vendor, _ = await reminded(alice, clock)
    path = await link_in(alice, "document_expiring")
    async with organiser(alice, clock=clock) as c:
        await c.ok(
            "record_vendor_document", vendor_id=vendor, kind=INSURANCE, expires_on=str(today() + timedelta(days=400))
        )
    async with pages(alice, clock) as http:
        shown = await http.get(path)
        tried = await http.post(path, **upload())  # type: ignore[arg-type]
    assert shown.status_code == 410 and tried.status_code == 410
    assert "<h1>This can no longer be done</h1>" in tried.text
    assert len(await documents(alice, vendor)) == 2
