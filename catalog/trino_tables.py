"""Makes the lake's Delta tables visible in Trino: one schema per layer, tables registered in place.

Trino reads column and table comments from the Delta metadata Spark wrote, so the Chinese labels
of the contracts show up as column comments.
"""

from __future__ import annotations

from trino.exceptions import TrinoUserError

from infra import trino_security
from infra.settings import Settings, settings
from infra.trino_client import connect
from schemas.contracts import identifier


def register(tables: list[tuple[str, str]], s: Settings | None = None) -> list[str]:
    """Register each (schema, table) not yet known to Trino; returns the names newly registered. Through the
    platform's catalog: the one everybody reads is read-only in the connector. Idempotent, so a retried
    task converges: a table registered already, also by a concurrent run, is left as it is."""
    s = s or settings()
    catalog = identifier(trino_security.platform_catalog(s))
    added = []
    with connect(s) as conn:
        cur = conn.cursor()
        for schema in sorted({identifier(schema) for schema, _ in tables}):
            location = s.trino_warehouse_uri.rstrip("/") + "/" + schema
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {catalog}.\"{schema}\" WITH (location = '{location}')")
            cur.fetchall()
        for schema, table in tables:
            identifier(table)
            cur.execute(
                f"SELECT count(*) FROM {catalog}.information_schema.tables "
                "WHERE table_schema = ? AND table_name = ?",
                [schema, table],
            )
            if cur.fetchall()[0][0]:
                continue
            try:
                cur.execute(
                    f"CALL {catalog}.system.register_table(schema_name => '{schema}', "
                    f"table_name => '{table}', table_location => '{s.trino_table_uri(schema, table)}')"
                )
                cur.fetchall()
            except TrinoUserError as exc:  # another feed's run registered it meanwhile: as wanted
                if exc.error_name != "TABLE_ALREADY_EXISTS":
                    raise
                continue
            added.append(f"{schema}.{table}")
    return added
