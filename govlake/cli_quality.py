"""`govlake quality …`: list the generated suites, (re)write the department reports."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from jobs.spark import get_spark
from schemas.contracts import get_contract, load_contracts


def cmd_suites(args: argparse.Namespace) -> int:
    """Print, per contract and checkpoint, the generated expectations with dimension and severity."""
    from quality.suite import GATE, GOLD, build_rules  # lazy: imports Great Expectations (seconds)

    contracts = [get_contract(args.feed)] if args.feed else list(load_contracts().values())
    per_library: dict[str, dict[str, int]] = {}
    for c in contracts:
        for stage in (GATE, GOLD):
            rules = build_rules(c, stage)
            totals = per_library.setdefault(c.target.library, {GATE: 0, GOLD: 0})
            totals[stage] += len(rules)
            print(f"{c.key} → {c.target.library} library, {stage}: {len(rules)} expectations")
            if args.verbose:
                for r in rules:
                    mostly = f" mostly={r.mostly}" if r.mostly else ""
                    print(f"  {r.name:40} {r.type:45} {r.dimension:12} {r.severity}{mostly}")
    print("per library (gate / gold):")
    for library, t in sorted(per_library.items()):
        print(f"  {library:14} {t[GATE]:4} / {t[GOLD]:<4}")
    gate, gold = (sum(t[stage] for t in per_library.values()) for stage in (GATE, GOLD))
    print(f"  {'all':14} {gate:4} / {gold}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from quality import report  # lazy: imports Great Expectations (seconds)

    spark = get_spark("govlake-quality-report")
    paths = [report.write_department(spark, args.department)] if args.department else report.write_all(spark)
    for p in paths:
        print(f"{p}  (+ {p.with_name('fix_list.csv').name})")
    if not paths:
        print("no quality results yet: run a feed first")
    return 0


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add `quality` to govlake's command line (`add` is cli.build_parser's helper)."""
    q = add("quality", lambda a: a.quality_fn(a), "quality gates: generated suites and department reports")
    sub = q.add_subparsers(dest="quality_command", required=True)
    s = sub.add_parser("suites", help="list the expectations generated from the contracts")
    s.add_argument("feed", nargs="?", help="<department>/<feed> (default: all)")
    s.add_argument("-v", "--verbose", action="store_true", help="one line per expectation")
    s.set_defaults(quality_fn=cmd_suites)
    r = sub.add_parser("report", help="(re)write the per-department HTML and CSV reports from the lake")
    r.add_argument("--department", help="one department (default: all with results)")
    r.set_defaults(quality_fn=cmd_report)
