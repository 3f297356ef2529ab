"""Attacks on the share and serving path (issue 19), each tried as the attacker would: through the real
Trino as the user concerned, against the real event receiver, or through the real CLI. Each test names the
case it closes; the module builds household gold once (in-process Spark) and a golden-library table."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import requests
import yaml
from trino_users import as_user, denied

from catalog import audit, shares, signing
from catalog.trino_tables import register
from govlake import cli, pipeline
from infra import trino_security
from infra.settings import settings
from jobs import tables
from jobs.publish import gold_struct
from jobs.spark import get_spark
from schemas.contracts import get_contract
from tools.synthetic.household import population, write_delivery

CONTRACT = get_contract("public_security/household_register")
BATCH, SEED, PERSONS = "20261121", 11, 400
TODAY = dt.date.today()


def rest(user: str, method: str, path: str) -> requests.Response:
    s = settings()
    return requests.request(
        method,
        f"https://127.0.0.1:{trino_security.https_port(s)}{path}",
        auth=(user, trino_security.password(s, user)),
        headers={"X-Trino-User": user},
        verify=str(trino_security.certificate(s)),
        timeout=30,
    )


def _library_table() -> None:
    """gold.population_base as its golden library holds it (built by the province tests when they ran
    first; else copied from the household feed's gold, the library's authority for these columns)."""
    spark = get_spark()
    path = tables.path("gold", "population_base")
    from delta.tables import DeltaTable  # lazy: only this fixture needs it

    if not DeltaTable.isDeltaTable(spark, path):
        spark.read.format("delta").load(tables.path("gold", "population_person")).select(
            "resident_id", "name", "gender", "birth_date", "ethnicity", "admin_code", "address"
        ).write.format("delta").save(path)
    health = get_contract("health/health_record")  # its gold table holds an L4 column (blood_type)
    tables.ensure(spark, "gold", health.target.table, gold_struct(health), health.target.title)
    register([("gold", "population_base"), ("gold", health.target.table)])


@pytest.fixture(scope="module")
def world(trino_server, tmp_path_factory):
    write_delivery(CONTRACT, settings().landing, BATCH, population(SEED, PERSONS), 0.0, None, SEED)
    state = pipeline.preflight(CONTRACT.key, BATCH)
    for stage in (pipeline.bronze, pipeline.silver, pipeline.gold, pipeline.register_in_trino):
        state = stage(state)
    _library_table()
    root = tmp_path_factory.mktemp("attacks")
    (root / "requests").mkdir()
    (root / "approvals").mkdir()
    return root


# ---- 4. the access log cannot be forged ------------------------------------------------------------


def post_event(body: bytes, headers: dict[str, str]) -> int | str:
    port = trino_security.events_port(settings())
    req = urllib.request.Request(f"http://127.0.0.1:{port}/events", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def raw_request(payload: bytes, wait: float = 15.0) -> bytes:
    port = trino_security.events_port(settings())
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(payload)
        return sock.recv(200)


def spooled(marker: str) -> int:
    """Spooled events holding `marker` (Trino's own events keep arriving meanwhile)."""
    spool = trino_security.spool_dir(settings())
    return sum(p.read_text(encoding="utf-8").count(marker) for p in spool.glob("events-*.jsonl"))


def test_4_the_event_receiver_refuses_forged_and_malformed_posts(world):
    s = settings()
    token = {trino_security.EVENTS_HEADER: trino_security.events_token(s)}
    forged = json.dumps({"metadata": {"queryId": "forged_1", "query": "SELECT 1"}, "statistics": {}}).encode()
    assert post_event(forged, {"Content-Type": "application/json"}) == 401
    wrong = {trino_security.EVENTS_HEADER: "guessed"}
    assert post_event(forged, {"Content-Type": "application/json", **wrong}) == 401
    assert post_event(b"{not json", {"Content-Type": "application/json", **token}) == 400
    assert post_event(b"[1, 2]", {"Content-Type": "application/json", **token}) == 400
    header = f"{trino_security.EVENTS_HEADER}: {token[trino_security.EVENTS_HEADER]}"
    head = f"POST /events HTTP/1.1\r\nHost: x\r\n{header}\r\n"
    assert b" 400 " in raw_request(f"{head}Content-Length: abc\r\n\r\n{{}}".encode())
    assert b" 411 " in raw_request(f"{head}\r\n{{}}".encode())
    assert b" 413 " in raw_request(f"{head}Content-Length: {2 << 20}\r\n\r\n{{}}".encode())  # 2 MiB said
    started = time.monotonic()
    idle = raw_request(f"{head}Content-Length: 10\r\n\r\n".encode(), wait=60)  # then says nothing
    assert time.monotonic() - started < 30, "an idle client holds the receiver"
    assert idle == b"" or b" 408 " in idle or b" 400 " in idle, idle
    assert spooled("forged_1") == 0  # nothing forged was spooled
    for path in trino_security.spool_dir(s).glob("events-*.jsonl"):
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


def test_4_the_first_event_of_a_query_wins_and_the_trail_is_hash_chained(world, sql, capsys):
    as_user("civil_affairs", "SELECT 'read by civil_affairs'")
    deadline = time.monotonic() + 30
    while True:
        audit.load()
        mine = sql(
            "SELECT query_id FROM lake.governance.access_log WHERE user_name = 'civil_affairs' "
            "AND query LIKE '%read by civil_affairs%'"
        )
        if mine or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert mine, "the read never reached the access log"
    qid = mine[0][0]
    s = settings()
    rewrite = {
        "metadata": {"queryId": qid, "queryState": "FINISHED", "query": "SELECT 1"},
        "statistics": {"wallTime": "1s"},
        "context": {"user": "someone_else"},
    }
    token = {trino_security.EVENTS_HEADER: trino_security.events_token(s)}
    assert post_event(json.dumps(rewrite).encode(), {"Content-Type": "application/json", **token}) == 200
    audit.load()
    assert sql("SELECT user_name FROM lake.governance.access_log WHERE query_id = ?", [qid]) == [
        ["civil_affairs"]
    ]
    assert cli.main(["audit", "verify"]) == 0, capsys.readouterr().out  # the CLI, in this process's Spark
    spark = get_spark()
    spark.sql(
        f"UPDATE delta.`{tables.path('governance', 'access_log')}` SET user_name = 'nobody' "
        f"WHERE query_id = '{qid}'"
    )
    capsys.readouterr()
    assert cli.main(["audit", "verify"]) == 1
    assert qid in capsys.readouterr().out
    spark.sql(
        f"UPDATE delta.`{tables.path('governance', 'access_log')}` SET user_name = 'civil_affairs' "
        f"WHERE query_id = '{qid}'"
    )


# ---- 5. queries, session properties and table procedures -------------------------------------------


def test_5_departments_neither_see_nor_kill_other_users_queries(world):
    as_user("platform", "SELECT 'platform-literal-4711'")
    listed = rest("civil_affairs", "GET", "/v1/query")
    assert listed.status_code in (200, 403)
    if listed.status_code == 200:
        others = [q for q in listed.json() if q["session"]["user"] != "civil_affairs"]
        assert others == [] and "platform-literal-4711" not in listed.text
    slow = (  # a few seconds of work (sequence() stops at 10,000 entries)
        "SELECT count(*) FROM UNNEST(sequence(1, 10000)) a(x) CROSS JOIN UNNEST(sequence(1, 10000)) b(y) "
        "CROSS JOIN UNNEST(sequence(1, 3)) c(z)"
    )
    outcome: dict[str, object] = {}
    thread = threading.Thread(target=lambda: outcome.update(rows=as_user("platform", slow)))
    thread.start()
    running: list[str] = []
    for _ in range(40):
        mine = rest("platform", "GET", "/v1/query").json()
        running = [q["queryId"] for q in mine if q["state"] == "RUNNING" and "UNNEST(sequence" in q["query"]]
        if running:
            break
        time.sleep(0.25)
    assert running, "the platform's query never ran"
    killed = rest("civil_affairs", "DELETE", f"/v1/query/{running[0]}")
    assert killed.status_code == 403, killed.status_code
    thread.join()
    assert outcome.get("rows") == [[300000000]]


def test_5_only_the_platform_sets_session_properties_or_runs_table_procedures(world):
    assert "Access Denied" in denied("analyst", "SET SESSION query_max_run_time = '1h'")
    assert "Access Denied" in denied("civil_affairs", "SET SESSION lake.parquet_use_column_index = false")
    for user in ("analyst", "civil_affairs"):
        message = denied(user, "ALTER TABLE lake.gold.population_person EXECUTE optimize")
        assert "Access Denied" in message, message


def test_5_analysts_see_only_their_own_query_text_in_the_access_log(world, sql):
    audit.load()
    rows = as_user(
        "analyst", "SELECT user_name, query FROM lake.governance.access_log WHERE user_name <> 'analyst'"
    )
    assert rows and all(r[1] is None for r in rows)
    own = as_user("analyst", "SELECT query FROM lake.governance.access_log WHERE user_name = 'analyst'")
    assert any(r[0] for r in own)


# ---- 6. secrets and binding ------------------------------------------------------------------------


def test_6_trino_listens_on_loopback_only_and_keeps_its_secrets_private(world):
    s = settings()
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout
    ports = {str(s.trino_port), str(trino_security.https_port(s))}
    local = [line.split()[3] for line in listening.splitlines() if line.split()[3].rsplit(":", 1)[1] in ports]
    assert local and all(a.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")) for a in local), local
    secrets_held = [trino_security.shared_secret(s), trino_security.events_token(s)]
    for path in (s.trino_dir / "etc").rglob("*"):
        if path.is_file() and path.stat().st_mode & 0o044:
            text = path.read_text(errors="replace")
            assert not any(x in text for x in secrets_held), f"{path} is readable and holds a secret"
    entries = (s.trino_dir / "etc" / "password.db").read_text().splitlines()
    assert entries and all(re.fullmatch(r"[a-z_]+:\$2y\$(0[89]|1\d)\$.{53}", e) for e in entries)
    from cryptography import x509  # lazy: only this test reads the certificate

    keystore = (trino_security.secrets_dir(s) / "trino-keystore.pem").read_bytes()
    leaf = x509.load_pem_x509_certificate(keystore.split(b"-----END PRIVATE KEY-----")[1])
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


# ---- 3. reviews are authenticated and bound to what was reviewed -----------------------------------

PENSION = {  # 有条件 (GA-001): public_security must review it
    "requester": "hrss",
    "resource": "GA-001",
    "columns": ["resident_id", "name", "admin_code"],
    "purpose": "养老金领取资格认证",
    "legal_basis": "《中华人民共和国社会保险法》第七十四条",
    "row_scope": {"column": "admin_code", "prefix": "4205"},
    "submitted": "2026-11-20",
    "expires": "2027-06-30",
}


def write_request(root, rid: str, body: dict) -> None:
    (root / "requests" / f"{rid}.yaml").write_text(yaml.safe_dump({"id": rid, **body}, allow_unicode=True))


def forge(root, rid: str, department: str, decision: str = "approve", name: str = "") -> str:
    """A review signed by `department` with its own key pair (as a department holding a key can)."""
    from catalog.loader import load_request  # lazy: these helpers serve only the review attacks
    from catalog.models import UnsignedReview

    signing.publish_public_key(department, root / "keys")
    req = load_request(root / "requests" / f"{rid}.yaml")
    review = signing.sign(
        UnsignedReview(
            request=rid,
            decision=decision,
            reviewer=department,
            person="张三",
            reason="同意",
            decided_at=dt.datetime.now().astimezone().replace(microsecond=0),
            request_sha256=signing.request_sha256(req),
        ),
        signing.load_private_key(department),
    )
    path = root / "approvals" / (name or f"{rid}.{decision}.{department}.yaml")
    path.write_text(yaml.safe_dump(review.model_dump(mode="json"), allow_unicode=True))
    return path.name


def decide(root, today: dt.date = TODAY) -> dict[str, str]:
    decisions, _, _ = shares.run(today, True, root / "requests", root / "approvals")
    return {d.request_id: d.status for d in decisions if d.status != "review_refused"}


def test_3_only_the_providers_signed_review_of_the_current_request_counts(world, sql):
    write_request(world, "rs_self", PENSION)
    write_request(world, "rs_third", PENSION)
    write_request(world, "rs_free_text", PENSION)
    forge(world, "rs_self", "hrss")  # the requester approves itself
    forge(world, "rs_third", "civil_affairs")  # a department that does not provide GA-001
    (world / "approvals" / "rs_free_text.approve.yaml").write_text(
        yaml.safe_dump(
            {
                "request": "rs_free_text",
                "decision": "approve",
                "reviewer": "公安厅 审核员",
                "reason": "同意",
                "decided_on": "2026-11-21",
            },
            allow_unicode=True,
        )
    )
    status = decide(world)
    assert {k: status[k] for k in ("rs_self", "rs_third", "rs_free_text")} == dict.fromkeys(
        ("rs_self", "rs_third", "rs_free_text"), "pending"
    )
    refusals = sql(
        "SELECT request_id, reason FROM lake.governance.share_decision WHERE status = 'review_refused'"
    )
    assert {r[0] for r in refusals} >= {"rs_self", "rs_third", "rs_free_text"}
    assert "does not exist" in denied("hrss", "SELECT * FROM lake.share_hrss.rs_self")


def test_3_an_edited_request_is_pending_again_and_the_latest_valid_review_wins(world, sql):
    write_request(world, "rs_edited", PENSION)
    write_request(world, "rs_second_thoughts", PENSION)
    signing.publish_public_key("public_security", world / "keys")
    forge(world, "rs_edited", "public_security")
    forge(world, "rs_second_thoughts", "public_security", "reject")
    time.sleep(1.1)  # the approval is the later decision
    forge(world, "rs_second_thoughts", "public_security", "approve")
    status = decide(world)
    assert (status["rs_edited"], status["rs_second_thoughts"]) == ("granted", "granted")
    assert as_user("hrss", "SELECT count(*) FROM lake.share_hrss.rs_second_thoughts")[0][0] > 0
    wider = {**PENSION, "columns": [*PENSION["columns"], "address", "phone"], "expires": "2030-12-31"}
    del wider["row_scope"]
    write_request(world, "rs_edited", wider)  # the requester widens the approved request
    assert decide(world)["rs_edited"] == "pending"
    assert "does not exist" in denied("hrss", "SELECT * FROM lake.share_hrss.rs_edited")
    latest = dict(
        sql(
            "SELECT request_id, max_by(status, seq) FROM lake.governance.share_decision "
            "WHERE status <> 'review_refused' GROUP BY 1"
        )
    )
    assert (latest["rs_edited"], latest["rs_second_thoughts"]) == ("pending", "granted")


# ---- 7. expiry is enforced by the engine, every request on its own ---------------------------------


def test_7_an_expired_grant_shows_no_rows_even_before_the_engine_runs_again(world, capsys):
    yesterday = TODAY - dt.timedelta(days=1)
    write_request(
        world,
        "tax_lapsed",
        {
            "requester": "taxation",
            "resource": "GA-002",
            "columns": ["resident_id", "name"],
            "purpose": "个税专项附加扣除核验",
            "legal_basis": "《中华人民共和国个人所得税法》第十五条",
            "submitted": "2026-11-20",
            "expires": yesterday.isoformat(),
        },
    )
    write_request(  # a grant whose view cannot be made (its row scope names no column of the table)
        world,
        "tax_broken",
        {
            "requester": "taxation",
            "resource": "GA-002",
            "columns": ["resident_id"],
            "purpose": "核验",
            "legal_basis": "《中华人民共和国个人所得税法》第十五条",
            "row_scope": {"column": "no_such_column", "prefix": "42"},
            "submitted": "2026-11-20",
            "expires": "2027-12-31",
        },
    )
    before = yesterday - dt.timedelta(days=3)
    _, _, views = shares.run(before, True, world / "requests", world / "approvals")
    assert "lake.share_taxation.tax_lapsed" in views["created"]
    assert any("tax_broken" in f for f in views.get("failed", [])), views
    assert as_user("taxation", "SELECT count(*) FROM lake.share_taxation.tax_lapsed") == [[0]]
    capsys.readouterr()
    assert cli.main(["share", "provision", "--today", "2020-01-01"]) == 2
    assert "clock back" in capsys.readouterr().err


# ---- 8. hostile deliveries -------------------------------------------------------------------------


def test_8_a_malformed_manifest_and_a_symlink_are_rejected_and_logged(world, sql, tmp_path):
    import shutil  # lazy: only the hostile deliveries copy folders

    from jobs.preflight import batch_dir

    s = settings()
    good = batch_dir(s.landing, CONTRACT, BATCH)
    bad = batch_dir(s.landing, CONTRACT, "20261190")
    shutil.copytree(good, bad)
    manifest = json.loads((bad / "_delivery.json").read_text())
    manifest["files"][0]["rows"] = "x"
    (bad / "_delivery.json").write_text(json.dumps(manifest))
    with pytest.raises(Exception, match=r"_delivery.json: files\.0\.rows"):
        pipeline.preflight(CONTRACT.key, "20261190")
    linked = batch_dir(s.landing, CONTRACT, "20261191")
    linked.mkdir(parents=True)
    outside = tmp_path / "elsewhere.csv"
    shutil.copy(next(good.glob("*.csv")), outside)
    (linked / "household.csv").symlink_to(outside)
    with pytest.raises(Exception, match="symbolic link"):
        pipeline.preflight(CONTRACT.key, "20261191")
    logged = sql(
        "SELECT batch_id, message FROM lake.governance.batch_log WHERE feed = ? AND status = 'rejected' "
        "AND batch_id IN ('20261190', '20261191')",
        [CONTRACT.key],
    )
    assert {r[0] for r in logged} == {"20261190", "20261191"}
    assert any("files.0.rows" in r[1] for r in logged) and any("symbolic link" in r[1] for r in logged)


def test_8_an_older_batch_never_overwrites_a_newer_one_whatever_its_id_sorts_as(world, sql):
    people = population(SEED, PERSONS, 0.2)  # a fifth of them moved
    for batch, persons in (("b-100000000", people), ("b-99999999", population(SEED, PERSONS))):
        write_delivery(CONTRACT, settings().landing, batch, persons, 0.0, None, SEED)
        state = pipeline.preflight(CONTRACT.key, batch)
        for stage in (pipeline.bronze, pipeline.silver, pipeline.gold, pipeline.register_in_trino):
            state = stage(state)
    ids = [p.resident_id for p in people]
    rows = sql(
        "SELECT _batch_id, count(*) FROM lake.gold.population_person "
        "WHERE contains(?, resident_id) GROUP BY 1",
        [ids],
    )
    assert dict(rows).get("b-99999999", 0) == 0 and dict(rows).get("b-100000000", 0) > 0


# ---- 9. working days of the PRC calendar -----------------------------------------------------------


def test_9_the_review_deadline_skips_national_day_and_counts_its_make_up_day(world, sql):
    write_request(world, "rs_national_day", {**PENSION, "submitted": "2026-09-25"})
    decide(world)
    due = sql(
        "SELECT due_date FROM lake.governance.share_decision WHERE request_id = 'rs_national_day' "
        "AND status = 'pending'"
    )
    assert due == [[dt.date(2026, 10, 15)]]


# ---- 1. the negative list by meaning, failing closed -----------------------------------------------


def test_1_a_negative_item_is_refused_in_every_table_holding_it_naming_item_and_basis(world):
    for table in ("population_base", "population_person"):  # a golden library, the feed's own gold
        message = denied("analyst", f"SELECT ethnicity FROM lake.gold.{table}")
        assert "FM-001" in message and "民族" in message and "第二十八条" in message, message
        assert "FM-001" in denied("analyst", f"SELECT * FROM lake.gold.{table}")
    assert as_user("analyst", "SELECT count(*) FROM lake.gold.population_base")[0][0] > 0
    write_request(
        world,
        "wj_ethnicity",
        {
            "requester": "health",
            "resource": "GA-001",
            "columns": ["resident_id", "ethnicity"],
            "purpose": "健康档案补全",
            "legal_basis": "《基本医疗卫生与健康促进法》第四十九条",
            "submitted": "2026-11-20",
            "expires": "2027-12-31",
        },
    )
    signing.publish_public_key("public_security", world / "keys")
    forge(world, "wj_ethnicity", "public_security")  # even the provider's approval cannot share it
    assert decide(world)["wj_ethnicity"] == "refused"
    assert "does not exist" in denied("health", "SELECT * FROM lake.share_health.wj_ethnicity")


def test_1_a_catalog_that_does_not_load_leaves_only_the_platform(world, tmp_path):
    broken = tmp_path / "catalog"
    (broken / "departments").mkdir(parents=True)
    (broken / "departments" / "x.yaml").write_text("department: [")
    rewrite = (
        "from catalog.server import access; from infra import trino_security; "
        "from infra.settings import settings; trino_security.write_rules(settings(), access())"
    )
    env = {**os.environ, "GOVLAKE_CATALOG_DIR": str(broken)}
    subprocess.run([sys.executable, "-c", rewrite], env=env, check=True, capture_output=True)
    try:
        time.sleep(2.5)  # security.refresh-period is 1 s
        for user, table in (("analyst", "gold.population_person"), ("civil_affairs", "governance.batch_log")):
            assert "Access Denied" in denied(user, f"SELECT count(*) FROM lake.{table}")
        assert as_user("platform", "SELECT count(*) FROM lake.gold.population_person")[0][0] > 0
    finally:
        subprocess.run([sys.executable, "-c", rewrite], check=True, capture_output=True)
        time.sleep(2.5)
    assert as_user("analyst", "SELECT count(*) FROM lake.gold.population_person")[0][0] > 0


# ---- 2. masks that hold ----------------------------------------------------------------------------


def test_2_a_shared_id_cannot_be_rebuilt_from_the_birth_date_beside_it(world, sql):
    write_request(
        world,
        "rs_birth",
        {
            "requester": "hrss",
            "resource": "GA-002",
            "columns": ["resident_id", "birth_date", "gender"],
            "purpose": "养老金领取资格认证",
            "legal_basis": "《中华人民共和国社会保险法》第七十四条",
            "submitted": "2026-11-20",
            "expires": "2027-06-30",
        },
    )
    assert decide(world)["rs_birth"] == "granted"
    rows = as_user("hrss", "SELECT resident_id, birth_date FROM lake.share_hrss.rs_birth")
    assert rows and all(re.fullmatch(r"\d{6}\*{12}", r[0]) for r in rows)  # region only
    assert all(r[1] is None or (r[1].month, r[1].day) == (1, 1) for r in rows)  # the year at most


def test_2_analysts_read_personal_data_masked_and_join_on_a_keyed_pseudonym(world, sql):
    rows = as_user("analyst", "SELECT resident_id, name, phone, birth_date FROM lake.gold.population_person")
    raw = {r[0] for r in sql("SELECT resident_id FROM lake.gold.population_person")}
    assert rows and all(re.fullmatch(r"[0-9A-F]{64}", r[0]) and r[0] not in raw for r in rows)
    assert all(re.fullmatch(r".\*+", r[1]) for r in rows)
    assert all(r[2] is None or re.fullmatch(r"1\d{2}\*{4}\d{4}", r[2]) for r in rows)
    assert "Access Denied" in denied("analyst", "SELECT blood_type FROM lake.gold.population_health")  # L4
    join = (
        "SELECT count(*) FROM lake.gold.population_person p "
        "JOIN lake.gold.population_base b ON p.resident_id = b.resident_id"
    )
    assert as_user("analyst", join) == sql(join)  # the same pseudonym in every table
    s = settings()
    key = trino_security.pseudonym_key(s)
    import base64  # lazy: only this test looks for the key in a plan

    plan = str(as_user("analyst", "EXPLAIN SELECT resident_id FROM lake.gold.population_person"))
    assert key.hex().upper() not in plan.upper() and base64.b64encode(key).decode() not in plan
    assert "Access Denied" in denied("analyst", "SELECT * FROM lake.platform_keys.pseudonym_key")
    assert "Access Denied" in denied("analyst", "SELECT * FROM lake_platform.gold.population_person")


def test_2_governance_tables_show_failing_values_masked_by_their_columns_level(world, sql):
    from catalog import governance  # lazy: only this test writes a governance row itself

    real_id = sql("SELECT resident_id FROM lake.gold.population_person LIMIT 1")[0][0]
    governance.insert(
        "quality_failure",
        [
            [
                "attack-run",
                CONTRACT.key,
                "silver.x",
                BATCH,
                "gate",
                "public_security",
                "resident_id.check_digit",
                "validity",
                "critical",
                "resident_id",
                real_id,
                real_id,
                "household.csv",
                2,
                dt.datetime.now(),
            ]
        ],
    )
    seen = as_user(
        "analyst", "SELECT key, value FROM lake.governance.quality_failure WHERE run_id = 'attack-run'"
    )
    assert seen and real_id not in str(seen), seen
    assert sql("SELECT value FROM lake.governance.quality_failure WHERE run_id = 'attack-run'") == [[real_id]]
