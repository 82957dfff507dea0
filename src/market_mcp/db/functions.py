"""SQL functions that mean the same on every backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import String


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
