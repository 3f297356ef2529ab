"""The one place where Spark, Delta and their jars are configured."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from py4j.protocol import Py4JError
from pyspark import inheritable_thread_target
from pyspark.sql import SparkSession

from infra import object_store
from infra.java import spark_java_home
from infra.settings import SPARK_PACKAGES, Settings, settings
from jobs.lineage_conf import spark_lineage_conf

LOG_CONFIG = Path(__file__).resolve().parent.parent / "infra" / "spark-log4j2.properties"

# Table features every engine we serve from can read (Trino 476, delta-rs): no deletion vectors,
# no column mapping, classic checkpoints.
TABLE_PROPERTIES = {
    "delta.enableDeletionVectors": "false",
    "delta.checkpointInterval": "10",
    "delta.appendOnly": "false",
}

LISTENER_DRAIN_MS = 120_000  # how long stopping waits for the listeners (OpenLineage) to catch up
_session: SparkSession | None = None


def _resolved_jars(s: Settings) -> Path:
    return s.ivy_dir / ("classpath-" + "_".join(p.replace(":", "-") for p in SPARK_PACKAGES) + ".txt")


def jars_resolved(s: Settings) -> bool:
    """True once the set-up has resolved the Delta jars into the cache (and every listed jar is there)."""
    listing = _resolved_jars(s)
    if not listing.exists():
        return False
    return all(Path(j.removeprefix("file://")).exists() for j in listing.read_text().strip().split(","))


def session_conf(s: Settings) -> dict[str, str]:
    """Our sessions' configuration, but for the jars, object storage and the lineage listener."""
    conf = {
        "spark.driver.memory": s.spark_driver_memory,
        # On spark://… or yarn: each executor's heap and encoding (local[N] runs none; the driver's below).
        # The jars of spark.jars (Delta, OpenLineage) reach executors through the driver's file server.
        "spark.executor.memory": s.spark_executor_memory,
        "spark.executor.extraJavaOptions": "-Dfile.encoding=UTF-8",
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.session.timeZone": "Asia/Shanghai",
        "spark.sql.shuffle.partitions": str(s.shuffle_partitions),
        "spark.sql.warehouse.dir": str(s.home / "spark-warehouse"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        "spark.driver.extraJavaOptions": f"-Dfile.encoding=UTF-8 -Dlog4j2.configurationFile={LOG_CONFIG}",
        # Cached frames (refine's checked rows, the quality gate's prepared frame) live for one task;
        # compressing their columns costs more CPU than the cache saves (MEMORY_AND_DISK spills instead).
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        # Outside UTC, Delta rebuilds the whole table state after every commit to re-check the file list
        # it keeps in the checksum, because timestamp partition values depend on the time zone. No
        # table of ours is partitioned by a timestamp (`tables.ensure` refuses one), so the check only
        # costs two Spark jobs per commit (measured: a small append 1.1 s → 0.6 s).
        "spark.databricks.delta.allFilesInCrc.verificationMode.forceOnNonUTC.enabled": "false",
        # Delta rebuilds table state with this many tasks (default 50); each task compiles a large
        # projection, which dominates small commits on a few cores.
        "spark.databricks.delta.snapshotPartitions": str(s.delta_snapshot_partitions),
    }
    if s.spark_driver_host:  # where executors connect back (default: the host's first non-loopback address)
        conf["spark.driver.host"] = s.spark_driver_host
    return conf


def get_spark(app_name: str = "govlake", lineage_file: Path | None = None) -> SparkSession:
    """A process-wide Spark session with Delta; jars come from the set-up's cache (no resolution at start).
    `lineage_file`: where the OpenLineage listener writes (default: a new file under the lineage folder)."""
    global _session
    if _session is not None and _session.sparkContext._jsc is not None:
        return _session
    s = settings()
    os.environ.setdefault("JAVA_HOME", str(spark_java_home(s.spark_java_home)))
    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    builder = SparkSession.builder.appName(app_name).master(s.spark_master)
    for key, value in session_conf(s).items():
        builder = builder.config(key, value)
    if s.warehouse_uri.startswith("s3a://"):
        builder = _with_s3a(builder, s)
    # OpenLineage listener, if enabled
    for key, value in spark_lineage_conf(s, app_name, lineage_file).items():
        builder = builder.config(key, value)
    classpath = _resolved_jars(s)
    if jars_resolved(s):
        builder = builder.config("spark.jars", classpath.read_text().strip())
    else:  # first run: resolve from Maven Central into the cache and remember the jar list
        builder = builder.config("spark.jars.packages", ",".join(SPARK_PACKAGES)).config(
            "spark.jars.ivy", str(s.ivy_dir)
        )
    _session = builder.getOrCreate()
    _session.sparkContext.setLogLevel("WARN")
    if not classpath.exists():
        jars = _session.sparkContext.getConf().get("spark.jars", "")
        if jars:
            classpath.parent.mkdir(parents=True, exist_ok=True)
            classpath.write_text(jars)
    return _session


def _with_s3a(builder: SparkSession.Builder, s: Settings) -> SparkSession.Builder:
    """hadoop-aws and the AWS SDK on the driver's and executors' class path (the set-up's cached jars, at the
    same path on every node: never shipped, the SDK is 686 MB), and the endpoint and key of the bucket."""
    aws = ":".join(str(jar) for jar in object_store.spark_jars(s))
    builder = builder.config("spark.driver.extraClassPath", aws).config("spark.executor.extraClassPath", aws)
    creds = object_store.client_credentials(s, s.s3_access_key, s.s3_secret_key)
    for key, value in object_store.s3a_conf(s.s3_endpoint, creds, s.s3_region).items():
        builder = builder.config(key, value)
    return builder


def drain_listeners(session: SparkSession, timeout_ms: int = LISTENER_DRAIN_MS) -> None:
    """Wait until Spark's listeners have handled every event so far. The OpenLineage listener lists a
    Delta table's files (a Spark job) from the listener thread; a session stopped meanwhile waits for
    that thread while its scheduler no longer runs the job: a deadlock, so stopping drains first."""
    jsc = session.sparkContext._jsc
    if jsc is None:
        return
    try:
        jsc.sc().listenerBus().waitUntilEmpty(timeout_ms)
    except Py4JError as exc:  # still busy after the timeout: go on, and say so
        print(f"Spark listeners still busy after {timeout_ms} ms: {str(exc).splitlines()[0]}", flush=True)


def stop_spark() -> None:
    global _session
    if _session is not None:
        drain_listeners(_session)
        _session.stop()
        _session = None


@contextmanager
def meanwhile(fn: Callable[..., Any] | None, *args: Any) -> Iterator[Future | None]:
    """Run `fn(*args)` on a second thread (with the Spark thread's local properties) while the body
    runs, e.g. one Delta commit while another pass computes; on leaving, wait for it and raise its
    error. Yields its future (its result stays readable after the block); `fn` None runs nothing."""
    if fn is None:
        yield None
        return
    with ThreadPoolExecutor(1, thread_name_prefix=getattr(fn, "__name__", "meanwhile")) as pool:
        done = pool.submit(inheritable_thread_target(fn), *args)
        yield done
        done.result()
