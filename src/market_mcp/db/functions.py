"""SQL functions that mean the same on every backend."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import ARRAY, BigInteger, literal, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import Boolean, String, TypeDecorator


class casefold(GenericFunction[str]):  # noqa: N801  (SQL function names are lowercase)
    """Unicode case folding for case-insensitive search ("Ō" matches "ō").

    PostgreSQL's lower() already folds Unicode; SQLite's folds ASCII only, so SQLite gets
    a Python function of this name on every connection (db/engine.py).
    """

    type = String()
    inherit_cache = True


@compiles(casefold, "postgresql")
def _casefold_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


def sqlite_casefold(value: str | None) -> str | None:
    return value.casefold() if isinstance(value, str) else value


class folded_like(GenericFunction[bool]):  # noqa: N801
    """`casefold(column) LIKE pattern ESCAPE '\\'`, for a pattern that is already case-folded.

    On SQLite, casefold is a Python function: called on every row of a scan it costs microseconds a row. A
    value that is all ASCII folds exactly as SQLite's own LIKE compares (ASCII case-insensitively,
    in C), so only values with other characters ("Ōtaki", "Straße") reach the Python function.
    """

    type = Boolean()
    inherit_cache = True


@compiles(folded_like, "sqlite")
def _folded_like_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    column, pattern = element.clauses
    ascii_like = f"{compiler.process(column, **kw)} LIKE {compiler.process(pattern, **kw)} ESCAPE '\\'"
    # Any character outside ASCII: more bytes than characters (cheaper than GLOB '*[^ -~]*'; ASCII folds as LIKE compares).
    other = f"length(CAST({compiler.process(column, **kw)} AS BLOB)) != length({compiler.process(column, **kw)})"
    folded = f"casefold({compiler.process(column, **kw)}) LIKE {compiler.process(pattern, **kw)} ESCAPE '\\'"
    return f"({ascii_like} OR ({other} AND {folded}))"


@compiles(folded_like)
def _folded_like(element: Any, compiler: Any, **kw: Any) -> str:
    column, pattern = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(lower({column}) LIKE {pattern} ESCAPE '\\')"


def upsert_insert(dialect: str) -> Any:
    """The backend's INSERT that takes ON CONFLICT clauses (imported on use: SQLite serves never load the
    PostgreSQL dialect)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


VENDOR_SEARCH = "vendor_search"  # SQLite: the FTS5 trigram table over vendors' case-folded text (migration 0010)
TRIGRAM = 3  # a trigram index finds text of at least three characters; shorter text is matched by a scan


class vendor_text_match(GenericFunction[bool]):  # noqa: N801
    """`vendor_id IN (the vendor_search rows matching an FTS5 query)` on SQLite; on PostgreSQL the vendor's
    case-folded text, all of it in one string, LIKE the pattern (served by one trigram index, migration 0011)."""

    type = Boolean()
    inherit_cache = True  # the FTS5 query is a bound parameter: one compiled statement serves every query
    _is_implicitly_boolean = True  # a condition as it stands, not "… = 1": SQLite looks the ids up by rowid


@compiles(vendor_text_match, "sqlite")
def _vendor_text_match_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    vendor_id, query = (compiler.process(clause, **kw) for clause in list(element.clauses)[:2])
    return f"{vendor_id} IN (SELECT rowid FROM {VENDOR_SEARCH} WHERE {VENDOR_SEARCH} MATCH {query})"


VENDOR_TEXT = ("business_name", "contact_name", "email", "category")  # PostgreSQL's ix_vendor_text_trgm, in order


@compiles(vendor_text_match)
def _vendor_text_match_elsewhere(element: Any, compiler: Any, **kw: Any) -> str:
    clauses = list(element.clauses)
    table = clauses[0].table
    text = " || ' ' || ".join(compiler.process(table.c[name], **kw) for name in VENDOR_TEXT)
    return f"(lower({text}) LIKE {compiler.process(clauses[2], **kw)} ESCAPE '\\')"


def vendor_text_candidates(vendor_id: Any, folded: str, columns: tuple[str, ...]) -> Any:
    """`vendor_id` is among the vendors whose case-folded `columns` may contain `folded` (already case-folded).

    A superset, never a subset: the caller still applies the exact match (`folded_like`) to what it lets
    through. On SQLite it is the FTS5 trigram table's answer, so matching reads the vendors found, not every
    vendor. On PostgreSQL it is the vendor's four text columns joined by spaces, lower-cased, containing the text:
    one trigram index (migration 0011) answers it, where the OR of a LIKE per column's index was costed above a
    scan of every vendor. Text shorter than a trigram lets every vendor through (the exact match then scans, as
    before).
    """
    if len(folded) < TRIGRAM:
        return true()
    # A quoted FTS5 phrase of the text's trigrams, in the given columns only: the text as a substring.
    phrase = '"' + folded.replace('"', '""') + '"'
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", folded) + "%"
    return vendor_text_match(vendor_id, "{" + " ".join(columns) + "} : " + phrase, pattern)


class _folded_starts(GenericFunction[bool]):  # noqa: N801
    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True


@compiles(_folded_starts, "sqlite")
def _folded_starts_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    column, low, high = (compiler.process(clause, **kw) for clause in list(element.clauses)[:3])
    return f"(casefold({column}) >= {low} AND casefold({column}) < {high})"


@compiles(_folded_starts)
def _folded_starts_elsewhere(element: Any, compiler: Any, **kw: Any) -> str:
    clauses = list(element.clauses)
    column, pattern = (compiler.process(clause, **kw) for clause in (clauses[0], clauses[3]))  # no unused parameters
    return f"(lower({column}) LIKE {pattern} ESCAPE '\\')"


def folded_starts(column: Any, folded: str) -> Any:
    """`casefold(column)` starts with `folded` (already case-folded), in a form the index on the column's
    case-folded text answers (migration 0011): on SQLite the range of text with that prefix (binary order is code
    point order), on PostgreSQL a LIKE its text_pattern_ops index turns into that range."""
    if not folded:
        return column.is_not(None)
    last = ord(folded[-1]) + 1
    last = 0xE000 if 0xD800 <= last < 0xE000 else last
    high = folded[:-1] + chr(last) if last <= 0x10FFFF else folded + "\U0010ffff" * 8
    pattern = re.sub(r"([\\%_])", r"\\\1", folded) + "%"
    return _folded_starts(column, folded, high, pattern)


class _Ids(TypeDecorator[list[int]]):
    """A list of ids bound as one value: a JSON array on SQLite, a bigint[] elsewhere (PostgreSQL then holds
    it as a constant of the plan, and looks a value up in it by hashing it rather than re-reading it per row)."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(ARRAY(BigInteger()))

    def process_bind_param(self, value: list[int] | None, dialect: Any) -> Any:
        return json.dumps(value) if dialect.name == "sqlite" else value


class _id_in(GenericFunction[bool]):  # noqa: N801
    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True


@compiles(_id_in, "sqlite")
def _id_in_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    column, ids = (compiler.process(clause, **kw) for clause in element.clauses)
    # "+column": not through an index on the column, so SQLite walks the records in the order asked for.
    return f"+{column} IN (SELECT value FROM json_each({ids}))"


@compiles(_id_in)
def _id_in_elsewhere(element: Any, compiler: Any, **kw: Any) -> str:
    column, ids = (compiler.process(clause, **kw) for clause in element.clauses)
    # "column + 0": not through an index on the column, as on SQLite. Through it, PostgreSQL reads every record
    # of every id and sorts them (1.3 s for a search's bookings at 300,000), rather than walking in order.
    return f"{column} + 0 = ANY({ids})"


def id_in(column: Any, ids: list[int]) -> Any:
    """`column IN (ids)` with the ids bound as one value: any number of them, one statement for every count
    (an expanding IN binds one parameter per id, and a backend caps parameters). For many ids: a record read in
    order is looked up in them, rather than the records found through them (the column is kept from its
    indexes)."""
    return _id_in(column, literal(ids, _Ids()))


class unindexed(GenericFunction[Any]):  # noqa: N801
    """The column's value, but not through an index on it: SQLite's unary `+` (PostgreSQL's planner is left to
    choose). For a walk in an index's order that the planner would otherwise trade for another index."""

    inherit_cache = True


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


@compiles(unindexed)
def _unindexed_elsewhere(element: Any, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)
