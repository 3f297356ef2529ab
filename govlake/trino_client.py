"""Connections to Trino through the `trino` Python client."""

from __future__ import annotations

from typing import Any

import trino

from govlake.config import Settings, settings


def connect(s: Settings | None = None, user: str | None = None, schema: str | None = None):
    s = s or settings()
    return trino.dbapi.connect(
        host=s.trino_host,
        port=s.trino_port,
        user=user or s.trino_user,
        catalog=s.trino_catalog,
        schema=schema,
        http_scheme="http",
    )


def query(sql: str, params: list[Any] | None = None, s: Settings | None = None) -> list[list[Any]]:
    with connect(s) as conn:
        cur = conn.cursor()
        cur.execute(sql, params)
        return cur.fetchall()
