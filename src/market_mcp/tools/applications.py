"""applications: vendors asking to trade at a market, and the organiser's decisions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from market_mcp.schemas.applications import (
    ApplicationCreated,
    ApplicationDecided,
    ApplicationOut,
    ApplicationStatus,
    Decision,
    ReminderSent,
)
from market_mcp.schemas.common import (
    MAX_ID,
    PAGE_SIZE,
    Day,
    Detail,
    IdempotencyKey,
    IdFilter,
    Limit,
    Money,
    Offset,
    OverrideReason,
    Page,
    PositiveMoney,
)
from market_mcp.schemas.credits import CreditDetail
from market_mcp.schemas.questions import (
    MAX_QUESTIONS,
    MAX_SCORE,
    MIN_SCORE,
    AnswerKey,
    AnswerValue,
    QuestionIn,
    QuestionKey,
    QuestionsSet,
)
from market_mcp.schemas.text import EmailText, Text
from market_mcp.schemas.vendors import (
    MaybeBusinessName,
    MaybeCategory,
    MaybeContactName,
    MaybeEmail,
    MaybePhone,
    VendorFields,
)
from market_mcp.services import applications, credits
from market_mcp.services import questions as asked
from market_mcp.tools.registry import Org, Toolset

toolset = Toolset("applications", "Applications: review, approve, reject or waitlist vendors who want to trade.")

ApplicationId = Annotated[int, Field(ge=1, le=MAX_ID)]
Notes = Annotated[str, Field(max_length=1000, description="Why the credit was given."), Text]
ExpiresOn = Annotated[Day | None, Field(description="Last day it can be spent; default: never.")]


@toolset.read("List applications")
async def list_applications(
    org: Org,
    status: Annotated[
        ApplicationStatus | None, Field(description="e.g. pending: the ones waiting for a decision.")
    ] = None,
    query: Annotated[str | None, Field(max_length=200, description="Vendor name, contact or email.")] = None,
    market_id: IdFilter = None,
    start_date: Annotated[Day | None, Field(description="Submitted on or after this date.")] = None,
    end_date: Annotated[Day | None, Field(description="Submitted on or before this date.")] = None,
    answer_key: Annotated[QuestionKey | None, Field(description="Those who answered this question...")] = None,
    answer_value: Annotated[str | None, Field(max_length=200, description="...so (text: containing it).")] = None,
    sort: Literal["newest", "score"] = "newest",
    detail: Detail = "compact",
    limit: Limit = PAGE_SIZE,
    offset: Offset = 0,
) -> Page[ApplicationOut]:
    """Applications to trade, newest first (or by jury score), with vendor, market, status, score and
    allowed_moves. Waiting ones: status="pending"."""
    page = await applications.list_applications(
        org,
        status=status,
        query=query,
        market_id=market_id,
        start_date=start_date,
        end_date=end_date,
        answer_key=answer_key,
        answer_value=answer_value,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return page.detailed(detail)


@toolset.read("Get application")
async def get_application(org: Org, application_id: ApplicationId) -> ApplicationOut:
    """One application with vendor, market, the vendor's own message and answers, jury scores and allowed moves."""
    return await applications.get_application(org, application_id)


@toolset.write("Record application", destructive=False, idempotent=False)
async def create_application(
    org: Org,
    market_id: Annotated[int, Field(ge=1, le=MAX_ID, description="The market they want to trade at.")],
    vendor_id: Annotated[int | None, Field(ge=1, le=MAX_ID, description="Or give email and business_name.")] = None,
    email: MaybeEmail = None,
    business_name: MaybeBusinessName = None,
    contact_name: MaybeContactName = None,
    phone: MaybePhone = None,
    category: MaybeCategory = None,
    vendor_message: Annotated[
        str, Field(max_length=5000, description="What the vendor wrote, if anything."), Text
    ] = "",
    answers: Annotated[
        dict[AnswerKey, AnswerValue],
        Field(max_length=MAX_QUESTIONS, description="To the market's questions: {key: value}."),
    ] = {},  # noqa: B006 (pydantic copies a default; the function never changes it)
    idempotency_key: IdempotencyKey = None,
) -> ApplicationCreated:
    """Record a vendor's application to a market, as pending: vendor_id, or email and business_name (found or created),
    and answers to the market's questions (get_market lists them). A vendor turned down applies again this way.
    Emails nobody."""
    new_vendor = None
    if email is not None or business_name is not None:
        new_vendor = VendorFields(
            business_name=business_name, email=email, contact_name=contact_name, phone=phone, category=category
        )
    return await applications.create_application(
        org, market_id, vendor_id=vendor_id, new_vendor=new_vendor, message=vendor_message, answers=answers
    )


@toolset.write("Decide application", destructive=True, idempotent=False, emails=True)
async def update_application_status(
    org: Org,
    application_id: ApplicationId,
    status: Annotated[Decision, Field(description="The decision.")],
    send_notification: bool = True,
    starter_credit: Annotated[Money | None, Field(description="With approved: a welcome credit, e.g. 10.")] = None,
    message: Annotated[
        str | None, Field(max_length=5000, description="A personal line for the email."), EmailText
    ] = None,
    override_reason: OverrideReason = None,
    idempotency_key: IdempotencyKey = None,
) -> ApplicationDecided:
    """Decide an application: approved, rejected or waitlisted (waitlisted can still go either way). Approving can add a
    starter_credit. Emails the vendor unless send_notification is false."""
    return await applications.update_application_status(
        org,
        application_id,
        status=status,
        send_notification=send_notification,
        starter_credit_cents=starter_credit,
        message=message,
        override_reason=override_reason,
    )


@toolset.write("Remind applicant", destructive=False, idempotent=False, emails=True)
async def send_application_reminder(
    org: Org, application_id: ApplicationId, idempotency_key: IdempotencyKey = None
) -> ReminderSent:
    """Email an approved vendor a reminder to book and pay: next date, fee, their credit."""
    return await applications.send_application_reminder(org, application_id)


@toolset.write("Credit applicant", destructive=False, idempotent=False)
async def add_application_credit(
    org: Org,
    application_id: ApplicationId,
    amount: Annotated[PositiveMoney, Field(description='The credit, e.g. 10 or "12.50".')],
    notes: Notes = "",
    expires_at: ExpiresOn = None,
    idempotency_key: IdempotencyKey = None,
) -> CreditDetail:
    """Credit an application's vendor, linked to it. Other credits: create_credit; a welcome credit while approving:
    update_application_status' starter_credit. Emails nobody."""
    return await applications.add_application_credit(
        org,
        application_id,
        amount_cents=amount,
        notes=notes,
        expires_at=credits.expiry_moment(org, expires_at) if expires_at else None,
    )


@toolset.write("Set application questions", destructive=True, idempotent=True)
async def set_application_questions(
    org: Org,
    market_id: Annotated[int, Field(ge=1, le=MAX_ID)],
    questions: Annotated[
        list[QuestionIn], Field(max_length=MAX_QUESTIONS, description="The whole list, in order; [] asks none.")
    ],
    idempotency_key: IdempotencyKey = None,
) -> QuestionsSet:
    """Set the questions a market asks applicants (replaces its list); create_application then takes the answers.
    Answers already given are kept. Emails nobody."""
    return await asked.set_application_questions(org, market_id, questions)


@toolset.write("Score application", destructive=True, idempotent=True)
async def score_application(
    org: Org,
    application_id: ApplicationId,
    score: Annotated[int, Field(ge=MIN_SCORE, le=MAX_SCORE, description="0 poor to 10 excellent.")],
    note: Annotated[str, Field(max_length=2000, description="Internal, never emailed."), Text] = "",
    idempotency_key: IdempotencyKey = None,
) -> ApplicationOut:
    """Record your jury score and internal note on an application, signed with this token's name (replacing your
    earlier one); lists sort by the average. Emails nobody."""
    return await applications.score_application(org, application_id, score=score, note=note)
