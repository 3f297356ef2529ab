"""`govlake province generate|run|build`: the synthetic province (15 departments, 21 feeds) end to end."""

from __future__ import annotations

import argparse
import json
import time


def cmd_generate(args: argparse.Namespace) -> int:
    from infra.settings import settings
    from schemas.contracts import batch_id
    from tools.synthetic.province import generate

    t0 = time.monotonic()
    d = generate(
        settings().landing,
        batch_id(args.batch),
        args.seed,
        args.persons,
        args.enterprises,
        *_rates(args),
        args.changes,
    )
    print(f"{len(d.rows)} feeds, {sum(d.rows.values())} rows in {time.monotonic() - t0:.1f}s")
    print(f"defect manifest: {d.manifest_path}")
    print(json.dumps(json.loads(d.manifest_path.read_text())["counts"], ensure_ascii=False))
    return 0


def _rates(args: argparse.Namespace) -> tuple[float, float]:
    """Defect and conflict rates: as given, else 0.2% / 1% on day 1 and none on a later day (--changes),
    so the later day's manifest lists only its changes."""
    later = args.changes > 0
    defects = args.defect_rate if args.defect_rate is not None else (0.0 if later else 0.002)
    conflicts = args.conflict_rate if args.conflict_rate is not None else (0.0 if later else 0.01)
    return defects, conflicts


def _timer(stage: str, seconds: float, rows: int) -> None:
    print(f"  {stage:<10} {seconds:7.1f}s {rows:>10} rows", flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    from govlake import province

    out = province.run(args.batch, _timer, trino=not args.no_trino)
    print(json.dumps(out["libraries"], ensure_ascii=False, indent=1, default=str))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from govlake import province

    out = province.build_libraries(args.batch, _timer)
    if not args.no_trino:
        province.register_all()
    print(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    return 0


def add_province_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("province", help="synthetic province: generate, run all feeds, build the libraries")
    ps = p.add_subparsers(dest="action", required=True)
    g = ps.add_parser("generate", help="write every department's delivery + the defect manifest")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--persons", type=int, default=100_000)
    g.add_argument("--enterprises", type=int, default=10_000)
    g.add_argument("--batch", default="20261123")
    g.add_argument(
        "--defect-rate", type=float, help="share of rows per defect kind (0.002; 0 with --changes)"
    )
    g.add_argument(
        "--conflict-rate", type=float, help="share of verified rows in conflict (0.01; 0 with --changes)"
    )
    g.add_argument(
        "--changes",
        type=float,
        default=0.0,
        help="a later day: share of residents moved, entities deregistered, certificates revoked (e.g. 0.01)",
    )
    g.set_defaults(fn=cmd_generate)
    r = ps.add_parser("run", help="every feed in one process, then the libraries, feedback and Trino")
    r.add_argument("--batch", default="20261123")
    r.add_argument("--no-trino", action="store_true")
    r.set_defaults(fn=cmd_run)
    b = ps.add_parser("build", help="build the libraries, conflicts, themes and feedback from gold")
    b.add_argument("--batch", default="20261123")
    b.add_argument("--no-trino", action="store_true")
    b.set_defaults(fn=cmd_build)
