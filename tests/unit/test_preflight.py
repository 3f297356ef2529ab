import json

import pytest

from jobs.preflight import DeliveryRejected, check_delivery
from schemas.contracts import get_contract
from tools.synthetic.household import population, write_delivery

CONTRACT = get_contract("public_security/household_register")


def _delivery(tmp_path, **kw):
    return write_delivery(CONTRACT, tmp_path / "landing", "b1", population(1, 200), seed=1, **kw)


def test_good_delivery_passes_with_line_count_and_header_order(tmp_path):
    d = _delivery(tmp_path)
    [f] = check_delivery(CONTRACT, d.directory, tmp_path / "staging")
    assert f.lines == 1 + d.rows
    assert f.headers[0] == "resident_id"
    assert f.readable == f.path  # UTF-8 as the contract says: read in place


def test_wrong_encoding_is_rejected_naming_file_and_line(tmp_path):
    d = _delivery(tmp_path, encoding="gbk")
    with pytest.raises(DeliveryRejected) as err:
        check_delivery(CONTRACT, d.directory, tmp_path / "staging")
    message = str(err.value)
    assert d.files[0].name in message and "not valid utf-8 at line 1" in message


def test_missing_and_unexpected_fields_are_named(tmp_path):
    d = _delivery(tmp_path)
    path = d.files[0]
    text = path.read_text(encoding="utf-8").replace("联系电话", "手机号码", 1)
    path.write_text(text, encoding="utf-8")
    (d.directory / "_delivery.json").unlink()
    with pytest.raises(DeliveryRejected) as err:
        check_delivery(CONTRACT, d.directory, tmp_path / "staging")
    assert "missing field(s) 联系电话" in str(err.value)
    assert "unexpected field(s) 手机号码" in str(err.value)
    assert path.name in str(err.value)


def test_truncated_file_is_caught_by_the_delivery_manifest(tmp_path):
    d = _delivery(tmp_path)
    path = d.files[0]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-5]), encoding="utf-8")
    with pytest.raises(DeliveryRejected, match=r"differs from _delivery\.json"):
        check_delivery(CONTRACT, d.directory, tmp_path / "staging")
    manifest = json.loads((d.directory / "_delivery.json").read_text())
    manifest["files"][0].pop("sha256")
    (d.directory / "_delivery.json").write_text(json.dumps(manifest))
    with pytest.raises(DeliveryRejected, match=r"data rows, _delivery.json says"):
        check_delivery(CONTRACT, d.directory, tmp_path / "staging")


def test_declared_gbk_feed_is_decoded_to_a_utf8_copy(tmp_path):
    gbk = CONTRACT.model_copy(update={"encoding": "gbk"})
    d = write_delivery(gbk, tmp_path / "landing", "b1", population(1, 50), seed=1)
    [f] = check_delivery(gbk, d.directory, tmp_path / "staging")
    assert f.readable != f.path
    assert f.readable.read_text(encoding="utf-8") == f.path.read_text(encoding="gbk")
