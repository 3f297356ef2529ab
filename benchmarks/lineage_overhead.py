"""Overhead of lineage capture: pipeline wall time with vs without the OpenLineage Spark listener.

Each variant runs in a fresh process and installation home (its own Spark session), on the same
synthetic delivery, stages called in-process as the DAG tasks call them (preflight → bronze → silver →
gold). Prints the wall times, the overhead and the events written. One run each (2 cores are shared).

    .venv/bin/python benchmarks/lineage_overhead.py --persons 100000
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

FEED = "public_security/household_register"
BATCH = "20261101"

CHILD = """
import json, sys, time
from govlake import runner
from infra.settings import settings
from schemas.contracts import get_contract
from tools.synthetic.household import population, write_delivery
from jobs.spark import get_spark, stop_spark

persons = int(sys.argv[1])
write_delivery(get_contract("{feed}"), settings().landing, "{batch}", population(7, persons), 0.001, None, 7)
get_spark()  # session start-up is not part of the pipeline's time
t0 = time.monotonic()
state = runner.run_feed("{feed}", "{batch}", gated=False)
seconds = time.monotonic() - t0
stop_spark()  # flushes the listener's last events
print(json.dumps({{"seconds": seconds, "gold": state.gold.inserted}}))
"""


def run(lineage: bool, persons: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"govlake-bench-lineage-{int(lineage)}-"))
    env = {**os.environ, "GOVLAKE_HOME": str(home), "GOVLAKE_LINEAGE": "1" if lineage else "0"}
    code = CHILD.format(feed=FEED, batch=BATCH)
    out = subprocess.run(
        [sys.executable, "-c", code, str(persons)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    events = (
        sum(
            1
            for f in (home / "lineage").rglob("*.jsonl")
            for line in f.open(encoding="utf-8")
            if line.strip()
        )
        if (home / "lineage").exists()
        else 0
    )
    return result | {"events": events, "home": str(home)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--persons", type=int, default=100_000)
    args = p.parse_args()
    t = time.monotonic()
    off = run(False, args.persons)
    on = run(True, args.persons)
    overhead = on["seconds"] - off["seconds"]
    print(f"persons={args.persons} gold rows={on['gold']}")
    print(f"pipeline without lineage: {off['seconds']:.1f} s")
    print(f"pipeline with lineage:    {on['seconds']:.1f} s ({on['events']} OpenLineage events)")
    print(
        f"overhead: {overhead:+.1f} s ({overhead / off['seconds']:+.1%}); "
        f"benchmark took {time.monotonic() - t:.0f} s"
    )


if __name__ == "__main__":
    main()
