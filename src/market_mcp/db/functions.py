"""SQL functions that mean the same on every backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import Boolean, String


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
    value that is all printable ASCII folds exactly as SQLite's own LIKE compares (ASCII case-insensitively,
    in C), so only values with other characters ("Ōtaki", "Straße") reach the Python function.
    """

    type = Boolean()
    inherit_cache = True


@compiles(folded_like, "sqlite")
def _folded_like_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    column, pattern = element.clauses
    ascii_like = f"{compiler.process(column, **kw)} LIKE {compiler.process(pattern, **kw)} ESCAPE '\\'"
    other = f"{compiler.process(column, **kw)} GLOB '*[^ -~]*'"  # any character outside printable ASCII
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
