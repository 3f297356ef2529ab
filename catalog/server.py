"""Trino as the catalog serves it: the department users, and what the analyst reads, come from the catalog
and the contracts; process management (infra.trino) only writes them out.

The analyst reads every gold table a contract defines (an unknown table: nothing) and the governance
schema, through column rules: a negative-list column fails with its item and legal basis
(catalog.negative), L4 is denied, L3 is masked (catalog.masks; resident IDs as the keyed pseudonym), and
governance values are masked by the level of the column they came from; in the access log the analyst
reads only its own queries' text. A catalog or contract that does not load leaves only the platform.
The pseudonym key is a one-row Delta table only the platform reads (`write_key_table`): a key inlined in
a mask would show in the analyst's EXPLAIN.
"""

from __future__ import annotations

import os
import sys

import pyarrow as pa
from deltalake import write_deltalake

from catalog.loader import Catalog, load_catalog
from catalog.masks import (
    HIDDEN,
    KEY_SCHEMA,
    KEY_TABLE,
    GoldTable,
    case,
    gold_tables,
    masked,
    masked_text,
    pseudonym,
    quoted,
    text,
    year_only,
)
from catalog.negative import Negatives, fail_mask, negative_columns
from infra import trino, trino_cluster, trino_security
from infra.settings import Settings, settings
from infra.trino_client import connect
from infra.trino_security import Access, ColumnRule
from schemas.contracts import FeedContract, load_contracts
from schemas.libraries import GoldenLibrary, Library, load_libraries

GOLD, GOVERNANCE = "gold", "governance"
KEY_LOCATION = f"_platform/{KEY_TABLE}"  # under the warehouse, beside no schema anybody else reads
CLEAR = ("L1", "L2")


def gold_rules(name: str, table: GoldTable, negatives: Negatives, catalog: str) -> tuple[ColumnRule, ...]:
    """The analyst's column rules for one gold table."""
    tainted = negatives.get(name, {})
    rules = [ColumnRule(column, mask=fail_mask(n, name, column)) for column, n in tainted.items()]
    ids = {c for c in table.id_columns if table.columns[c].level in ("L3", "L4")}
    for column, c in table.columns.items():
        ref = quoted(column)
        if column in tainted:
            continue
        if c.level == "L4":
            rules.append(ColumnRule(column, allow=False))
        elif c.level == "L3" and c.pii == "resident_id":
            rules.append(ColumnRule(column, mask=pseudonym(ref, catalog), as_platform=True))
        elif c.level == "L3":
            rules.append(ColumnRule(column, mask=masked(c, ref, table.typed)))
        elif ids and column in table.birth_dates:  # the rebuild rule, as in share views
            rules.append(ColumnRule(column, mask=year_only(ref, c)))
    return tuple(rules)


def _values(
    column: str,
    selector: str,
    sources: dict[str, tuple[str, str]],
    ctx: tuple[dict[str, GoldTable], Negatives, str],
) -> ColumnRule:
    """A governance column holding values of gold columns: `selector` names the source as
    `<source>.<column>` (sources: that name → (gold table, column)); each value masked by its column, a
    value of an unknown column hidden."""
    tables, negatives, catalog = ctx
    ref, branches = quoted(column), dict[str, list[str]]()
    for key, (table, name) in sources.items():
        n = negatives.get(table, {}).get(name)
        c = tables.get(table, GoldTable({})).columns.get(name)
        expr = text(f"【负面清单 {n.code}】") if n else masked_text(c, ref, catalog) if c else text(HIDDEN)
        branches.setdefault(expr, []).append(key)
    return ColumnRule(column, mask=case(selector, branches, text(HIDDEN)), as_platform=True)


def _person_key(column: str, selector: str, clear: list[str], catalog: str) -> ColumnRule:
    """A key column: as stored where `selector` is one of `clear` (L1/L2 keys), else as a pseudonym."""
    ref = quoted(column)
    return ColumnRule(column, mask=case(selector, {ref: clear}, pseudonym(ref, catalog)), as_platform=True)


def governance_rules(
    feeds: dict[str, FeedContract],
    libraries: dict[str, Library],
    tables: dict[str, GoldTable],
    negatives: Negatives,
    catalog: str,
) -> dict[str, tuple[ColumnRule, ...]]:
    """governance table → the analyst's column rules."""
    ctx = (tables, negatives, catalog)
    by_feed = {f"{f.key}.{c.name}": (f.target.table, c.name) for f in feeds.values() for c in f.columns}
    feed_column = 'concat("feed", \'.\', "column")'
    clear_feeds = [f.key for f in feeds.values() if all(f.column(k).level in CLEAR for k in f.primary_key)]
    golden = [lib for lib in libraries.values() if isinstance(lib, GoldenLibrary)]
    by_attribute = {f"{lib.library}.{a.name}": (lib.table, a.name) for lib in golden for a in lib.attributes}
    attribute = 'concat("library", \'.\', "attribute")'
    clear_libraries = [lib.library for lib in golden if tables[lib.table].columns[lib.key].level in CLEAR]
    own = "CASE WHEN user_name = current_user THEN {} END"  # the analyst's own queries only
    return {
        "quality_failure": (
            _values("value", feed_column, by_feed, ctx),
            _person_key("key", '"feed"', clear_feeds, catalog),
        ),
        "quality_result": (_values("observed", feed_column, by_feed, ctx),),
        "verification_conflict": (
            _values("authority_value", attribute, by_attribute, ctx),
            _values("other_value", attribute, by_attribute, ctx),
            _person_key("subject_key", '"library"', clear_libraries, catalog),
        ),
        "access_log": tuple(ColumnRule(c, mask=own.format(quoted(c))) for c in ("query", "error_message")),
    }


def access(cat: Catalog | None = None, s: Settings | None = None) -> Access:
    """Department users and the analyst's rules from the catalog and the contracts; if either does not
    load, only the platform reads anything (the error is printed, Trino still starts)."""
    s = s or settings()
    try:
        cat = cat or load_catalog()
        feeds = load_contracts()
        libraries = load_libraries()
        negatives = negative_columns(cat, feeds, libraries)
    except (ValueError, OSError, KeyError) as exc:  # CatalogError and ContractError are ValueErrors
        print(f"trino security: catalog not loaded ({exc}); only the platform reads", file=sys.stderr)
        return Access(failed=True)
    tables = gold_tables(feeds, libraries)
    catalog = s.trino_catalog
    analyst = {(GOLD, name): gold_rules(name, t, negatives, catalog) for name, t in tables.items()}
    for name, rules in governance_rules(feeds, libraries, tables, negatives, catalog).items():
        analyst[(GOVERNANCE, name)] = rules
    return Access(tuple(sorted(cat.departments)), analyst, (GOVERNANCE,))


def write_key_table(s: Settings) -> None:
    """The pseudonym key as a one-row Delta table (column `k`, binary) under the warehouse, written with
    delta-rs (no Spark at Trino's start): folders 0700, files 0600. Written once; the key file in the
    secrets stays the source."""
    root = s.warehouse_dir / KEY_LOCATION
    if (root / "_delta_log").is_dir():
        return
    s.warehouse_dir.mkdir(parents=True, exist_ok=True)
    old = os.umask(0o077)  # every file and folder delta-rs creates is the platform's alone
    try:
        key = pa.table({"k": pa.array([trino_security.pseudonym_key(s)], pa.binary())})
        write_deltalake(str(root), key, mode="error")
    finally:
        os.umask(old)
    for path in [root.parent, *root.parent.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)


def register_key_table(s: Settings) -> None:
    """Make the key table known to Trino (platform catalog; analysts' masks read it as the platform)."""
    catalog = trino_security.platform_catalog(s)
    with connect(s) as conn:
        cur = conn.cursor()
        cur.execute(
            f"CREATE SCHEMA IF NOT EXISTS {catalog}.{KEY_SCHEMA} WITH (location = 'local:///_platform')"
        )
        cur.fetchall()
        cur.execute(
            f"SELECT count(*) FROM {catalog}.information_schema.tables "
            "WHERE table_schema = ? AND table_name = ?",
            [KEY_SCHEMA, KEY_TABLE],
        )
        if not cur.fetchall()[0][0]:
            cur.execute(
                f"CALL {catalog}.system.register_table(schema_name => '{KEY_SCHEMA}', "
                f"table_name => '{KEY_TABLE}', table_location => 'local:///{KEY_LOCATION}')"
            )
            cur.fetchall()


def start_trino(s: Settings) -> None:
    if trino_security.enabled(s):
        write_key_table(s)
    if s.trino_workers and s.manage_trino:  # the coordinator, then its workers (infra.trino_cluster)
        trino_cluster.start(s, access(s=s), s.trino_workers)
    else:
        trino.start(s, access(s=s))
    if trino_security.enabled(s) and s.manage_trino:
        register_key_table(s)


def stop_trino(s: Settings) -> None:
    """The workers (if any), then the coordinator."""
    if s.trino_workers:
        trino_cluster.stop(s, s.trino_workers)
    else:
        trino.stop(s)


def configure_trino(s: Settings) -> None:
    trino.configure(s, access(s=s))
