"""Trino latency through a masked, row-scoped share view (as the department's user) vs the gold table
(as the analyst), over HTTPS with password authentication and access control on.

    GOVLAKE_TRINO_PORT=18400 .venv/bin/python benchmarks/share_view_latency.py --persons 100000 --runs 15

Builds gold.population_person in-process if it holds fewer rows than --persons (one Spark session),
provisions one share view from a scratch request file, then prints cold and warm latencies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

BATCH = "20261101"
REQUEST = {
    "id": "bench_ca_verify",
    "requester": "civil_affairs",
    "resource": "GA-002",
    "columns": ["resident_id", "name", "gender", "admin_code", "phone"],
    "purpose": "基准测试",
    "legal_basis": "基准测试",
    "row_scope": {"column": "admin_code", "prefix": "4201"},
    "submitted": "2026-11-20",
    "expires": "2099-12-31",
}
QUERIES = {
    "fetch rows": (
        "SELECT * FROM lake.share_civil_affairs.bench_ca_verify",
        "SELECT resident_id, name, gender, admin_code, phone FROM lake.gold.population_person "
        "WHERE starts_with(admin_code, '4201')",
    ),
    "aggregate": (
        "SELECT gender, count(*), count(DISTINCT name) "
        "FROM lake.share_civil_affairs.bench_ca_verify GROUP BY 1",
        "SELECT gender, count(*), count(DISTINCT name) FROM lake.gold.population_person "
        "WHERE starts_with(admin_code, '4201') GROUP BY 1",
    ),
}


def ensure_gold(persons: int) -> int:
    from govlake import runner
    from infra.settings import settings
    from infra.trino_client import query
    from schemas.contracts import get_contract
    from tools.synthetic.household import population, write_delivery

    try:
        have = query("SELECT count(*) FROM lake.gold.population_person")[0][0]
    except Exception:
        have = 0
    if have < persons * 0.95:
        contract = get_contract("public_security/household_register")
        write_delivery(contract, settings().landing, BATCH, population(42, persons), 0.0, None, 42)
        runner.run_feed(contract.key, BATCH, serving=True)
        from jobs.spark import stop_spark

        stop_spark()
        have = query("SELECT count(*) FROM lake.gold.population_person")[0][0]
    return have


def timed(user: str, sql: str) -> tuple[float, int]:
    from infra.trino_client import connect

    t0 = time.perf_counter()
    with connect(user=user) as conn:
        cur = conn.cursor()
        cur.execute(sql)
        rows = cur.fetchall()
    return time.perf_counter() - t0, len(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=15)
    args = p.parse_args()

    from catalog import shares
    from catalog.loader import approvals_dir, keys_dir, requests_dir
    from catalog.server import start_trino
    from infra.settings import settings

    start_trino(settings())
    rows = ensure_gold(args.persons)
    scratch = Path(tempfile.mkdtemp(prefix="share-bench-"))  # the catalog's requests + the benchmark's
    shutil.copytree(requests_dir(), scratch / "requests")
    if approvals_dir().is_dir():
        shutil.copytree(approvals_dir(), scratch / "approvals")
    if keys_dir().is_dir():  # the reviewers' public keys, beside the approvals they verify
        shutil.copytree(keys_dir(), scratch / "keys")
    (scratch / "requests" / "bench_ca_verify.yaml").write_text(yaml.safe_dump(REQUEST, allow_unicode=True))
    shares.run(dt.date.today(), True, scratch / "requests", scratch / "approvals")
    print(f"gold.population_person: {rows} rows; view lake.share_civil_affairs.bench_ca_verify (4201 only)")
    for name, (view_sql, gold_sql) in QUERIES.items():
        pairs = (("masked view", "civil_affairs", view_sql), ("gold table", "analyst", gold_sql))
        for label, user, sql in pairs:
            cold, n = timed(user, sql)
            warm = sorted(timed(user, sql)[0] for _ in range(args.runs))
            print(
                f"{name:<11} {label:<12} as {user:<13} rows {n:>7}  first {cold * 1000:7.0f} ms  "
                f"median {statistics.median(warm) * 1000:6.0f} ms  "
                f"p90 {warm[int(0.9 * (len(warm) - 1))] * 1000:6.0f} ms"
            )
    # withdraw the benchmark's share again
    (scratch / "requests" / "bench_ca_verify.yaml").unlink()
    shares.run(dt.date.today(), True, scratch / "requests", scratch / "approvals")


if __name__ == "__main__":
    main()
