"""`govlake lineage …`: load OpenLineage events into governance tables and write auditor reports."""

from __future__ import annotations

import argparse
from pathlib import Path

from catalog.trino_tables import register
from infra.settings import settings
from infra.trino_client import query
from jobs.lineage_load import TABLES, load
from jobs.spark import get_spark
from lineage import report
from lineage.trace import load_graph


def cmd_load(args: argparse.Namespace) -> int:
    root = Path(args.path) if args.path else None
    r = load(get_spark("govlake-lineage-load"), root)
    register(TABLES)
    print(
        f"{r.files} files, {r.events} events ({r.new_events} new), {r.edges} column edges "
        f"({r.new_edges} new), {len(r.rejections)} rejected"
    )
    for rejection in r.rejections:
        print(f"rejected {rejection}")
    return 1 if r.rejections and args.strict else 0


def cmd_report(args: argparse.Namespace) -> int:
    s = settings()
    graph = load_graph(query, s.trino_catalog)
    folder = Path(args.out) if args.out else s.home / "reports" / "lineage"
    for path in report.write(report.build(graph, args.subject, query, s.trino_catalog), folder):
        print(path)
    return 0


def cmd_run_reports(args: argparse.Namespace) -> int:
    s = settings()
    graph = load_graph(query, s.trino_catalog)
    folder = Path(args.out) if args.out else s.home / "reports" / "lineage" / args.batch
    for path in report.write_run(graph, args.batch, query, folder, s.trino_catalog):
        print(path)
    return 0


def register_commands(add) -> None:
    """Adds `lineage` with its actions to the main parser (`add` is cli.build_parser's helper)."""
    p = add(
        "lineage", lambda a: a.action_fn(a), "OpenLineage: load events, write lineage reports for auditors"
    )
    sub = p.add_subparsers(dest="action", required=True)
    load = sub.add_parser("load", help="load event files (default: <home>/lineage) into governance tables")
    load.add_argument("path", nargs="?", help="folder of .jsonl/.json event files")
    load.add_argument("--strict", action="store_true", help="exit 1 if any event was rejected")
    load.set_defaults(action_fn=cmd_load)
    rep = sub.add_parser("report", help="report for <schema>.<table>[.<column>] or a share view")
    rep.add_argument("subject")
    rep.add_argument("--out", help="folder (default: <home>/reports/lineage)")
    rep.set_defaults(action_fn=cmd_report)
    run = sub.add_parser("run-reports", help="write the reports of every table a batch reached")
    run.add_argument("batch")
    run.add_argument("--out", help="folder (default: <home>/reports/lineage/<batch>)")
    run.set_defaults(action_fn=cmd_run_reports)
