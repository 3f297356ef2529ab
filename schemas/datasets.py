"""Dataset and job names: our table names in namespace `lake`, not bare file paths.

The Spark listener names a path-based Delta table by its location (namespace `file`, name the absolute
path). `table_name` maps such a name back to `<schema>.<table>` when the path lies under the warehouse;
the raw event is kept as delivered.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlparse

from infra.settings import Settings, settings

NAMESPACE = "lake"  # datasets: tables of the lake (also the Trino catalog)
JOB_NAMESPACE = "govlake"  # jobs: Spark applications, Airflow DAGs/tasks, provisioning
LANDING_NAMESPACE = "landing"  # delivered files: <department>/<feed>/<batch>/<file>
_TABLE = re.compile(r"^([a-z][a-z0-9_]*)/([a-z][a-z0-9_]*)/?$")


def _warehouse_roots(s: Settings) -> list[str]:
    roots = [s.warehouse_dir.as_posix(), urlparse(s.warehouse_uri).path or s.warehouse_uri]
    return sorted({r.rstrip("/") for r in roots if r}, key=len, reverse=True)


def table_name(namespace: str, name: str, s: Settings | None = None) -> tuple[str, str] | None:
    """(`lake`, `<schema>.<table>`) for a dataset that is a table of our warehouse, else None."""
    s = s or settings()
    if namespace == NAMESPACE:
        return (NAMESPACE, name)
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
