"""`govlake`: one command line for engineers (setup, generate, run, trino), analysts (query) and auditors."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from infra.settings import settings

DEMO_FEED = "public_security/household_register"
DEMO_QUERY = """\
SELECT substr(admin_code, 1, 4) || '00' AS prefecture,
       count(*) AS persons,
       count_if(gender = '2') AS women,
       round(avg(date_diff('year', birth_date, DATE '2026-11-23')), 1) AS avg_age
FROM lake.gold.population_person
GROUP BY 1
ORDER BY persons DESC
LIMIT 5"""


def _print_rows(columns: list[str], rows: list[list]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console().print(table)


def cmd_setup(args: argparse.Namespace) -> int:
    """Install what lives on Maven Central (Delta jars, Trino 476 + plugins) and prepare Airflow's DB."""
    from catalog.server import configure_trino
    from govlake import airflow_runner
    from infra import trino

    s = settings()
    t0 = time.monotonic()
    trino.install(s)
    configure_trino(s)
    print(f"trino {s.trino_server_dir} ready ({time.monotonic() - t0:.1f}s)")
    t1 = time.monotonic()
    from jobs.spark import get_spark, jars_resolved, stop_spark

    if not jars_resolved(s):
        get_spark("govlake-setup").range(1).count()  # resolves the Delta jars once into the cache
        stop_spark()
    print(f"spark + delta jars ready ({time.monotonic() - t1:.1f}s)")
    t2 = time.monotonic()
    airflow_runner.migrate(s)
    print(f"airflow metadata db ready at {s.airflow_home} ({time.monotonic() - t2:.1f}s)")
    return 0


def cmd_trino(args: argparse.Namespace) -> int:
    from catalog.server import start_trino
    from infra import trino

    s = settings()
    if args.action == "start":
        t0 = time.monotonic()
        start_trino(s)
        print(
            f"trino running on http://{s.trino_host}:{s.trino_port} ({time.monotonic() - t0:.1f}s); "
            f"log: {trino.log_file(s)}"
        )
        from infra import trino_security

        if trino_security.enabled():
            print(f"queries: https://{s.trino_host}:{trino_security.https_port(s)} (password users)")
    elif args.action == "stop":
        trino.stop(s)
        print("trino stopped")
    else:
        info = trino.server_info(s)
        print(json.dumps(info) if info else f"trino not running on port {s.trino_port}")
        return 0 if info else 1
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from schemas.contracts import batch_id, get_contract
    from tools.synthetic.household import population, write_delivery

    contract = get_contract(DEMO_FEED)
    t0 = time.monotonic()
    people = population(args.seed, args.persons, args.moved_fraction)
    delivery = write_delivery(
        contract, settings().landing, batch_id(args.batch), people, args.defect_rate, args.encoding, args.seed
    )
    counts = {k: len(v) for k, v in delivery.defects.items()}
    print(
        f"wrote {delivery.rows} rows to {delivery.files[0]} in {time.monotonic() - t0:.1f}s; defects {counts}"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from govlake.airflow_runner import run_dag
    from schemas.contracts import batch_id, get_contract

    contract = get_contract(args.feed)
    conf = {"batch_id": batch_id(args.batch)} if args.batch else None
    t0 = time.monotonic()
    run = run_dag(contract.dag_id, conf, echo=not args.quiet)
    print(f"{contract.dag_id}: {run.state} in {time.monotonic() - t0:.1f}s")
    return 0 if run.state == "success" else 1


def cmd_query(args: argparse.Namespace) -> int:
    from infra.trino_client import connect

    with connect() as conn:
        cur = conn.cursor()
        cur.execute(args.sql)
        rows = cur.fetchall()
        if cur.description is None:  # DDL and the like return no result set
            print(cur.update_type or "done")
        else:
            _print_rows([d[0] for d in cur.description], rows)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the household-register feed, start Trino, run the DAG, print a Trino query."""
    from catalog.server import start_trino

    s = settings()
    timings = {}
    t0 = time.monotonic()
    cmd_generate(
        argparse.Namespace(
            seed=args.seed,
            persons=args.persons,
            batch=args.batch,
            moved_fraction=0.0,
            defect_rate=0.001,
            encoding=None,
        )
    )
    timings["generate"] = time.monotonic() - t0
    t0 = time.monotonic()
    start_trino(s)
    timings["trino start"] = time.monotonic() - t0
    t0 = time.monotonic()
    rc = cmd_run(argparse.Namespace(feed=DEMO_FEED, batch=args.batch, quiet=True))
    timings["pipeline (airflow dags test)"] = time.monotonic() - t0
    if rc:
        print(f"the pipeline failed; see the Airflow task logs under {s.airflow_home}/logs", file=sys.stderr)
        return rc
    print("\nTrino query:\n" + DEMO_QUERY + "\n")
    cmd_query(argparse.Namespace(sql=DEMO_QUERY))
    cmd_query(
        argparse.Namespace(
            sql=(
                "SELECT stage, status, rows_in, rows_out, quarantined, inserted, updated, message "
                f"FROM lake.governance.batch_log WHERE batch_id = '{args.batch}' ORDER BY finished_at"
            )
        )
    )
    t0 = time.monotonic()
    _demo_share_and_audit(args.batch)
    timings["share, audit, lineage"] = time.monotonic() - t0
    print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return 0


def _demo_share_and_audit(batch: str) -> None:
    """Decide and provision the catalog's share requests, read one share as its department, then load the
    access log and the lineage and write the auditors' reports."""
    from govlake.cli_catalog import cmd_audit, cmd_share
    from govlake.cli_lineage import cmd_load, cmd_run_reports
    from infra.trino_client import connect

    s = settings()
    print("\nShare requests (catalog/requests):")
    cmd_share(argparse.Namespace(action="provision", request=None, reviewer=None, reason=None, today=None))
    view = f"{s.trino_catalog}.share_civil_affairs.mz_dibao_wuhan"
    with connect(user="civil_affairs") as conn:
        cur = conn.cursor()
        cur.execute(f"SELECT * FROM {view} LIMIT 3")
        print(f"\nAs civil_affairs: SELECT * FROM {view} LIMIT 3")
        for row in cur.fetchall():
            print("  " + " | ".join(str(v) for v in row))
    cmd_audit(argparse.Namespace(action="load"))
    cmd_load(argparse.Namespace(path=None, strict=False))
    print("\nLineage reports:")
    cmd_run_reports(argparse.Namespace(batch=batch, out=None))
    print(f"Quality reports and Data Docs: {s.home / 'quality'}")


def cmd_contracts(args: argparse.Namespace) -> int:
    from schemas.contracts import ContractError, feed_contract_paths, load_contract

    paths = [Path(p) for p in args.paths] or feed_contract_paths()
    failed = 0
    for path in paths:
        try:
            c = load_contract(path)
            print(f"ok  {path}: {c.department_name} {c.title} → gold.{c.target.table}")
        except ContractError as exc:
            failed += 1
            print(f"ERR {exc}", file=sys.stderr)
    return 1 if failed else 0


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
    g = add("generate", cmd_generate, "write a synthetic Public Security household-register delivery")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--persons", type=int, default=100_000)
    g.add_argument("--batch", default="20261123", help="batch id (landing folder name)")
    g.add_argument(
        "--moved-fraction", type=float, default=0.0, help="share of persons who moved (later days)"
    )
    g.add_argument("--defect-rate", type=float, default=0.001, help="share of rows per defect kind")
    g.add_argument("--encoding", default=None, help="file encoding (default: the contract's)")
    r = add("run", cmd_run, "run a feed's DAG through Airflow for one batch")
    r.add_argument("feed", help="<department>/<feed>, e.g. public_security/household_register")
    r.add_argument("--batch", default=None, help="batch id (default: the latest landing folder)")
    r.add_argument("--quiet", action="store_true", help="do not echo Airflow's log")
    q = add("query", cmd_query, "run a SQL statement on Trino and print the result")
    q.add_argument("sql")
    d = add("demo", cmd_demo, "generate the demo feed, start Trino, run the pipeline and query gold")
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--persons", type=int, default=100_000)
    d.add_argument("--batch", default="20261123")
    c = add("contracts", cmd_contracts, "validate feed contracts (default: all under schemas/)")
    c.add_argument("paths", nargs="*")
    from govlake.cli_catalog import add_commands as add_catalog  # catalog, share, audit
    from govlake.cli_lineage import register_commands as add_lineage
    from govlake.cli_province import add_province_commands
    from govlake.cli_quality import register as add_quality

    add_province_commands(sub)
    add_quality(add)
    add_catalog(add)
    add_lineage(add)
    return p


def main(argv: list[str] | None = None) -> int:
    from catalog.loader import CatalogError
    from infra.trino import TrinoError
    from schemas.contracts import ContractError

    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (ContractError, CatalogError, TrinoError, ValueError, FileNotFoundError) as exc:
        print(f"govlake {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
