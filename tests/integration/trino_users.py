"""Statements run through the real Trino as one of its users (over HTTPS, with that user's password)."""

from __future__ import annotations

import pytest
import trino

from infra.trino_client import connect


def as_user(user: str, statement: str) -> list[list]:
    with connect(user=user) as conn:
        cur = conn.cursor()
        cur.execute(statement)
        return cur.fetchall()


def denied(user: str, statement: str) -> str:
    """The error message Trino refuses `statement` with (the test fails if it runs)."""
    with pytest.raises(trino.exceptions.TrinoQueryError) as err:
        as_user(user, statement)
    return str(err.value)
