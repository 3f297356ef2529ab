"""Trino's access rules, configuration and credentials as written (no server): fail closed, negative-list
columns refused on library tables with their legal basis, analysts' masks and pseudonyms, queries and
session properties, secrets only in the launcher's environment, loopback binding, bcrypt, the local CA."""

from __future__ import annotations

import json
import stat

import bcrypt
import pyarrow.parquet as pq
import pytest
from cryptography import x509

from catalog import server
from catalog.loader import CatalogError
from infra import trino, trino_credentials, trino_security
from infra.settings import settings
from infra.trino_security import Access, ColumnRule, access_rules

ACCESS = server.access()
RULES = access_rules("lake", ACCESS)


def analyst_table(schema: str, table: str) -> dict:
    [rule] = [
        r
        for r in RULES["tables"]
        if r.get("user") == "analyst" and (r.get("schema"), r.get("table")) == (schema, table)
    ]
    return {c["name"]: c for c in rule.get("columns", [])}


@pytest.fixture
def home(tmp_path):
    return settings().model_copy(update={"home": tmp_path, "trino_security": True})


def test_a_catalog_that_does_not_load_leaves_only_the_platform(monkeypatch):
    def broken():
        raise CatalogError("departments/x.yaml: department: bad")

    monkeypatch.setattr(server, "load_catalog", broken)
    access = server.access()
    assert access.failed and access.departments == () and access.analyst_tables == {}
    rules = access_rules("lake", access)
    assert rules["catalogs"] == [{"user": "platform", "allow": "all"}, {"allow": "none"}]
    assert rules["schemas"] == [{"user": "platform", "owner": True}]
    assert [t.get("user") for t in rules["tables"]] == ["platform", None] and rules["tables"][-1] == {
        "privileges": []
    }
    assert access_rules("lake", Access(failed=True)) == rules
    assert not Access().departments and not access_rules("lake", Access())["schemas"][1:]  # nothing listed


def test_negative_columns_fail_with_their_item_and_basis_on_library_tables():
    base = analyst_table("gold", "population_base")["ethnicity"]
    assert base["mask"].startswith(
        "fail('Access Denied: gold.population_base.ethnicity 属负面清单 FM-001「民族」"
    )
    assert "《中华人民共和国个人信息保护法》 第二十八条" in base["mask"]
    assert analyst_table("gold", "population_person")["ethnicity"]["mask"].startswith("fail(")
    assert analyst_table("gold", "legal_person_statistics")["revenue"]["mask"].startswith("fail(")


def test_analysts_read_l3_masked_l4_denied_and_resident_ids_as_pseudonyms():
    person = analyst_table("gold", "population_person")
    assert person["phone"] == {
        "name": "phone",
        "mask": 'concat(substr("phone", 1, 3), \'****\', substr("phone", 8, 4))',
    }
    assert person["resident_id"]["mask_environment"] == {"user": "platform"}
    assert "lake.platform_keys.pseudonym_key" in person["resident_id"]["mask"]
    assert person["birth_date"]["mask"] == "date_trunc('year', \"birth_date\")"
    assert "gender" not in person and "admin_code" not in person  # L2 as stored
    assert analyst_table("gold", "population_health")["blood_type"] == {"name": "blood_type", "allow": False}
    theme = analyst_table("gold", "theme_employment_social_security")
    assert "hmac_sha256" in theme["resident_id"]["mask"]  # the same pseudonym: joinable across tables


def test_only_contract_tables_of_gold_and_the_governance_schema_are_readable():
    analyst = [t for t in RULES["tables"] if t.get("user") == "analyst"]
    assert {t["schema"] for t in analyst} == {"gold", "governance"}
    assert all(t["table"] != ".*" for t in analyst)
    whole = [t for t in analyst if t["table"] == "[^$]*"]  # never t$history, t$properties, …
    assert [t["schema"] for t in whole] == ["governance"]
    assert RULES["tables"][-1] == {"privileges": []}
    dept = [t for t in RULES["tables"] if t.get("user") == "health"]
    assert dept == [
        {
            "user": "health",
            "catalog": "lake",
            "schema": "share_health",
            "table": "[^$]*",
            "privileges": ["SELECT"],
        }
    ]


def test_governance_values_are_masked_by_their_source_column():
    failure = analyst_table("governance", "quality_failure")
    value = failure["value"]["mask"]
    assert "'【负面清单 FM-001】'" in value and "public_security__household_register.ethnicity" in value
    assert value.endswith("ELSE '******' END") and failure["value"]["mask_environment"] == {
        "user": "platform"
    }
    assert "hmac_sha256" in failure["key"]["mask"]
    conflict = analyst_table("governance", "verification_conflict")
    assert "population.ethnicity" in conflict["other_value"]["mask"]
    log = analyst_table("governance", "access_log")
    assert log["query"]["mask"] == 'CASE WHEN user_name = current_user THEN "query" END'


def test_queries_session_properties_and_procedures_belong_to_the_platform():
    assert RULES["queries"] == [
        {"user": "platform", "allow": ["execute", "kill", "view"]},
        {"allow": ["execute"]},  # everyone else: run queries, see and kill only their own
    ]
    for section in ("system_session_properties", "catalog_session_properties"):
        assert RULES[section] == [{"user": "platform", "allow": True}, {"allow": False}]
    assert RULES["procedures"] == [{"user": "platform", "privileges": ["EXECUTE", "GRANT_EXECUTE"]}]
    assert RULES["system_information"] == [{"user": "platform", "allow": ["read", "write"]}]


def test_column_rules_as_json():
    assert ColumnRule("a", allow=False).as_json() == {"name": "a", "allow": False}
    assert ColumnRule("a", mask="NULL", as_platform=True).as_json() == {
        "name": "a",
        "mask": "NULL",
        "mask_environment": {"user": "platform"},
    }


def test_configuration_binds_loopback_reads_read_only_and_keeps_secrets_out_of_files(home):
    etc = trino.configure(home, ACCESS)
    node = (etc / "node.properties").read_text()
    assert "node.bind-ip=127.0.0.1\n" in node and "node.internal-address=127.0.0.1\n" in node
    assert "delta.security=read_only" in (etc / "catalog" / "lake.properties").read_text()
    platform = (etc / "catalog" / "lake_platform.properties").read_text()
    assert "delta.register-table-procedure.enabled=true" in platform and "delta.security" not in platform
    config = (etc / "config.properties").read_text()
    assert "internal-communication.shared-secret=${ENV:GOVLAKE_TRINO_SHARED_SECRET}" in config
    listener = (etc / "http-event-listener.properties").read_text()
    header = f"http-event-listener.connect-http-headers={trino_security.EVENTS_HEADER}:${{ENV:"
    assert header in listener
    env = trino_security.launcher_env(home)
    key = trino_security.pseudonym_key(home)
    assert env == {
        "GOVLAKE_TRINO_SHARED_SECRET": trino_security.shared_secret(home),
        "GOVLAKE_TRINO_EVENTS_TOKEN": trino_security.events_token(home),
    }
    for path in home.trino_dir.rglob("*"):
        if path.is_file() and path.stat().st_mode & 0o044:
            assert not any(v in path.read_text(errors="replace") for v in env.values()), path
    for private in (
        "etc/rules.json",
        "etc/password.db",
        "secrets/trino-keystore.pem",
        "secrets/pseudonym-key",
    ):
        assert stat.S_IMODE((home.trino_dir / private).stat().st_mode) == 0o600, private
    assert stat.S_IMODE(trino_security.secrets_dir(home).stat().st_mode) == 0o700
    rules = json.loads((etc / "rules.json").read_text())
    assert key.hex() not in json.dumps(rules).lower()


def test_password_file_holds_bcrypt_entries_and_replaces_pbkdf2(home):
    path = home.trino_dir / "etc" / "password.db"
    path.parent.mkdir(parents=True)
    path.write_text("platform:10000:00ff:abcd\n")  # an entry of the PBKDF2 era
    trino_security.write_password_file(home, ["health"])
    entries = dict(line.split(":", 1) for line in path.read_text().splitlines())
    assert set(entries) == {"platform", "analyst", "health"}
    for user, hashed in entries.items():
        assert hashed.startswith("$2y$10$") and len(hashed) == 60
        assert bcrypt.checkpw(trino_security.password(home, user).encode(), ("$2b$" + hashed[4:]).encode())
    before = path.read_text()
    trino_security.write_password_file(home, ["health"])
    assert path.read_text() == before  # unchanged entries are kept
    assert not trino_credentials.password_matches("u:$2y$04$" + "x" * 53, "pw")  # cost below 8


def test_the_local_ca_signs_a_server_certificate(home):
    keystore = trino_security.ensure_certificate(home)
    pem = keystore.read_bytes()
    leaf = x509.load_pem_x509_certificate(pem.split(b"-----END PRIVATE KEY-----")[1])
    ca = x509.load_pem_x509_certificate(trino_security.certificate(home).read_bytes())
    ca_limits = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert ca_limits.ca and ca_limits.path_length == 0
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    leaf.verify_directly_issued_by(ca)
    assert pem.count(b"BEGIN CERTIFICATE") == 2 and b"BEGIN PRIVATE KEY" in pem
    assert trino_security.ensure_certificate(home).read_bytes() == pem  # kept while current


def test_the_pseudonym_key_table_is_a_private_delta_table(home):
    server.write_key_table(home)
    root = home.warehouse_dir / server.KEY_LOCATION
    [data] = root.glob("*.parquet")
    assert pq.read_table(data).column("k").to_pylist() == [trino_security.pseudonym_key(home)]
    actions = [json.loads(line) for line in (root / "_delta_log" / f"{0:020d}.json").read_text().splitlines()]
    assert [a["add"]["path"] for a in actions if "add" in a] == [data.name]
    log = root / "_delta_log" / f"{0:020d}.json"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(root.stat().st_mode) == 0o700 and stat.S_IMODE(data.stat().st_mode) == 0o600
