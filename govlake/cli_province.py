"""`govlake province run|build`: every feed of the province (15 departments, 21 feeds) in one process,
then its libraries. Its synthetic delivery comes from `python -m tools.synthetic province`."""

from __future__ import annotations

import argparse
import json
import sys

from govlake import province


def _timer(stage: str, seconds: float, rows: int) -> None:
    print(f"  {stage:<10} {seconds:7.1f}s {rows:>10} rows", flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    """Exit 2 when the quality gate stopped a feed or preflight rejected one (each named on stderr); the
    other feeds and the libraries are built all the same."""
    out = province.run(args.batch, _timer, trino=not args.no_trino)
    libraries = {name: lib.model_dump(mode="json") for name, lib in out.libraries.items()}
    print(json.dumps({"libraries": libraries, "feedback": out.feedback, "missing": out.missing},
                     ensure_ascii=False, indent=1))  # fmt: skip
    for feed, why in {**out.blocked, **out.rejected}.items():
        print(f"govlake province run: {feed}: {why}", file=sys.stderr)
    return 2 if out.blocked or out.rejected else 0


def cmd_build(args: argparse.Namespace) -> int:
    libraries, feedback = province.build_libraries(args.batch, _timer)
    if not args.no_trino:
        province.register_all()
    built = {name: lib.model_dump(mode="json") for name, lib in libraries.items()}
    print(json.dumps({"libraries": built, "feedback": feedback}, ensure_ascii=False, indent=1))
    return 0


def add_province_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("province", help="the province: every feed in one process, then its libraries")
    ps = p.add_subparsers(dest="action", required=True)
    r = ps.add_parser("run", help="every feed in one process, then the libraries, feedback and Trino")
    r.add_argument("--batch", default="20261123")
    r.add_argument("--no-trino", action="store_true")
    r.set_defaults(fn=cmd_run)
    b = ps.add_parser("build", help="build the libraries, conflicts, themes and feedback from gold")
    b.add_argument("--batch", default="20261123")
    b.add_argument("--no-trino", action="store_true")
    b.set_defaults(fn=cmd_build)
