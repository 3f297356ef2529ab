"""The cluster profile's object storage on real servers: S3Proxy (infra/object_store.py) on 127.0.0.1:19000,
Spark writing and MERGEing a Delta table through s3a, and a Trino 476 of its own (port 19080, security
off) reading the same rows through its native S3 file system. Run on its own:

    .venv/bin/python -m pytest -m cluster tests/integration/test_object_store.py

It keeps one Spark in this process and no shared engine (the conftest's autouse `spark_engine` is
overridden below), and stops S3Proxy and its Trino at the end.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator

import pytest

from infra import object_store, trino
from infra.java import spark_java_home
from infra.object_store import Credentials
from infra.settings import Settings, settings
from infra.trino_client import connect
from jobs import spark as jobs_spark

pytestmark = pytest.mark.cluster

S3_PORT, TRINO_PORT = 19000, 19080
BUCKET = "lake"
TABLE = "s3a://lake/test/t1"  # Spark's name for it; Trino's: s3://lake/test/t1


@pytest.fixture(scope="module")
def spark_engine() -> Iterator[None]:
    """Overrides the conftest's shared engine: this module runs its one Spark in-process."""
    yield None


@pytest.fixture(scope="module")
def cluster() -> Settings:
    """This module's installation, inside the test session's home (tests/conftest.py)."""
    return Settings(
        home=settings().home / "cluster",
        trino_port=TRINO_PORT,
        trino_security=False,
        s3_endpoint=object_store.endpoint(S3_PORT),
        trino_heap="2G",
        warehouse_uri=f"s3a://{BUCKET}/warehouse",
        trino_warehouse_uri=f"s3://{BUCKET}/warehouse",
    )


@pytest.fixture(scope="module")
def store(cluster: Settings) -> Iterator[Credentials]:
    creds = object_store.start(cluster, S3_PORT)
    try:
        object_store.create_bucket(cluster, BUCKET, S3_PORT)
        yield creds
    finally:
        object_store.stop(cluster)


@pytest.fixture(scope="module")
def trino_on_s3(cluster: Settings, store: Credentials) -> Iterator[Settings]:
    """Trino as infra.trino configures it for an s3:// warehouse (native S3 beside the local file system,
    the metastore in the bucket, the secret in its environment); started when first asked for, after
    Spark has written: one heavy JVM at a time on 2 cores."""
    trino.start(cluster, timeout=300)
    try:
        yield cluster
    finally:
        trino.stop(cluster)


def _spark(s: Settings, creds: Credentials):
    """A Spark session as jobs.spark.get_spark builds one, plus hadoop-aws and the s3a conf."""
    from pyspark.sql import SparkSession

    if not jobs_spark.jars_resolved(s):
        pytest.skip("Spark's Delta jars are not in the cache: run `bash infra/setup.sh --no-demo`")
    jobs_spark.stop_spark()  # one Spark per process
    os.environ.setdefault("JAVA_HOME", str(spark_java_home(s.spark_java_home)))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    jars = [jobs_spark._resolved_jars(s).read_text().strip()]
    jars += [f"file://{jar}" for jar in object_store.spark_jars(s)]
    conf = {
        "spark.master": "local[2]",
        "spark.driver.memory": "1g",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(s.home / "spark-warehouse"),  # not the working directory
        "spark.sql.shuffle.partitions": "2",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        "spark.jars": ",".join(jars),
        **object_store.s3a_conf(object_store.endpoint(S3_PORT), creds),
    }
    builder = SparkSession.builder.appName("test_object_store")
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def test_the_store_answers_signed_requests_and_keeps_its_secret_private(cluster, store):
    up = object_store.status(cluster, S3_PORT)
    assert up and up["endpoint"] == "http://127.0.0.1:19000" and BUCKET in up["buckets"]
    assert object_store.start(cluster, S3_PORT) == store  # running: reused, same credentials
    object_store.create_bucket(cluster, BUCKET, S3_PORT)  # existing: fine
    for name in ("credentials.json", "s3proxy.conf"):
        mode = stat.S_IMODE((object_store.store_dir(cluster) / name).stat().st_mode)
        assert mode == 0o600, name
    wrong = Credentials(store.access_key, "not-the-secret")
    assert object_store._call("GET", object_store.endpoint(S3_PORT) + "/", wrong)[0] == 403


def test_spark_writes_and_merges_through_s3a_and_trino_reads_the_same_rows(cluster, store, request):
    spark = _spark(cluster, store)
    try:
        spark.createDataFrame([(1, "a"), (2, "b"), (3, "c")], "id INT, v STRING").write.format("delta").mode(
            "overwrite"
        ).save(TABLE)
        spark.createDataFrame([(2, "B"), (4, "d")], "id INT, v STRING").createOrReplaceTempView("src")
        spark.sql(
            f"MERGE INTO delta.`{TABLE}` t USING src s ON t.id = s.id "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        )
        written = sorted(tuple(r) for r in spark.read.format("delta").load(TABLE).collect())
    finally:
        spark.stop()
    assert written == [(1, "a"), (2, "B"), (3, "c"), (4, "d")]
    assert (object_store.store_dir(cluster) / "data" / BUCKET / "test" / "t1" / "_delta_log").is_dir()

    trino_on_s3 = request.getfixturevalue("trino_on_s3")
    catalog_file = (trino_on_s3.trino_dir / "etc" / "catalog" / "lake.properties").read_text()
    assert store.secret_key not in catalog_file and f"${{ENV:{trino.S3_SECRET_ENV}}}" in catalog_file
    assert f"hive.metastore.catalog.dir=s3://{BUCKET}/warehouse/_trino_metastore" in catalog_file
    trino_table = TABLE.replace("s3a://", "s3://")
    with connect(trino_on_s3) as conn:
        cur = conn.cursor()
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS lake.test WITH (location = 's3://{BUCKET}/test')")
        cur.fetchall()
        cur.execute(
            "CALL lake.system.register_table(schema_name => 'test', table_name => 't1', "
            f"table_location => '{trino_table}')"
        )
        cur.fetchall()
        cur.execute("SELECT id, v FROM lake.test.t1 ORDER BY id")
        read = [tuple(row) for row in cur.fetchall()]
        cur.execute('SELECT version, operation FROM lake.test."t1$history" ORDER BY version')
        history = [tuple(row) for row in cur.fetchall()]
    assert read == written
    assert history == [(0, "WRITE"), (1, "MERGE")]
