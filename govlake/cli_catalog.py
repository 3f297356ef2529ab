"""`govlake catalog|share|audit`: the three lists, share requests and the access log (issue 6)."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

from catalog import audit, report, shares, signing
from catalog.engine import REVIEW_REFUSED
from catalog.loader import keys_dir, load_catalog
from infra.settings import settings

Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def _today(args: argparse.Namespace) -> dt.date:
    """--today, never earlier than the real date: the clock only moves forward (an earlier date would
    grant expired shares again)."""
    real = dt.date.today()
    if not args.today:
        return real
    today = dt.date.fromisoformat(args.today)
    if today < real:
        raise ValueError(
            f"--today {today} is before today ({real}): the share engine cannot move the clock back"
        )
    return today


def _keygen(department: str | None) -> int:
    s = settings()
    cat = load_catalog()
    if department not in cat.departments:
        raise ValueError(f"catalog keygen needs a department of the catalog, not {department!r}")
    private, public = signing.keygen(department, keys_dir(s), s)
    print(f"wrote {private} (private, keep it here) and {public} (public, part of the catalog)")
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    if args.action == "keygen":
        return _keygen(args.department)
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
    for d in decisions:
        mark = "*" if d in recorded else " "
        print(f"{mark} {d.request_id:<28} {d.status:<8} by {d.decided_by:<12} {d.reason}")


def _review(args: argparse.Namespace, today: dt.date) -> None:
    if not (args.request and args.department and args.person and args.reason):
        raise ValueError(f"share {args.action} needs REQUEST --as DEPARTMENT --person NAME --reason WHY")
    now = dt.datetime.now().astimezone()
    when = now if today == now.date() else dt.datetime.combine(today, now.timetz())
    path = shares.write_review(args.request, args.action, args.department, args.person, args.reason, when)
    print(f"wrote {path} (signed by {args.department})")


def cmd_share(args: argparse.Namespace) -> int:
    today = _today(args)
    if args.action in ("approve", "reject", "revoke"):
        _review(args, today)
    provision = args.action != "decide"
    decisions, recorded, views = shares.run(today, provision_views=provision)
    _print_decisions(decisions, recorded)
    overdue = [d for d in decisions if d.overdue]
    if overdue:
        print(
            "OVERDUE reviews (10 working days): "
            + ", ".join(f"{d.request_id} (due {d.due_date})" for d in overdue)
        )
    for key in ("created", "dropped", "failed"):
        for view in views.get(key, []):
            print(f"view {key}: {view}")
    failed = views.get("failed") or any(d.status in ("invalid", REVIEW_REFUSED) for d in decisions)
    return 1 if failed else 0


def cmd_audit(args: argparse.Namespace) -> int:
    if args.action == "verify":  # exit 1 names the first altered or missing row of each broken chain
        verdicts = audit.verify()
        print("\n".join(v.line() for v in verdicts))
        return 0 if all(v.ok for v in verdicts) else 1
    loaded = audit.load()
    print(f"governance.access_log: {loaded.added} new query events ({loaded.already} already loaded)")
    if loaded.conflicts:
        print(
            f"ignored {len(loaded.conflicts)} later event(s) that differ from the first one recorded "
            "(possible forgery; the first event wins): " + ", ".join(loaded.conflicts)
        )
    return 0


def add_commands(add: Add) -> None:
    c = add(
        "catalog",
        cmd_catalog,
        "the three lists: validate, report (size, mount rate, coverage), load; keygen DEPARTMENT (its "
        "review signing key pair)",
    )
    c.add_argument("action", choices=["validate", "report", "load", "keygen"])
    c.add_argument("department", nargs="?", help="keygen: the department whose review key pair to create")
    sh = add("share", cmd_share, "decide share requests (catalog/requests), review them, provision the views")
    sh.add_argument("action", choices=["decide", "provision", "expire", "approve", "reject", "revoke"])
    sh.add_argument("request", nargs="?", help="request id (approve/reject/revoke)")
    sh.add_argument(
        "--as", dest="department", help="the deciding department (the provider; signs with its key)"
    )
    sh.add_argument("--person", help="the official who decides")
    sh.add_argument("--reason", help="why")
    sh.add_argument("--today", help="decision date (YYYY-MM-DD; default today; never earlier than today)")
    a = add(
        "audit",
        cmd_audit,
        "load Trino's spooled query events into governance.access_log; verify the hash chains",
    )
    a.add_argument("action", choices=["load", "verify"])
