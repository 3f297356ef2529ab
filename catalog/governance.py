"""governance.* Delta tables of the catalog, share decisions and access log, written through Trino's
Delta Lake connector by the platform user (small tables; no Spark session needed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from govlake.config import Settings, settings
from govlake.contracts import identifier
from govlake.trino_client import connect

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


def _name(table: str, s: Settings) -> str:
    return f'{identifier(s.trino_catalog)}.{SCHEMA}."{identifier(table)}"'


def ensure(cur, table: str, s: Settings) -> None:
    cols = ", ".join(f"\"{c}\" {t} COMMENT '{comment}'" for c, t, comment in TABLES[table])
    location = s.trino_table_uri(SCHEMA, table)
    cur.execute(
        f"CREATE SCHEMA IF NOT EXISTS {identifier(s.trino_catalog)}.{SCHEMA} "
        f"WITH (location = '{s.trino_warehouse_uri.rstrip('/')}/{SCHEMA}')"
    )
    cur.fetchall()
    cur.execute(f"CREATE TABLE IF NOT EXISTS {_name(table, s)} ({cols}) WITH (location = '{location}')")
    cur.fetchall()


def _literal(value: Any, typ: str) -> str:
    """A SQL literal for a value of our own making (names are validated, text is quoted)."""
    if value is None:
        return "NULL"
    if typ == "boolean":
        return "true" if value else "false"
    if typ in ("integer", "bigint"):
        return str(int(value))
    if typ == "date":
        return f"DATE '{value.isoformat()}'"
    if typ.startswith("timestamp"):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return "'" + str(value).replace("'", "''") + "'"


def insert(
    table: str, rows: Iterable[Sequence[Any]], s: Settings | None = None, replace: bool = False
) -> int:
    """Append rows (or replace the table's contents) in chunks; values are escaped literals."""
    s = s or settings()
    types = [t for _, t, _ in TABLES[table]]
    rows = list(rows)
    with connect(s) as conn:
        cur = conn.cursor()
        ensure(cur, table, s)
        if replace:
            cur.execute(f"DELETE FROM {_name(table, s)}")
            cur.fetchall()
        for i in range(0, len(rows), 500):
            values = ",\n".join(
                "(" + ", ".join(_literal(v, t) for v, t in zip(row, types, strict=True)) + ")"
                for row in rows[i : i + 500]
            )
            cur.execute(f"INSERT INTO {_name(table, s)} VALUES {values}")
            cur.fetchall()
    return len(rows)


def select(statement: str, params: list | None = None, s: Settings | None = None) -> list[list[Any]]:
    with connect(s or settings()) as conn:
        cur = conn.cursor()
        cur.execute(statement, params)
        return cur.fetchall()


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)
