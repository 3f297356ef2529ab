"""`python -m tools.demo`: the household-register feed end to end, what `infra/setup.sh` ends with.

Generates a synthetic delivery (tools.synthetic), starts Trino and the shared Spark engine (left running, like
Trino), runs the feed's DAG through Airflow on that engine, prints
a Trino query over gold and the batch log, signs Public Security's approval of HR & Social Security's
conditional request (creating the department's key pair first if this home has none), provisions the
catalog's share requests, reads two shares as their departments, loads the access log and the lineage, and
writes the auditors' reports. Not part of the product: it drives the product's own commands
(`govlake.cli.main`) around the synthetic data.

The approval and the public key go to the catalog the engine reads: the packaged checkout's
catalog/approvals/ and catalog/keys/ (both .gitignored: they belong to this installation, whose private
key is under the home), or GOVLAKE_CATALOG_DIR's.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from catalog import signing
from catalog.loader import PACKAGED, catalog_dir, keys_dir
from catalog.server import start_trino
from govlake import cli
from govlake.cli_errors import EXIT_KNOWN, run
from infra.settings import settings
from infra.trino_client import connect
from schemas.contracts import batch_id, get_contract
from tools.synthetic.household import population, write_delivery

DEMO_FEED = "public_security/household_register"
SHARE_VIEWS = {  # department → the share it reads: 无条件 (granted by the engine), 有条件 (signed approval)
    "civil_affairs": "share_civil_affairs.mz_dibao_wuhan",
    "hrss": "share_hrss.rs_pension_check",
}
PROVIDER, REVIEWED = "public_security", "rs_pension_check"
APPROVAL = (
    "--as",
    PROVIDER,
    "--person",
    "公安厅人口管理总队 审核员 王敏",
    "--reason",
    "养老金领取资格认证属法定职责，字段最小化，限宜昌市",
)
DEMO_QUERY = """\
SELECT substr(admin_code, 1, 4) || '00' AS prefecture,
       count(*) AS persons,
       count_if(gender = '2') AS women,
       round(avg(date_diff('year', birth_date, DATE '2026-11-23')), 1) AS avg_age
FROM lake.gold.population_person
GROUP BY 1
ORDER BY persons DESC
LIMIT 5"""


class StepFailed(Exception):
    """A product command of the demo failed; it has printed why."""

    def __init__(self, rc: int) -> None:
        super().__init__(rc)
        self.rc = rc


def govlake(*argv: str, ok: Callable[[int], bool] = lambda rc: rc != EXIT_KNOWN) -> int:
    """One product command, as `govlake …` runs it; stops the demo when `ok(rc)` is false."""
    rc = cli.main(list(argv))
    if not ok(rc):
        raise StepFailed(rc)
    return rc


def generate(seed: int, persons: int, batch: str) -> None:
    t0 = time.monotonic()
    people = population(seed, persons)
    delivery = write_delivery(get_contract(DEMO_FEED), settings().landing, batch, people, 0.001, None, seed)
    counts = {k: len(v) for k, v in delivery.defects.items()}
    took = time.monotonic() - t0
    print(f"wrote {delivery.rows} rows to {delivery.files[0]} in {took:.1f}s; defects {counts}")


def read_share_as_department(department: str, share: str) -> None:
    view = f"{settings().trino_catalog}.{share}"
    with connect(user=department) as conn:
        cur = conn.cursor()
        cur.execute(f"SELECT * FROM {view} LIMIT 3")
        print(f"\nAs {department}: SELECT * FROM {view} LIMIT 3")
        for row in cur.fetchall():
            print("  " + " | ".join(str(v) for v in row))


def provider_key() -> None:
    """Public Security's review key pair, unless this home has its private key. A public key left in the
    packaged catalog by an earlier home (whose private key is gone) is replaced; a deployment catalog's
    (GOVLAKE_CATALOG_DIR) is not: keygen then refuses and says why."""
    s = settings()
    if signing.private_key_path(PROVIDER, s).exists():
        return
    if catalog_dir(s) == PACKAGED:
        signing.public_key_path(PROVIDER, keys_dir(s)).unlink(missing_ok=True)
    govlake("catalog", "keygen", PROVIDER, ok=lambda rc: rc == 0)


def share_and_audit(batch: str) -> None:
    """Sign the provider's approval of the conditional request, decide and provision the share requests,
    read the shares as their departments, then load the access log and the lineage and write the
    auditors' reports."""
    print("\nShare requests (catalog/requests), with Public Security's signed approval of rs_pension_check:")
    provider_key()
    # approve, then decide and provision everything; exit 1 (an invalid or refused file) is not fatal
    govlake("share", "approve", REVIEWED, *APPROVAL)
    for department, share in SHARE_VIEWS.items():
        read_share_as_department(department, share)
    govlake("audit", "load")
    govlake("lineage", "load")
    print("\nLineage reports:")
    govlake("lineage", "run-reports", batch)
    print(f"Quality reports and Data Docs: {settings().home / 'quality'}")


def demo(args: argparse.Namespace) -> int:
    s = settings()
    batch = batch_id(args.batch)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    generate(args.seed, args.persons, batch)
    timings["generate"] = time.monotonic() - t0
    t0 = time.monotonic()
    start_trino(s)
    timings["trino start"] = time.monotonic() - t0
    t0 = time.monotonic()
    try:
        govlake("spark", "start", ok=lambda rc: rc == 0)  # the shared engine the DAG's tasks run on
        timings["spark engine start"] = time.monotonic() - t0
        t0 = time.monotonic()
        govlake("run", DEMO_FEED, "--batch", batch, "--quiet", ok=lambda rc: rc == 0)
        timings["pipeline (airflow dags test)"] = time.monotonic() - t0
        print("\nTrino query:\n" + DEMO_QUERY + "\n")
        govlake("query", DEMO_QUERY)
        govlake(
            "query",
            "SELECT stage, status, rows_in, rows_out, quarantined, inserted, updated, message "
            f"FROM lake.governance.batch_log WHERE batch_id = '{batch}' ORDER BY finished_at",
        )
        t0 = time.monotonic()
        share_and_audit(batch)
        timings["share, audit, lineage"] = time.monotonic() - t0
    except StepFailed as failed:
        print(f"the demo stopped; Airflow's task logs are under {s.airflow_home}/logs", file=sys.stderr)
        return failed.rc
    print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--batch", default="20261123")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run("python -m tools.demo", lambda: demo(args))


if __name__ == "__main__":
    sys.exit(main())
