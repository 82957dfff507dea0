"""The store: one SQLModel table per record of DOMAIN.md, and nothing but tables.

Every tenant-owned row carries `organization_id`, including child rows (a booking's
organisation is also its market date's), so scoping is one column on every query.
Money is integer cents; times are aware UTC; a market's trading day is a local `date`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlmodel import Field, SQLModel

from market_mcp.db.types import UTCDateTime, utcnow


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _fk(target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Any:
    """A foreign key column; children go with their parent, history (audit, email) outlives it."""
    return Field(
        default=None if nullable else ...,
        sa_column_args=[ForeignKey(target, ondelete=ondelete)],
        nullable=nullable,
    )


def _when(*, nullable: bool = True) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _cents(default: int | None = 0) -> Any:
    return Field(default=default, sa_type=BigInteger, nullable=default is None)


ORG_STATUSES = ("draft", "active")
USER_ROLES = ("admin", "staff")
TOKEN_SCOPES = ("read", "write")
MARKET_STATUSES = ("published", "unpublished")
MARKET_DATE_STATUSES = ("scheduled", "closed", "cancelled")
APPLICATION_STATUSES = ("pending", "approved", "rejected", "waitlisted")
ORDER_STATUSES = ("pending", "payment_pending", "complete", "rejected", "archived")
BOOKING_STATUSES = ("pending", "confirmed", "rejected", "cancelled")
ACTIVE_BOOKING_STATUSES = ("pending", "confirmed")
WAITLIST_STATUSES = ("waiting", "notified", "accepted", "declined", "expired", "removed")
FACINGS = ("N", "E", "S", "W")
STALL_ATTRIBUTES = ("power", "water", "covered", "corner", "food_safe")
FEATURE_KINDS = ("entrance", "exit", "toilet", "path", "power", "water", "info", "parking", "other")
CANCEL_SETTLEMENTS = ("credit", "release")
CREDIT_SOURCES = ("manual", "application", "rebook", "cancellation", "weather")
CREDIT_TRANSACTION_KINDS = ("grant", "use", "adjust", "expire", "delete", "refund")
PAYMENT_KINDS = ("payment", "refund", "excess")
PAYMENT_METHODS = ("card", "cash", "bank_transfer", "cheque", "online", "credit")  # credit: a refund as credit
EMAIL_STATUSES = ("queued", "sent", "failed")
GRANT_STATUSES = ("pending", "active", "denied", "revoked")
OAUTH_TOKEN_KINDS = ("code", "access", "refresh")
STANDING_BOOKING_STATUSES = ("active", "ended")


class Organization(SQLModel, table=True):
    __tablename__ = "organization"
    __table_args__ = (CheckConstraint(_in("status", ORG_STATUSES), name="ck_organization_status"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=64, unique=True)
    status: str = Field(default="active", max_length=16)
    currency: str = Field(default="AUD", max_length=3)
    timezone: str = Field(default="Australia/Melbourne", max_length=64)
    created_at: datetime = _when(nullable=False)
    # What its invoices and receipts say (`market-mcp org invoice-details`): amounts are tax-inclusive, and
    # tax_rate_basis_points is the rate in hundredths of a percent (1000: 10% GST; unset: no tax shown).
    legal_name: str | None = Field(default=None, max_length=200)
    tax_number: str | None = Field(default=None, max_length=40)
    tax_label: str | None = Field(default=None, max_length=16)
    tax_rate_basis_points: int | None = None
    # The last invoice and receipt number issued: each is raised with UPDATE … RETURNING in the transaction that
    # issues the number (services.invoices), so numbers never repeat and leave no gaps.
    invoices_issued: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    receipts_issued: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        CheckConstraint(_in("role", USER_ROLES), name="ck_app_user_role"),
        Index("ux_app_user_org_email", "organization_id", text("lower(email)"), unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    email: str = Field(max_length=254)
    name: str = Field(default="", max_length=200)
    role: str = Field(default="admin", max_length=16)
    active: bool = True
    created_at: datetime = _when(nullable=False)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint(_in("scope", TOKEN_SCOPES), name="ck_api_token_scope"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    user_id: int = _fk("app_user.id")
    name: str = Field(max_length=100)
    scope: str = Field(default="write", max_length=8)
    prefix: str = Field(max_length=32)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _when(nullable=False)
    last_used_at: datetime | None = _when()
    revoked_at: datetime | None = _when()


class Market(SQLModel, table=True):
    __tablename__ = "market"
    __table_args__ = (
        UniqueConstraint("organization_id", "slug", name="ux_market_org_slug"),
        Index("ix_market_org_status", "organization_id", "status"),
        CheckConstraint(_in("status", MARKET_STATUSES), name="ck_market_status"),
        CheckConstraint("capacity >= 0", name="ck_market_capacity"),
        CheckConstraint("default_fee_cents >= 0", name="ck_market_fee"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    name: str = Field(max_length=200)
    slug: str = Field(max_length=64)
    region: str = Field(default="", max_length=100)
    market_type: str = Field(default="", max_length=50)
    status: str = Field(default="unpublished", max_length=16)
    booking_enabled: bool = True
    waitlist_auto_notify: bool = False
    default_fee_cents: int = _cents()
    capacity: int = 40
    location: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=5000)
    reference: str = Field(default="", max_length=100)
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    # Payment terms (services/deadlines.py): an approved order is due the earlier of N days after approval and
    # N days before its first date; unpaid by then, its future bookings may be released; reminders go out the
    # listed days before the deadline (0 = on the day, -2 = two days after), once each.
    payment_due_days: int | None = None
    payment_due_days_before: int | None = None
    release_unpaid: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    payment_reminders: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The site (services/site.py): priced stall types ([{name, fee_cents, width, depth}], the first is the default)
    # and add-ons ([{name, fee_cents}]; one named after a stall attribute, e.g. power, needs a stall that has it),
    # and whether auto-assignment keeps vendors of one category out of neighbouring stalls.
    stall_types: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    add_ons: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    separate_categories: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    # When a date stops taking bookings (services/market_dates.booking_window): no new booking within
    # booking_cutoff_hours of the start; vendors set up bump_in_minutes before it, when waitlist offers lapse.
    booking_cutoff_hours: int | None = None
    bump_in_minutes: int | None = None
    # What an application to it asks (services/questions.py): [{key, text, kind, choices, required}]; None: nothing.
    application_questions: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class Stall(SQLModel, table=True):
    """A pitch on a market's site plan. A booking holds it on a date by its code (booking.space_number), which the
    unique index ux_booking_space keeps to one active booking per stall per date."""

    __tablename__ = "stall"
    __table_args__ = (
        UniqueConstraint("market_id", "code", name="ux_stall_market_code"),
        Index("ix_stall_org_market", "organization_id", "market_id"),
        CheckConstraint("width > 0 AND depth > 0", name="ck_stall_size"),
        CheckConstraint(_in("facing", FACINGS), name="ck_stall_facing"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    market_id: int = _fk("market.id")
    code: str = Field(max_length=20)
    row_label: str = Field(default="", max_length=20)
    stall_type: str | None = Field(default=None, max_length=50)
    x: float
    y: float
    width: float
    depth: float
    facing: str = Field(default="S", max_length=1)
    attributes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SiteFeature(SQLModel, table=True):
    """Something drawn on a site plan that is not a stall: an entrance, toilets, a path."""

    __tablename__ = "site_feature"
    __table_args__ = (Index("ix_site_feature_market", "market_id"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    market_id: int = _fk("market.id")
    kind: str = Field(max_length=20)
    label: str = Field(default="", max_length=100)
    x: float
    y: float
    width: float
    depth: float


class MarketDate(SQLModel, table=True):
    __tablename__ = "market_date"
    __table_args__ = (
        UniqueConstraint("market_id", "scheduled_at", name="ux_market_date_day"),
        Index("ix_market_date_org_day", "organization_id", "scheduled_at"),
        CheckConstraint(_in("status", MARKET_DATE_STATUSES), name="ck_market_date_status"),
        CheckConstraint("capacity >= 0", name="ck_market_date_capacity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    market_id: int = _fk("market.id")
    scheduled_at: date
    starts_at: datetime | None = _when()
    ends_at: datetime | None = _when()
    capacity: int
    status: str = Field(default="scheduled", max_length=16)
    closed_at: datetime | None = _when()
    cancelled_at: datetime | None = _when()
    cancel_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class Vendor(SQLModel, table=True):
    __tablename__ = "vendor"
    __table_args__ = (
        Index("ux_vendor_org_email", "organization_id", text("lower(email)"), unique=True),
        Index("ix_vendor_org_name", "organization_id", "business_name"),
        Index("ix_vendor_org_sort", "organization_id", text("lower(business_name)"), "id"),  # list_vendors' order
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    business_name: str = Field(max_length=200)
    contact_name: str = Field(default="", max_length=200)
    email: str = Field(max_length=254)
    phone: str = Field(default="", max_length=50)
    category: str = Field(default="", max_length=50)
    trusted: bool = False
    needs: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # stall attributes required
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class DocumentKind(SQLModel, table=True):
    """A kind of compliance document an organisation asks vendors for (public liability insurance, a food
    licence): required of every vendor, of vendors of some categories, or at some markets (services/compliance.py)."""

    __tablename__ = "document_kind"
    __table_args__ = (Index("ux_document_kind_org_name", "organization_id", text("lower(name)"), unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    name: str = Field(max_length=100)
    required_for_all: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    required_for_categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    required_for_market_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    remind_days_before: int = Field(default=30, sa_column_kwargs={"server_default": "30"})
    created_at: datetime = _when(nullable=False)


class VendorDocument(SQLModel, table=True):
    """A vendor's document of a kind: the newest recorded is current (`is_current`), older ones stay as history.
    The file, when one was given, is kept here (at most 5 MB) and served as market-mcp://vendor-documents/<id>/file."""

    __tablename__ = "vendor_document"
    __table_args__ = (
        Index("ix_vendor_document_vendor", "organization_id", "vendor_id", "kind_id", "id"),
        Index("ix_vendor_document_expiry", "organization_id", "is_current", "expires_on"),  # the reminders' pass
        # One current document per vendor and kind: recording a newer one supersedes it.
        Index(
            "ux_vendor_document_current",
            "vendor_id",
            "kind_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    vendor_id: int = _fk("vendor.id")
    kind_id: int = _fk("document_kind.id")
    is_current: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    number: str = Field(default="", max_length=100)
    issuer: str = Field(default="", max_length=200)
    expires_on: date | None = None  # none: it does not expire
    content: bytes | None = Field(default=None, sa_type=LargeBinary, nullable=True)
    filename: str | None = Field(default=None, max_length=200)
    content_type: str | None = Field(default=None, max_length=100)
    size: int | None = None  # bytes of the file
    reminded_at: datetime | None = _when()  # when the expiry reminder was queued (once per document)
    created_at: datetime = _when(nullable=False)


class VendorNote(SQLModel, table=True):
    __tablename__ = "vendor_note"
    __table_args__ = (Index("ix_vendor_note_vendor", "vendor_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    vendor_id: int = _fk("vendor.id")
    note: str = Field(max_length=5000)
    author: str = Field(max_length=100)
    created_at: datetime = _when(nullable=False)


class Application(SQLModel, table=True):
    __tablename__ = "application"
    __table_args__ = (
        Index("ix_application_org_submitted", "organization_id", "submitted_at", "id"),  # newest first, by date
        Index("ix_application_org_status", "organization_id", "status", "submitted_at"),
        Index("ix_application_vendor", "vendor_id"),
        Index("ix_application_market", "market_id"),
        # One open (pending, waitlisted) or approved application per vendor and market.
        Index(
            "ux_application_open",
            "vendor_id",
            "market_id",
            unique=True,
            sqlite_where=text(_in("status", ("pending", "waitlisted", "approved"))),
            postgresql_where=text(_in("status", ("pending", "waitlisted", "approved"))),
        ),
        CheckConstraint(_in("status", APPLICATION_STATUSES), name="ck_application_status"),
        CheckConstraint("starter_credit_cents >= 0", name="ck_application_credit"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    vendor_id: int = _fk("vendor.id")
    market_id: int = _fk("market.id")
    status: str = Field(default="pending", max_length=16)
    vendor_message: str = Field(default="", max_length=5000)
    decision_message: str = Field(default="", max_length=5000)
    starter_credit_cents: int = _cents()
    submitted_at: datetime = _when(nullable=False)
    decided_at: datetime | None = _when()


ANSWER_KINDS = ("text", "choice", "yes_no", "number")


class ApplicationAnswer(SQLModel, table=True):
    """A vendor's answer to one of the market's questions, one row each so lists filter by answer with plain
    indexed SQL on every backend. The question's words and kind are kept as asked: the market's list may change."""

    __tablename__ = "application_answer"
    __table_args__ = (
        UniqueConstraint("application_id", "key", name="ux_application_answer_key"),
        Index("ix_application_answer_org_key", "organization_id", "key"),
        CheckConstraint(_in("kind", ANSWER_KINDS), name="ck_application_answer_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    application_id: int = _fk("application.id")
    position: int = 0
    key: str = Field(max_length=40)
    question: str = Field(max_length=300)
    kind: str = Field(max_length=16)
    value: str = Field(max_length=2000)  # as the vendor gave it: yes/no, a number written plainly, a choice, text
    folded: str = Field(max_length=2000)  # value case-folded in Python (SQLite's lower() is ASCII-only)


class ApplicationScore(SQLModel, table=True):
    """A jury member's score of an application (0 to 10) and internal note; one per author, a new one replaces."""

    __tablename__ = "application_score"
    __table_args__ = (
        UniqueConstraint("application_id", "author", name="ux_application_score_author"),
        CheckConstraint("score >= 0 AND score <= 10", name="ck_application_score_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    application_id: int = _fk("application.id")
    author: str = Field(max_length=100)
    score: int
    note: str = Field(default="", max_length=2000)
    scored_at: datetime = _when(nullable=False)


class Order(SQLModel, table=True):
    __tablename__ = "vendor_order"
    __table_args__ = (
        # amount_due_cents and the paid columns ride along so the dashboard's sums read only the indexes.
        Index("ix_order_org_status", "organization_id", "status", "created_at", "amount_due_cents"),
        Index("ix_order_vendor", "vendor_id"),
        Index("ix_order_org", "organization_id", "id"),  # list_orders: newest first
        # search: an organisation's archived orders newest first (migration 0011)
        Index(
            "ix_order_org_archived",
            "organization_id",
            "id",
            sqlite_where=text("status = 'archived'"),
            postgresql_where=text("status = 'archived'"),
        ),
        Index("ix_order_market", "market_id", "id"),  # list_orders of a market, newest first
        Index("ix_order_org_paid", "organization_id", "paid_at", "total_cents", "credit_applied_cents"),
        Index("ix_order_org_due", "organization_id", "status", "payment_due_on"),  # overdue orders
        CheckConstraint(_in("status", ORDER_STATUSES), name="ck_order_status"),
        CheckConstraint(
            "previous_status IS NULL OR " + _in("previous_status", ORDER_STATUSES), name="ck_order_previous_status"
        ),
        CheckConstraint(
            "total_cents >= 0 AND credit_applied_cents >= 0 AND amount_due_cents >= 0", name="ck_order_money"
        ),
        CheckConstraint("credit_applied_cents <= total_cents", name="ck_order_credit_le_total"),
        Index("ux_order_org_invoice", "organization_id", "invoice_number", unique=True),
        Index("ix_order_standing_booking", "standing_booking_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    vendor_id: int = _fk("vendor.id")
    market_id: int = _fk("market.id")
    status: str = Field(default="pending", max_length=16)
    previous_status: str | None = Field(
        default=None, max_length=16, description="where restore returns an archived order"
    )
    total_cents: int = _cents()
    credit_applied_cents: int = _cents()
    # The payments ledger's sums (services.payments keeps them with its rows): what was paid towards the order,
    # and what was given back. Once approved, amount due = total − credit applied − amount paid.
    amount_paid_cents: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})
    amount_refunded_cents: int = Field(default=0, sa_type=BigInteger, sa_column_kwargs={"server_default": "0"})
    amount_due_cents: int = _cents()
    paid_at: datetime | None = _when()  # when it was paid in full
    payment_due_on: date | None = None  # its deadline under its market's payment terms, set at approval
    payment_method: str | None = Field(default=None, max_length=32)
    payment_reference: str | None = Field(default=None, max_length=200)
    rejection_reason: str | None = Field(default=None, max_length=500)
    invoice_number: int | None = None  # issued when the order is first approved (services.invoices)
    stall_type: str | None = Field(default=None, max_length=50)  # what each date is priced as, where types exist
    add_ons: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The standing booking (services/seasons.py) that opened it, if one did: a plain reference (standing bookings
    # are ended, never deleted), so ADD COLUMN keeps vendor_order's dashboard triggers.
    standing_booking_id: int | None = None
    approved_at: datetime | None = _when()
    archived_at: datetime | None = _when()
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class Booking(SQLModel, table=True):
    __tablename__ = "booking"
    __table_args__ = (
        Index("ix_booking_date_status", "market_date_id", "status", "order_id"),
        # (vendor, organisation, status): a vendor's counts, chosen over (organisation, status) with or without statistics
        Index("ix_booking_vendor_status", "vendor_id", "organization_id", "status"),
        Index("ix_booking_order", "order_id"),
        Index("ix_booking_org_status", "organization_id", "status"),
        # A space is held by at most one active booking on a date: the database enforces it.
        Index(
            "ux_booking_space",
            "market_date_id",
            "space_number",
            unique=True,
            sqlite_where=text(_in("status", ACTIVE_BOOKING_STATUSES) + " AND space_number IS NOT NULL"),
            postgresql_where=text(_in("status", ACTIVE_BOOKING_STATUSES) + " AND space_number IS NOT NULL"),
        ),
        # A vendor holds at most one active booking on a date, even when two orders race.
        Index(
            "ux_booking_vendor_date",
            "market_date_id",
            "vendor_id",
            unique=True,
            sqlite_where=text(_in("status", ACTIVE_BOOKING_STATUSES)),
            postgresql_where=text(_in("status", ACTIVE_BOOKING_STATUSES)),
        ),
        CheckConstraint(_in("status", BOOKING_STATUSES), name="ck_booking_status"),
        CheckConstraint("amount_cents >= 0", name="ck_booking_amount"),
        CheckConstraint(
            "cancel_settlement IS NULL OR " + _in("cancel_settlement", CANCEL_SETTLEMENTS),
            name="ck_booking_cancel_settlement",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    order_id: int | None = _fk("vendor_order.id", nullable=True, ondelete="SET NULL")
    vendor_id: int = _fk("vendor.id")
    market_date_id: int = _fk("market_date.id")
    status: str = Field(default="pending", max_length=16)
    space_number: str | None = Field(default=None, max_length=20)
    amount_cents: int = _cents()
    attended: bool | None = None
    cancelled_at: datetime | None = _when()
    cancel_reason: str | None = Field(default=None, max_length=500)
    # What cancelling did with the money: "credit" (the vendor was credited) or "release" (an unpaid
    # order stopped charging for it); restore_booking undoes exactly that.
    cancel_settlement: str | None = Field(default=None, max_length=16)
    rebooked_to_id: int | None = Field(default=None, sa_column_args=[ForeignKey("booking.id", ondelete="SET NULL")])
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class WaitlistEntry(SQLModel, table=True):
    __tablename__ = "waitlist_entry"
    __table_args__ = (
        UniqueConstraint("market_date_id", "vendor_id", name="ux_waitlist_vendor_once"),
        UniqueConstraint("market_date_id", "position", name="ux_waitlist_position"),
        Index("ix_waitlist_date_status", "market_date_id", "status", "position"),
        Index("ix_waitlist_org_offer", "organization_id", "status", "offer_expires_at"),  # the dashboard's open offers
        CheckConstraint(_in("status", WAITLIST_STATUSES), name="ck_waitlist_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    market_date_id: int = _fk("market_date.id")
    vendor_id: int = _fk("vendor.id")
    status: str = Field(default="waiting", max_length=16)
    position: int
    notified_at: datetime | None = _when()
    offer_expires_at: datetime | None = _when()
    booking_id: int | None = Field(default=None, sa_column_args=[ForeignKey("booking.id", ondelete="SET NULL")])
    removed_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class Credit(SQLModel, table=True):
    __tablename__ = "credit"
    __table_args__ = (
        Index("ix_credit_vendor_org", "vendor_id", "organization_id", "expires_at"),  # a vendor's balance
        Index("ix_credit_org_expiry", "organization_id", "expires_at"),
        # Only credits that can still expire: expire_due, run by every approval, never walks years of spent ones.
        Index(
            "ix_credit_expiring",
            "organization_id",
            "expires_at",
            sqlite_where=text("remaining_cents > 0 AND deleted_at IS NULL"),
            postgresql_where=text("remaining_cents > 0 AND deleted_at IS NULL"),
        ),
        CheckConstraint(_in("source", CREDIT_SOURCES), name="ck_credit_source"),
        CheckConstraint("amount_cents >= 0 AND remaining_cents >= 0", name="ck_credit_money"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    vendor_id: int = _fk("vendor.id")
    application_id: int | None = _fk("application.id", nullable=True, ondelete="SET NULL")
    amount_cents: int = _cents()
    # Always the sum of this credit's transactions: kept here so balances are one indexed read.
    remaining_cents: int = _cents()
    expires_at: datetime | None = _when()
    notes: str = Field(default="", max_length=1000)
    source: str = Field(default="manual", max_length=16)
    deleted_at: datetime | None = _when()
    created_at: datetime = _when(nullable=False)


class CreditTransaction(SQLModel, table=True):
    """The append-only ledger: a credit's history is its rows, never an edit."""

    __tablename__ = "credit_transaction"
    __table_args__ = (
        Index("ix_credit_transaction_credit", "credit_id", "id"),
        Index("ix_credit_transaction_order", "order_id"),  # the credit an order used, to give back
        CheckConstraint(_in("kind", CREDIT_TRANSACTION_KINDS), name="ck_credit_transaction_kind"),
        CheckConstraint("balance_after_cents >= 0", name="ck_credit_transaction_balance"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    credit_id: int = _fk("credit.id")
    kind: str = Field(max_length=16)
    amount_cents: int = Field(sa_type=BigInteger)
    balance_after_cents: int = Field(sa_type=BigInteger)
    order_id: int | None = _fk("vendor_order.id", nullable=True, ondelete="SET NULL")
    booking_id: int | None = _fk("booking.id", nullable=True, ondelete="SET NULL")
    note: str = Field(default="", max_length=500)
    created_at: datetime = _when(nullable=False)


class Payment(SQLModel, table=True):
    """The payments ledger, append-only. Each row one movement of money on an order:
    - payment: received from the vendor, by `method`;
    - refund: given back by the organiser (by `method`, or as the vendor's credit `credit_id`); what the order
      charges is not raised again by it;
    - excess: paid beyond what the order charges (an overpayment, a date taken off, the order rejected), moved to
      the vendor's credit `credit_id`.
    The order keeps the sums: amount_paid_cents = payments − excess, amount_refunded_cents = refunds."""

    __tablename__ = "payment"
    __table_args__ = (
        Index("ix_payment_org", "organization_id", "id"),
        Index("ix_payment_order", "order_id", "id"),
        Index("ix_payment_org_vendor", "organization_id", "vendor_id", "id"),
        Index("ix_payment_org_received", "organization_id", "received_on"),
        CheckConstraint(_in("kind", PAYMENT_KINDS), name="ck_payment_kind"),
        CheckConstraint(_in("method", PAYMENT_METHODS), name="ck_payment_method"),
        CheckConstraint("amount_cents > 0", name="ck_payment_money"),
        Index("ux_payment_org_receipt", "organization_id", "receipt_number", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    order_id: int = _fk("vendor_order.id")
    vendor_id: int = _fk("vendor.id")
    kind: str = Field(max_length=16)
    amount_cents: int = Field(sa_type=BigInteger)
    credit_id: int | None = _fk("credit.id", nullable=True, ondelete="SET NULL")
    method: str = Field(max_length=16)
    reference: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=500)
    received_on: date
    receipt_number: int | None = None  # a payment's, issued when it is recorded (services.invoices)
    due_after_cents: int | None = Field(default=None, sa_type=BigInteger)  # a payment's: still due once recorded
    created_at: datetime = _when(nullable=False)


class PaymentReminder(SQLModel, table=True):
    """A rung of a market's reminder ladder reached by an order: at most one each (`email_id` is null for a rung
    passed while a later one was due, so a server that was down sends one reminder, not a backlog)."""

    __tablename__ = "payment_reminder"
    __table_args__ = (UniqueConstraint("order_id", "days_before_due", name="ux_payment_reminder_rung"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    order_id: int = _fk("vendor_order.id")
    days_before_due: int
    email_id: int | None = _fk("email.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = _when(nullable=False)


class PaymentLink(SQLModel, table=True):
    """A Stripe Checkout session made for what an order had due: its page (url) is the vendor's payment link,
    open until it expires or is paid. Another link is made only when what is due has changed."""

    __tablename__ = "payment_link"
    __table_args__ = (
        Index("ix_payment_link_order", "organization_id", "order_id", "id"),
        UniqueConstraint("session_id", name="ux_payment_link_session"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    order_id: int = _fk("vendor_order.id")
    amount_cents: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    session_id: str = Field(max_length=255)
    url: str = Field(max_length=2000)
    expires_at: datetime = _when(nullable=False)
    created_at: datetime = _when(nullable=False)


class StripePayment(SQLModel, table=True):
    """A Checkout session whose payment is on the ledger: one row per session, whatever Stripe sends how often.
    The unique session id is what makes a retried or concurrent webhook record nothing more."""

    __tablename__ = "stripe_payment"
    __table_args__ = (UniqueConstraint("session_id", name="ux_stripe_payment_session"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    session_id: str = Field(max_length=255)
    event_id: str = Field(max_length=255)
    payment_id: int | None = _fk("payment.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = _when(nullable=False)


class Email(SQLModel, table=True):
    """The outbox: written in the transaction that caused it, delivered after commit."""

    __tablename__ = "email"
    __table_args__ = (
        Index("ix_email_org_status", "organization_id", "status", "id"),
        Index("ix_email_vendor", "vendor_id"),
        Index("ix_email_delivery", "status", "id"),
        CheckConstraint(_in("status", EMAIL_STATUSES), name="ck_email_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    vendor_id: int | None = _fk("vendor.id", nullable=True, ondelete="SET NULL")
    to: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body: str
    kind: str = Field(max_length=40)
    record_type: str | None = Field(default=None, max_length=40)
    record_id: int | None = None
    # A document rendered at delivery and attached: "receipt:<payment id>" (the payment row never changes).
    attachment: str | None = Field(default=None, max_length=40)
    status: str = Field(default="queued", max_length=16)
    attempts: int = 0
    sent_at: datetime | None = _when()
    error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _when(nullable=False)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_org_time", "organization_id", "created_at"),
        Index("ix_audit_org_tool", "organization_id", "tool", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    token_id: int | None = _fk("api_token.id", nullable=True, ondelete="SET NULL")
    token_name: str = Field(max_length=100)
    tool: str = Field(max_length=64)
    outcome: str = Field(max_length=8, description="ok, or the refusal's code")
    records: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    record_count: int | None = Field(default=None, description="every record changed; records keeps 1,000")
    arguments: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _when(nullable=False)


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("organization_id", "key", name="ux_idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    key: str = Field(max_length=200)
    tool: str = Field(max_length=64)
    request_hash: str = Field(max_length=64)
    response: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _when(nullable=False)


__all__ = [
    "ApiToken",
    "Application",
    "AuditEntry",
    "Booking",
    "Credit",
    "CreditTransaction",
    "DocumentKind",
    "Email",
    "IdempotencyRecord",
    "Market",
    "MarketDate",
    "OAuthClient",
    "OAuthGrant",
    "OAuthToken",
    "Order",
    "Organization",
    "User",
    "Vendor",
    "VendorDocument",
    "VendorNote",
    "WaitlistEntry",
]


class RateLimitWindow(SQLModel, table=True):
    """Tool calls per token per minute, shared by every server on the database (MARKET_MCP_RATE_LIMIT_SHARED)."""

    __tablename__ = "rate_limit_window"

    token_id: int = Field(primary_key=True, sa_column_args=[ForeignKey("api_token.id", ondelete="CASCADE")])
    window_start: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    organization_id: int = _fk("organization.id")
    calls: int = 0


class OAuthClient(SQLModel, table=True):
    """An application that may ask organisers for access (ChatGPT, Claude): registered through dynamic client
    registration (RFC 7591), or known by the URL of its client ID metadata document (fetched and cached)."""

    __tablename__ = "oauth_client"

    client_id: str = Field(primary_key=True, max_length=2048)
    # The SDK's OAuthClientInformationFull, its client_secret replaced by "sha256:" and the secret's hash.
    info: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    metadata_document: bool = False
    created_at: datetime = _when(nullable=False)
    fetched_at: datetime | None = _when()


class OAuthGrant(SQLModel, table=True):
    """One authorization request and, once an organiser approves it, their consent: one application's access
    to one organisation, vouched for by the API token they pasted (revoking that token ends the grant too)."""

    __tablename__ = "oauth_grant"
    __table_args__ = (
        CheckConstraint(_in("status", GRANT_STATUSES), name="ck_oauth_grant_status"),
        CheckConstraint("scope IS NULL OR " + _in("scope", TOKEN_SCOPES), name="ck_oauth_grant_scope"),
        Index("ix_oauth_grant_organization", "organization_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=2048, sa_column_args=[ForeignKey("oauth_client.client_id", ondelete="CASCADE")])
    client_name: str = Field(max_length=200)  # as the application named itself when it asked
    request_hash: str = Field(max_length=64, unique=True)  # the consent page's ?request=
    csrf_hash: str = Field(max_length=64)
    request: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # what /authorize was asked
    resource: str = Field(max_length=2048)  # the MCP server the tokens are for (RFC 8707)
    status: str = Field(default="pending", max_length=16)
    organization_id: int | None = _fk("organization.id", nullable=True)
    api_token_id: int | None = _fk("api_token.id", nullable=True)
    scope: str | None = Field(default=None, max_length=8)
    created_at: datetime = _when(nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # of the request, while pending
    approved_at: datetime | None = _when()
    last_used_at: datetime | None = _when()
    revoked_at: datetime | None = _when()


class OAuthToken(SQLModel, table=True):
    """An authorization code, access token or refresh token of a grant, stored as its SHA-256 only."""

    __tablename__ = "oauth_token"
    __table_args__ = (
        CheckConstraint(_in("kind", OAUTH_TOKEN_KINDS), name="ck_oauth_token_kind"),
        CheckConstraint(_in("scope", TOKEN_SCOPES), name="ck_oauth_token_scope"),
    )

    token_hash: str = Field(primary_key=True, max_length=64)
    grant_id: int = Field(sa_column_args=[ForeignKey("oauth_grant.id", ondelete="CASCADE")], index=True)
    organization_id: int = _fk("organization.id")  # issued only once an organiser approved: never pending
    kind: str = Field(max_length=8)
    scope: str = Field(max_length=8)
    created_at: datetime = _when(nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = _when()  # a code exchanged, a refresh token rotated: a second use is a theft


class OrgTotal(SQLModel, table=True):
    """A running total of the dashboard, kept by triggers (market_mcp.db.totals): never written by the code."""

    __tablename__ = "org_total"
    __table_args__ = (Index("ix_org_total_figure", "organization_id", "name", "bucket"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    name: str = Field(max_length=32)
    bucket: str = Field(max_length=32)  # '', a UTC hour, a day, or "day previous-day" (see totals)
    value: int = Field(sa_type=BigInteger)


class UnpaidLink(SQLModel, table=True):
    """One trading day of an unpaid order with its previous one, kept by triggers (market_mcp.db.totals)."""

    __tablename__ = "unpaid_link"
    __table_args__ = (Index("ix_unpaid_link_order", "order_id"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    order_id: int
    day: date
    prev_day: date | None = None


class CategoryRule(SQLModel, table=True):
    """A market's limit on one category of vendor (services/caps.py): at most max_vendors of it approved and booked
    on each date, and a goal of at least min_vendors booked (never enforced). A row with market_date_id overrides
    the market's cap on that date. Categories match vendors' free text case-insensitively, by category_key."""

    __tablename__ = "category_rule"
    __table_args__ = (
        Index("ix_category_rule_market", "organization_id", "market_id", "market_date_id"),
        Index("ix_category_rule_date", "market_date_id"),
        CheckConstraint("max_vendors IS NULL OR max_vendors >= 0", name="ck_category_rule_max"),
        CheckConstraint("min_vendors IS NULL OR min_vendors >= 1", name="ck_category_rule_min"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    market_id: int = _fk("market.id")
    market_date_id: int | None = _fk("market_date.id", nullable=True)
    category: str = Field(max_length=50)  # as the organiser wrote it
    category_key: str = Field(max_length=200)  # the same, stripped and case-folded: what vendors' categories match
    max_vendors: int | None = None
    min_vendors: int | None = None
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class Season(SQLModel, table=True):
    """A market's season: a name and its first and last day. A market's seasons never overlap (services/seasons.py
    checks it in the writing transaction)."""

    __tablename__ = "season"
    __table_args__ = (
        UniqueConstraint("market_id", "name", name="ux_season_market_name"),
        Index("ix_season_org_market", "organization_id", "market_id", "starts_on"),
        CheckConstraint("ends_on >= starts_on", name="ck_season_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    market_id: int = _fk("market.id")
    name: str = Field(max_length=100)
    starts_on: date
    ends_on: date
    created_at: datetime = _when(nullable=False)
    updated_at: datetime = _when(nullable=False)


class StandingBooking(SQLModel, table=True):
    """A vendor booked on every scheduled date of a season from first_on (every week, or every second week counted
    from first_on), including dates scheduled later; its orders carry its id."""

    __tablename__ = "standing_booking"
    __table_args__ = (
        Index("ix_standing_booking_season", "season_id", "status"),
        Index("ix_standing_booking_org_vendor", "organization_id", "vendor_id"),
        # One active standing booking per vendor and season.
        Index(
            "ux_standing_booking_active",
            "season_id",
            "vendor_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        CheckConstraint("every_weeks IN (1, 2)", name="ck_standing_booking_every"),
        CheckConstraint(_in("status", STANDING_BOOKING_STATUSES), name="ck_standing_booking_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    vendor_id: int = _fk("vendor.id")
    market_id: int = _fk("market.id")
    season_id: int = _fk("season.id")
    every_weeks: int = 1
    first_on: date
    stall_type: str | None = Field(default=None, max_length=50)
    add_ons: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(default="active", max_length=16)
    created_at: datetime = _when(nullable=False)
    ended_at: datetime | None = _when()


# document: a compliance document's upload page, whose ACTIONS entry (services/vendor_links.py) comes with that work
VENDOR_LINK_ACTIONS = ("waitlist_offer", "attendance", "document")


class VendorLink(SQLModel, table=True):
    """A signed link in a vendor's email to a page where they answer (services/vendor_links.py): single use,
    expiring. Only the token's SHA-256 is stored; `outcome` is what the vendor did, in words for the dashboard."""

    __tablename__ = "vendor_link"
    __table_args__ = (
        UniqueConstraint("token_hash", name="ux_vendor_link_token"),
        Index("ix_vendor_link_org_used", "organization_id", "used_at"),
        CheckConstraint(_in("action", VENDOR_LINK_ACTIONS), name="ck_vendor_link_action"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = _fk("organization.id")
    vendor_id: int = _fk("vendor.id")
    action: str = Field(max_length=32)
    record_id: int  # the waitlist entry offered, or the order whose attendance is asked
    token_hash: str = Field(max_length=64)
    expires_at: datetime = _when(nullable=False)
    used_at: datetime | None = _when()
    outcome: str | None = Field(default=None, max_length=300)
    created_at: datetime = _when(nullable=False)


class LinkKey(SQLModel, table=True):
    """The server's secret for calendar feed addresses (an HMAC key), made by migration 0020: one row, shared by
    every process on the store, so a stdio server and an HTTP server agree on a feed's address."""

    __tablename__ = "link_key"

    id: int | None = Field(default=None, primary_key=True)
    secret: str = Field(max_length=64)
    created_at: datetime = _when(nullable=False)
