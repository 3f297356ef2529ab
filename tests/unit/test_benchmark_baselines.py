"""The hand-written baselines of benchmarks/layers.py check what our refine checks: their hard-coded feed
matches the household contract and the code standards, their reasons come in refine's order, and the
polars baseline quarantines a crafted delivery with one row per kind of problem as refine would."""

from __future__ import annotations

import csv
from pathlib import Path

from benchmarks.baselines import household as H
from benchmarks.baselines import polars_delta
from jobs.refine import problem_checks
from schemas import checks, codes
from schemas.contracts import get_contract
from tools.synthetic.household import population, write_delivery

CONTRACT = get_contract(H.FEED)
BATCH = "20261123"


def test_the_baselines_feed_is_the_contract():
    cols = CONTRACT.columns
    assert [(c.name, c.header, c.type) for c in cols] == list(H.COLUMNS)
    assert tuple(c.name for c in cols if not c.nullable) == H.REQUIRED
    assert all(c.format == "yyyyMMdd" for c in cols if c.name in H.DATES)
    assert tuple(c.name for c in cols if checks.UPPER_CASE_KINDS & set(c.checks)) == H.UPPER
    assert CONTRACT.column("gender").allowed == list(H.GENDERS)
    assert CONTRACT.column("phone").pattern == H.PHONE
    assert [p for c in cols for p in c.checks] == ["resident_id", "admin_division"]
    assert list(CONTRACT.primary_key) == [H.KEY]


def test_the_baselines_use_gb11643_as_schemas_codes_does():
    assert codes.RESIDENT_ID_FORMAT == H.ID_FORMAT
    assert list(H.ID_WEIGHTS) == codes._WEIGHTS
    assert codes._CHECK_CHARS == H.ID_CHECK_CHARS


def test_the_baselines_report_problems_in_refines_order():
    assert [k.problem for k in problem_checks(CONTRACT)] == list(H.PROBLEMS)
    assert checks.key_check(CONTRACT).problem == H.DUPLICATE


def _check_char(first17: str) -> str:
    return H.ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, H.ID_WEIGHTS, strict=True)) % 11]


def crafted_delivery(landing: Path) -> tuple[Path, dict[str, int]]:
    """A clean delivery with one row broken per kind of problem (and two harmless quirks); its CSV and
    the reasons refine would quarantine them for. `_delivery.json` is removed (the rows changed)."""
    d = write_delivery(CONTRACT, landing, BATCH, population(5, 200), defect_rate=0.0, seed=5)
    path = d.files[0]
    with path.open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    at = {name: i for i, name in enumerate(H.NAMES)}

    def edit(i: int, **values: str) -> None:
        for name, value in values.items():
            rows[i][at[name]] = value

    rid = rows[1][at["resident_id"]]
    other_region = "999999" + rid[6:17]
    edit(1, resident_id=rid[:17] + "Y")  # BAD_FORMAT
    edit(2, resident_id=other_region + _check_char(other_region))  # UNKNOWN_REGION
    edit(3, gender="3")  # NOT_ALLOWED (before the ID's gender mismatch)
    edit(4, birth_date="19991340")  # BAD_TYPE
    edit(5, phone="12345")  # BAD_FORMAT
    edit(6, registered_on="2026-11-01")  # BAD_TYPE
    edit(7, gender="2" if rows[7][at["gender"]] == "1" else "1")  # ID_GENDER_MISMATCH
    born = rows[8][at["birth_date"]]
    edit(8, birth_date=born[:6] + ("02" if born[6:] == "01" else "01"))  # ID_BIRTH_MISMATCH
    edit(9, address="")  # MISSING_FIELD
    edit(10, name=f"  {rows[10][at['name']]} ")  # trimmed: fine
    x = next(i for i, r in enumerate(rows) if i > 10 and r[at["resident_id"]].endswith("X"))
    edit(x, resident_id=rows[x][at["resident_id"]].lower())  # upper-cased: fine
    rows.append(list(rows[12]))  # DUPLICATE_KEY
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *rows])
    (d.directory / "_delivery.json").unlink()
    reasons = {"BAD_FORMAT": 2, "UNKNOWN_REGION": 1, "NOT_ALLOWED": 1, "BAD_TYPE": 2}
    reasons |= {"ID_GENDER_MISMATCH": 1, "ID_BIRTH_MISMATCH": 1, "MISSING_FIELD": 1, "DUPLICATE_KEY": 1}
    return path, reasons


def test_polars_baseline_quarantines_what_refine_would(tmp_path):
    path, reasons = crafted_delivery(tmp_path / "landing")
    out = polars_delta.run(path, "household.csv", tmp_path / "warehouse", BATCH)
    assert out["reasons"] == reasons
    assert out["gold_rows"] == 201 - sum(reasons.values())
