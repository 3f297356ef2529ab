"""Which Parquet column types a contract column type accepts. Text is always accepted (refine types it,
quarantining what does not parse); otherwise the delivered type must hold the contract's values without
loss: no number where the contract keeps a code as text (leading zeros), no float for an integer."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
from pyarrow import types as t

_ACCEPTS: dict[str, Callable[[pa.DataType], bool]] = {
    "string": lambda _: False,
    "int": t.is_integer,
    "long": t.is_integer,
    "double": lambda d: t.is_integer(d) or t.is_floating(d) or t.is_decimal(d),
    "decimal": lambda d: t.is_integer(d) or t.is_decimal(d),
    "date": t.is_date,
    "timestamp": lambda d: t.is_timestamp(d) or t.is_date(d),
    "boolean": t.is_boolean,
}


def _text(d: pa.DataType) -> bool:
    return t.is_string(d) or t.is_large_string(d) or (t.is_dictionary(d) and _text(d.value_type))


def type_problem(declared: str, delivered: pa.DataType) -> str | None:
    """None if a Parquet column of type `delivered` may hold the contract's `declared` type."""
    if _text(delivered) or t.is_null(delivered) or _ACCEPTS[declared](delivered):  # null: no values at all
        return None
    return f"Parquet type {delivered}, the contract declares {declared}"
