"""Granted shares become DEFINER views `lake.share_<department>.<request id>`: only the granted columns,
personal data masked by classification level (catalog.masks, the rebuild rule applied), the row scope and
the request's expiry date applied in the view itself (`current_date <= DATE '<expires>'`), never a column
deriving from a negative-list item (catalog.negative). Each granted request is provisioned on its own: a
failure is returned (and its view dropped) while the others proceed; views of every request not granted
are always dropped; then the access rules are rewritten. Idempotent: re-running changes nothing. Trino
unreachable (a restart) is no request's failure: the run fails there, leaving every view it made as
decided (a view is one CREATE OR REPLACE), and a re-run (the DAG task's retry) converges.

Views are created through the platform's catalog (infra.trino_security.platform_catalog; the catalog
everybody reads is read-only) and read `lake.gold`, so a department reads `lake.share_<department>.<id>`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from trino.dbapi import Cursor
from trino.exceptions import HttpError, TrinoConnectionError, TrinoInternalError

from catalog import server
from catalog.engine import Decision
from catalog.loader import Catalog
from catalog.masks import GoldTable, gold_tables, quoted, share_column, text
from catalog.models import ShareRequest
from catalog.negative import Negatives, negative_columns, refusal
from infra import trino_security
from infra.settings import Settings, settings
from infra.trino_client import connect
from lineage.emit import emit_view_lineage
from schemas.contracts import Column, identifier

log = logging.getLogger(__name__)


def gold_classification() -> dict[str, dict[str, Column]]:
    """gold table → column → its classified column (PII kind and level), from the feed contracts and the
    library contracts."""
    return {name: table.columns for name, table in gold_tables().items()}


def mask(column: Column | None, name: str) -> str:
    """The select item a share view shows for one gold column on its own (catalog.masks.share_column)."""
    return share_column(GoldTable({name: column} if column else {}), name, [name])


def view_sql(
    req: ShareRequest,
    table: str,
    catalog: str,
    classes: GoldTable | dict[str, Column],
    read_catalog: str | None = None,
) -> str:
    """CREATE OR REPLACE VIEW `catalog`.share_<requester>.<id> over `read_catalog`.gold.<table> (default
    the same catalog)."""
    gold = classes if isinstance(classes, GoldTable) else GoldTable(classes)
    unclassified = [c for c in req.columns if c not in gold.columns]
    if unclassified:  # fail closed: an unclassified column could be personal data
        raise ValueError(f"{req.id}: gold.{table} has no classification for {unclassified}; not provisioned")
    cols = ",\n  ".join(share_column(gold, c, req.columns) for c in req.columns)
    where = [f"current_date <= DATE {text(req.expires.isoformat())}"]  # expiry enforced by the view itself
    if req.row_scope:  # column validated as identifier, prefix as digits
        where.append(f"starts_with({quoted(req.row_scope.column)}, {text(req.row_scope.prefix)})")
    source = identifier(read_catalog or catalog)
    view = f'{identifier(catalog)}."share_{identifier(req.requester)}"."{identifier(req.id)}"'
    return (
        f"CREATE OR REPLACE VIEW {view}\n"
        f"COMMENT {text(req.purpose)} SECURITY DEFINER AS\n"
        f'SELECT\n  {cols}\nFROM {source}.gold."{identifier(table)}"\nWHERE ' + " AND ".join(where)
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


def provision_share(
    cur: Cursor, req: ShareRequest, decision: Decision, s: Settings, gold: GoldTable
) -> Provisioned:
    """Create (or replace) one share view over `gold` (the table's classified columns), then call the
    ON_PROVISIONED hooks with what was done."""
    catalog, writes = identifier(s.trino_catalog), identifier(trino_security.platform_catalog(s))
    schema = f"share_{identifier(req.requester)}"
    cur.execute(
        f'CREATE SCHEMA IF NOT EXISTS {writes}."{schema}" '
        f"WITH (location = '{s.trino_warehouse_uri.rstrip('/')}/{schema}')"
    )
    cur.fetchall()
    cur.execute(view_sql(req, decision.table, writes, gold, catalog))
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


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says Trino could not be reached or answered no query (a restart, a network fault),
    not that this request's view is wrong."""
    return isinstance(exc, (OSError, TrinoConnectionError, HttpError, TrinoInternalError))


def existing_share_views(cur: Cursor, catalog: str) -> set[tuple[str, str]]:
    cur.execute(
        f"SELECT table_schema, table_name FROM {catalog}.information_schema.views "
        "WHERE table_schema LIKE 'share\\_%' ESCAPE '\\'"
    )
    return {(r[0], r[1]) for r in cur.fetchall()}


def _grant(
    cur: Cursor,
    req: ShareRequest,
    d: Decision,
    cat: Catalog,
    negatives: Negatives,
    gold: dict[str, GoldTable],
    s: Settings,
) -> str:
    basis = refusal(cat, d.table, req.columns, d.resource or None, negatives)
    if basis:  # the engine refuses these; never in a view, whatever the decision says
        raise ValueError(f"{d.request_id}: granted columns on the negative list: {basis}")
    return provision_share(cur, req, d, s, gold.get(d.table, GoldTable({}))).view


def provision(
    cat: Catalog,
    decisions: list[Decision],
    requests: dict[str, ShareRequest],
    s: Settings | None = None,
) -> dict[str, list[str]]:
    """Make the share views match the granted decisions (each on its own); drop all others, and the views
    of grants that failed; rewrite the access rules. Returns created, dropped and failed (`<id>: why`)."""
    s = s or settings()
    writes = identifier(trino_security.platform_catalog(s))
    created, dropped, failed = [], [], []
    negatives, gold = negative_columns(cat), gold_tables()  # the contracts read once per run
    with connect(s) as conn:
        cur = conn.cursor()
        wanted = set()
        for d in decisions:
            if not d.granted or d.request_id not in requests:
                continue
            try:
                created.append(_grant(cur, requests[d.request_id], d, cat, negatives, gold, s))
                wanted.add((f"share_{d.requester}", d.request_id))
            except Exception as exc:  # one bad grant never stops the others, nor the drops below
                if unreachable(exc):  # Trino itself (restarting): fail the run, the task's retry converges
                    raise
                why = str(exc).removeprefix(f"{d.request_id}: ")
                log.error("share %s not provisioned: %s", d.request_id, why)
                failed.append(f"{d.request_id}: {why}")
        for schema, view in sorted(existing_share_views(cur, writes) - wanted):
            cur.execute(f'DROP VIEW IF EXISTS {writes}."{identifier(schema)}"."{identifier(view)}"')
            cur.fetchall()
            dropped.append(f"{identifier(s.trino_catalog)}.{schema}.{view}")
    if trino_security.enabled(s):
        trino_security.write_rules(s, server.access(cat, s))
    return {"created": created, "dropped": dropped, "failed": failed}
