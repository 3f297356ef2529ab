"""A feed's batch or a library's build, run in this process and killed with SIGKILL (this process group:
Python and its Spark JVM) at a point a hook names, not a time:

    data:<table folder>    the first data file of a write appears there (mid-write: nothing committed)
    commit:<table folder>  the table's next commit appears (between that write and the next one)

    python tests/integration/killed_run.py feed|library <name> <batch> [--kill-at POINT]

Before it kills, the hook writes what it saw to `<home>/killed_at`, so a test knows the point was reached.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

POLL_SECONDS = 0.002  # a write's data files precede its commit by far more than this


def _seen(folder: Path, commits: bool) -> set[str]:
    if commits:
        log = folder / "_delta_log"
        return {p.name for p in log.glob("*.json")} if log.is_dir() else set()
    return {str(p) for p in folder.rglob("*.parquet") if "_delta_log" not in p.parts}


def _kill_when(point: str, marker: Path) -> None:
    kind, _, where = point.partition(":")
    if kind not in ("data", "commit") or not where:
        raise SystemExit(f"--kill-at {point!r}: expected data:<folder> or commit:<folder>")
    folder, commits = Path(where.removeprefix("file:")), kind == "commit"
    before = _seen(folder, commits)

    def watch() -> None:
        while True:
            new = _seen(folder, commits) - before
            if new:
                marker.write_text(f"{point} {sorted(new)[0]}\n")
                os.killpg(os.getpgid(0), signal.SIGKILL)
            time.sleep(POLL_SECONDS)

    threading.Thread(target=watch, name="kill-hook", daemon=True).start()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["feed", "library"])
    parser.add_argument("name")
    parser.add_argument("batch")
    parser.add_argument("--kill-at")
    args = parser.parse_args()
    from infra.settings import settings  # lazy: GOVLAKE_HOME comes from the caller's environment

    if args.kill_at:
        _kill_when(args.kill_at, settings().home / "killed_at")
    if args.what == "feed":
        from govlake import runner  # lazy: Spark starts here

        runner.run_feed(args.name, args.batch)
    else:
        from govlake.library_dags import build_here  # lazy: Spark starts here

        build_here(args.name, args.batch)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main())
