"""`govlake`: one command line for engineers (setup, run, trino), analysts (query) and auditors.

Every known failure is one line on stderr naming the fix, exit code 2 (`govlake.cli_errors`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from catalog.server import configure_trino, start_trino, stop_trino
from govlake import airflow_runner, engine_client
from govlake.cli_airflow import register as add_airflow
from govlake.cli_catalog import add_commands as add_catalog
from govlake.cli_errors import run
from govlake.cli_lineage import register_commands as add_lineage
from govlake.cli_province import add_province_commands
from govlake.cli_quality import register as add_quality
from govlake.engine_protocol import engine_files
from infra import object_store, spark_cluster, trino, trino_cluster, trino_security
from infra.settings import settings
from infra.trino_client import connect
from jobs.spark import get_spark, jars_resolved, stop_spark
from schemas.contracts import ContractError, batch_id, feed_contract_paths, get_contract, load_contract
from schemas.governance import governance_contract_paths, load_governance_contract


def _print_rows(columns: list[str], rows: list[list]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console().print(table)


def cmd_setup(args: argparse.Namespace) -> int:
    """Install what lives on Maven Central (Delta jars, Trino 476 + plugins) and prepare Airflow's DB."""
    s = settings()
    t0 = time.monotonic()
    trino.install(s)
    configure_trino(s)
    print(f"trino {s.trino_server_dir} ready ({time.monotonic() - t0:.1f}s)")
    if s.manage_object_store:
        object_store.install(s)
    t1 = time.monotonic()
    if s.warehouse_uri.startswith("s3a://"):
        object_store.spark_jars(s)  # hadoop-aws + the AWS SDK bundle (686 MB) into the cache, once
    if not jars_resolved(s):
        get_spark("govlake-setup").range(1).count()  # resolves the Delta jars once into the cache
        stop_spark()
    print(f"spark + delta jars ready ({time.monotonic() - t1:.1f}s)")
    t2 = time.monotonic()
    airflow_runner.migrate(s)
    print(f"airflow metadata db ready at {s.airflow_home} ({time.monotonic() - t2:.1f}s)")
    return 0


def cmd_trino(args: argparse.Namespace) -> int:
    s = settings()
    if args.action == "start":
        t0 = time.monotonic()
        start_trino(s)
        print(
            f"trino running on http://{s.trino_host}:{s.trino_port} ({time.monotonic() - t0:.1f}s); "
            f"log: {trino.log_file(s)}"
        )
        if trino_security.enabled(s):
            print(f"queries: https://{s.trino_host}:{trino_security.https_port(s)} (password users)")
    elif args.action == "stop":
        stop_trino(s)
        print("trino stopped")
    else:
        info = trino.server_info(s)
        print(json.dumps(info) if info else f"trino not running on port {s.trino_port}")
        return 0 if info else 1
    return 0


def cmd_spark(args: argparse.Namespace) -> int:
    s = settings()
    if args.action == "start":
        t0 = time.monotonic()
        up = engine_client.start(s)
        print(f"spark engine {up['app_id']} (pid {up['pid']}, {up['master']}) ready in "
              f"{time.monotonic() - t0:.1f}s; log: {up['log']}")  # fmt: skip
    elif args.action == "stop":
        print("spark engine stopped" if engine_client.stop(s) else "no spark engine was running")
    else:
        up = engine_client.status(s)
        print(json.dumps(up) if up else f"spark engine not running (log: {engine_files(s).log})")
        return 0 if up else 1
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    """The cluster profile on this machine: the Spark standalone master and workers GOVLAKE_SPARK_MASTER
    names (spark://127.0.0.1:…), and Trino's coordinator with GOVLAKE_TRINO_WORKERS workers."""
    s = settings()
    if args.action == "start":
        t0 = time.monotonic()
        if not spark_cluster.is_local_master(s):
            raise spark_cluster.SparkClusterError(
                f"GOVLAKE_SPARK_MASTER={s.spark_master} is not a local standalone master: set it to "
                f"{spark_cluster.master_url(s)}"
            )
        state = spark_cluster.start(s)
        print(f"spark master {spark_cluster.master_url(s)}: {spark_cluster.alive_workers(state)} workers "
              f"({time.monotonic() - t0:.1f}s); logs: {spark_cluster.cluster_dir(s) / 'logs'}")  # fmt: skip
        t1 = time.monotonic()
        start_trino(s)
        took = time.monotonic() - t1
        print(f"trino on {s.trino_host}:{s.trino_port} with {s.trino_workers} workers ({took:.1f}s)")
    elif args.action == "stop":
        stop_trino(s)
        print("stopped: trino,", ", ".join(spark_cluster.stop(s)) or "no spark process")
    else:
        up = {"spark": spark_cluster.status(s), "trino": trino_cluster.status(s, s.trino_workers)}
        print(json.dumps(up, indent=1))
        return 0 if up["spark"]["alive_workers"] == s.spark_workers and trino.is_running(s) else 1
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    conf = {"batch_id": batch_id(args.batch)} if args.batch else None
    contract = get_contract(args.feed)
    t0 = time.monotonic()
    dag_run = airflow_runner.run_dag(contract.dag_id, conf, echo=not args.quiet)
    print(f"{contract.dag_id}: {dag_run.state} in {time.monotonic() - t0:.1f}s")
    return 0 if dag_run.state == "success" else 1


def cmd_query(args: argparse.Namespace) -> int:
    with connect() as conn:
        cur = conn.cursor()
        cur.execute(args.sql)
        rows = cur.fetchall()
        if cur.description is None:  # DDL and the like return no result set
            print(cur.update_type or "done")
        else:
            _print_rows([d[0] for d in cur.description], rows)
    return 0


def cmd_contracts(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or feed_contract_paths()
    checks = [(p, _describe_feed) for p in paths]
    checks += [(p, _describe_governance) for p in ([] if args.paths else governance_contract_paths())]
    failed = 0
    for path, describe in checks:
        try:
            print(f"ok  {path}: {describe(path)}")
        except ContractError as exc:
            failed += 1
            print(f"ERR {exc}", file=sys.stderr)
    return 1 if failed else 0


def _describe_feed(path: Path) -> str:
    c = load_contract(path)
    return f"{c.department_name} {c.title} → gold.{c.target.table}"


def _describe_governance(path: Path) -> str:
    g = load_governance_contract(path)
    return f"{g.title} → governance.{g.table}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="govlake", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(fn=fn)
        return sp

    add("setup", cmd_setup, "install Trino, the Spark jars and Airflow's metadata DB (idempotent, cached)")
    t = add("trino", cmd_trino, "start, stop or check the embedded Trino server")
    t.add_argument("action", choices=["start", "stop", "status"])
    e = add("spark", cmd_spark, "start, stop or check the shared Spark engine Airflow tasks run on")
    e.add_argument("action", choices=["start", "stop", "status"])
    k = add("cluster", cmd_cluster, "start, stop or check the local cluster: Spark standalone, Trino workers")
    k.add_argument("action", choices=["start", "stop", "status"])
    r = add("run", cmd_run, "run a feed's DAG through Airflow for one batch")
    r.add_argument("feed", help="<department>/<feed>, e.g. public_security/household_register")
    r.add_argument("--batch", default=None, help="batch id (default: the latest landing folder)")
    r.add_argument("--quiet", action="store_true", help="do not echo Airflow's log")
    q = add("query", cmd_query, "run a SQL statement on Trino and print the result")
    q.add_argument("sql")
    c = add("contracts", cmd_contracts, "validate feed contracts (default: all under schemas/)")
    c.add_argument("paths", nargs="*")
    add_province_commands(sub)
    add_quality(add)
    add_catalog(add)  # catalog, share, audit
    add_lineage(add)
    add_airflow(add)  # airflow, arrivals
    return p


def command_name(args: argparse.Namespace) -> str:
    """`govlake <command> [<action>]` as typed, for error lines."""
    actions = (getattr(args, attr, None) for attr in ("action", "quality_command"))
    return " ".join(["govlake", args.command, *(a for a in actions if isinstance(a, str))])


def main(argv: list[str] | None = None) -> int:
    """Parse, run the command; a known failure is one line naming the fix and exit code 2."""
    args = build_parser().parse_args(argv)
    return run(command_name(args), lambda: args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
