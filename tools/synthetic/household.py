"""The Public Security (公安厅) household-register delivery, with deliberate defects at known counts.

Writes landing/public_security/household_register/<batch>/ with the CSV, a delivery manifest
(`_delivery.json`: file checksums and row counts) and a defect manifest (`_defects.json`: the line
of every injected defect and the reason the pipeline must quarantine it with).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from schemas.contracts import FeedContract
from tools.synthetic.people import Person, PersonFactory

DEFECT_KINDS = ("BAD_CHECK_DIGIT", "UNKNOWN_ADMIN_CODE", "DUPLICATE_KEY", "MISSING_FIELD")
UNKNOWN_CODES = ("429999", "428888", "420199")


@dataclass
class Delivery:
    directory: Path
    files: list[Path]
    rows: int
    defects: dict[str, list[int]] = field(default_factory=dict)  # reason → file lines


def _row(p: Person) -> dict[str, str]:
    return {
        "resident_id": p.resident_id,
        "name": p.name,
        "gender": p.gender,
        "birth_date": f"{p.birth_date:%Y%m%d}",
        "ethnicity": p.ethnicity,
        "admin_code": p.admin_code,
        "address": p.address,
        "phone": p.phone,
        "registered_on": f"{p.registered_on:%Y%m%d}",
    }


def _break_check_digit(rid: str) -> str:
    digits = "0123456789X"
    return rid[:17] + digits[(digits.index(rid[17]) + 1 + random.Random(rid).randrange(9)) % 11]


def population(seed: int, persons: int, moved_fraction: float = 0.0) -> list[Person]:
    """`persons` residents for `seed`; `moved_fraction` of them moved since (a later day's snapshot)."""
    factory = PersonFactory(seed)
    people = [factory.person() for _ in range(persons)]
    return relocate(seed, people, moved_fraction) if moved_fraction else people


def relocate(seed: int, people: list[Person], fraction: float) -> list[Person]:
    """The same residents with `fraction` of them moved to another county (chosen by `seed`)."""
    mover = PersonFactory(seed + 1)
    mover.rng = random.Random(f"{seed}:moves:{fraction}")
    chosen = set(mover.rng.sample(range(len(people)), round(len(people) * fraction)))
    return [mover.move(p) if i in chosen else p for i, p in enumerate(people)]


def write_delivery(
    contract: FeedContract,
    landing: Path,
    batch_id: str,
    people: list[Person],
    defect_rate: float = 0.001,
    encoding: str | None = None,
    seed: int = 0,
) -> Delivery:
    rng = random.Random(f"{seed}:defects:{batch_id}")
    rows = [_row(p) for p in people]
    per_kind = round(len(rows) * defect_rate)
    defects: dict[str, list[int]] = {k: [] for k in DEFECT_KINDS}
    victims = rng.sample(range(len(rows)), min(len(rows), 3 * per_kind))
    broken = {
        "BAD_CHECK_DIGIT": victims[:per_kind],
        "UNKNOWN_ADMIN_CODE": victims[per_kind : 2 * per_kind],
        "MISSING_FIELD": victims[2 * per_kind :],
    }
    for i in broken["BAD_CHECK_DIGIT"]:
        rows[i]["resident_id"] = _break_check_digit(rows[i]["resident_id"])
    for i in broken["UNKNOWN_ADMIN_CODE"]:
        rows[i]["admin_code"] = rng.choice(UNKNOWN_CODES)
    for i in broken["MISSING_FIELD"]:
        rows[i]["name"] = ""
    clean = sorted(set(range(len(rows))) - set(victims))
    duplicates = [dict(rows[i]) for i in rng.sample(clean, min(per_kind, len(clean)))]
    first_line = 2 if contract.header else 1  # line numbers in the file, header included
    for kind, indices in broken.items():
        defects[kind] = sorted(first_line + i for i in indices)
    defects["DUPLICATE_KEY"] = [first_line + len(rows) + j for j in range(len(duplicates))]
    rows += duplicates

    directory = landing / contract.department / contract.feed / batch_id
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{contract.feed}_{batch_id}.csv"
    enc = encoding or contract.encoding
    columns = contract.columns
    with path.open("w", encoding=enc, newline="") as fh:
        writer = csv.writer(fh, delimiter=contract.delimiter, lineterminator="\n")
        if contract.header:
            writer.writerow([c.header for c in columns])
        writer.writerows([r[c.name] for c in columns] for r in rows)
    manifest = {
        "batch_id": batch_id,
        "files": [{"name": path.name, "sha256": _sha256(path), "rows": len(rows)}],
    }
    (directory / "_delivery.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    (directory / "_defects.json").write_text(
        json.dumps(
            {"file": path.name, "counts": {k: len(v) for k, v in defects.items()}, "lines": defects}, indent=1
        )
    )
    return Delivery(directory, [path], len(rows), defects)


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
