"""Per-department feedback: the verification conflicts and quarantined rows each department should fix.

Writes `<home>/reports/feedback/<batch>/<department>.csv` (UTF-8 with BOM, opens in Excel) with every
conflict where the department's value differs from the authoritative one, and an `index.html` summary of
conflicts and quarantined rows per department. Conflicts are few by nature, so they are fetched whole.
"""

from __future__ import annotations

import html
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import tables
from jobs.library import CONFLICTS
from schemas.datasets import GOVERNANCE, QUARANTINE, SILVER

COLUMNS = [
    "subject_key",
    "attribute_label",
    "other_value",
    "authority_value",
    "authority_department",
    "other_feed",
    "other_batch_id",
    "library",
]
HEADERS = ["主体标识", "属性", "本部门值", "权威值", "权威部门", "本部门数据集", "本部门批次", "基础库"]


def write_feedback(spark: SparkSession, out_dir: Path, batch_id: str) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    conflicts = spark.read.format("delta").load(tables.path(GOVERNANCE, CONFLICTS))
    per_dept = {r[0]: r[1] for r in conflicts.groupBy("other_department").count().collect()}
    for dept in per_dept:
        rows = conflicts.where(F.col("other_department") == dept).select(*COLUMNS).orderBy(*COLUMNS[:2])
        frame = rows.toPandas()
        frame.columns = HEADERS
        frame.to_csv(out_dir / f"{dept}.csv", index=False, encoding="utf-8-sig")
    quarantine = (
        spark.read.format("delta").load(tables.path(SILVER, QUARANTINE)).where(F.col("_batch_id") == batch_id)
    )
    q = quarantine.groupBy(F.split("_feed", "__")[0].alias("dept"), "reason").count().collect()
    quarantined: dict[str, list[str]] = {}
    for r in q:
        quarantined.setdefault(r["dept"], []).append(f"{r['reason']} {r['count']}")
    depts = sorted(set(per_dept) | set(quarantined))
    body = "".join(
        f"<tr><td>{html.escape(d)}</td><td>{per_dept.get(d, 0)}</td>"
        f"<td>{html.escape(', '.join(sorted(quarantined.get(d, []))))}</td>"
        f"<td>{f'<a href={d}.csv>{d}.csv</a>' if d in per_dept else ''}</td></tr>"
        for d in depts
    )
    (out_dir / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>数据核验反馈</title>"
        f"<h1>数据核验反馈（批次 {html.escape(batch_id)}）</h1>"
        "<table border=1><tr><th>部门</th><th>与权威值不一致</th>"
        "<th>隔离记录（原因 数量）</th><th>明细</th></tr>"
        f"{body}</table>",
        encoding="utf-8",
    )
    return per_dept
