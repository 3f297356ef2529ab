"""Granted shares become DEFINER views `lake.share_<department>.<request id>`: only the granted columns,
personal data masked by classification level, the row scope applied. Views of expired, revoked or
withdrawn requests are dropped, and the access rules are rewritten so each department reads only its
own schema. Idempotent: re-running with the same decisions changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from catalog.engine import Decision
from catalog.loader import Catalog
from catalog.models import ShareRequest
from infra import trino_security
from infra.settings import Settings, settings
from infra.trino_client import connect
from lineage.emit import emit_view_lineage
from schemas.contracts import Column, identifier, load_contracts
from schemas.libraries import library_columns, load_libraries

MASKED_LEVELS = ("L3",)  # masked by PII kind
HIDDEN_LEVELS = ("L4",)  # replaced whole


def mask(column: Column | None, name: str) -> str:
    """The SQL expression a share view shows for a gold column (name already validated)."""
    c = f'"{identifier(name)}"'
    if column is None or column.level in ("L1", "L2"):
        return c
    if column.level in HIDDEN_LEVELS:
        return f"CAST('******' AS varchar) AS {c}"
    if column.type != "string":
        return f"CAST(NULL AS {'date' if column.type == 'date' else 'varchar'}) AS {c}"
    expr = {
        "resident_id": f"concat(substr({c}, 1, 6), '********', substr({c}, 15, 4))",  # 420106********1234
        "phone": f"concat(substr({c}, 1, 3), '****', substr({c}, 8, 4))",  # 138****1234
        "name": f"rpad(substr({c}, 1, 1), length({c}), '*')",  # 张*
        "address": f"concat(substr({c}, 1, 6), '****')",
        "credit_code": f"concat(substr({c}, 1, 8), '**********')",
        "email": f"regexp_replace({c}, '^(.).*@', '$1***@')",
    }.get(column.pii, f"rpad(substr({c}, 1, 1), length({c}), '*')")
    return f"{expr} AS {c}"


def gold_classification() -> dict[str, dict[str, Column]]:
    """gold table → column → its classified column (PII kind and level), from the feed contracts and the
    library contracts."""
    feeds = load_contracts()
    out: dict[str, dict[str, Column]] = {}
    for contract in feeds.values():
        out.setdefault(contract.target.table, {}).update({c.name: c for c in contract.columns})
    for table, lib in load_libraries().items():
        out.setdefault(table, {}).update(library_columns(lib, feeds))
    return out


def view_sql(req: ShareRequest, table: str, catalog: str, classes: dict[str, Column]) -> str:
    unclassified = [c for c in req.columns if c not in classes]
    if unclassified:  # fail closed: an unclassified column could be personal data
        raise ValueError(f"{req.id}: gold.{table} has no classification for {unclassified}; not provisioned")
    cols = ",\n  ".join(mask(classes.get(c), c) for c in req.columns)
    where = ""
    if req.row_scope:  # column validated as identifier, prefix as digits
        where = f"\nWHERE starts_with(\"{identifier(req.row_scope.column)}\", '{req.row_scope.prefix}')"
    return (
        f'CREATE OR REPLACE VIEW {catalog}."share_{identifier(req.requester)}"."{identifier(req.id)}"\n'
        f"COMMENT '{req.purpose.replace(chr(39), chr(39) * 2)}' SECURITY DEFINER AS\n"
        f'SELECT\n  {cols}\nFROM {catalog}.gold."{identifier(table)}"{where}'
    )


@dataclass(frozen=True)
class Provisioned:
    view: str  # catalog.schema.view
    gold_table: str  # catalog.gold.table
    columns: dict[str, str]  # view column → gold column
    request_file: str


def emit_lineage(p: Provisioned) -> None:
    """An OpenLineage event: the view's columns ← the gold table's columns, with the request file."""
    gold = p.gold_table.split(".", 1)[1]
    emit_view_lineage(p.view.split(".", 1)[1], {v: (gold, g) for v, g in p.columns.items()}, p.request_file)


# Called with each view created (view ← gold table, columns, request file).
ON_PROVISIONED: list[Callable[[Provisioned], None]] = [emit_lineage]


def provision_share(cur, req: ShareRequest, decision: Decision, s: Settings) -> Provisioned:
    """Create (or replace) one share view, then call the ON_PROVISIONED hooks with what was done."""
    catalog = identifier(s.trino_catalog)
    schema = f"share_{identifier(req.requester)}"
    cur.execute(
        f'CREATE SCHEMA IF NOT EXISTS {catalog}."{schema}" '
        f"WITH (location = '{s.trino_warehouse_uri.rstrip('/')}/{schema}')"
    )
    cur.fetchall()
    classes = gold_classification().get(decision.table, {})
    cur.execute(view_sql(req, decision.table, catalog, classes))
    cur.fetchall()
    done = Provisioned(
        f"{catalog}.{schema}.{req.id}",
        f"{catalog}.gold.{decision.table}",
        {c: c for c in req.columns},
        decision.source_file,
    )
    for hook in ON_PROVISIONED:
        hook(done)
    return done


def existing_share_views(cur, catalog: str) -> set[tuple[str, str]]:
    cur.execute(
        f"SELECT table_schema, table_name FROM {catalog}.information_schema.views "
        "WHERE table_schema LIKE 'share\\_%' ESCAPE '\\'"
    )
    return {(r[0], r[1]) for r in cur.fetchall()}


def provision(
    cat: Catalog,
    decisions: list[Decision],
    requests: dict[str, ShareRequest],
    s: Settings | None = None,
) -> dict[str, list[str]]:
    """Make the share views match the granted decisions; drop all others; rewrite the access rules."""
    s = s or settings()
    catalog = identifier(s.trino_catalog)
    created, dropped = [], []
    with connect(s) as conn:
        cur = conn.cursor()
        wanted = set()
        forbidden = cat.negative_columns()
        for d in decisions:
            if d.granted and set(d.columns) & set(forbidden.get(d.table, [])):  # the engine refuses these
                raise ValueError(f"{d.request_id}: granted columns on the negative list: {d.columns}")
            if d.granted and d.request_id in requests:
                p = provision_share(cur, requests[d.request_id], d, s)
                wanted.add((f"share_{d.requester}", d.request_id))
                created.append(p.view)
        for schema, view in sorted(existing_share_views(cur, catalog) - wanted):
            cur.execute(f'DROP VIEW IF EXISTS {catalog}."{identifier(schema)}"."{identifier(view)}"')
            cur.fetchall()
            dropped.append(f"{catalog}.{schema}.{view}")
    if trino_security.enabled(s):
        trino_security.write_rules(s, sorted(cat.departments), cat.negative_columns())
    return {"created": created, "dropped": dropped}
