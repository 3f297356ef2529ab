"""Issue 20, case 1: a run killed with SIGKILL mid-write (the hook of killed_run.py picks the point: a
write's first data file, never a time) leaves every table as it was, and re-running the same batch makes
them whole: bronze = delivered rows, silver + quarantine = bronze, gold = silver's keys once each, a
complete batch log; read back by an independent reader of the Delta tables (delta-rs, `deltalake`).

One case (the batch-log append, the shortest) runs in the README's test command; the rest with
`bash infra/test.sh -m faults` (see README)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from schemas.contracts import get_contract
from schemas.datasets import GOLD, GOVERNANCE, Table, feed_tables
from tools.synthetic.province import ProvinceDelivery, generate

ROOT = Path(__file__).resolve().parents[2]
HOUSEHOLD, DIVISIONS = (
    get_contract("public_security/household_register"),
    get_contract("natural_resources/admin_division"),
)
HOUSEHOLD_FEED = f"{HOUSEHOLD.department}/{HOUSEHOLD.feed}"
BATCH = "20261205"
STAGES_OK = {"preflight", "bronze", "silver", "quality_gate", "gold", "quality_gold"}


@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> ProvinceDelivery:
    landing = tmp_path_factory.mktemp("killed-landing")
    feeds = [f"{c.department}/{c.feed}" for c in (HOUSEHOLD, DIVISIONS)]
    return generate(landing, BATCH, persons=1000, enterprises=20, defect_rate=0.003, conflict_rate=0.0,
                    feeds_only=feeds)  # fmt: skip


def _home(tmp_path: Path, delivery: ProvinceDelivery) -> Path:
    home = tmp_path / "home"
    shutil.copytree(delivery.landing, home / "landing")
    return home


def _table(home: Path, table: Table) -> Path:
    return home / "warehouse" / table.schema / table.name


def _run(home: Path, what: str, name: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"GOVLAKE_HOME": str(home), "GOVLAKE_SPARK_ENGINE": "local", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(ROOT / "tests/integration/killed_run.py"), what, name, BATCH]
    cmd += ["--kill-at", kill_at] if kill_at else []
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          start_new_session=True)  # fmt: skip


def _killed(home: Path, what: str, name: str, point: str) -> None:
    run = _run(home, what, name, point)
    assert run.returncode == -9, f"not killed at {point} (exit {run.returncode}):\n{run.stderr[-3000:]}"
    assert (home / "killed_at").read_text().startswith(point)  # the hook, not luck, chose the moment


def _ok(run: subprocess.CompletedProcess) -> None:
    assert run.returncode == 0, run.stderr[-3000:]


def _rows(folder: Path, where: dict[str, str] | None = None):
    """The table's rows as delta-rs reads it (its latest version), filtered on equal columns."""
    rows = DeltaTable(str(folder)).to_pyarrow_table()
    for column, value in (where or {}).items():
        rows = rows.filter(pc.equal(rows[column], value))
    return rows


def _versions(folder: Path) -> int:
    return DeltaTable(str(folder)).version() if (folder / "_delta_log").is_dir() else -1


def _reconciles(home: Path, delivery: ProvinceDelivery) -> None:
    layers, batch = feed_tables(HOUSEHOLD), {"_batch_id": BATCH}
    delivered = delivery.rows[HOUSEHOLD_FEED]
    bronze = _rows(_table(home, layers.bronze), batch)
    silver = _rows(_table(home, layers.silver), batch)
    quarantine = _rows(_table(home, layers.quarantine), batch | {"_feed": HOUSEHOLD.key})
    expected_bad = sum(1 for d in delivery.quarantine if d["feed"] == HOUSEHOLD.key)
    assert bronze.num_rows == delivered  # every delivered row, once
    assert (silver.num_rows, quarantine.num_rows) == (delivered - expected_bad, expected_bad)
    gold = _rows(_table(home, Table(GOLD, HOUSEHOLD.target.table)))
    keys = Counter(zip(*(gold[k].to_pylist() for k in HOUSEHOLD.primary_key), strict=True))
    assert max(keys.values()) == 1 and len(keys) == silver.num_rows  # the golden records, once each
    logged = _rows(_table(home, Table(GOVERNANCE, "batch_log")), {"feed": HOUSEHOLD.key, "batch_id": BATCH})
    done = {s for s, st in zip(logged["stage"].to_pylist(), logged["status"].to_pylist(), strict=True)
            if st in ("ok", "skipped")}  # fmt: skip
    assert done >= STAGES_OK, logged.to_pylist()


def _case(tmp_path: Path, delivery: ProvinceDelivery, table: Table) -> None:
    home = _home(tmp_path, delivery)
    folder = _table(home, table)
    _killed(home, "feed", HOUSEHOLD.key, f"data:{folder}")
    assert _versions(folder) <= 0  # its write never committed: at most the empty table it was created as
    _ok(_run(home, "feed", HOUSEHOLD.key))
    _reconciles(home, delivery)


@pytest.mark.faults
def test_a_run_killed_during_the_gold_merge_reruns_to_the_same_golden_records(tmp_path, delivery):
    _case(tmp_path, delivery, Table(GOLD, HOUSEHOLD.target.table))


@pytest.mark.faults
@pytest.mark.parametrize("layer", ["bronze", "quarantine"])  # quarantine: silver has just committed
def test_a_run_killed_while_a_layer_is_written_reruns_whole(tmp_path, delivery, layer):
    _case(tmp_path, delivery, getattr(feed_tables(HOUSEHOLD), layer))


def test_a_run_killed_while_appending_to_the_batch_log_reruns_whole(tmp_path, delivery):
    home = _home(tmp_path, delivery)
    folder = _table(home, Table(GOVERNANCE, "batch_log"))
    _killed(home, "feed", HOUSEHOLD.key, f"data:{folder}")
    assert _versions(folder) <= 0  # the first append (preflight and bronze) never committed
    _ok(_run(home, "feed", HOUSEHOLD.key))
    _reconciles(home, delivery)


@pytest.mark.faults
def test_a_library_build_killed_during_its_scd2_merge_rebuilds_one_current_row_per_key(tmp_path, delivery):
    home = _home(tmp_path, delivery)
    _ok(_run(home, "feed", DIVISIONS.key))
    library = _table(home, Table(GOLD, "spatial_base"))
    _killed(home, "library", "spatial_base", f"data:{library}")
    assert _versions(library) <= 0
    _ok(_run(home, "library", "spatial_base"))
    current = _rows(library, None)
    current = current.filter(current["_is_current"])
    divisions = _rows(_table(home, Table(GOLD, DIVISIONS.target.table)))
    assert Counter(current["admin_code"].to_pylist()) == Counter(divisions["admin_code"].to_pylist())
