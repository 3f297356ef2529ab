"""`govlake catalog|share|audit`: the three lists, share requests and the access log (issue 6)."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

from catalog import audit, report, shares
from catalog.loader import load_catalog
from infra.settings import settings

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def _today(args: argparse.Namespace) -> dt.date:
    return dt.date.fromisoformat(args.today) if args.today else dt.date.today()


def cmd_catalog(args: argparse.Namespace) -> int:
    s = settings()
    cat = load_catalog()
    if args.action == "validate":
        print(
            f"ok: {len(cat.departments)} departments, {len(cat.resources)} resources, {len(cat.negative)} "
            "negative-list items"
        )
        return 0
    rep = report.build(cat, report.gold_columns(s))
    print("\n".join(rep.lines()))
    if args.action == "load":
        counts = report.load(cat, rep, s)
        print("loaded " + ", ".join(f"governance.{k} {v}" for k, v in counts.items()))
    return 0


def _print_decisions(decisions, recorded) -> None:
    changed = {d.request_id for d in recorded}
    for d in decisions:
        mark = "*" if d.request_id in changed else " "
        print(f"{mark} {d.request_id:<28} {d.status:<8} by {d.decided_by:<12} {d.reason}")


def cmd_share(args: argparse.Namespace) -> int:
    today = _today(args)
    if args.action in ("approve", "reject", "revoke"):
        if not (args.request and args.reviewer and args.reason):
            raise ValueError(f"share {args.action} needs REQUEST --reviewer and --reason")
        path = shares.write_review(args.request, args.action, args.reviewer, args.reason, today)
        print(f"wrote {path}")
    provision = args.action != "decide"
    decisions, recorded, views = shares.run(today, provision_views=provision)
    _print_decisions(decisions, recorded)
    overdue = [d for d in decisions if d.overdue]
    if overdue:
        print(
            "OVERDUE reviews (10 working days): "
            + ", ".join(f"{d.request_id} (due {d.due_date})" for d in overdue)
        )
    for key in ("created", "dropped"):
        for view in views.get(key, []):
            print(f"view {key}: {view}")
    return 1 if any(d.status == "invalid" for d in decisions) else 0


def cmd_audit(args: argparse.Namespace) -> int:
    print(f"governance.access_log: {audit.load()} new query events")
    return 0


def add_commands(add: Add) -> None:
    c = add("catalog", cmd_catalog, "the three lists: validate, report (size, mount rate, coverage), load")
    c.add_argument("action", choices=["validate", "report", "load"])
    sh = add("share", cmd_share, "decide share requests (catalog/requests), review them, provision the views")
    sh.add_argument("action", choices=["decide", "provision", "expire", "approve", "reject", "revoke"])
    sh.add_argument("request", nargs="?", help="request id (approve/reject/revoke)")
    sh.add_argument("--reviewer", help="who decides (the provider's reviewer)")
    sh.add_argument("--reason", help="why")
    sh.add_argument("--today", help="decision date (YYYY-MM-DD; default today)")
    a = add("audit", cmd_audit, "load Trino's spooled query events into governance.access_log")
    a.add_argument("action", choices=["load"])
