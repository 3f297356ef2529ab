"""Bronze → silver → gold on one synthetic household delivery: our pipeline beside hand-written baselines.

Variants, each in its own process and its own temporary installation home, all on the same delivery
(generated once, copied into each home's landing zone):
- ours          `govlake.runner.run_feed(…, gated=True)`: preflight, bronze, silver, quality gate, gold,
                quality check on gold (no Airflow, no Trino)
- ours-ungated  the same with `gated=False` (no quality stages)
- spark         bare PySpark + Delta, no framework (benchmarks/baselines/spark_bare.py)
- polars        polars + delta-rs, no JVM (benchmarks/baselines/polars_delta.py)

JVM start (session + a first job) is measured apart and left out of the layers' wall time. Ours' layers:
bronze = preflight + bronze, silver = silver + quality gate, gold = gold + quality check on gold. Peak
RSS is the process tree's (Python + JVM + any Python workers), sampled every 50 ms by this process.
Quarantined rows (per reason) and gold rows must agree across variants and with the defect manifest.

    .venv/bin/python benchmarks/layers.py --persons 100000 [--repeat 1] \
        [--variants ours,ours-ungated,spark,polars]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
FEED, BATCH, SEED = "public_security/household_register", "20261123", 42
VARIANTS = ("ours", "ours-ungated", "spark", "polars")
BASELINES = ("spark", "polars")
LAYERS = {
    "bronze": ("preflight", "bronze"),
    "silver": ("silver", "quality_gate"),
    "gold": ("gold", "quality_gold"),
}


def ours(gated: bool) -> dict[str, Any]:
    import time  # lazy: the child's imports (Spark) stay out of the parent

    from govlake import runner
    from jobs import tables
    from jobs.spark import get_spark
    from schemas.contracts import get_contract
    from schemas.datasets import GOLD

    t = time.monotonic()
    spark = get_spark()
    spark.range(1).count()  # JVM start is not pipeline time
    out: dict[str, Any] = {"jvm": time.monotonic() - t}
    stages: dict[str, float] = {}

    def timer(stage: str, seconds: float, rows: int) -> None:
        stages[stage] = seconds

    state = runner.run_feed(FEED, BATCH, timer, gated=gated)
    out |= {layer: sum(stages.get(s, 0.0) for s in parts) for layer, parts in LAYERS.items()}
    out["stages"] = {k: round(v, 2) for k, v in stages.items()}
    out["reasons"] = state.silver.reasons if state.silver else {}
    gold = tables.path(GOLD, get_contract(FEED).target.table)
    out["gold_rows"] = spark.read.format("delta").load(gold).count()
    return out


def child(variant: str, delivery: Path) -> dict[str, Any]:
    """Run one variant in this process, on a copy of the delivery in this home's landing zone."""
    from infra.settings import settings  # lazy: GOVLAKE_HOME is this child's

    home_landing = settings().landing
    batch_dir = home_landing / FEED / BATCH
    shutil.copytree(delivery, batch_dir)
    if variant in ("ours", "ours-ungated"):
        return ours(variant == "ours")
    csv = next(batch_dir.glob("*.csv"))
    source_file, warehouse = str(csv.relative_to(home_landing)), settings().home / "baseline-warehouse"
    if variant == "spark":
        from benchmarks.baselines import spark_bare  # lazy: each baseline imports only its own engine

        return spark_bare.run(csv, source_file, warehouse, BATCH)
    from benchmarks.baselines import polars_delta  # lazy: as above

    return polars_delta.run(csv, source_file, warehouse, BATCH)


class TreePeak(threading.Thread):
    """The peak summed RSS of a process and all its descendants, sampled until `stop()`."""

    def __init__(self, pid: int, every: float = 0.05, skip: Callable[[str], bool] | None = None) -> None:
        super().__init__(daemon=True)
        self.root, self.every, self.peak = psutil.Process(pid), every, 0
        self.skip = skip  # processes left out, by their command line (e.g. a Trino server)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            rss = 0
            for p in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    if self.skip is None or not self.skip(" ".join(p.cmdline())):
                        rss += p.memory_info().rss
            self.peak = max(self.peak, rss)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def run_child(
    variant: str,
    command: list[str],
    env: dict[str, str],
    home: str,
    skip: Callable[[str], bool] | None = None,
) -> tuple[dict[str, Any], int] | None:
    """Run a variant's child process, sampling its tree's peak RSS; its last stdout line as JSON and the
    peak, or None (said on stderr) if it failed. Its installation home is removed afterwards."""
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        sampler = TreePeak(p.pid, skip=skip)
        sampler.start()
        stdout, stderr = p.communicate()
        peak = sampler.stop()
    shutil.rmtree(home, ignore_errors=True)
    if p.returncode:
        print(f"{variant} failed:", stdout[-2000:], stderr[-4000:], file=sys.stderr)
        return None
    return json.loads(stdout.strip().splitlines()[-1]), peak


def run_variant(variant: str, delivery: Path) -> dict[str, Any] | None:
    """One variant in its own process and its own fresh installation home; None if it failed."""
    home = tempfile.mkdtemp(prefix=f"govlake-layers-{variant}-")
    env = {**os.environ, "GOVLAKE_HOME": home, "PYTHONPATH": str(REPO)}
    command = [sys.executable, __file__, "--variant", variant, "--delivery", str(delivery)]
    measured = run_child(variant, command, env, home)
    if measured is None:
        return None
    result, peak = measured
    result["total"] = sum(result[layer] for layer in LAYERS)
    result["peak_rss"] = peak
    result["quarantined"] = sum(result["reasons"].values())
    return result


def make_delivery(persons: int, defect_rate: float) -> tuple[Path, int, dict[str, int]]:
    """The one delivery every variant reads: its folder, data rows and the defect manifest's counts."""
    from schemas.contracts import get_contract  # lazy: the generator is only needed here
    from tools.synthetic.household import population, write_delivery

    landing = Path(tempfile.mkdtemp(prefix="govlake-layers-delivery-"))
    d = write_delivery(get_contract(FEED), landing, BATCH, population(SEED, persons), defect_rate, None, SEED)
    return d.directory, d.rows, {k: len(v) for k, v in d.defects.items() if v}


def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("jvm", *LAYERS, "total", "peak_rss")
    return {k: statistics.median(float(r[k]) for r in runs) for k in keys}


def print_table(results: dict[str, list[dict[str, Any]]], rows: int) -> None:
    head = f"{'variant':13} {'jvm s':>6} {'bronze s':>9} {'silver s':>9} {'gold s':>7} {'total s':>8}"
    print(f"{head} {'rows/s':>8} {'peak RSS':>10} {'quarantined':>12} {'gold rows':>10}")
    for variant, runs in results.items():
        m, first = medians(runs), runs[0]
        print(
            f"{variant:13} {m['jvm']:6.1f} {m['bronze']:9.2f} {m['silver']:9.2f} {m['gold']:7.2f} "
            f"{m['total']:8.2f} {rows / m['total']:8,.0f} {m['peak_rss'] / 2**20:7,.0f} MB "
            f"{first['quarantined']:12,} {first['gold_rows']:10,}"
        )
    for variant in ("ours", "ours-ungated"):
        if variant in results:
            print(f"{variant} stages (s, first run): {results[variant][0]['stages']}")


def print_ratios(results: dict[str, list[dict[str, Any]]]) -> None:
    for mine in ("ours", "ours-ungated"):
        for base in BASELINES:
            if mine in results and base in results:
                a, b = medians(results[mine]), medians(results[base])
                parts = ", ".join(f"{k} {a[k] / b[k]:.1f}×" for k in LAYERS)
                print(
                    f"{mine}/{base}: total {a['total'] / b['total']:.1f}× ({parts}); "
                    f"peak RSS {a['peak_rss'] / b['peak_rss']:.1f}×"
                )


def counts_agree(results: dict[str, list[dict[str, Any]]], rows: int, defects: dict[str, int]) -> bool:
    """Every run's quarantine reasons and gold rows against the defect manifest's; loud if not."""
    expected = (defects, rows - sum(defects.values()))
    wrong = [
        f"{variant} run {i + 1}: reasons {r['reasons']}, gold {r['gold_rows']}"
        for variant, runs in results.items()
        for i, r in enumerate(runs)
        if (r["reasons"], r["gold_rows"]) != expected
    ]
    if wrong:
        print("!" * 20 + " MISMATCH " + "!" * 20)
        print(f"expected (defect manifest): reasons {defects}, gold {expected[1]}")
        print("\n".join(wrong))
        return False
    print(f"counts agree across variants and with the manifest: quarantined {defects}, gold {expected[1]:,}")
    return True


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--defect-rate", type=float, default=0.001)
    p.add_argument("--repeat", type=int, default=1, help="rounds, alternating the order; medians printed")
    p.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated, of: " + ", ".join(VARIANTS)
    )
    p.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--delivery", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.variant:
        print(json.dumps(child(args.variant, args.delivery)))
        return 0
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    if unknown := sorted(set(chosen) - set(VARIANTS)):
        p.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    delivery, rows, defects = make_delivery(args.persons, args.defect_rate)
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in chosen}
    try:
        for round_ in range(args.repeat):
            # Alternate the order: a machine that slows down over minutes biases a fixed order.
            for variant in chosen if round_ % 2 == 0 else chosen[::-1]:
                result = run_variant(variant, delivery)
                if result is None:
                    return 1
                results[variant].append(result)
                print(f"{variant:13} round {round_ + 1}: total {result['total']:.2f}s", flush=True)
    finally:
        shutil.rmtree(delivery.parents[2], ignore_errors=True)
    print(f"\npersons={args.persons:,}, delivered rows={rows:,}, median of {args.repeat} round(s):")
    print_table(results, rows)
    print_ratios(results)
    return 0 if counts_agree(results, rows, defects) else 1


if __name__ == "__main__":
    sys.exit(main())
