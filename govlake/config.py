"""All configuration in one place: environment variables with defaults for the embedded profile.

A cluster profile changes only these variables (Spark master, warehouse URIs, Trino host).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

TRINO_VERSION = "476"
DELTA_VERSION = "4.4.0"  # Maven jar matching delta-spark 4.4.1 on PyPI (Spark 4.2, Scala 2.13)
OPENLINEAGE_SPARK_VERSION = "1.53.0"  # newest openlineage-spark_2.13 on Maven Central's mirror here
SPARK_PACKAGES = (
    f"io.delta:delta-spark_2.13:{DELTA_VERSION}",
    f"io.openlineage:openlineage-spark_2.13:{OPENLINEAGE_SPARK_VERSION}",
)


@dataclass(frozen=True)
class Settings:
    repo: Path
    cache: Path  # big downloads shared by every checkout: venv, jars, Trino
    home: Path  # this installation's state: landing zone, warehouse, Airflow DB, Trino data
    spark_master: str
    spark_driver_memory: str
    warehouse_uri: str  # where Spark writes tables (file:///…, s3a://…)
    trino_warehouse_uri: str  # the same root as Trino sees it (local:///, s3://…)
    trino_host: str
    trino_port: int
    trino_catalog: str
    trino_user: str
    trino_heap: str
    manage_trino: bool  # False on a cluster: Trino runs elsewhere
    lineage: bool = True  # OpenLineage capture (Spark listener, Airflow provider); off for overhead runs
    lineage_url: str = ""  # Marquez-compatible endpoint; empty: events go to files under lineage_dir

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def trino_dir(self) -> Path:
        return self.home / "trino"

    @property
    def lineage_dir(self) -> Path:
        return self.home / "lineage"

    @property
    def ivy_dir(self) -> Path:
        return self.cache / "ivy"

    @property
    def trino_server_dir(self) -> Path:
        return self.cache / f"trino-server-{TRINO_VERSION}"

    def table_uri(self, schema: str, table: str) -> str:
        return f"{self.warehouse_uri.rstrip('/')}/{schema}/{table}"

    def trino_table_uri(self, schema: str, table: str) -> str:
        return f"{self.trino_warehouse_uri.rstrip('/')}/{schema}/{table}"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@cache
def settings() -> Settings:
    cache_dir = Path(_env("GOVLAKE_CACHE", str(Path.home() / ".cache" / "govlake"))).resolve()
    home = Path(_env("GOVLAKE_HOME", str(REPO / ".lake"))).resolve()
    return Settings(
        repo=REPO,
        cache=cache_dir,
        home=home,
        spark_master=_env("GOVLAKE_SPARK_MASTER", "local[2]"),
        spark_driver_memory=_env("GOVLAKE_SPARK_DRIVER_MEMORY", "4g"),
        warehouse_uri=_env("GOVLAKE_WAREHOUSE_URI", f"file:{home / 'warehouse'}"),
        trino_warehouse_uri=_env("GOVLAKE_TRINO_WAREHOUSE_URI", "local:///"),
        trino_host=_env("GOVLAKE_TRINO_HOST", "127.0.0.1"),
        trino_port=int(_env("GOVLAKE_TRINO_PORT", "18080")),
        trino_catalog=_env("GOVLAKE_TRINO_CATALOG", "lake"),
        trino_user=_env("GOVLAKE_TRINO_USER", "platform"),
        trino_heap=_env("GOVLAKE_TRINO_HEAP", "3G"),
        manage_trino=_env("GOVLAKE_MANAGE_TRINO", "1") == "1",
        lineage=_env("GOVLAKE_LINEAGE", "1") == "1",
        lineage_url=os.environ.get("GOVLAKE_LINEAGE_URL", ""),
    )
