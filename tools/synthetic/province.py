"""The synthetic province: every department feed of one delivery day, consistent with each other.

The same residents (people.py) and legal persons (enterprises.py) appear across the feeds. Rows are built
clean, then defects are injected at known counts and written to one defect manifest:

* quarantine defects per feed (BAD_CHECK_DIGIT, UNKNOWN_ADMIN_CODE, MISSING_FIELD, DUPLICATE_KEY), each with
  the feed, file line and the reason silver.quarantine must give;
* cross-department conflicts: for every (attribute, verifying feed) a library contract declares, a few
  verifying records carry a value different from the authoritative one (kind CONFLICT, or STALE_RECORD
  where the verifying department still holds an outdated value); they must appear in
  governance.verification_conflict exactly;
* schema drift: a feed whose contract keeps undeclared columns gets one added column.

Files follow each contract: CSV (UTF-8 or GBK, Chinese or English headers), JSON Lines or Parquet.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.contracts import Column, FeedContract, load_contracts
from schemas.divisions import by_code, current_counties
from schemas.libraries import GoldenLibrary, load_libraries
from tools.synthetic.enterprises import LegalPerson, LegalPersonFactory
from tools.synthetic.household import UNKNOWN_CODES, _break_check_digit, population, relocate
from tools.synthetic.people import HUBEI, TODAY, Person, PersonFactory

Row = dict[str, str]
DRIFT_COLUMN = ("缴费基数", lambda r: str(r.randrange(3000, 30000)))  # added by HR & SS, not in the contract
BASINS = ("长江干流", "汉江", "清江", "府澴河", "陆水", "举水", "丹江口库区")
CERT_TYPES = [  # type_code, name, issuing department, holder type
    ("C001", "营业执照", "市场监管局", "法人"),
    ("C002", "事业单位法人证书", "编办", "法人"),
    ("C003", "社会团体法人登记证书", "民政厅", "法人"),
    ("C101", "结婚证", "民政厅", "自然人"),
    ("C102", "居民户口簿", "公安厅", "自然人"),
    ("C103", "毕业证书", "教育厅", "自然人"),
]
SUBJECT_TYPE = {
    "enterprise": "企业",
    "individual": "个体工商户",
    "institution": "事业单位",
    "social_org": "社会组织",
}
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass
class ProvinceDelivery:
    batch_id: str
    landing: Path
    manifest_path: Path
    rows: dict[str, int]  # feed → data rows written
    quarantine: list[dict[str, Any]] = field(default_factory=list)  # feed, line, reason
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    drift: list[dict[str, str]] = field(default_factory=list)


def _d(day: dt.date) -> str:
    return day.isoformat()


def _household_row(p: Person) -> Row:
    return {
        "resident_id": p.resident_id,
        "name": p.name,
        "gender": p.gender,
        "birth_date": _d(p.birth_date),
        "ethnicity": p.ethnicity,
        "admin_code": p.admin_code,
        "address": p.address,
        "phone": p.phone,
        "registered_on": _d(p.registered_on),
    }


def _age(p: Person) -> int:
    return (TODAY - p.birth_date).days // 365


def build_rows(
    seed: int, persons: int, enterprises: int, changes: float = 0.0, day: dt.date | None = None
) -> tuple[dict[str, list[Row]], dict[str, list[str]]]:
    """Clean rows of every feed, by `<department>/<feed>`, values as delivered text (ISO dates), and the
    changes since day 1 by kind (see `day2_changes`, delivered on `day`; none when `changes` is 0)."""
    r = random.Random(f"{seed}:province")
    day1 = population(seed, persons)
    people = relocate(seed, day1, changes) if changes else day1
    counties = current_counties(HUBEI)
    adults = [p.resident_id for p in people if _age(p) >= 22]
    lp_factory = LegalPersonFactory(seed, counties, adults)
    kinds = r.choices(
        ["enterprise", "individual", "institution", "social_org"], [75, 10, 8, 7], k=enterprises
    )
    lps = [lp_factory.legal_person(k, TODAY) for k in kinds]
    addr = PersonFactory(seed + 7)
    rows: dict[str, list[Row]] = {}

    rows["public_security/household_register"] = [_household_row(p) for p in people]
    marital: dict[str, str] = {}
    marriage = []
    for p in people:
        if _age(p) >= 20 and r.random() < 0.8:
            status = r.choices(["10", "20", "30", "40"], [30, 55, 5, 10])[0]
            marital[p.resident_id] = status
            reg = p.birth_date + dt.timedelta(days=365 * 22 + r.randrange(3000))
            marriage.append(
                {
                    "resident_id": p.resident_id,
                    "name": p.name,
                    "marital_status": status,
                    "registered_on": _d(min(reg, TODAY)),
                }
            )
    rows["civil_affairs/marriage_register"] = marriage
    permit = []
    for p in people:
        if r.random() < 0.25:
            county = r.choice(counties)
            permit.append(
                {
                    "resident_id": p.resident_id,
                    "name": p.name,
                    "marital_status": marital.get(p.resident_id, ""),
                    "residence_code": county.code,
                    "residence_address": addr.address(county),
                    "issued_on": _d(TODAY - dt.timedelta(days=r.randrange(2000))),
                }
            )
    rows["public_security/residence_permit"] = permit
    levels = [(12, "小学"), (15, "初中"), (18, "高中"), (22, "本科"), (25, "研究生")]
    rows["education/student_register"] = [
        {
            "resident_id": p.resident_id,
            "name": p.name,
            "school": f"{by_code()[p.admin_code].name}第{r.randint(1, 9)}学校",
            "education_level": next(lv for age, lv in levels if _age(p) < age),
            "enrolled_on": _d(TODAY - dt.timedelta(days=r.randrange(1, 1500))),
        }
        for p in people
        if 6 <= _age(p) < 25 and r.random() < 0.9
    ]
    rows["health/health_record"] = [
        {
            "resident_id": p.resident_id,
            "name": p.name,
            "birth_date": _d(p.birth_date),
            "blood_type": r.choice(["A", "B", "AB", "O"]),
            "doctor_team": f"家庭医生团队{r.randint(1, 99):02d}",
        }
        for p in people
        if r.random() < 0.6
    ]
    employers = [lp.credit_code for lp in lps if lp.kind == "enterprise"] or [""]
    income, insurance = [], []
    for p in people:
        if 18 <= _age(p) <= 60 and r.random() < 0.6:
            employer = r.choice(employers)
            if r.random() < 0.8:
                income.append(
                    {
                        "resident_id": p.resident_id,
                        "name": p.name,
                        "employer_credit_code": employer,
                        "annual_income": str(r.randrange(30_000, 600_000)),
                    }
                )
            if r.random() < 0.9:
                insurance.append(
                    {
                        "resident_id": p.resident_id,
                        "name": p.name,
                        "employer_credit_code": employer,
                        "insurance_type": "企业职工基本养老保险",
                        "insured_status": r.choices(["参保缴费", "暂停缴费", "终止参保"], [90, 7, 3])[0],
                        "started_on": _d(TODAY - dt.timedelta(days=r.randrange(30, 9000))),
                    }
                )
    rows["taxation/individual_income"] = income
    rows["hrss/social_insurance"] = insurance
    _legal_person_rows(r, lps, rows)
    _spatial_rows(r, counties, rows)
    _credit_and_certificates(r, people, lps, marital, rows)
    later = day or TODAY + dt.timedelta(days=1)
    changed = day2_changes(seed, changes, day1, people, rows, later) if changes else {}
    return rows, changed


def day2_changes(
    seed: int,
    share: float,
    day1: list[Person],
    people: list[Person],
    rows: dict[str, list[Row]],
    day: dt.date,
) -> dict[str, list[str]]:
    """A later day's delivery: `share` of residents moved (`day1` → `people`), about a quarter of that
    share of newborns registered, `share` of operating market entities deregistered (注销, in Market
    Regulation and Taxation alike) and `share` of valid certificates revoked (注销), as delivered on `day`.
    Returns the changed keys by kind."""
    r = random.Random(f"{seed}:day2:{share}")
    changed = {"moved": [b.resident_id for a, b in zip(day1, people, strict=True) if a != b]}
    factory = PersonFactory(seed + 2)
    factory.avoid({p.resident_id for p in people})
    babies = [
        factory.newborn(day - dt.timedelta(days=r.randrange(1, 30)), day)
        for _ in range(max(1, round(len(people) * share / 4)))
    ]
    rows["public_security/household_register"] += [_household_row(p) for p in babies]
    changed["born"] = [p.resident_id for p in babies]
    market = rows["market_regulation/enterprise_register"]
    operating = [row for row in market if row["status"] == "存续"]
    closing = r.sample(operating, min(len(operating), max(1, round(len(operating) * share))))
    for row in closing:
        row["status"] = "注销"
    changed["deregistered"] = [row["credit_code"] for row in closing]
    gone = set(changed["deregistered"])
    for row in rows["taxation/taxpayer_register"]:
        if row["credit_code"] in gone:
            row["tax_status"] = "注销"
    valid = [row for row in rows["gov_services/certificate"] if row["status"] == "有效"]
    revoked = r.sample(valid, min(len(valid), max(1, round(len(valid) * share))))
    for row in revoked:
        row["status"] = "注销"
    changed["revoked"] = [row["certificate_no"] for row in revoked]
    return changed


def _legal_person_rows(r: random.Random, lps: list[LegalPerson], rows: dict[str, list[Row]]) -> None:
    market = [lp for lp in lps if lp.kind in ("enterprise", "individual")]
    status = {lp.credit_code: r.choices(["存续", "注销", "吊销"], [94, 5, 1])[0] for lp in market}
    rows["market_regulation/enterprise_register"] = [
        {
            "credit_code": lp.credit_code,
            "name": lp.name,
            "entity_type": "企业" if lp.kind == "enterprise" else "个体工商户",
            "legal_rep_id": lp.legal_rep_id,
            "registered_capital": str(lp.registered_capital) if lp.kind == "enterprise" else "",
            "admin_code": lp.admin_code,
            "address": f"湖北省{by_code()[lp.admin_code].name}{r.randint(1, 999)}号",
            "established_on": _d(lp.established_on),
            "status": status[lp.credit_code],
        }
        for lp in market
    ]
    rows["taxation/taxpayer_register"] = [
        {
            "credit_code": lp.credit_code,
            "name": lp.name,
            "registered_capital": str(lp.registered_capital) if lp.kind == "enterprise" else "",
            "taxpayer_type": r.choice(["一般纳税人", "小规模纳税人"]),
            "tax_status": "注销" if status[lp.credit_code] == "注销" else "正常",
        }
        for lp in market
    ]
    rows["staffing/public_institution"] = [
        {
            "credit_code": lp.credit_code,
            "name": lp.name,
            "sponsor": f"{by_code()[lp.admin_code].name}人民政府",
            "admin_code": lp.admin_code,
            "established_on": _d(lp.established_on),
        }
        for lp in lps
        if lp.kind == "institution"
    ]
    rows["civil_affairs/social_organization"] = [
        {
            "credit_code": lp.credit_code,
            "name": lp.name,
            "org_type": r.choice(["社会团体", "民办非企业单位", "基金会"]),
            "admin_code": lp.admin_code,
            "established_on": _d(lp.established_on),
        }
        for lp in lps
        if lp.kind == "social_org"
    ]
    firms = [lp for lp in lps if lp.kind == "enterprise"]
    rows["statistics/enterprise_survey"] = [
        {
            "credit_code": lp.credit_code,
            "industry_code": f"{r.choice('ACEFGIKLM')}{r.randint(1, 89):02d}",
            "employees": str(r.randint(1, 2000)),
            "revenue": str(r.randint(10, 500_000)),
        }
        for lp in firms
        if r.random() < 0.6
    ]
    seal_types = ("法定名称章", "财务专用章", "发票专用章", "合同专用章")
    seals = []
    for lp in lps:
        if lp.kind == "individual" or r.random() >= 0.7:
            continue
        for seal_type in seal_types[: r.randint(1, 4)]:
            seals.append(
                {
                    "seal_no": f"42{len(seals) + 1:011d}",
                    "credit_code": lp.credit_code,
                    "seal_type": seal_type,
                    "engraver": f"{by_code()[lp.admin_code].name}公安局备案刻章点{r.randint(1, 9)}",
                    "filed_on": _d(max(lp.established_on, TODAY - dt.timedelta(days=r.randrange(1, 3000)))),
                }
            )
    rows["public_security/seal_registration"] = seals
    rows["justice/legal_service_org"] = [
        {
            "credit_code": lp.credit_code,
            "name": lp.name,
            "license_no": f"3142{r.randrange(10**10):010d}",
            "org_type": r.choice(["律师事务所", "公证机构", "司法鉴定机构"]),
        }
        for lp in firms
        if r.random() < 0.05
    ]


def _coordinates(code: str) -> tuple[str, str]:
    """Seat coordinates inside Hubei's bounding box, derived from the code (synthetic, deterministic)."""
    h = hashlib.sha256(code.encode()).digest()
    lon = 108.4 + (int.from_bytes(h[:4]) / 2**32) * 7.6
    lat = 29.1 + (int.from_bytes(h[4:8]) / 2**32) * 4.1
    return f"{lon:.5f}", f"{lat:.5f}"


def _spatial_rows(r: random.Random, counties: list, rows: dict[str, list[Row]]) -> None:
    divisions = [d for d in by_code().values() if d.code.startswith(HUBEI) and d.current]
    divisions = [d for d in divisions if d.level != "county"] + counties
    out = []
    for d in sorted({d.code: d for d in divisions}.values(), key=lambda d: d.code):
        parent = "" if d.level == "province" else ("420000" if d.level == "prefecture" else d.prefecture_code)
        if parent and parent not in by_code():
            parent = "420000"
        lon, lat = _coordinates(d.code)
        out.append(
            {
                "admin_code": d.code,
                "name": d.name,
                "level": d.level,
                "parent_code": parent,
                "longitude": lon,
                "latitude": lat,
            }
        )
    rows["natural_resources/admin_division"] = out
    stations, quality = [], []
    for i, county in enumerate(r.sample(counties, min(len(counties), 40))):
        for kind in ("地表水", "地表水", "空气"):
            sid = f"HB{len(stations) + 1:05d}"
            lon, lat = _coordinates(county.code + sid)
            stations.append(
                {
                    "station_id": sid,
                    "name": f"{county.name}{kind}监测站{i + 1}",
                    "kind": kind,
                    "basin": r.choice(BASINS),
                    "admin_code": county.code,
                    "longitude": lon,
                    "latitude": lat,
                }
            )
            if kind == "地表水":
                for day in range(14):
                    quality.append(
                        {
                            "station_id": sid,
                            "measured_on": _d(TODAY - dt.timedelta(days=day)),
                            "water_grade": r.choices(
                                ["I", "II", "III", "IV", "V", "劣V"], [5, 40, 35, 12, 5, 3]
                            )[0],
                            "cod": f"{r.uniform(5, 40):.2f}",
                            "ammonia_n": f"{r.uniform(0.05, 2.5):.3f}",
                        }
                    )
    rows["ecology/monitoring_station"] = stations
    rows["water/water_quality"] = quality


def _credit_and_certificates(
    r: random.Random,
    people: list[Person],
    lps: list[LegalPerson],
    marital: dict[str, str],
    rows: dict[str, list[Row]],
) -> None:
    credit = []
    subjects = [(SUBJECT_TYPE[lp.kind], lp.credit_code) for lp in lps if r.random() < 0.3]
    subjects += [("自然人", p.resident_id) for p in people if r.random() < 0.01]
    for subject_type, key in subjects:
        kind = r.choices(["行政许可", "行政处罚", "守信红名单", "失信黑名单"], [60, 25, 10, 5])[0]
        credit.append(
            {
                "record_id": f"CR{len(credit) + 1:09d}",
                "subject_type": subject_type,
                "subject_key": key,
                "record_kind": kind,
                "issuing_department": r.choice(["市场监管局", "生态环境厅", "税务局", "人社厅"]),
                "decided_on": _d(TODAY - dt.timedelta(days=r.randrange(1, 1500))),
                "content": f"{kind}决定",
            }
        )
    rows["ndrc/credit_record"] = credit
    rows["gov_services/certificate_type"] = [
        {"type_code": c, "name": n, "issuing_department": d, "holder_type": h} for c, n, d, h in CERT_TYPES
    ]
    type_of = {"enterprise": "C001", "individual": "C001", "institution": "C002", "social_org": "C003"}
    certs = []
    for lp in lps:
        certs.append((type_of[lp.kind], lp.credit_code, lp.name, lp.established_on))
    for p in people:
        if marital.get(p.resident_id) == "20":
            certs.append(("C101", p.resident_id, p.name, TODAY - dt.timedelta(days=r.randrange(100, 9000))))
    issuer = {c: d for c, _, d, _ in CERT_TYPES}
    rows["gov_services/certificate"] = [
        {
            "certificate_no": f"ZZ{i + 1:010d}",
            "type_code": t,
            "holder_key": key,
            "holder_name": name,
            "issuing_department": issuer[t],
            "issued_on": _d(issued),
            "expires_on": "",
            "status": r.choices(["有效", "注销", "过期"], [94, 4, 2])[0],
        }
        for i, (t, key, name, issued) in enumerate(certs)
    ]
    materials = []
    for cert in rows["gov_services/certificate"]:
        if r.random() < 0.2:
            reusable = r.random() < 0.7
            materials.append(
                {
                    "material_id": f"CL{len(materials) + 1:09d}",
                    "holder_key": cert["holder_key"],
                    "material_type": "证照复印件" if reusable else "申请表",
                    "reusable": "true" if reusable else "false",
                    "certificate_type": cert["type_code"] if reusable else "",
                    "submitted_on": _d(TODAY - dt.timedelta(days=r.randrange(1, 700))),
                }
            )
    rows["gov_services/material"] = materials


# --- defects -------------------------------------------------------------------------------------------


def _other_value(value: str, col: Column, r: random.Random) -> str:
    if col.allowed:
        return r.choice([a for a in col.allowed if a != value])
    if col.type in ("decimal", "int", "long", "double"):
        return str(int(float(value)) * 2 + 1)
    last = value[-1]
    return value[:-1] + ("伟" if last != "伟" else "芳")


def inject_conflicts(
    rows: dict[str, list[Row]],
    feeds: dict[str, FeedContract],
    libraries: list[GoldenLibrary],
    rate: float,
    r: random.Random,
) -> tuple[list[dict[str, Any]], set[tuple[str, str]]]:
    """Verifying records that disagree with the authoritative value, per declared (attribute, verifier)."""
    conflicts: list[dict[str, Any]] = []
    protected: set[tuple[str, str]] = set()  # (library key column, key): no quarantine defect touches them
    for lib in libraries:
        for attr in lib.attributes:
            authority: dict[str, tuple[str, str]] = {}
            for ref in reversed(attr.authority):  # the first listed feed wins
                for row in rows.get(ref, []):
                    if row.get(attr.name):
                        authority[row[lib.key]] = (ref, row[attr.name])
            for ref in attr.verify:
                candidates = [
                    row
                    for row in rows.get(ref, [])
                    if row.get(attr.name)
                    and row[lib.key] in authority
                    and (lib.key, row[lib.key]) not in protected
                ]
                n = min(len(candidates), max(1, round(len(candidates) * rate))) if candidates and rate else 0
                col = feeds[ref].column(attr.name)
                for i, row in enumerate(r.sample(candidates, n)):
                    auth_ref, auth_value = authority[row[lib.key]]
                    other = (
                        "10" if attr.name == "marital_status" and auth_value != "10" and i % 3 == 2 else None
                    )
                    row[attr.name] = other or _other_value(auth_value, col, r)
                    protected.add((lib.key, row[lib.key]))
                    conflicts.append(
                        {
                            "library": lib.library,
                            "subject_key": row[lib.key],
                            "attribute": attr.name,
                            "authority_feed": auth_ref,
                            "authority_department": feeds[auth_ref].department,
                            "authority_value": auth_value,
                            "other_feed": ref,
                            "other_department": feeds[ref].department,
                            "other_value": row[attr.name],
                            "kind": "STALE_RECORD" if i % 3 == 2 else "CONFLICT",
                        }
                    )
    return conflicts, protected


def _first_line(contract: FeedContract) -> int:
    return 2 if contract.format == "csv" and contract.header else 1


def _break_credit_code(code: str) -> str:
    return code[:17] + USCC_CHARS[(USCC_CHARS.index(code[17]) + 1) % 31]


def inject_defects(
    contract: FeedContract, rows: list[Row], rate: float, protected: set[tuple[str, str]], r: random.Random
) -> list[dict[str, Any]]:
    """Quarantine defects at known counts; returns (line, reason) for each. Duplicates are appended."""
    if len(rows) < 20 or not rate:
        return []
    key = contract.primary_key[0]
    free = [i for i, row in enumerate(rows) if (key, row[key]) not in protected]
    per_kind = max(1, round(len(rows) * rate))
    r.shuffle(free)
    key_col = contract.column(key)
    division = next((c for c in contract.columns if "admin_division" in c.checks), None)
    mandatory = next(
        (
            c
            for c in contract.columns
            if not c.nullable
            and not c.checks
            and c.type == "string"
            and not c.allowed
            and not c.pattern
            and c.name not in contract.primary_key
        ),
        None,
    )
    plan: list[tuple[str, Any]] = []
    if "resident_id" in key_col.checks:
        plan.append(("BAD_CHECK_DIGIT", lambda row: row.__setitem__(key, _break_check_digit(row[key]))))
    if "credit_code" in key_col.checks:
        plan.append(("BAD_CHECK_DIGIT", lambda row: row.__setitem__(key, _break_credit_code(row[key]))))
    if division:
        plan.append(
            ("UNKNOWN_ADMIN_CODE", lambda row: row.__setitem__(division.name, r.choice(UNKNOWN_CODES)))
        )
    if mandatory:
        plan.append(("MISSING_FIELD", lambda row: row.__setitem__(mandatory.name, "")))
    found, first = [], _first_line(contract)
    for reason, breaks in plan:
        for i in free[:per_kind]:
            breaks(rows[i])
            found.append({"feed": contract.key, "line": first + i, "reason": reason})
        free = free[per_kind:]
    for i in free[:per_kind]:
        rows.append(dict(rows[i]))
        found.append({"feed": contract.key, "line": first + len(rows) - 1, "reason": "DUPLICATE_KEY"})
    return found


# --- files ---------------------------------------------------------------------------------------------


def _as_delivered(value: str, col: Column) -> str:
    if value and col.type == "date" and col.format == "yyyyMMdd":
        return value.replace("-", "")
    return value


def write_feed(
    contract: FeedContract, rows: list[Row], landing: Path, batch_id: str, r: random.Random
) -> tuple[Path, list[dict[str, str]]]:
    """Writes the delivery folder of one feed (+ `_delivery.json`); returns the file and any drift."""
    directory = landing / contract.department / contract.feed / batch_id
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{contract.feed}_{batch_id}.{contract.format}"
    headers = [c.header for c in contract.columns]
    records = [[_as_delivered(row.get(c.name, ""), c) for c in contract.columns] for row in rows]
    drift = []
    if contract.undeclared_columns == "keep":
        headers.append(DRIFT_COLUMN[0])
        for rec in records:
            rec.append(DRIFT_COLUMN[1](r))
        drift.append({"feed": contract.key, "column": DRIFT_COLUMN[0]})
    if contract.format == "csv":
        with path.open("w", encoding=contract.encoding, newline="") as fh:
            writer = csv.writer(fh, delimiter=contract.delimiter, lineterminator="\n")
            if contract.header:
                writer.writerow(headers)
            writer.writerows(records)
    elif contract.format == "jsonl":
        with path.open("w", encoding=contract.encoding) as fh:
            for rec in records:
                fh.write(
                    json.dumps({h: v or None for h, v in zip(headers, rec, strict=True)}, ensure_ascii=False)
                )
                fh.write("\n")
    else:
        columns = list(zip(*records, strict=True)) if records else [() for _ in headers]
        pq.write_table(
            pa.table(
                {
                    h: pa.array([v or None for v in col], pa.string())
                    for h, col in zip(headers, columns, strict=True)
                }
            ),
            path,
        )
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    manifest = {"batch_id": batch_id, "files": [{"name": path.name, "sha256": digest, "rows": len(rows)}]}
    (directory / "_delivery.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return path, drift


def delivery_date(batch_id: str) -> dt.date:
    """The day of a batch named yyyyMMdd…; the day after the province's day 1 otherwise."""
    try:
        return dt.datetime.strptime(batch_id[:8], "%Y%m%d").date()
    except ValueError:
        return TODAY + dt.timedelta(days=1)


def manifest_path(landing: Path, batch_id: str) -> Path:
    return landing / f"_province_{batch_id}_defects.json"


def generate(
    landing: Path,
    batch_id: str,
    seed: int = 42,
    persons: int = 2000,
    enterprises: int = 200,
    defect_rate: float = 0.002,
    conflict_rate: float = 0.01,
    changes: float = 0.0,
    feeds_only: list[str] | None = None,
) -> ProvinceDelivery:
    """Writes the delivery of every feed (or only `feeds_only`) and the defect manifest. `changes` > 0
    makes a later day's delivery of the same province (moves, births, deregistrations, revocations)."""
    feeds = load_contracts()
    libraries = [lib for lib in load_libraries().values() if isinstance(lib, GoldenLibrary)]
    rows, changed = build_rows(seed, persons, enterprises, changes, delivery_date(batch_id))
    r = random.Random(f"{seed}:defects:{batch_id}")
    conflicts, protected = inject_conflicts(rows, feeds, libraries, conflict_rate, r)
    if feeds_only is not None:
        conflicts = [c for c in conflicts if c["other_feed"].replace("__", "/") in feeds_only]
    out = ProvinceDelivery(batch_id, landing, manifest_path(landing, batch_id), {}, conflicts=conflicts)
    for ref, feed_rows in sorted(rows.items()):
        if feeds_only is not None and ref not in feeds_only:
            continue
        contract = feeds[ref]
        out.quarantine += inject_defects(contract, feed_rows, defect_rate, protected, r)
        _, drift = write_feed(contract, feed_rows, landing, batch_id, r)
        out.drift += drift
        out.rows[ref] = len(feed_rows)
    counts: dict[str, int] = {}
    for q in out.quarantine:
        counts[q["reason"]] = counts.get(q["reason"], 0) + 1
    for c in conflicts:
        counts[c["kind"]] = counts.get(c["kind"], 0) + 1
    out.manifest_path.write_text(
        json.dumps(
            {
                "batch_id": batch_id,
                "seed": seed,
                "persons": persons,
                "enterprises": enterprises,
                "rows": out.rows,
                "counts": counts,
                "quarantine": out.quarantine,
                "conflicts": conflicts,
                "schema_drift": out.drift,
                "changes": changed,
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return out
