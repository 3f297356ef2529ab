from pathlib import Path

import pytest
import yaml

from schemas.contracts import ContractError, batch_id, get_contract, load_contract, load_contracts

HOUSEHOLD = "public_security/household_register"


def _write(
    tmp_path: Path, data: dict, dept: str = "public_security", feed: str = "household_register"
) -> Path:
    path = tmp_path / dept / f"{feed}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _household() -> dict:
    return get_contract(HOUSEHOLD).model_dump(mode="json")


def test_every_contract_in_schemas_loads():
    contracts = load_contracts()
    assert HOUSEHOLD in contracts
    c = contracts[HOUSEHOLD]
    assert c.key == "public_security__household_register"
    assert c.primary_key == ["resident_id"]
    assert c.by_header["公民身份号码"].name == "resident_id"


def test_injection_in_column_name_is_refused_naming_file_and_field(tmp_path):
    data = _household()
    data["columns"][1]["name"] = 'name"; DROP TABLE gold.population_person; --'
    path = _write(tmp_path, data)
    with pytest.raises(ContractError) as err:
        load_contract(path)
    assert str(path) in str(err.value)
    assert "columns.1.name" in str(err.value)


def test_unknown_primary_key_and_type_are_named(tmp_path):
    data = _household()
    data["primary_key"] = ["nobody"]
    path = _write(tmp_path, data)
    with pytest.raises(ContractError, match="primary_key names unknown column 'nobody'"):
        load_contract(path)
    data = _household()
    data["columns"][3]["type"] = "datetime64"
    with pytest.raises(ContractError, match=r"columns\.3\.type"):
        load_contract(_write(tmp_path, data))


def test_unknown_encoding_and_misplaced_file_are_refused(tmp_path):
    data = _household()
    data["encoding"] = "klingon-8"
    with pytest.raises(ContractError, match="encoding"):
        load_contract(_write(tmp_path, data))
    with pytest.raises(ContractError, match=r"must live at schemas/public_security/household_register\.yaml"):
        load_contract(_write(tmp_path, _household(), feed="elsewhere"))


def test_batch_ids_are_validated():
    assert batch_id("20261123") == "20261123"
    for bad in ["", "2026'; DROP", "../etc", "a b"]:
        with pytest.raises(ValueError):
            batch_id(bad)
