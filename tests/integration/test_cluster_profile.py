"""The cluster profile on one machine, selected by configuration only: a Spark standalone master with two
workers (infra.spark_cluster) runs one feed in-process through `get_spark()`, and a Trino coordinator that
schedules nothing on itself plus one worker (infra.trino_cluster) serves its gold table.

Run with `-m cluster` (the marker must be registered in pyproject's [tool.pytest.ini_options] markers). It
uses its own ports: Spark 17077 (web UI 18090-18092), Trino GOVLAKE_CLUSTER_TRINO_PORT (default 19180, HTTPS
+5, events +7, the worker +10), never the suite's 18181 or the demo's 18080."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infra import spark_cluster, trino_cluster
from infra.settings import Settings, settings
from schemas.contracts import get_contract
from tools.synthetic.household import population, write_delivery
from tools.synthetic.province import generate

pytestmark = pytest.mark.cluster

CONTRACT = get_contract("public_security/household_register")
SEED, PERSONS, RATE, BATCH, DAY2 = 11, 3000, 0.005, "20261101", "20261102"
CLUSTER_ENV = {
    "GOVLAKE_SPARK_MASTER": f"spark://{spark_cluster.HOST}:{spark_cluster.MASTER_PORT}",
    "GOVLAKE_SPARK_DRIVER_MEMORY": "1g",
    "GOVLAKE_TRINO_PORT": os.environ.get("GOVLAKE_CLUSTER_TRINO_PORT", "19180"),
    "GOVLAKE_TRINO_HTTPS_PORT": "0",  # derived from the port above
    "GOVLAKE_TRINO_EVENTS_PORT": "0",
    "GOVLAKE_TRINO_HEAP": "2G",
}


@pytest.fixture(scope="module", autouse=True)
def spark_engine() -> Iterator[None]:
    """Overrides the integration suite's shared Spark engine: this module runs in-process on the cluster
    and starts no other Spark."""
    yield None


@pytest.fixture(scope="module")
def cluster_settings() -> Iterator[Settings]:
    """The cluster profile's settings for this module (settings() is cached per process: re-read)."""
    from jobs.spark import stop_spark

    saved = {k: os.environ.get(k) for k in CLUSTER_ENV}
    os.environ.update(CLUSTER_ENV)
    stop_spark()
    settings.cache_clear()
    yield settings()
    stop_spark()
    _end_the_jvm()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    settings.cache_clear()


def _end_the_jvm() -> None:
    """End this process's Spark JVM: jars cannot join a running one, and the next module (the object
    store's) needs hadoop-aws on the driver's class path."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is not None:
        gateway.shutdown()
        proc = getattr(gateway, "proc", None)
        if proc is not None:
            proc.kill()
            proc.wait()
        SparkContext._gateway = None
        SparkContext._jvm = None


@pytest.fixture(scope="module")
def spark_up(cluster_settings: Settings) -> Iterator[dict]:
    s = cluster_settings
    state = spark_cluster.start(s)
    yield state
    from jobs.spark import stop_spark

    stop_spark()
    spark_cluster.stop(s)


@pytest.fixture(scope="module")
def trino_up(cluster_settings: Settings) -> Iterator[list[str]]:
    from catalog.server import access, start_trino

    s = cluster_settings
    try:
        active = trino_cluster.start(s, access(s=s))
        start_trino(s)  # already running: writes and registers the pseudonym key table only
        yield active
    finally:
        trino_cluster.stop(s)


def test_spark_cluster_has_two_alive_one_core_workers(spark_up):
    workers = [w for w in spark_up["workers"] if w["state"] == "ALIVE"]
    assert len(workers) == 2 and all(w["cores"] == 1 for w in workers)


def test_one_feed_on_the_spark_cluster_is_read_through_the_trino_worker(spark_up, trino_up):
    from govlake.runner import run_feed
    from infra.trino_client import connect
    from jobs.spark import get_spark

    s = settings()
    assert trino_up == [trino_cluster.node_id(1)]
    people = population(SEED, PERSONS)
    write_delivery(CONTRACT, s.landing, BATCH, people, RATE, None, SEED)
    state = run_feed(CONTRACT.key, BATCH, serving=True)  # every stage, the Trino registration too
    assert state.silver is not None and state.gate is not None and state.trino is not None
    published = state.silver.rows_out
    assert 0 < published < PERSONS

    spark = get_spark()
    assert spark.sparkContext.master == spark_cluster.master_url(s)
    gold = spark.read.format("delta").load(s.table_uri("gold", CONTRACT.target.table))
    assert gold.count() == published
    running = spark_cluster.master_state(s) or {}
    apps = [a for a in running.get("activeapps", []) if a["id"] == spark.sparkContext.applicationId]
    assert apps and apps[0]["cores"] == 2  # the session's executors: one on each worker

    with connect(s) as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT count(*) FROM system.runtime.nodes WHERE coordinator = false AND state = 'active'"
        )
        assert cur.fetchall() == [[1]]
        cur.execute(f"SELECT count(*) FROM {s.trino_catalog}.gold.{CONTRACT.target.table}")
        assert cur.fetchall() == [[published]]
        query_id = cur.query_id
        cur.execute("SELECT DISTINCT node_id FROM system.runtime.tasks WHERE query_id = ?", [query_id])
        assert cur.fetchall() == [[trino_cluster.node_id(1)]]  # the coordinator scheduled nothing on itself


@pytest.fixture(scope="module")
def engine_on_cluster(spark_up, trino_up) -> Iterator[dict]:
    """The shared Spark engine, started with the cluster profile's settings: its session's master is the
    standalone master, and every Airflow task below hands its work to it."""
    from govlake import engine_client
    from jobs.spark import stop_spark

    stop_spark()  # the in-process session above; the engine holds the module's only one from here
    s = settings()
    up = engine_client.start(s)
    yield up
    engine_client.stop(s)


def test_a_feed_a_library_and_a_share_run_through_airflow_on_the_cluster(engine_on_cluster):
    from govlake import engine_client
    from govlake.airflow_runner import run_dag
    from infra.trino_client import connect

    s = settings()
    assert engine_on_cluster["master"] == spark_cluster.master_url(s)
    before = engine_client.status(s)
    people = population(SEED, PERSONS, 0.01)  # day 2: 1 % moved
    write_delivery(CONTRACT, s.landing, DAY2, people, 0.0, None, SEED)
    divisions = get_contract("natural_resources/admin_division")  # the spatial library's only feed
    delivered = generate(s.landing, DAY2, persons=200, enterprises=20, defect_rate=0.0, conflict_rate=0.0,
                         feeds_only=["natural_resources/admin_division"]).rows  # fmt: skip
    runs = [(CONTRACT.dag_id, {"batch_id": DAY2}), (divisions.dag_id, {"batch_id": DAY2}),
            ("library__spatial_base", {"batch_id": DAY2}), ("share_expiry", None)]  # fmt: skip
    for dag_id, conf in runs:
        result = run_dag(dag_id, conf, echo=False)
        assert result.state == "success", (dag_id, result.output[-3000:])
    after = engine_client.status(s)
    assert after and before and after["pid"] == before["pid"] and after["failed"] == before["failed"]
    assert after["served"] - before["served"] >= 2 * 7 + 2 + 1  # two feeds' stages, build + register, shares

    with connect(s) as conn:
        cur = conn.cursor()
        cur.execute(
            f"SELECT count(*), max(_batch_id) FROM {s.trino_catalog}.gold.{CONTRACT.target.table} "
            "WHERE admin_code LIKE '4201%'"
        )
        wuhan, newest = cur.fetchall()[0]
        assert newest == DAY2
        cur.execute(f"SELECT count_if(_is_current), max(_batch_id) FROM {s.trino_catalog}.gold.spatial_base")
        current = [[delivered["natural_resources/admin_division"], DAY2]]
        assert cur.fetchall() == current  # every division delivered is a current golden record
    with connect(s, user="civil_affairs") as conn:  # the granted department, over HTTPS with its password
        cur = conn.cursor()
        view = f"{s.trino_catalog}.share_civil_affairs.mz_dibao_wuhan"
        cur.execute(f"SELECT count(*), count_if(name LIKE '%*%') FROM {view}")
        assert cur.fetchall() == [[wuhan, wuhan]] and wuhan > 0  # its city's persons, names masked
