"""Pipeline wall time with and without the quality gates, on one synthetic household delivery.

Each variant runs in its own process (its own JVM) in its own temporary installation home, calling the
DAG's stage functions in-process (no Airflow, no Trino): preflight → bronze → silver [+ the gate's
validation, run while the batch is cached] → [quality gate verdict] → gold → [quality check on gold].

    .venv/bin/python benchmarks/quality_gates.py --persons 100000 [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FEED, BATCH, SEED = "public_security/household_register", "20261123", 42


def one_variant(gated: bool, persons: int, defect_rate: float) -> dict[str, float]:
    from govlake import runner
    from infra.settings import settings
    from jobs.spark import get_spark
    from schemas.contracts import get_contract
    from tools.synthetic.household import population, write_delivery

    contract = get_contract(FEED)
    write_delivery(contract, settings().landing, BATCH, population(SEED, persons), defect_rate, None, SEED)
    get_spark().range(1).count()  # JVM start is not pipeline time
    timings: dict[str, float] = {}

    def timer(stage: str, seconds: float, rows: int) -> None:
        timings[stage] = round(seconds, 2)

    state = runner.run_feed(FEED, BATCH, timer, gated=gated)
    if gated:
        timings["gate_validation"] = state.gate.seconds
        timings["expectations_gate"] = state.gate.expectations
        timings["expectations_gold"] = state.gold_quality.expectations
    stages = ("preflight", "bronze", "silver", "quality_gate", "gold", "quality_gold")
    timings["total"] = round(sum(v for k, v in timings.items() if k in stages), 2)
    return timings


def run_variant(variant: str, persons: int, defect_rate: float) -> dict[str, float] | None:
    """One variant in its own process and its own fresh installation home; None if it failed."""
    home = tempfile.mkdtemp(prefix=f"govlake-bench-{variant}-")
    env = {**os.environ, "GOVLAKE_HOME": home, "PYTHONPATH": str(REPO)}
    command = [sys.executable, __file__, "--variant", variant, "--persons", str(persons)]
    out = subprocess.run(
        [*command, "--defect-rate", str(defect_rate)], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode:
        print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--defect-rate", type=float, default=0.001)
    p.add_argument("--repeat", type=int, default=1, help="rounds, alternating the order; medians printed")
    p.add_argument("--variant", choices=["plain", "gated"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.variant:
        print(json.dumps(one_variant(args.variant == "gated", args.persons, args.defect_rate)))
        return 0
    runs: dict[str, list[dict[str, float]]] = {"plain": [], "gated": []}
    for round_ in range(args.repeat):
        # Alternate which variant runs first: a machine that slows down over minutes biases a fixed order.
        for variant in ("plain", "gated") if round_ % 2 == 0 else ("gated", "plain"):
            timings = run_variant(variant, args.persons, args.defect_rate)
            if timings is None:
                return 1
            runs[variant].append(timings)
            print(f"{variant:6} {timings}")
    plain = statistics.median(r["total"] for r in runs["plain"])
    gated = statistics.median(r["total"] for r in runs["gated"])
    g = {k: statistics.median(r[k] for r in runs["gated"]) for k in runs["gated"][0]}
    own = g["quality_gate"] + g["quality_gold"]
    rounds = ", ".join(
        f"{q['total'] / p['total'] - 1:+.0%}" for p, q in zip(runs["plain"], runs["gated"], strict=True)
    )
    print(
        f"persons={args.persons}, median of {args.repeat}: pipeline without gates {plain:.1f}s, with gates "
        f"{gated:.1f}s (+{(gated - plain) / plain:.0%}; per round {rounds}). The gates' own time "
        f"{own:.1f}s (+{own / plain:.0%} of the plain median): the gate "
        f"{g['quality_gate']:.1f}s (validation {g['gate_validation']:.1f}s), "
        f"gold check {g['quality_gold']:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
