"""Applications: a vendor asking to trade at a market, and the organiser's decision."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Application, Market, MarketDate, Vendor
from market_mcp.db.types import utcnow
from market_mcp.errors import Conflict, Invalid
from market_mcp.schemas.applications import ApplicationCreated, ApplicationDecided, ApplicationOut, ReminderSent
from market_mcp.schemas.common import Page, format_money, long_date
from market_mcp.schemas.credits import CreditDetail
from market_mcp.schemas.text import one_line, quoted
from market_mcp.schemas.vendors import VendorFields
from market_mcp.services import admission, credits, emails, questions, ranges, site, vendors
from market_mcp.services.scope import count, get_or_404, scoped, vendors_matching

# DOMAIN.md: pending -> approved | rejected | waitlisted; waitlisted -> approved | rejected.
MOVES: dict[str, tuple[str, ...]] = {
    "pending": ("approved", "rejected", "waitlisted"),
    "waitlisted": ("approved", "rejected"),
    "approved": (),
    "rejected": (),
}
DECISION_EMAIL = {
    "approved": "application_approved",
    "rejected": "application_rejected",
    "waitlisted": "application_waitlisted",
}


def _joined(org: OrgContext, score: Any = None) -> Any:
    return (
        scoped(
            org, Application, Application, Vendor, Market.name, questions.average_score(org) if score is None else score
        )
        .join(Vendor, Vendor.id == Application.vendor_id)
        .join(Market, Market.id == Application.market_id)
    )


def _out(
    org: OrgContext,
    application: Application,
    vendor: Vendor,
    market_name: str,
    score: Any,
    answers: dict[int, Any],
    scores: dict[int, Any],
) -> dict[str, Any]:
    return dict(
        id=application.id,
        status=application.status,
        allowed_moves=list(MOVES[application.status]),
        vendor_id=vendor.id,
        business_name=vendor.business_name,
        contact_name=vendor.contact_name,
        vendor_email=vendor.email,
        category=vendor.category,
        market_id=application.market_id,
        market_name=market_name,
        vendor_message=application.vendor_message,
        decision_message=application.decision_message,
        starter_credit_cents=application.starter_credit_cents,
        currency=org.currency,
        submitted_at=application.submitted_at,
        decided_at=application.decided_at,
        vendor_answers=answers.get(application.id, []),  # type: ignore[call-overload]
        score=questions.rounded(score),
        scores=scores.get(application.id, []),  # type: ignore[call-overload]
    )


async def _read(org: OrgContext, application_id: int) -> dict[str, Any]:
    await get_or_404(org, Application, application_id)
    row = (await org.session.execute(_joined(org).where(Application.id == application_id))).one()
    return _out(org, *row, *await questions.answers_and_scores(org, [application_id]))


async def get_application(org: OrgContext, application_id: int) -> ApplicationOut:
    return ApplicationOut(**await _read(org, application_id))


async def list_applications(
    org: OrgContext,
    *,
    status: str | None,
    query: str | None,
    market_id: int | None,
    start_date: date | None,
    end_date: date | None,
    answer_key: str | None = None,
    answer_value: str | None = None,
    sort: str = "newest",
    limit: int,
    offset: int,
) -> Page[ApplicationOut]:
    filters: list[Any] = []
    if status:
        filters.append(Application.status == status)
    if market_id is not None:
        filters.append(Application.market_id == market_id)
    filters += ranges.at_moments(org, Application.submitted_at, start_date, end_date, names=("start_date", "end_date"))
    if query and query.strip():
        filters.append(Application.vendor_id.in_(vendors_matching(org, query)))  # type: ignore[attr-defined]
    if answer_value is not None and answer_key is None:
        raise Invalid("answer_value needs answer_key: the key of the question it answers (get_market lists them).")
    if answer_key is not None:
        filters.append(questions.answer_filter(org, answer_key, answer_value))
    score = questions.average_score(org)
    stmt = _joined(org, score).where(*filters)
    total = await count(org, scoped(org, Application).where(*filters))
    newest = [Application.submitted_at.desc(), Application.id.desc()]  # type: ignore[attr-defined, union-attr]
    ordered = stmt.order_by(*([questions.by_score(score)] if sort == "score" else []), *newest)
    rows = (await org.session.execute(ordered.limit(limit).offset(offset))).all()
    extras = await questions.answers_and_scores(org, [row[0].id for row in rows])
    return Page.of(
        [ApplicationOut(**_out(org, *row, *extras)) for row in rows], total=total, limit=limit, offset=offset
    )


async def create_application(
    org: OrgContext,
    market_id: int,
    *,
    vendor_id: int | None,
    new_vendor: VendorFields | None,
    message: str,
    answers: dict[str, Any] | None = None,
) -> ApplicationCreated:
    market = await get_or_404(org, Market, market_id)
    answer_rows = questions.check_answers(market, answers or {})  # before a vendor is created for nothing
    created = False
    if vendor_id is not None:
        if new_vendor is not None:
            raise Invalid(
                "Give either vendor_id (an existing vendor) or email and business_name (a new one), not both."
            )
        vendor = await get_or_404(org, Vendor, vendor_id)
    elif new_vendor is not None and new_vendor.email:
        found = await vendors.find_by_email(org, new_vendor.email)
        if found is not None:
            vendor = found
        elif not new_vendor.business_name:
            raise Invalid(
                f"No vendor has the email {quoted(new_vendor.email or '')}; give business_name to create one."
            )
        else:
            vendor = await vendors.create_vendor(org, new_vendor)
            created = True
    else:
        raise Invalid(
            "Give vendor_id for an existing vendor (list_vendors gives it), or email and business_name for a new one."
        )

    open_one = (
        (
            await org.session.execute(
                scoped(org, Application).where(
                    Application.vendor_id == vendor.id,
                    Application.market_id == market_id,
                    Application.status.in_(("pending", "waitlisted", "approved")),  # type: ignore[attr-defined]
                )
            )
        )
        .scalars()
        .first()
    )
    if open_one is not None:
        step = (
            "they may trade there already, so take their order with create_order"
            if open_one.status == "approved"
            else f"decide it with update_application_status (application_id={open_one.id})"
        )
        raise Conflict(
            f"{quoted(vendor.business_name)} already has application {open_one.id} to {one_line(market.name)} "
            f"({open_one.status}); "
            f"{step}."
        )
    application = Application(
        organization_id=org.organization_id,
        vendor_id=vendor.id,
        market_id=market_id,
        vendor_message=message.strip(),  # type: ignore[arg-type]
    )
    org.session.add(application)
    await org.session.flush()
    await questions.store_answers(org, application.id, answer_rows)  # type: ignore[arg-type]
    org.touch("application", application.id)  # type: ignore[arg-type]
    return ApplicationCreated(**await _read(org, application.id), vendor_created=created)  # type: ignore[arg-type]


async def require_approved(org: OrgContext, vendor: Vendor, market_id: int) -> None:
    """Refuse (409) unless the vendor has an approved application to the market, naming the way to one."""
    stmt = scoped(org, Application).where(Application.vendor_id == vendor.id, Application.market_id == market_id)
    found = list((await org.session.execute(stmt.order_by(Application.id.desc()))).scalars())  # type: ignore[union-attr]
    if any(application.status == "approved" for application in found):
        return
    market = await get_or_404(org, Market, market_id)
    open_one = next((application for application in found if application.status in ("pending", "waitlisted")), None)
    if open_one is not None:
        step = (
            f"their application {open_one.id} is {open_one.status}: approve it with update_application_status "
            f'(application_id={open_one.id}, status="approved") first'
        )
    else:
        # A decision is final, so a rejected vendor comes back through a new application.
        before = f"their application {found[0].id} was rejected, a final decision: " if found else ""
        step = (
            f"{before}record a new application with create_application (market_id={market_id}, vendor_id={vendor.id}),"
            " then approve it with update_application_status"
        )
    raise Conflict(f"{quoted(vendor.business_name)} has no approved application to {one_line(market.name)}; {step}.")


async def _next_date(org: OrgContext, market_id: int) -> date | None:
    stmt = select(MarketDate.scheduled_at).where(
        MarketDate.organization_id == org.organization_id,
        MarketDate.market_id == market_id,
        MarketDate.status == "scheduled",
        MarketDate.scheduled_at >= org.today(),
    )
    return (await org.session.execute(stmt.order_by(MarketDate.scheduled_at).limit(1))).scalar_one_or_none()


def _instead(application: Application, status: str) -> str:
    """What to do instead of a move DOMAIN.md does not allow (decisions are final)."""
    if application.status == status:
        then = {
            "approved": "; take their orders with create_order",
            "waitlisted": "; it can still be approved or rejected",
        }
        return f"it is {status} already{then.get(status, '')}"
    if MOVES[application.status]:
        return f"it can move to {' or '.join(MOVES[application.status])}"
    if application.status == "rejected":
        return (
            "its decision is final. To let them trade after all, record a new application with create_application "
            f"(market_id={application.market_id}, vendor_id={application.vendor_id}) and approve that"
        )
    return (
        "its decision is final. To stop them trading, cancel their bookings with cancel_booking or "
        "bulk_cancel_bookings and reject their unpaid orders with reject_order"
    )


async def update_application_status(
    org: OrgContext,
    application_id: int,
    *,
    status: str,
    send_notification: bool,
    starter_credit_cents: int | None,
    message: str | None,
    override_reason: str | None = None,
) -> ApplicationDecided:
    application = await get_or_404(org, Application, application_id, for_update=True)
    allowed = MOVES[application.status]
    if status not in allowed:
        raise Conflict(
            f"Application {application_id} is {application.status}, so it cannot be {status}; "
            f"{_instead(application, status)}."
        )
    if starter_credit_cents and status != "approved":
        raise Invalid(
            f"starter_credit goes with approving; this call {status} the application. Leave starter_credit out "
            "(create_credit gives any vendor a credit)."
        )

    vendor = await get_or_404(org, Vendor, application.vendor_id)
    market = await get_or_404(org, Market, application.market_id)
    if status == "approved":
        await admission.check_approval(org, vendor, market, override_reason=override_reason)
    application.status = status
    application.decided_at = utcnow()
    application.decision_message = (message or "").strip()  # the message sent with this decision, if any
    credit_id = None
    if starter_credit_cents:
        await credits.expire_due(org)
        credit = await credits.grant(
            org,
            vendor.id,  # type: ignore[arg-type]
            amount_cents=starter_credit_cents,
            source="application",
            notes=f"Starter credit for {market.name}",
            application_id=application_id,
        )
        application.starter_credit_cents += starter_credit_cents
        credit_id = credit.id
    org.session.add(application)
    await org.session.flush()
    org.touch("application", application_id)

    if send_notification:
        emails.email_vendor(
            org,
            vendor,
            DECISION_EMAIL[status],
            record_type="application",
            record_id=application_id,
            market_name=market.name,
            fee=format_money(site.fee_from(market), org.currency),
            message_block=emails.paragraph(message),
            credit_block=emails.paragraph(
                f"To welcome you, we've added a {format_money(starter_credit_cents, org.currency)} credit to your "
                "account; it comes off your first booking automatically."
                if starter_credit_cents
                else None
            ),
        )
    return ApplicationDecided(**await _read(org, application_id), credit_id=credit_id)


async def score_application(org: OrgContext, application_id: int, *, score: int, note: str) -> ApplicationOut:
    await questions.score_application(org, application_id, score=score, note=note)
    return await get_application(org, application_id)


async def send_application_reminder(org: OrgContext, application_id: int) -> ReminderSent:
    application = await get_or_404(org, Application, application_id)
    if application.status != "approved":
        hint = (
            "decide it first with update_application_status"
            if application.status in MOVES and MOVES[application.status]
            else "only approved vendors are reminded to book (a rejected vendor comes back through a new "
            "application: create_application)"
        )
        raise Conflict(
            f"Application {application_id} is {application.status}, so there is nothing to remind about; {hint}."
        )
    vendor = await get_or_404(org, Vendor, application.vendor_id)
    market = await get_or_404(org, Market, application.market_id)
    next_day = await _next_date(org, market.id)  # type: ignore[arg-type]
    balance = (
        await org.session.execute(
            select(credits.balance_of_vendor(org.now())).select_from(Vendor).where(Vendor.id == vendor.id)
        )
    ).scalar_one()
    email = emails.email_vendor(
        org,
        vendor,
        "application_reminder",
        record_type="application",
        record_id=application_id,
        market_name=market.name,
        fee=format_money(site.fee_from(market), org.currency),
        next_date_sentence=f"The next market is on {long_date(next_day)}. " if next_day else "",
        credit_block=emails.paragraph(
            f"You have {format_money(balance, org.currency)} of credit with us, which comes off your booking."
            if balance
            else None
        ),
    )
    await org.session.flush()
    org.touch("email", email.id)  # type: ignore[arg-type]
    return ReminderSent(
        application_id=application_id,
        vendor_id=vendor.id,
        to=vendor.email,
        kind="application_reminder",
    )


async def add_application_credit(
    org: OrgContext, application_id: int, *, amount_cents: int, notes: str, expires_at: datetime | None
) -> CreditDetail:
    application = await get_or_404(org, Application, application_id)
    return await credits.create_credit(
        org,
        application.vendor_id,
        amount_cents=amount_cents,
        notes=notes,
        expires_at=expires_at,
        source="application",
        application_id=application_id,
    )
