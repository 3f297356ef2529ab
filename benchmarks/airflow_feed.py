"""One feed through Airflow on the shared Spark engine, beside Airflow with a Spark per task and beside the
same stages in one process: day 1 (a whole household register) and day 2 (only the 1 % who moved).

Variants, each in its own process and its own temporary installation home, on the same two deliveries:
- engine    `airflow dags test` of the feed's DAG (what `govlake run` does), every task on the shared
            engine (`GOVLAKE_SPARK_ENGINE=shared`); the engine and Trino are started first, apart
- local     the same DAG with `GOVLAKE_SPARK_ENGINE=local`: the tasks start Spark in Airflow's process
- process   `govlake.runner.run_feed` in one process, gated, no Airflow and no Trino stage (JVM start apart)

Per day: wall time (for the DAG variants `airflow dags test` from start to exit, Airflow's own start and
DAG parsing included), each task's or stage's seconds, rows/s. Peak RSS is the process tree's (the
engine's JVM included, Trino's left out), sampled every 50 ms. Gold must hold the same rows in all.

    .venv/bin/python benchmarks/airflow_feed.py --persons 100000 [--moved 0.01] \
        [--variants engine,local,process]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.layers import run_child

FEED, SEED = "public_security/household_register", 42
DAYS = {"day1": "20261123", "day2": "20261124"}
VARIANTS = ("engine", "local", "process")
TRINO_PORT = "18481"
_TASK = re.compile(r"^(\S+) .*\[DAG TEST\] (starting|end task) task_id=(\w+)")


def task_seconds(output: str) -> dict[str, float]:
    """Each task's seconds, from the `[DAG TEST] starting/end task` lines of `airflow dags test`."""
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    for line in output.splitlines():
        if m := _TASK.match(line):
            at = _seconds(m.group(1))
            if m.group(2) == "starting":
                started[m.group(3)] = at
            elif m.group(3) in started:
                took[m.group(3)] = round(at - started[m.group(3)], 2)
    return took


def _seconds(stamp: str) -> float:
    import datetime as dt  # lazy: only when parsing

    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def dag_child(use_engine: bool) -> dict[str, Any]:
    from catalog.server import start_trino  # lazy: the child's imports stay out of the parent
    from govlake import engine_client
    from govlake.airflow_runner import migrate, run_dag
    from infra import trino
    from infra.settings import settings
    from infra.trino_client import query
    from schemas.contracts import get_contract

    s, out = settings(), {}
    t = time.monotonic()
    start_trino(s)
    migrate(s)
    if use_engine:
        engine_client.start(s)
    out["apart"] = round(time.monotonic() - t, 1)  # Trino, Airflow's DB and the engine: started before
    try:
        for day, batch in DAYS.items():
            t = time.monotonic()
            run = run_dag(get_contract(FEED).dag_id, {"batch_id": batch}, echo=False)
            if run.state != "success":
                raise RuntimeError(f"{day}: {run.state}\n{run.output[-3000:]}")
            out[day] = {"seconds": round(time.monotonic() - t, 2), "tasks": task_seconds(run.output)}
        out["gold_rows"] = query(f"SELECT count(*) FROM {s.trino_catalog}.gold.population_person")[0][0]
        if use_engine:
            out["engine"] = engine_client.status(s)
    finally:
        engine_client.stop(s)
        trino.stop(s)
    return out


def process_child() -> dict[str, Any]:
    from govlake import runner  # lazy: as above
    from jobs import tables
    from jobs.spark import get_spark

    t = time.monotonic()
    spark = get_spark()
    spark.range(1).count()
    out: dict[str, Any] = {"apart": round(time.monotonic() - t, 1)}  # the JVM start
    for day, batch in DAYS.items():
        stages: dict[str, float] = {}

        def timer(name: str, seconds: float, rows: int, into: dict[str, float] = stages) -> None:
            into[name] = round(seconds, 2)

        t = time.monotonic()
        runner.run_feed(FEED, batch, timer)
        out[day] = {"seconds": round(time.monotonic() - t, 2), "tasks": stages}
    out["gold_rows"] = spark.read.format("delta").load(tables.path("gold", "population_person")).count()
    return out


def child(variant: str, deliveries: Path) -> dict[str, Any]:
    from infra.settings import settings  # lazy: GOVLAKE_HOME is this child's

    shutil.copytree(deliveries, settings().landing, dirs_exist_ok=True)
    return process_child() if variant == "process" else dag_child(variant == "engine")


def make_deliveries(persons: int, moved: float) -> tuple[Path, dict[str, int]]:
    """Day 1, the whole register; day 2, only the persons who moved (as the department sends changes)."""
    from schemas.contracts import get_contract  # lazy: the generator is only needed here
    from tools.synthetic.household import population, relocate, write_delivery

    landing, contract = Path(tempfile.mkdtemp(prefix="govlake-airflow-bench-")), get_contract(FEED)
    people = population(SEED, persons)
    changed = [q for p, q in zip(people, relocate(SEED, people, moved), strict=True) if p != q]
    rows = {}
    for day, group in (("day1", people), ("day2", changed)):
        rows[day] = write_delivery(contract, landing, DAYS[day], group, 0.001, None, SEED).rows
    return landing, rows


def run_variant(variant: str, deliveries: Path) -> dict[str, Any] | None:
    home = tempfile.mkdtemp(prefix=f"govlake-airflow-bench-{variant}-")
    env = {
        **os.environ,
        "GOVLAKE_HOME": home,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "GOVLAKE_TRINO_PORT": TRINO_PORT,
        "GOVLAKE_SPARK_ENGINE": "local" if variant == "local" else "shared",
        "AIRFLOW_HOME": str(Path(home) / "airflow"),
    }
    command = [sys.executable, __file__, "--variant", variant, "--deliveries", str(deliveries)]
    measured = run_child(variant, command, env, home, skip=lambda cmdline: "io.trino.server" in cmdline)
    return None if measured is None else {**measured[0], "peak_rss": measured[1]}


def report(results: dict[str, dict[str, Any]], rows: dict[str, int]) -> None:
    print(f"\n{'variant':8} {'apart s':>8} {'day1 s':>8} {'rows/s':>8} {'day2 s':>8} {'day2/day1':>9} "
          f"{'peak RSS':>9} {'gold rows':>10}")  # fmt: skip
    for variant, r in results.items():
        d1, d2 = r["day1"]["seconds"], r["day2"]["seconds"]
        print(f"{variant:8} {r['apart']:8.1f} {d1:8.2f} {rows['day1'] / d1:8,.0f} {d2:8.2f} {d2 / d1:9.1%} "
              f"{r['peak_rss'] / 2**30:7.1f} GB {r['gold_rows']:10,}")  # fmt: skip
    for variant, r in results.items():
        for day in DAYS:
            print(f"{variant} {day} ({rows[day]:,} rows): {r[day]['tasks']}")
    base = results.get("local")
    if base and "engine" in results:
        e = results["engine"]
        print(f"engine/local: day1 {e['day1']['seconds'] / base['day1']['seconds']:.2f}×, "
              f"day2 {e['day2']['seconds'] / base['day2']['seconds']:.2f}×")  # fmt: skip
    if "process" in results and "engine" in results:
        e, p = results["engine"], results["process"]
        print(f"engine/process: day1 {e['day1']['seconds'] / p['day1']['seconds']:.2f}×")
    if len({r["gold_rows"] for r in results.values()}) > 1:
        print("!!! gold rows differ between variants")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--moved", type=float, default=0.01, help="fraction of persons in the day-2 delivery")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--deliveries", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.variant:
        print(json.dumps(child(args.variant, args.deliveries), default=str))
        return 0
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    if unknown := sorted(set(chosen) - set(VARIANTS)):
        p.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    deliveries, rows = make_deliveries(args.persons, args.moved)
    results: dict[str, dict[str, Any]] = {}
    try:
        for variant in chosen:
            result = run_variant(variant, deliveries)
            if result is None:
                return 1
            results[variant] = result
            print(f"{variant}: day1 {result['day1']['seconds']:.1f}s, day2 {result['day2']['seconds']:.1f}s",
                  flush=True)  # fmt: skip
    finally:
        shutil.rmtree(deliveries, ignore_errors=True)
    print(f"persons={args.persons:,}; day 1 {rows['day1']:,} rows, day 2 {rows['day2']:,} rows")
    report(results, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
