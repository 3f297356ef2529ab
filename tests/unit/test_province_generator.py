import hashlib
import json

import pytest
import yaml
from stdnum.cn import ric, uscc

from schemas.contracts import ContractError, load_contracts
from schemas.libraries import load_library
from tools.synthetic.province import build_rows, generate


def _digests(root):
    return {p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.*")}


def test_same_seed_same_province_and_a_consistent_manifest(tmp_path):
    a = generate(tmp_path / "a", "20261123", seed=3, persons=600, enterprises=60)
    generate(tmp_path / "b", "20261123", seed=3, persons=600, enterprises=60)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    departments = {ref.split("/")[0] for ref in a.rows}
    assert len(a.rows) >= 20 and len(departments) >= 15
    manifest = json.loads(a.manifest_path.read_text(encoding="utf-8"))
    counts = {}
    for item in manifest["quarantine"] + [{"reason": c["kind"]} for c in manifest["conflicts"]]:
        counts[item["reason"]] = counts.get(item["reason"], 0) + 1
    assert manifest["counts"] == counts
    assert manifest["schema_drift"] == [{"feed": "hrss__social_insurance", "column": "缴费基数"}]
    assert {f.suffix for f in (tmp_path / "a").rglob("*_20261123.*")} == {".csv", ".jsonl", ".parquet"}
    gbk = next((tmp_path / "a" / "civil_affairs" / "marriage_register").rglob("*.csv"))
    assert gbk.read_bytes().decode("gbk").startswith("身份证号,姓名,婚姻状况")


def test_clean_rows_carry_valid_ids_and_the_same_people_across_feeds():
    rows, _ = build_rows(5, 500, 50)
    household = {r["resident_id"]: r for r in rows["public_security/household_register"]}
    assert all(ric.is_valid(k) for k in household)
    assert all(uscc.is_valid(r["credit_code"]) for r in rows["market_regulation/enterprise_register"])
    for feed in ("civil_affairs/marriage_register", "hrss/social_insurance", "health/health_record"):
        assert all(household[r["resident_id"]]["name"] == r["name"] for r in rows[feed])


def test_a_later_day_moves_registers_births_deregisters_and_revokes_about_the_share_asked():
    day1, none = build_rows(5, 800, 100)
    day2, changed = build_rows(5, 800, 100, changes=0.02)
    assert none == {}
    people1 = {r["resident_id"]: r for r in day1["public_security/household_register"]}
    people2 = {r["resident_id"]: r for r in day2["public_security/household_register"]}
    assert len(changed["moved"]) == 16
    assert {k for k in people1 if people1[k]["admin_code"] != people2[k]["admin_code"]} == set(
        changed["moved"]
    )
    assert set(people2) - set(people1) == set(changed["born"]) and len(changed["born"]) == 4
    assert all(ric.is_valid(k) and people2[k]["birth_date"] > "2026-10" for k in changed["born"])
    market1 = {r["credit_code"]: r["status"] for r in day1["market_regulation/enterprise_register"]}
    market2 = {r["credit_code"]: r["status"] for r in day2["market_regulation/enterprise_register"]}
    assert {k for k in market1 if market1[k] != market2[k]} == set(changed["deregistered"])
    assert {market1[k] + market2[k] for k in changed["deregistered"]} == {"存续注销"}
    certs1 = {r["certificate_no"]: r["status"] for r in day1["gov_services/certificate"]}
    certs2 = {r["certificate_no"]: r["status"] for r in day2["gov_services/certificate"]}
    assert {k for k in certs1 if certs1[k] != certs2[k]} == set(changed["revoked"])
    assert {certs1[k] + certs2[k] for k in changed["revoked"]} == {"有效注销"}
    assert day1["hrss/social_insurance"] == day2["hrss/social_insurance"]


def test_library_contract_errors_name_the_file_and_the_problem(tmp_path):
    path = tmp_path / "libraries" / "broken_base.yaml"
    path.parent.mkdir()
    path.write_text(
        yaml.safe_dump(
            {
                "library": "broken",
                "title": "t",
                "table": "broken_base",
                "key": "resident_id",
                "key_label": "k",
                "base": ["public_security/household_register"],
                "attributes": [
                    {"name": "salary", "label": "x", "authority": ["hrss/social_insurance"]},
                    {"name": "name", "label": "姓名", "authority": ["nowhere/feed"]},
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ContractError) as err:
        load_library(path, load_contracts())
    assert "broken_base.yaml" in str(err.value)
    assert "unknown feed 'nowhere/feed'" in str(err.value)
    assert "feed hrss/social_insurance has no column 'salary'" in str(err.value)
