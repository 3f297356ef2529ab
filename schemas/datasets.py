"""Every dataset named once: the layers, a contract's tables per layer, their Airflow Asset URIs and their
OpenLineage names.

OpenLineage names follow its naming spec for Trino (namespace `trino://<host>:<port>`, name
`<catalog>.<schema>.<table>`), so Marquez or DataHub join our events with Trino's own. The Spark listener
names a path-based Delta table by its location (namespace `file`, name the absolute path); `normalise`
maps either form back to our short name (`lake`, `<schema>.<table>`), which the governance tables and
auditor reports use. The raw event is kept as delivered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from infra.settings import Settings, settings

if TYPE_CHECKING:
    from schemas.contracts import FeedContract

BRONZE, SILVER, GOLD, GOVERNANCE = "bronze", "silver", "gold", "governance"
LAYERS = (BRONZE, SILVER, GOLD, GOVERNANCE)
QUARANTINE = "quarantine"  # silver.quarantine: every feed's rejected rows, partitioned by feed
ASSET_SCHEME = "lake"  # Airflow Asset URIs: lake://<schema>/<table>
NAMESPACE = "lake"  # our short dataset namespace (also the Trino catalog's default name)
JOB_NAMESPACE = "govlake"  # jobs: Spark applications, Airflow DAGs/tasks, provisioning
LANDING_NAMESPACE = "landing"  # delivered files: <department>/<feed>/<batch>/<file>
EXTRA = "_extra"  # bronze: a line's whole text if its fields do not match the header (or not JSON)
UNDECLARED_COL = "_undeclared"  # bronze: undeclared fields as JSON (contracts that keep them)
_TABLE = re.compile(r"^([a-z][a-z0-9_]*)/([a-z][a-z0-9_]*)/?$")


@dataclass(frozen=True, order=True)
class Table:
    """A table of the lake: `<schema>.<table>`."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def asset_uri(self) -> str:
        return f"{ASSET_SCHEME}://{self.schema}/{self.name}"

    def openlineage(self, s: Settings | None = None) -> tuple[str, str]:
        """(namespace, name) by OpenLineage's naming spec for Trino."""
        s = s or settings()
        return (trino_namespace(s), f"{s.trino_catalog}.{self.schema}.{self.name}")


@dataclass(frozen=True)
class FeedTables:
    """The tables one feed writes, layer by layer."""

    bronze: Table
    silver: Table
    quarantine: Table
    gold: Table

    def all(self) -> tuple[Table, ...]:
        return (self.bronze, self.silver, self.quarantine, self.gold)


def feed_tables(contract: FeedContract) -> FeedTables:
    return FeedTables(
        bronze=Table(BRONZE, contract.key),
        silver=Table(SILVER, contract.key),
        quarantine=Table(SILVER, QUARANTINE),
        gold=Table(GOLD, contract.target.table),
    )


def governance(name: str) -> Table:
    return Table(GOVERNANCE, name)


def from_asset_uri(uri: str) -> Table | None:
    if not uri.startswith(f"{ASSET_SCHEME}://"):
        return None
    schema, _, table = uri.removeprefix(f"{ASSET_SCHEME}://").partition("/")
    return Table(schema, table)


def trino_namespace(s: Settings | None = None) -> str:
    s = s or settings()
    return f"trino://{s.trino_host}:{s.trino_port}"


def _warehouse_roots(s: Settings) -> list[str]:
    roots = [s.warehouse_dir.as_posix(), urlparse(s.warehouse_uri).path or s.warehouse_uri]
    return sorted({r.rstrip("/") for r in roots if r}, key=len, reverse=True)


def table_name(namespace: str, name: str, s: Settings | None = None) -> tuple[str, str] | None:
    """(`lake`, `<schema>.<table>`) for a dataset that is a table of our warehouse, else None."""
    s = s or settings()
    if namespace == NAMESPACE:
        return (NAMESPACE, name)
    if namespace.startswith("trino://"):  # OpenLineage's Trino naming: <catalog>.<schema>.<table>
        catalog, _, short = name.partition(".")
        return (NAMESPACE, short) if catalog == s.trino_catalog and "." in short else None
    path = unquote(urlparse(name).path if "://" in name else name)
    for root in _warehouse_roots(s):
        if path.startswith(root + "/"):
            m = _TABLE.match(path[len(root) + 1 :])
            if m:
                return (NAMESPACE, f"{m.group(1)}.{m.group(2)}")
    return None


def landing_name(path: str, s: Settings | None = None) -> str | None:
    """`<department>/<feed>/<batch>/<file>` for a file of the landing zone (or its re-encoded copy in
    staging/<department>__<feed>/<batch>/), else None."""
    s = s or settings()
    path = unquote(urlparse(path).path if "://" in path else path)
    root = s.landing.as_posix().rstrip("/") + "/"
    if path.startswith(root):
        return path[len(root) :]
    staging = (s.home / "staging").as_posix() + "/"
    parts = path[len(staging) :].split("/") if path.startswith(staging) else []
    if len(parts) == 3 and "__" in parts[0]:
        return "/".join([*parts[0].split("__", 1), *parts[1:]])
    return None


def normalise(namespace: str, name: str, s: Settings | None = None) -> tuple[str, str]:
    """Our name for any dataset an event names: lake table, landing file, or as given."""
    table = table_name(namespace, name, s)
    if table:
        return table
    landed = landing_name(name, s) if namespace.startswith("file") else None
    return (LANDING_NAMESPACE, landed) if landed else (namespace, name)
