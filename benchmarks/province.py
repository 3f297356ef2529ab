"""Benchmark: the synthetic province end to end in one process, printing per-stage wall time, rows/s and
peak RSS (this Python process and Spark's JVM). Not a test; figures go to the README / closing notes.

    GOVLAKE_TRINO_PORT=18200 .venv/bin/python benchmarks/province.py --persons 1000000 --enterprises 100000

Runs in a fresh installation home (a temporary directory unless --home is given) so it never touches
.lake/. It starts a Trino server on that home (GOVLAKE_TRINO_PORT; give one no other server uses) and
times the registration of every table; --no-trino skips that, --keep-trino leaves the server running so
the libraries can be queried afterwards. Each stage prints as it ends.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class PeakRss:
    """Samples the RSS of this process and its descendants (Spark's JVM, not Trino) every half second."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.python = self.jvm = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.5):
            try:
                self.python = max(self.python, self.me.memory_info().rss)
                kids = sum(
                    c.memory_info().rss
                    for c in self.me.children(recursive=True)
                    if "trino-server" not in " ".join(c.cmdline())  # the server is not the pipeline
                )
                self.jvm = max(self.jvm, kids)
            except psutil.Error:
                continue

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--enterprises", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch", default="20261123")
    p.add_argument("--home", default=None, help="installation home (default: a new temporary directory)")
    p.add_argument("--no-trino", action="store_true")
    p.add_argument("--keep-trino", action="store_true", help="leave the benchmark's Trino server running")
    args = p.parse_args()
    os.environ["GOVLAKE_HOME"] = args.home or tempfile.mkdtemp(prefix="govlake-bench-")

    from govlake import province
    from infra.settings import settings
    from tools.synthetic.province import generate

    seconds: dict[str, float] = defaultdict(float)
    rows: dict[str, int] = defaultdict(int)

    def timer(stage: str, s: float, n: int) -> None:
        seconds[stage] += s
        rows[stage] += n
        print(f"  {stage:<10} {s:8.1f} s {n:>12,} rows", flush=True)

    if not args.no_trino:
        from catalog.server import start_trino
        from infra import trino

        start_trino(settings())

    try:
        with PeakRss() as rss:
            t0 = time.monotonic()
            d = generate(settings().landing, args.batch, args.seed, args.persons, args.enterprises)
            timer("generate", time.monotonic() - t0, sum(d.rows.values()))
            province.run(args.batch, timer, trino=not args.no_trino)
            total = time.monotonic() - t0
    finally:
        if not args.no_trino and not args.keep_trino:
            trino.stop(settings())
    print(
        f"province: {args.persons:,} persons, {args.enterprises:,} legal persons, {len(d.rows)} feeds; "
        f"home {settings().home}"
    )
    print(f"{'stage':<10} {'wall s':>9} {'rows':>12} {'rows/s':>10}")
    for stage in seconds:
        rate = rows[stage] / seconds[stage] if seconds[stage] else 0
        print(f"{stage:<10} {seconds[stage]:9.1f} {rows[stage]:12,} {rate:10,.0f}")
    print(f"{'total':<10} {total:9.1f}")
    print(f"peak RSS: python {rss.python / 2**20:,.0f} MiB, spark jvm {rss.jvm / 2**20:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
