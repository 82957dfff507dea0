"""Refusals that name the fix: what an argument must look like, the tool that finds an id, the tool meant.

A refusal is read by a model that has to put the call right, so pydantic's words ("unable to parse string as
an integer") are replaced by the argument's own expectations, derived from the tool's argument model: its
type, its bounds, its allowed values, and for an `*_id` the tool that lists those records.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Le, MaxLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic.functional_validators import BeforeValidator

from market_mcp.auth import without_tokens
from market_mcp.schemas.common import SUCH_AS, to_cents


def shown(value: Any) -> str:
    """A value a caller sent, short enough to repeat back (it may be megabytes), never with a token in it."""
    if isinstance(value, str):
        value = without_tokens(value)
        return repr(value if len(value) <= 40 else value[:40] + "…")
    text = without_tokens(repr(value))
    return text if len(text) <= 60 else text[:60] + "…"


def nearest(name: str, candidates: Iterable[str], most: int = 3) -> list[str]:
    return difflib.get_close_matches(name, list(candidates), n=most, cutoff=0.6)


def meant_argument(name: str, known: Iterable[str]) -> str | None:
    """The argument a misspelt one stands for: vendor → vendor_id, fee → default_fee, stauts → status."""
    if len(name) > 64:  # a caller's text: no fuzzy matching on megabytes
        return None
    known = list(known)
    close = nearest(name, known, 1)
    words = set(name.lower().split("_"))
    containing = [argument for argument in known if words <= set(argument.split("_"))]
    return close[0] if close else containing[0] if len(containing) == 1 else None


def either(words: list[str]) -> str:
    """card, cash or bank_transfer"""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# ---------------------------------------------------------------- which tool finds an id


@dataclass(frozen=True)
class Finder:
    record: str  # "vendor"
    tool: str  # the tool whose items carry the id
    how: str  # what to pass it
    by_name: str | None = None  # how its `query` finds the record, when it can: "by name"

    def advice(self, value: Any, it: str = "it") -> str:
        """Where the id comes from; given a name, the call that finds the record by it."""
        name = without_tokens(value).strip()[:60] if isinstance(value, str) else ""
        if self.by_name and re.search(r"[^\W\d_]", name):  # a name where the id belongs
            return f"To find {it} {self.by_name}, call {self.tool} with query={json.dumps(name, ensure_ascii=False)}."
        day = suggested_date(name) if self.record == "market date" else None
        return f"To find {f'the id of {day}' if day else it}, call {self.tool} {self.how}."


FINDERS = {
    "market_id": Finder("market", "list_markets", "(query= finds one by name)", "by name"),
    "market_date_id": Finder(
        "market date", "list_market_dates", "with the market's market_id: each date has its id and scheduled_at"
    ),
    "vendor_id": Finder("vendor", "list_vendors", "(query= finds one by name)", "by name"),
    "application_id": Finder(
        "application", "list_applications", "(query= finds one by the vendor's name)", "by the vendor's name"
    ),
    "order_id": Finder("order", "list_orders", "(query= finds one by the vendor's name)", "by the vendor's name"),
    "booking_id": Finder(
        "booking",
        "list_bookings",
        "(query= finds one by the vendor's name), or list_market_date_bookings for a date's roster",
        "by the vendor's name",
    ),
    "entry_id": Finder("waitlist entry", "list_waitlist", "with market_id or market_date_id: each entry has its id"),
    "credit_id": Finder("credit", "list_credits", "(query= finds one by the vendor's name)", "by the vendor's name"),
    "season_id": Finder("season", "list_seasons", "with the market's market_id: each season has its id"),
    "standing_booking_id": Finder(
        "standing booking", "list_seasons", "with the market's market_id: each season lists its standing bookings"
    ),
}


def finder(argument: str) -> Finder | None:
    """The finder of an id argument: vendor_id, market_date_ids, target_market_date_id, no_show_booking_ids…"""
    single = argument.removesuffix("s") if argument.endswith("_ids") else argument
    found = [key for key in FINDERS if single == key or single.endswith("_" + key)]
    return FINDERS[max(found, key=len)] if found else None


# ---------------------------------------------------------------- what a person meant by a date, a time, a day

MONTHS = "january february march april may june july august september october november december".split()
WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]  # 0 = Sunday


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def suggested_date(text: str) -> date | None:
    """The one calendar day `text` can mean, or None when it is not a date or could be two.

    Day/month/year is how the organisers (mostly Australian) write; 03/04/2026 could still be read either way,
    so it gets no suggestion, while 25/12/2026 or 12/25/2026 can only be Christmas."""
    text = text.strip().lower()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[t ].*", text):  # a datetime where a date belongs
        return _day(*map(int, m.groups()))
    if m := re.fullmatch(r"(\d{4})[-/. ](\d{1,2})[-/. ](\d{1,2})|(\d{4})(\d{2})(\d{2})", text):
        year, month, day = (int(g) for g in m.groups() if g is not None)
        return _day(year, month, day)
    if m := re.fullmatch(r"(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})", text):
        first, second, year = map(int, m.groups())
        if first != second and first <= 12 and second <= 12:
            return None  # 03/04/2026: March or April?
        return _day(year, second, first) or _day(year, first, second)
    words = re.findall(r"[a-z]+|\d+", text)
    months = [n for w in words if len(w) >= 3 for n, month in enumerate(MONTHS, 1) if month.startswith(w)]
    numbers = [int(w) for w in words if w.isdigit()]
    if len(months) == 1 and len(numbers) == 2:  # 25 December 2026, Dec 25 2026, Saturday 12 Dec 2026
        day, year = sorted(numbers)
        return _day(year, months[0], day) if year > 31 else None
    return None


def suggested_time(text: str) -> time | None:
    """8am, 8:30 pm, 8:00, 8.30, 0800 as a 24-hour time."""
    m = re.fullmatch(r"(\d{1,2})(?:[:.h]?(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", text.strip().lower())
    if m is None or (m.group(2) is None and m.group(3) is None and len(m.group(1)) < 3):
        return None
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.startswith("p") else 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None


def weekday_number(value: Any) -> int | None:
    """Saturday, sat, Saturdays → 6; 7 (Sunday, as ISO and many people count) → 0."""
    if value == 7 and not isinstance(value, bool):
        return 0
    word = value.strip().lower().rstrip(".") if isinstance(value, str) else ""
    for number, name in enumerate(WEEKDAYS):
        if len(word) >= 3 and (name.lower().startswith(word) or word == name.lower() + "s"):
            return number
    return None


# ---------------------------------------------------------------- what an argument must be


@dataclass(frozen=True)
class Expected:
    what: str  # "a date as YYYY-MM-DD, e.g. 2026-12-12": follows "must be" and "is required:"
    advice: Callable[[Any], str] = lambda value: ""  # a sentence that puts this value right, if there is one
    ranged: bool = False  # `what` says the allowed range itself: an out-of-range value gets `what`, not "at most"


def _did_you_mean(suggestion: Any) -> str:
    return "" if suggestion is None else f"Did you mean {suggestion}?"


def _date_advice(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return f"{value.strip()} is not a day of the calendar."
    return _did_you_mean(suggested_date(value))


def _time_advice(value: Any) -> str:
    meant = suggested_time(value) if isinstance(value, str) else None
    return _did_you_mean(meant and f"{meant:%H:%M}")


def _weekday_advice(value: Any) -> str:
    number = weekday_number(value)
    return _did_you_mean(None if number is None else f"{number} ({WEEKDAYS[number]})")


DATE = Expected("a date as YYYY-MM-DD, e.g. 2026-12-12", _date_advice)
DATETIME = Expected("a date and time in ISO 8601, e.g. 2026-05-01T09:00:00Z (or a date, 2026-05-01)", _date_advice)
TIME = Expected("a time as HH:MM (24-hour), e.g. 08:00", _time_advice)
WEEKDAY = Expected("a number, 0 = Sunday … 6 = Saturday", _weekday_advice, ranged=True)
MONEY = Expected(f"an amount in the organisation's currency, {SUCH_AS}")
SIMPLE = {
    bool: Expected("true or false"),
    datetime: DATETIME,
    date: DATE,
    time: TIME,
    dict: Expected('an object of keys and values, e.g. {"stall": "A1"}'),
}
# Text with a pattern, in a person's words rather than the regular expression's.
FORMATS = {
    "slug": "lowercase letters, digits and hyphens, e.g. riverside-markets",
    "email": "an email address, e.g. name@example.com",
}


def _id_of(found: Finder) -> Expected:
    return Expected(f"a number, the {found.record}'s id", found.advice)


def _unwrapped(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The type under Optional and Annotated, with every constraint met on the way."""
    metadata = list(metadata)
    while True:
        args = get_args(annotation)
        if get_origin(annotation) is Annotated:
            annotation = args[0]
            for extra in args[1:]:
                metadata += extra.metadata if isinstance(extra, FieldInfo) else [extra]
        elif get_origin(annotation) in (Union, UnionType) and len(args) == 2 and NoneType in args:
            annotation = next(arg for arg in args if arg is not NoneType)
        else:
            return annotation, metadata


def _first(metadata: list[Any], kind: type) -> Any:
    return next((m for m in metadata if isinstance(m, kind)), None)


def expected(argument: str, annotation: Any, metadata: list[Any]) -> Expected | None:
    """What `argument` must be, from its type in the tool's argument model (None: nothing better to say)."""
    base, metadata = _unwrapped(annotation, metadata)
    origin = get_origin(base)
    found = finder(argument)
    if origin is list:
        if found is not None:
            return Expected(
                f"a list of numbers, the {found.record}s' ids, e.g. [12, 13]", lambda value: found.advice(value, "them")
            )
        return Expected("a list, e.g. [1, 2]")
    if any(isinstance(m, BeforeValidator) and m.func is to_cents for m in metadata):
        return MONEY
    if argument == "day_of_week":
        return WEEKDAY
    if found is not None and base is int:
        return _id_of(found)
    if base in SIMPLE or origin in SIMPLE:
        return SIMPLE.get(base) or SIMPLE[origin]
    if origin is Literal:
        values = [str(value) for value in get_args(base)]
        return Expected("one of " + either(values), lambda value: _did_you_mean(_closest(value, values)))
    if base is int:
        low, high = _first(metadata, Ge), _first(metadata, Le)
        if low is not None and high is not None:
            return Expected(f"a whole number from {low.ge} to {high.le}")
        return Expected("a whole number")
    if base is str:
        most = _first(metadata, MaxLen)
        return Expected(FORMATS.get(argument) or "text" + (f" of at most {most.max_length} characters" if most else ""))
    return None


def _closest(value: Any, allowed: list[str]) -> str | None:
    """The allowed value a person meant: "bank transfer" → bank_transfer, "Cash" → cash."""
    if not isinstance(value, str):
        return None
    close = nearest(re.sub(r"[\s-]+", "_", value.strip().lower()), allowed, most=1)
    return close[0] if close else None


# ---------------------------------------------------------------- a refused call's arguments, in one message


def invalid_arguments(error: ValidationError, arguments: type[BaseModel] | None = None) -> str:
    """The 422 sentence for arguments that failed the tool's argument model: each argument once, with its fix."""
    fields = arguments.model_fields if arguments is not None and error.title == arguments.__name__ else {}
    problems: dict[str, str] = {}
    for item in error.errors():
        argument = str(item["loc"][0]) if item["loc"] else "arguments"
        if argument not in problems:
            field = fields.get(argument)
            want = expected(argument, field.annotation, field.metadata) if field is not None else None
            problems[argument] = _problem(argument, item, want)
    return "Invalid arguments: " + " ".join(problems.values())


def _path(loc: tuple[Any, ...]) -> str:
    """rows[0].stalls, as a person would point at it."""
    return str(loc[0]) + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:])


BOUNDS = {
    "greater_than_equal": "at least",
    "greater_than": "more than",
    "less_than_equal": "at most",
    "less_than": "less than",
}


def _problem(argument: str, item: Any, want: Expected | None) -> str:
    kind, value, ctx = item["type"], item.get("input"), item.get("ctx") or {}
    if any(isinstance(part, str) for part in item["loc"][1:]):  # a field of an object inside an argument
        argument, want = _path(item["loc"]), None
        if kind == "extra_forbidden":
            return f"{argument} is not a field it takes (tools/list shows the fields)."
    message = item["msg"].removeprefix("Value error, ")
    if kind == "missing":
        return (
            f"{argument} is required: {want.what}. {want.advice(None)}".rstrip() if want else f"{argument} is required."
        )
    if kind == "extra_forbidden":
        return f"{argument} is not an argument of this tool."
    if kind == "value_error" and message[:1].islower():  # our own validators speak in the argument's voice
        return f"{argument} {without_tokens(message)}."
    if len(item["loc"]) == 2 and isinstance(item["loc"][1], int):  # one item of a list: name it
        found = finder(argument)
        argument, want = f"{argument}[{item['loc'][1]}]", _id_of(found) if found else None
    if kind in BOUNDS and not (want and want.ranged):
        limit = next(iter(ctx.values()))
        return _sentences(
            f"{argument} must be {BOUNDS[kind]} {limit}; got {shown(value)}.", want and want.advice(value)
        )
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return f"{argument} must not be empty."
    if kind == "too_short":
        return f"{argument} must have at least {_items(ctx['min_length'])}; got {ctx.get('actual_length')}."
    if kind == "string_too_long":
        return f"{argument} must be at most {ctx['max_length']} characters; got {len(value):,} characters."
    if kind == "too_long":
        return f"{argument} must have at most {_items(ctx['max_length'])}; got {ctx.get('actual_length')}."
    if want is None:
        return f"{argument}: {message}; got {shown(value)}."
    return _sentences(f"{argument} must be {want.what}; got {shown(value)}.", want.advice(value))


def _items(count: int) -> str:
    return f"{count:,} item" + ("" if count == 1 else "s")


def _sentences(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


# ---------------------------------------------------------------- a tool that does not exist

# A name a model reaches for, and the tool that does it here.
ALIASES = {
    "create_booking": "create_order",
    "book": "create_order",
    "book_vendor": "create_order",
    "pay_order": "record_order_payment",
    "record_payment": "record_order_payment",
    "mark_paid": "record_order_payment",
    "approve_application": "update_application_status",
    "reject_application": "update_application_status",
    "decide_application": "update_application_status",
    "cancel_order": "reject_order",
    "delete_order": "archive_order",
    "whoami": "get_context",
    "get_me": "get_context",
    "send_email": "send_vendor_email",
}
# Verbs a model reaches for, and the verbs of this catalog that do that.
VERBS = {
    "get": ("list", "get"),
    "fetch": ("get", "list"),
    "show": ("get", "list"),
    "view": ("get", "list"),
    "read": ("get", "list"),
    "find": ("list", "search"),
    "search": ("list", "search"),
    "all": ("list",),
    "list": ("list",),
    "add": ("create", "add"),
    "new": ("create",),
    "make": ("create",),
    "create": ("create", "add"),
    "edit": ("update",),
    "change": ("update",),
    "modify": ("update", "modify"),
    "set": ("update",),
    "delete": ("delete", "remove", "cancel", "archive"),
    "remove": ("remove", "delete", "cancel"),
    "accept": ("accept", "approve", "confirm"),
    "decline": ("reject",),
    "deny": ("reject",),
    "email": ("send",),
    "notify": ("notify", "send"),
}


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"  # entries
    return word if word.endswith("ss") else word.removesuffix("s")


def meant_tools(name: str, available: Iterable[str], most: int = 3) -> list[str]:
    """The tools a caller of an unknown tool most likely meant: get_vendors → list_vendors, get_vendor."""
    if len(name) > 64:  # a caller's text: no fuzzy matching on megabytes
        return []
    tools = list(available)
    plain = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).lower()  # listVendors, List Vendors
    plain = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
    verb, *noun = plain.split("_")
    meant = [tool for tool in (plain, ALIASES.get(plain)) if tool in tools]
    # The same thing under a verb this catalog uses: the same words first (get_vendors → list_vendors).
    # The same thing under a verb this catalog uses, the very same words first: get_vendors → list_vendors, then
    # get_vendor; get_dates → list_market_dates, get_market_date.
    things = [_singular(word) for word in noun]
    same = [
        tool
        for tool in tools
        if tool.split("_")[0] in VERBS.get(verb, (verb,))
        and things
        and [_singular(word) for word in tool.split("_")[1:]][-len(things) :] == things
    ]
    meant += sorted(same, key=lambda tool: (tool.split("_")[1:][-len(noun) :] != noun, len(tool)))
    return list(dict.fromkeys(meant))[:most] or nearest(plain, tools, most)


def unknown_tool(name: str, available: Iterable[str]) -> str:
    meant = meant_tools(name, available)
    guess = f" Did you mean {either(meant)}?" if meant else ""
    return f"Unknown tool {shown(name)}.{guess} Call tools/list to see the tools."
