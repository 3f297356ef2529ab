"""governance.* Delta tables of the catalog, share decisions and access log: small tables
written with Spark + Delta like governance.batch_log, registered in Trino and read there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from infra.settings import Settings, settings
from infra.trino_client import connect
from schemas.contracts import identifier

SCHEMA = "governance"

# table → ((column, Trino type, Chinese comment), …)
TABLES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "catalog_resource": (
        ("department", "varchar", "责任部门"),
        ("code", "varchar", "资源代码"),
        ("name", "varchar", "资源名称"),
        ("library", "varchar", "所属基础库"),
        ("gold_table", "varchar", "挂接的 gold 表"),
        ("frequency", "varchar", "更新频率"),
        ("share_type", "varchar", "共享类型"),
        ("open_type", "varchar", "开放类型"),
        ("items", "integer", "数据项数"),
        ("mounted", "boolean", "是否已挂接"),
    ),
    "catalog_item": (
        ("department", "varchar", "责任部门"),
        ("resource", "varchar", "资源代码"),
        ("item", "varchar", "数据项"),
        ("gold_column", "varchar", "挂接字段"),
        ("negative", "boolean", "是否在负面清单"),
    ),
    "catalog_requirement": (
        ("department", "varchar", "需求部门"),
        ("code", "varchar", "需求代码"),
        ("provider", "varchar", "提供部门"),
        ("items", "varchar", "所需数据项"),
        ("business", "varchar", "业务用途"),
        ("covered", "boolean", "是否满足"),
        ("covered_by", "varchar", "满足的资源"),
        ("missing_items", "varchar", "未满足的数据项"),
    ),
    "negative_list": (
        ("code", "varchar", "负面清单编号"),
        ("department", "varchar", "部门"),
        ("resource", "varchar", "资源代码"),
        ("item", "varchar", "数据项"),
        ("gold_column", "varchar", "字段"),
        ("reason", "varchar", "不予共享理由"),
        ("document", "varchar", "法律法规依据"),
        ("article", "varchar", "条款"),
    ),
    "share_decision": (
        ("request_id", "varchar", "申请编号"),
        ("requester", "varchar", "申请部门"),
        ("provider", "varchar", "提供部门"),
        ("resource", "varchar", "资源代码"),
        ("gold_table", "varchar", "gold 表"),
        ("columns", "varchar", "申请字段"),
        ("status", "varchar", "结果（granted/refused/pending/rejected/expired/revoked/invalid）"),
        ("reason", "varchar", "理由"),
        ("legal_basis", "varchar", "引用的法律依据"),
        ("decided_by", "varchar", "决定人"),
        ("decided_at", "timestamp(6)", "决定时间"),
        ("due_date", "date", "答复期限（10 个工作日）"),
        ("overdue", "boolean", "是否超期"),
        ("source_file", "varchar", "申请文件"),
    ),
    "access_log": (
        ("query_id", "varchar", "查询编号"),
        ("user_name", "varchar", "用户"),
        ("state", "varchar", "状态"),
        ("error_code", "varchar", "错误代码"),
        ("error_message", "varchar", "错误信息"),
        ("tables_read", "varchar", "读取的表（catalog.schema.table）"),
        ("columns_read", "varchar", "读取的字段"),
        ("query", "varchar", "SQL"),
        ("create_time", "timestamp(6)", "开始时间"),
        ("end_time", "timestamp(6)", "结束时间"),
        ("wall_ms", "bigint", "耗时（毫秒）"),
    ),
}


def _struct(table: str):
    from pyspark.sql.types import (
        BooleanType,
        DateType,
        IntegerType,
        LongType,
        StringType,
        StructType,
        TimestampType,
    )

    from jobs.tables import field

    types = {
        "varchar": StringType(),
        "integer": IntegerType(),
        "bigint": LongType(),
        "boolean": BooleanType(),
        "date": DateType(),
        "timestamp(6)": TimestampType(),
    }
    return StructType([field(c, types[t], comment) for c, t, comment in TABLES[table]])


def insert(
    table: str,
    rows: Iterable[Sequence[Any]],
    s: Settings | None = None,
    replace: bool = False,
    key: str | None = None,
) -> int:
    """Write rows with Spark + Delta (Trino's Delta connector refuses writes on a local file system) and
    register the table in Trino. `replace` overwrites the contents; `key` merges, inserting only new keys."""
    from delta.tables import DeltaTable

    from catalog.trino_tables import register
    from jobs import tables
    from jobs.spark import get_spark

    s = s or settings()
    spark = get_spark("govlake-governance")
    struct = _struct(identifier(table))
    tables.ensure(spark, SCHEMA, table, struct, TITLES.get(table, table))
    rows = [list(r) for r in rows]
    frame = spark.createDataFrame(rows, struct)
    if key:
        target = DeltaTable.forPath(spark, tables.path(SCHEMA, table)).alias("t")
        target.merge(
            frame.alias("s"), f"t.{identifier(key)} = s.{identifier(key)}"
        ).whenNotMatchedInsertAll().execute()
    elif rows or replace:
        frame.write.format("delta").mode("overwrite" if replace else "append").save(
            tables.path(SCHEMA, table)
        )
    register([(SCHEMA, table)], s)
    return len(rows)


def read(table: str) -> list[Any]:
    """All rows of a governance table through Spark (empty if it does not exist yet)."""
    from delta.tables import DeltaTable

    from jobs import tables
    from jobs.spark import get_spark

    spark = get_spark("govlake-governance")
    path = tables.path(SCHEMA, identifier(table))
    if not DeltaTable.isDeltaTable(spark, path):
        return []
    return spark.read.format("delta").load(path).collect()


TITLES = {
    "catalog_resource": "数据资源目录（责任清单）",
    "catalog_item": "数据项目录",
    "catalog_requirement": "需求清单及满足情况",
    "negative_list": "负面清单",
    "share_decision": "共享申请决定记录",
    "access_log": "Trino 访问日志",
}


def select(statement: str, params: list | None = None, s: Settings | None = None) -> list[list[Any]]:
    with connect(s or settings()) as conn:
        cur = conn.cursor()
        cur.execute(statement, params)
        return cur.fetchall()


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)
