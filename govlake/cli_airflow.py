"""`govlake airflow start|stop|status` (Airflow served on PostgreSQL: feeds start themselves) and
`govlake arrivals` (every feed's latest delivery deadline: on time, late or not declared)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from govlake import airflow_served, arrivals
from infra.settings import settings
from schemas.contracts import load_contracts


def cmd_airflow(args: argparse.Namespace) -> int:
    s = settings()
    if args.action == "start":
        t0 = time.monotonic()
        up = airflow_served.start(s)
        print(f"airflow served in {time.monotonic() - t0:.1f}s: UI {up['ui']} (users and passwords: "
              f"{up['passwords']}); logs under {airflow_served.served_home(s)}")  # fmt: skip
    elif args.action == "stop":
        stopped = airflow_served.stop(s)
        print(f"stopped {', '.join(stopped)}" if stopped else "airflow was not running")
    else:
        up = airflow_served.status(s)
        print(json.dumps(up, indent=1))
        health = up["health"]
        return 0 if isinstance(health, dict) and all(v == "healthy" for v in health.values()) else 1
    return 0


def cmd_arrivals(args: argparse.Namespace) -> int:
    """One row a feed; exit code 1 when a declared delivery is late."""
    s, now = settings(), dt.datetime.now(dt.UTC)
    table = Table("feed", "expected", "due", "landed in period", "latest", "status")
    late = 0
    for contract in load_contracts().values():
        ref = f"{contract.department}/{contract.feed}"
        if contract.arrival is None:
            table.add_row(ref, "not declared", "", "", "", "")
            continue
        v = arrivals.current(contract, now, s)
        latest = v["latest"]
        late += bool(v["late"])
        status = "[red]late[/red]" if v["late"] else "on time" if v["landed"] else "not due"
        table.add_row(ref, v["expected"], v["due"], ", ".join(v["landed"]),
                      f"{latest['batch_id']} {latest['landed']}" if latest else "none", status)  # fmt: skip
    Console(width=200).print(table)
    return 1 if late else 0


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    a = add(
        "airflow", cmd_airflow, "start, stop or check Airflow served on PostgreSQL (feeds start themselves)"
    )
    a.add_argument("action", choices=["start", "stop", "status"])
    add("arrivals", cmd_arrivals, "each feed's latest delivery deadline (its contract's `arrival:`): late?")
