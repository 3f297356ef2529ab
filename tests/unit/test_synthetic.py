import csv
import hashlib

from stdnum.cn import ric

from schemas.contracts import get_contract
from schemas.divisions import by_code, current_counties
from tools.synthetic.household import population, write_delivery

CONTRACT = get_contract("public_security/household_register")


def test_hubei_divisions_come_from_gbt2260():
    hubei = current_counties("42")
    assert len(hubei) > 100
    assert by_code()["420106"].name == "武昌区"
    assert by_code()["420203"].name == "西塞山区"  # renamed from 石灰窑区 in 2001
    assert not by_code()["420121"].current  # 汉阳县, abolished 1992


def test_people_have_valid_consistent_ids():
    people = population(seed=7, persons=3000)
    assert len({p.resident_id for p in people}) == 3000
    for p in people:
        assert ric.is_valid(p.resident_id), p
        assert ric.get_birth_date(p.resident_id) == p.birth_date
        assert (int(p.resident_id[16]) % 2 == 1) == (p.gender == "1")
        assert by_code()[p.admin_code].current


def test_same_seed_same_delivery_and_defects_at_known_lines(tmp_path):
    digests, deliveries = [], []
    for run in ("a", "b"):
        d = write_delivery(
            CONTRACT, tmp_path / run, "20261123", population(3, 2000), defect_rate=0.005, seed=3
        )
        digests.append(hashlib.sha256(d.files[0].read_bytes()).hexdigest())
        deliveries.append(d)
    assert digests[0] == digests[1]
    d = deliveries[0]
    assert {k: len(v) for k, v in d.defects.items()} == {
        "BAD_CHECK_DIGIT": 10,
        "UNKNOWN_ADMIN_CODE": 10,
        "DUPLICATE_KEY": 10,
        "MISSING_FIELD": 10,
    }
    with d.files[0].open(encoding="utf-8") as fh:
        lines = list(csv.reader(fh))
    assert lines[0][0] == "公民身份号码"
    assert len(lines) == 1 + 2000 + 10
    for line in d.defects["BAD_CHECK_DIGIT"]:
        assert not ric.is_valid(lines[line - 1][0])
    for line in d.defects["MISSING_FIELD"]:
        assert lines[line - 1][1] == ""
    for line in d.defects["DUPLICATE_KEY"]:
        assert lines[line - 1] in lines[1:2001]


def test_moves_change_address_and_code_only():
    day1 = population(5, 1000)
    day2 = population(5, 1000, moved_fraction=0.02)
    moved = [(a, b) for a, b in zip(day1, day2, strict=True) if a != b]
    assert len(moved) == 20
    for a, b in moved:
        assert a.resident_id == b.resident_id and a.name == b.name
        assert a.admin_code != b.admin_code and a.address != b.address
