"""Hostile deliveries are refused whole, naming the file and the field: malformed `_delivery.json`,
symbolic links anywhere in the batch folder, batch ids outside the contract's `batch_order`."""

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from govlake import pipeline
from jobs import batch_log
from jobs.preflight import DeliveryRejected, check_delivery
from schemas.contracts import BatchOrder, get_contract
from tools.synthetic.household import Delivery, population, write_delivery

CONTRACT = get_contract("public_security/household_register")


def _delivery(tmp_path: Path, batch: str = "b1", contract=CONTRACT) -> Delivery:
    return write_delivery(contract, tmp_path / "landing", batch, population(1, 20), seed=1)


def _manifest(d: Delivery) -> dict:
    return json.loads((d.directory / "_delivery.json").read_text())


def _rewrite(d: Delivery, manifest: object) -> Path:
    path = d.directory / "_delivery.json"
    path.write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    return path


def _refused(d: Delivery, contract=CONTRACT) -> str:
    with pytest.raises(DeliveryRejected) as err:
        check_delivery(contract, d.directory, d.directory.parent / "_staging")
    return str(err.value)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"rows": "x"}, "files.0.rows: Input should be a valid integer"),
        ({"rows": -1}, "files.0.rows: Input should be greater than or equal to 0"),
        ({"rows": 2.5}, "files.0.rows: Input should be a valid integer"),
        ({"sha256": "abc"}, "files.0.sha256: String should match pattern"),
        ({"name": "../../etc/passwd"}, "files.0.name: '../../etc/passwd' is not a plain file name"),
        ({"name": ".."}, "files.0.name: '..' is not a plain file name"),
        ({"size": 12}, "files.0.size: Extra inputs are not permitted"),
    ],
)
def test_a_malformed_file_entry_is_refused_naming_the_manifest_and_field(tmp_path, change, problem):
    d = _delivery(tmp_path)
    manifest = _manifest(d)
    manifest["files"][0] |= change
    path = _rewrite(d, manifest)
    assert _refused(d).startswith(f"{path}: {problem}")


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        ("{not json", "not readable JSON"),
        ([], "<root>: Input should be a valid dictionary"),
        ({"batch_id": "b1"}, "files: Field required"),
        ({"files": {"name": "a.csv"}}, "files: Input should be a valid list"),
        ({"files": [], "sender": "x"}, "sender: Extra inputs are not permitted"),
        ({"batch_id": "b2", "files": []}, "batch_id: 'b2', but the folder is 'b1'"),
    ],
)
def test_a_malformed_manifest_is_refused_naming_the_field(tmp_path, manifest, problem):
    d = _delivery(tmp_path)
    path = _rewrite(d, manifest)
    message = _refused(d)
    assert message.startswith(f"{path}: ") and problem in message


def test_a_file_listed_twice_is_refused(tmp_path):
    d = _delivery(tmp_path)
    manifest = _manifest(d)
    manifest["files"] *= 2
    _rewrite(d, manifest)
    assert f"files: {d.files[0].name} listed more than once" in _refused(d)


def test_a_bad_manifest_ends_as_a_logged_rejection(tmp_path, monkeypatch):
    """Through the preflight stage: the rejection is raised and recorded in governance.batch_log."""
    d = _delivery(tmp_path)
    manifest = _manifest(d)
    manifest["files"][0]["rows"] = "x"
    path = _rewrite(d, manifest)
    logged: list[dict] = []
    monkeypatch.setattr(
        pipeline, "settings", lambda: SimpleNamespace(landing=tmp_path / "landing", home=tmp_path)
    )
    monkeypatch.setattr(pipeline, "get_spark", lambda: None)
    monkeypatch.setattr(batch_log, "record", lambda _spark, *entries: logged.extend(entries))
    with pytest.raises(DeliveryRejected, match=r"files\.0\.rows: Input should be a valid integer"):
        pipeline.preflight(CONTRACT.key, "b1")
    [entry] = logged
    assert (entry["feed"], entry["batch_id"], entry["stage"], entry["status"]) == (
        CONTRACT.key,
        "b1",
        "preflight",
        "rejected",
    )
    assert entry["message"] == f"{path}: files.0.rows: Input should be a valid integer"


def test_a_linked_data_file_manifest_or_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text("公民身份号码\n", encoding="utf-8")
    d = _delivery(tmp_path)
    for name, target in [("extra.csv", secret), ("_delivery.json", secret), ("more", outside)]:
        link = d.directory / name
        moved = None
        if link.exists():
            moved = link.rename(link.with_name(name + ".orig"))
        link.symlink_to(target)
        message = _refused(d)
        assert message.startswith(f"{link}: is a symbolic link (to {target})"), message
        link.unlink()
        if moved:
            moved.rename(link)
    assert check_delivery(CONTRACT, d.directory, tmp_path / "staging")  # intact again


def test_a_linked_or_outside_batch_folder_is_refused(tmp_path):
    elsewhere = _delivery(tmp_path / "elsewhere").directory
    batch = tmp_path / "landing" / CONTRACT.department / CONTRACT.feed / "b1"
    batch.parent.mkdir(parents=True)
    batch.symlink_to(elsewhere, target_is_directory=True)
    assert _refused(SimpleNamespace(directory=batch)).startswith(
        f"{batch}: the batch folder is a symbolic link"
    )
    batch.unlink()
    feed = batch.parent
    feed.rmdir()
    feed.symlink_to(elsewhere.parent, target_is_directory=True)  # the feed folder leads outside
    assert "outside the landing zone" in _refused(SimpleNamespace(directory=batch))


def test_a_named_pipe_or_a_folder_posing_as_data_is_refused(tmp_path):
    d = _delivery(tmp_path)
    fifo = d.directory / "stream.csv"
    os.mkfifo(fifo)
    assert _refused(d).startswith(f"{fifo}: not a regular file or folder")
    fifo.unlink()
    (d.directory / "a.csv").mkdir()
    assert _refused(d).startswith(f"{d.directory / 'a.csv'}: a folder named like a data file")


@pytest.mark.parametrize(
    ("batch", "problem"), [("b1", "does not follow"), ("20261131", "is not a real date")]
)
def test_a_batch_id_outside_the_contracts_order_is_refused_naming_the_rule(tmp_path, batch, problem):
    dated = CONTRACT.model_copy(update={"batch_order": BatchOrder(by="date")})
    d = _delivery(tmp_path, batch, dated)
    message = _refused(d, dated)
    assert message.startswith(f"{d.directory}: batch id {batch!r} {problem}")
    assert (
        "batch_order: date (yyyyMMdd" in message
        and "schemas/public_security/household_register.yaml" in message
    )
    assert check_delivery(dated, _delivery(tmp_path, "20261120-2", dated).directory, tmp_path / "staging")
