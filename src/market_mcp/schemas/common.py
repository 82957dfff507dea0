"""Types every area shares: money, pages, bounds, the refusal shape."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    WithJsonSchema,
    field_serializer,
)
from pydantic.fields import FieldInfo

from market_mcp.schemas.text import check_one_line

T = TypeVar("T")


class Schema(BaseModel):
    """A tool's result or part of one. Validators and serializers are built on first use, not at import:
    the server starts (and answers tools/list from its catalog) without building any."""

    model_config = ConfigDict(defer_build=True)


MAX_AMOUNT = Decimal("1000000")
MAX_LIMIT = 200
MONEY_MAX_CHARS = 20  # "$1000000.00" is 11
MAX_ID = 2_147_483_647  # the store's INTEGER ids: a larger one is refused (422), never sent to the database
PAGE_BUDGET_BYTES = 48_000  # TOOLS.md: no result exceeds about 50 KB of JSON
SUCH_AS = 'such as 45 or "45.50"'  # how a model should write an amount: a JSON number or a decimal string
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")  # ASCII digits only: no "1e3", "1_000", "+5"


def to_cents(value: Any) -> int:
    """A decimal amount a person would say ("10", 10.5, "10.00", "$10") as integer cents."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"must be an amount {SUCH_AS}")
    if isinstance(value, str) and len(value) > MONEY_MAX_CHARS:  # before any parsing: a 10 MB "amount" is refused
        raise ValueError(f"must be an amount {SUCH_AS}; got {value[:40]!r}")
    text = str(value).strip().removeprefix("$").strip()
    if isinstance(value, str) and not _DECIMAL.fullmatch(text.removeprefix("-")):
        if text.casefold().lstrip("+-") in ("nan", "inf", "infinity"):
            raise ValueError(f"must be a finite amount {SUCH_AS}")
        raise ValueError(f"must be an amount {SUCH_AS}; got {str(value)[:40]!r}")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"must be an amount {SUCH_AS}; got {str(value)[:40]!r}") from None
    if not amount.is_finite():
        raise ValueError(f"must be a finite amount {SUCH_AS}")
    if amount < 0:
        raise ValueError(f"cannot be negative; got {text}")
    if amount > MAX_AMOUNT:  # before quantize, which cannot represent absurd sizes
        raise ValueError(f"must be at most {MAX_AMOUNT:,}; got {text[:40]}")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"can have at most two decimal places; got {text[:40]}")
    return int(amount * 100)


_SYMBOLS = {"AUD": "$", "NZD": "$", "USD": "$", "CAD": "$", "SGD": "$", "GBP": "£", "EUR": "€", "JPY": "¥"}


def format_money(cents: int, currency: str) -> str:
    """Cents as a person reads them in the organisation's currency: $45.50, €12.00, 30.00 CHF."""
    amount = f"{cents / 100:,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


@lru_cache(maxsize=4096)  # a bulk cancellation writes the same few days into a thousand emails
def plural(n: int, one: str, many: str | None = None) -> str:
    """3 bookings, 1 booking: a count as a sentence says it."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def long_date(day: date) -> str:
    """A trading day as a person writes it in an email or a title: Saturday 5 December 2026."""
    return f"{day:%A} {day.day} {day:%B %Y}"


Money = Annotated[
    int,
    BeforeValidator(to_cents),
    # A number, or a decimal string ("45.50"); to_cents refuses any other in words that say what it wants.
    WithJsonSchema(
        {"type": ["number", "string"], "minimum": 0, "maximum": int(MAX_AMOUNT), "maxLength": MONEY_MAX_CHARS}
    ),
]
"""Money in: a decimal amount in the organisation's currency. The tool function receives integer cents."""


def nullable(annotated: Any) -> Any:
    """`X | None` for an optional argument, with X's description on the property itself.

    Clients read `properties.<name>.description`; a bare `X | None` would bury it inside the anyOf.
    """
    said = [m.description for m in get_args(annotated)[1:] if isinstance(m, FieldInfo) and m.description]
    return Annotated[annotated | None, Field(description=said[0] if said else None)]


def _positive(cents: int) -> int:
    if cents <= 0:
        raise ValueError("must be more than 0")
    return cents


PositiveMoney = Annotated[Money, AfterValidator(_positive)]
"""Money that must be more than zero (a credit, a payment)."""

Stripped = StringConstraints(strip_whitespace=True)
"""Text with surrounding spaces removed before its length is checked: "   " is not a name."""

# The arguments every list or preview shares are described once, in the server instructions (SHARED_ARGUMENTS).
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Field(ge=0, le=10_000_000)]
DryRun = Annotated[bool, Field()]
IdFilter = Annotated[int | None, Field(ge=1, le=MAX_ID)]  # a list filter: "vendor_id" says which records
IdempotencyKey = Annotated[
    str | None,
    Field(min_length=1, max_length=200),
    WithJsonSchema({"type": "string", "maxLength": 200}),
]  # described once, in the server instructions, not on each of the writes (tools/list is read every conversation)
OverrideReason = Annotated[
    str | None,
    Stripped,
    Field(min_length=1, max_length=500, description="Go ahead despite missing documents or a full category: why."),
    AfterValidator(check_one_line),
]  # services/admission: the refusal says when it is needed; the reason stays in the audit log
DateFilter = Literal["upcoming", "past"]
# Business dates and times stay within years that date arithmetic, time zones and both databases handle:
# 9999-12-31 or 0001-01-01 would overflow on the way to UTC or to a day before/after.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
Kept = TypeVar("Kept", date, datetime)


def _kept(value: Kept) -> Kept:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"must be between {FIRST_DAY} and {LAST_DAY}; got {day}")
    return value


Day = Annotated[date, Field(description="A calendar date, YYYY-MM-DD."), AfterValidator(_kept)]
Moment = Annotated[datetime, AfterValidator(_kept)]
FromDate = Annotated[Day | None, Field()]
ToDate = Annotated[Day | None, Field()]
SHARED_ARGUMENTS = ("idempotency_key", "dry_run", "limit", "offset", "detail", "from_date", "to_date")
PAGE_SIZE = 20  # a default page a model reads whole: compact rows, a few kilobytes


def _unset(value: Any) -> bool:
    return value is None


def when_set(description: str) -> Any:
    """A result field that is left out, not null, when a call has nothing to say in it: a preview's would_*
    fields are absent from a done result and the other way round, so neither can be read as the other."""
    return Field(None, exclude_if=_unset, description=description)


def preview_note(nothing: str) -> str:
    """What a dry run's result says first: that nothing happened, and how to make it happen."""
    return f"Preview only: {nothing}. Call again with dry_run false to do it."


def _compact_required(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    # A list shows only a row's COMPACT fields, so only those are sure to be there.
    compact = cls.__dict__.get("COMPACT")
    if compact:
        schema["required"] = [name for name in schema.get("required", []) if name in compact]


class Row(Schema):
    """A record as lists show it: its COMPACT fields by default (a page a model reads on every list call),
    every field with detail="full" or through the record's get_* tool."""

    model_config = ConfigDict(defer_build=True, json_schema_extra=_compact_required)
    COMPACT: ClassVar[tuple[str, ...]] = ()


Detail = Literal["compact", "full"]


class Page(Schema, Generic[T]):
    """One page of a list: pass next_offset as offset to get the next page (null on the last one)."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None
    page: str = Field("", description="Which items these are, of how many, and how to get the next page.")
    _full: bool = PrivateAttr(False)

    @field_serializer("items", mode="wrap")
    def _rows(self, items: list[Any], handler: Any, info: Any) -> Any:
        if self._full or not items or not getattr(items[0], "COMPACT", ()):
            return handler(items)
        return [item.model_dump(mode=info.mode, include=set(item.COMPACT)) for item in items]

    @classmethod
    def of(cls, items: list[T], *, total: int, limit: int, offset: int, **extra: Any) -> Self:
        """A page of these items, cut short (with next_offset set) where it would pass the size budget."""
        page = cls(items=items, total=total, limit=limit, offset=offset, next_offset=None, **extra)
        return page._cut()

    def detailed(self, detail: str) -> Self:
        """The page with every field of its rows (detail="full"), cut again to the size budget."""
        if detail == "full":
            self._full = True
            self._cut()
        return self

    def _cut(self) -> Self:
        kept, size = [], 0
        for item in self.items:
            if isinstance(item, BaseModel):
                fields = None if self._full else (set(getattr(item, "COMPACT", ())) or None)
                size += len(item.model_dump_json(include=fields))
            if kept and size > PAGE_BUDGET_BYTES:
                break
            kept.append(item)
        self.items = kept
        more = self.offset + len(kept) < self.total
        self.next_offset = self.offset + len(kept) if more else None
        self.page = self._said()
        return self

    def _said(self) -> str:
        shown, total = len(self.items), self.total
        if total == 0:
            return "Nothing matches."
        if shown == 0:
            return f"No items from offset {self.offset}: there are {total} in all."
        if self.offset == 0 and self.next_offset is None:
            return f"All {total} shown."
        said = f"Items {self.offset + 1}-{self.offset + shown} of {total}."
        if self.next_offset is None:
            return said + " This is the last page."
        return said + f" For the next page call again with offset={self.next_offset}."


class Refusal(Schema):
    """What a refused call returns (with isError)."""

    model_config = ConfigDict(extra="forbid")

    error: str
    code: int
