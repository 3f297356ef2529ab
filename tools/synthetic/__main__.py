"""`python -m tools.synthetic household|province`: write a synthetic delivery into the landing zone.

Not part of the product (which never imports `tools`): the test data a real department would deliver.

    python -m tools.synthetic household --seed 42 --persons 100000 --batch 20261123
    python -m tools.synthetic province --seed 42 --persons 100000 --enterprises 10000 --batch 20261123
    python -m tools.synthetic province --batch 20261124 --changes 0.01   # a later day of the same province
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from govlake.cli_errors import run
from infra.settings import settings
from schemas.contracts import batch_id, get_contract
from tools.synthetic import province
from tools.synthetic.household import population, write_delivery

HOUSEHOLD_FEED = "public_security/household_register"


def household(args: argparse.Namespace) -> int:
    """The Public Security household register: one CSV, its delivery manifest and defect lines."""
    batch = batch_id(args.batch)
    contract = get_contract(HOUSEHOLD_FEED)
    t0 = time.monotonic()
    people = population(args.seed, args.persons, args.moved_fraction)
    delivery = write_delivery(
        contract, settings().landing, batch, people, args.defect_rate, args.encoding, args.seed
    )
    counts = {k: len(v) for k, v in delivery.defects.items()}
    print(
        f"wrote {delivery.rows} rows to {delivery.files[0]} in {time.monotonic() - t0:.1f}s; defects {counts}"
    )
    return 0


def _rates(args: argparse.Namespace) -> tuple[float, float]:
    """Defect and conflict rates: as given, else 0.2% / 1% on day 1 and none on a later day (--changes),
    so the later day's manifest lists only its changes."""
    later = args.changes > 0
    defects = args.defect_rate if args.defect_rate is not None else (0.0 if later else 0.002)
    conflicts = args.conflict_rate if args.conflict_rate is not None else (0.0 if later else 0.01)
    return defects, conflicts


def whole_province(args: argparse.Namespace) -> int:
    """Every department's delivery of one day (21 feeds) and the defect manifest."""
    batch = batch_id(args.batch)
    t0 = time.monotonic()
    d = province.generate(
        settings().landing, batch, args.seed, args.persons, args.enterprises, *_rates(args), args.changes
    )
    print(f"{len(d.rows)} feeds, {sum(d.rows.values())} rows in {time.monotonic() - t0:.1f}s")
    print(f"defect manifest: {d.manifest_path}")
    print(json.dumps(json.loads(d.manifest_path.read_text())["counts"], ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.synthetic", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    h = sub.add_parser("household", help="a Public Security household-register delivery")
    h.add_argument("--seed", type=int, default=42)
    h.add_argument("--persons", type=int, default=100_000)
    h.add_argument("--batch", default="20261123", help="batch id (landing folder name)")
    h.add_argument(
        "--moved-fraction", type=float, default=0.0, help="share of persons who moved (later days)"
    )
    h.add_argument("--defect-rate", type=float, default=0.001, help="share of rows per defect kind")
    h.add_argument("--encoding", default=None, help="file encoding (default: the contract's)")
    h.set_defaults(fn=household)
    g = sub.add_parser("province", help="every department's delivery + the defect manifest")
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
    g.set_defaults(fn=whole_province)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(f"python -m tools.synthetic {args.command}", lambda: args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
