"""Pipeline wall time with and without the quality gates, on one synthetic household delivery.

Each variant runs in its own process (its own JVM) in its own temporary installation home, calling the
DAG's stage functions in-process (no Airflow, no Trino): preflight → bronze → silver [+ the gate's
validation, run while the batch is cached] → [quality gate verdict] → gold → [quality check on gold].

    .venv/bin/python benchmarks/quality_gates.py --persons 100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FEED, BATCH, SEED = "public_security/household_register", "20261123", 42


def one_variant(gated: bool, persons: int, defect_rate: float) -> dict[str, float]:
    from govlake import pipeline
    from govlake.config import settings
    from govlake.contracts import get_contract
    from govlake.synthetic.household import population, write_delivery
    from jobs.spark import get_spark

    contract = get_contract(FEED)
    write_delivery(contract, settings().landing, BATCH, population(SEED, persons), defect_rate, None, SEED)
    get_spark().range(1).count()  # JVM start is not pipeline time
    timings: dict[str, float] = {}

    def timed(name, fn, arg):
        t0 = time.monotonic()
        out = fn(arg)
        timings[name] = round(time.monotonic() - t0, 2)
        return out

    state = timed("preflight", lambda _: pipeline.preflight(FEED, BATCH), None)
    state = timed("bronze", pipeline.bronze, state)
    state = timed("silver", lambda s: pipeline.silver(s, gate=gated), state)
    if gated:
        state = timed("quality_gate", pipeline.quality_gate, state)
        timings["gate_validation_in_silver"] = state["gate_seconds"]
    state = timed("gold", pipeline.gold, state)
    if gated:
        state = timed("quality_gold", pipeline.quality_gold, state)
        timings["expectations_gate"] = state["expectations"]
        timings["expectations_gold"] = state["gold_quality"]["expectations"]
    stages = ("preflight", "bronze", "silver", "quality_gate", "gold", "quality_gold")
    timings["total"] = round(sum(v for k, v in timings.items() if k in stages), 2)
    return timings


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--defect-rate", type=float, default=0.001)
    p.add_argument("--variant", choices=["plain", "gated"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.variant:
        print(json.dumps(one_variant(args.variant == "gated", args.persons, args.defect_rate)))
        return 0
    results = {}
    for variant in ("plain", "gated"):
        home = tempfile.mkdtemp(prefix=f"govlake-bench-{variant}-")
        env = {**os.environ, "GOVLAKE_HOME": home, "PYTHONPATH": str(REPO)}
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--variant",
                variant,
                "--persons",
                str(args.persons),
                "--defect-rate",
                str(args.defect_rate),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
            return 1
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{variant:6} {results[variant]}")
    plain, gated, g = results["plain"]["total"], results["gated"]["total"], results["gated"]
    print(
        f"persons={args.persons}: pipeline without gates {plain:.1f}s, with gates {gated:.1f}s "
        f"(+{(gated - plain) / plain:.0%}; gate validation in silver {g['gate_validation_in_silver']:.1f}s, "
        f"verdict {g['quality_gate']:.1f}s, gold check {g['quality_gold']:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
