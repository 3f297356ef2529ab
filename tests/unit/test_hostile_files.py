"""Issue 20, case 4: hostile and broken files. Each is either rejected whole (DeliveryRejected naming the
file and the line or field, nothing written, the batch re-runnable once fixed) or ingested with every row
accounted for: bronze rows = delivered rows, silver + quarantine = bronze."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from govlake import pipeline
from infra.settings import settings
from jobs import batch_log, tables
from jobs.preflight import DeliveryRejected, check_delivery
from schemas.contracts import FeedContract, get_contract
from schemas.datasets import feed_tables
from tools.synthetic.household import Delivery, population, write_delivery
from tools.synthetic.province import write_feed

HOUSEHOLD = get_contract("public_security/household_register")
STATIONS = get_contract("ecology/monitoring_station")
WATER = get_contract("water/water_quality")
_seeds = iter(range(100, 10_000))


@pytest.fixture(scope="module")
def spark(tmp_path_factory) -> Iterator[SparkSession]:
    """A Spark session over a warehouse of this module's own: its household, station and water batches must
    not reach the tables the integration tests reconcile."""
    from jobs.spark import get_spark, stop_spark  # lazy: Spark only for this module's pipeline cases

    with pytest.MonkeyPatch.context() as env:
        env.setenv("GOVLAKE_HOME", str(tmp_path_factory.mktemp("hostile-home")))
        settings.cache_clear()
        yield get_spark("govlake-tests")
        stop_spark()
    settings.cache_clear()


def _delivery(tmp_path: Path, batch: str, contract: FeedContract = HOUSEHOLD, persons: int = 20) -> Delivery:
    """A clean household delivery (unique rows per call, so no test's file is another's checksum)."""
    return write_delivery(
        contract, tmp_path / "landing", batch, population(next(_seeds), persons), defect_rate=0, seed=1
    )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(directory: Path, rows: dict[str, int]) -> None:
    """`_delivery.json` as the sender writes it, last, from the files as they now are."""
    files = [{"name": n, "sha256": _sha(directory / n), "rows": r} for n, r in rows.items()]
    (directory / "_delivery.json").write_text(json.dumps({"batch_id": directory.name, "files": files}))


def _refused(contract: FeedContract, directory: Path) -> str:
    with pytest.raises(DeliveryRejected) as err:
        check_delivery(contract, directory, directory.parent / "_staging" / directory.name)
    return str(err.value)


def _run(spark: SparkSession, contract: FeedContract, directory: Path) -> tuple[int, int, int]:
    """preflight → bronze → silver; (bronze, silver, quarantine) rows of the batch, reconciled."""
    from jobs.ingest import ingest  # lazy: the Spark steps, for the pipeline cases only
    from jobs.refine import refine  # lazy: as above

    batch = directory.name
    files = check_delivery(contract, directory, directory.parent / "_staging" / batch)
    ingest(spark, contract, batch, files)
    refined = refine(spark, contract, batch)
    refined.release()
    layers = feed_tables(contract)
    counts = []
    for table in (layers.bronze, layers.silver, layers.quarantine):
        df = spark.read.format("delta").load(tables.table_path(table)).where(F.col("_batch_id") == batch)
        if table == layers.quarantine:
            df = df.where(F.col("_feed") == contract.key)
        counts.append(df.count())
    bronze, silver, quarantined = counts
    assert silver + quarantined == bronze
    return bronze, silver, quarantined


def _silver(spark: SparkSession, contract: FeedContract, batch: str) -> list:
    path = tables.table_path(feed_tables(contract).silver)
    return spark.read.format("delta").load(path).where(F.col("_batch_id") == batch).collect()


def _rewrite_text(d: Delivery, text: str, newline: str = "\n", bom: bool = False) -> Path:
    path = d.files[0]
    data = text.replace("\n", newline).encode("utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    return path


# --- rejected whole ------------------------------------------------------------------------------------


def test_truncated_csv_is_refused_by_its_checksum_and_reruns_once_fixed(tmp_path):
    d = _delivery(tmp_path, "cut1")
    path = d.files[0]
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 25])  # the last line cut in transit
    message = _refused(HOUSEHOLD, d.directory)
    assert message.startswith(f"{path}: sha256 ") and "differs from _delivery.json" in message
    path.write_bytes(whole)
    assert check_delivery(HOUSEHOLD, d.directory, tmp_path / "staging")


def test_a_last_line_cut_without_a_checksum_is_quarantined_for_its_field_count(tmp_path, spark):
    d = _delivery(tmp_path, "cut3")
    path = d.files[0]
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[-2] = ",".join(lines[-2].split(",")[:7])  # phone and registration date lost (both optional)
    path.write_text("\n".join(lines[:-1]), encoding="utf-8")  # and the final newline
    (d.directory / "_delivery.json").write_text(json.dumps({"files": [{"name": path.name, "rows": d.rows}]}))
    assert _run(spark, HOUSEHOLD, d.directory) == (d.rows, d.rows - 1, 1)
    quarantine = tables.table_path(feed_tables(HOUSEHOLD).quarantine)
    [bad] = spark.read.format("delta").load(quarantine).where(F.col("_batch_id") == "cut3").collect()
    assert (bad.line, bad.reason) == (1 + d.rows, "BAD_FIELD_COUNT")


def test_a_quoted_field_cut_by_the_end_of_the_file_is_refused_naming_its_line(tmp_path):
    d = _delivery(tmp_path, "cut2")
    path = d.files[0]
    lines = path.read_text(encoding="utf-8").splitlines()
    fields = lines[-1].split(",")
    fields[6] = '"' + fields[6]  # the sender's export stopped inside a quoted address
    path.write_text("\n".join([*lines[:-1], ",".join(fields[:7])]), encoding="utf-8")
    _manifest(d.directory, {path.name: d.rows})
    message = _refused(HOUSEHOLD, d.directory)
    assert message.startswith(f"{path}: line {len(lines)}: a quoted field opens here and never closes")


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_the_wrong_delimiter_is_refused_naming_it(tmp_path, delimiter):
    d = _delivery(tmp_path, f"delim{ord(delimiter)}")
    path = d.files[0]
    path.write_text(path.read_text(encoding="utf-8").replace(",", delimiter), encoding="utf-8")
    _manifest(d.directory, {path.name: d.rows})
    message = _refused(HOUSEHOLD, d.directory)
    assert message.startswith(f"{path}: header does not match contract")
    assert f"the header splits on {delimiter!r}, not on ','" in message


def test_an_empty_file_is_refused_as_empty(tmp_path):
    d = _delivery(tmp_path, "empty1")
    d.files[0].write_bytes(b"")
    _manifest(d.directory, {d.files[0].name: 0})
    assert _refused(HOUSEHOLD, d.directory) == (
        f"{d.files[0]}: the file is empty (0 bytes); a delivery without rows still needs its header line"
    )


def test_a_10_mb_field_is_refused_naming_its_line(tmp_path):
    d = _delivery(tmp_path, "big1")
    path = d.files[0]
    lines = path.read_text(encoding="utf-8").split("\n")
    fields = lines[3].split(",")
    fields[6] = "武" * (10 * 1024 * 1024 // 3)  # 10 MB of UTF-8 in the address
    lines[3] = ",".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")
    _manifest(d.directory, {path.name: d.rows})
    message = _refused(HOUSEHOLD, d.directory)
    assert message.startswith(f"{path}: line 4: a record longer than 1,048,576 bytes")


def test_gbk_bytes_inside_a_utf8_file_are_refused_naming_the_line(tmp_path):
    d = _delivery(tmp_path, "gbk1")
    path = d.files[0]
    lines = path.read_bytes().split(b"\n")
    name = lines[4].split(b",")[1]
    lines[4] = lines[4].replace(name, name.decode("utf-8").encode("gbk"))
    path.write_bytes(b"\n".join(lines))
    _manifest(d.directory, {path.name: d.rows})
    message = _refused(HOUSEHOLD, d.directory)
    assert message.startswith(f"{path}: not valid utf-8 at line 5 ")


def _water_table(types: dict[str, pa.DataType]) -> pa.Table:
    values = {"station_id": "4201001", "measured_on": "2026-11-20", "water_grade": "II", "cod": "12.5",
              "ammonia_n": "3"}  # fmt: skip
    return pa.table({c.header: pa.array([values[c.name]], pa.string()) for c in WATER.columns}).cast(
        pa.schema([(c.header, types.get(c.name, pa.string())) for c in WATER.columns])
    )


def _water_delivery(tmp_path: Path, batch: str, table: pa.Table) -> Path:
    directory = tmp_path / "landing" / WATER.department / WATER.feed / batch
    directory.mkdir(parents=True)
    path = directory / f"water_quality_{batch}.parquet"
    pq.write_table(table, path)
    return path


def test_a_parquet_file_with_a_corrupt_footer_is_refused(tmp_path):
    path = _water_delivery(tmp_path, "pq1", _water_table({}))
    data = bytearray(path.read_bytes())
    data[-12:-4] = b"\xff" * 8  # footer length and the end of the metadata
    path.write_bytes(bytes(data))
    _manifest(path.parent, {path.name: 1})
    assert _refused(WATER, path.parent).startswith(f"{path}: not a readable Parquet file")


def test_parquet_column_types_unlike_the_contract_are_refused_naming_the_field(tmp_path):
    station_id = WATER.column("station_id").header
    path = _water_delivery(tmp_path, "pq2", _water_table({"station_id": pa.int64(), "cod": pa.float64()}))
    _manifest(path.parent, {path.name: 1})
    message = _refused(WATER, path.parent)
    assert message.startswith(f"{path}: field {station_id}: Parquet type int64, the contract declares string")
    typed = _water_delivery(
        tmp_path,
        "pq3",
        _water_table({"measured_on": pa.date32(), "cod": pa.float64(), "ammonia_n": pa.int32()}),
    )
    assert check_delivery(WATER, typed.parent, tmp_path / "staging")  # the contract's types, or text
    no_values = _water_table({}).set_column(4, WATER.column("ammonia_n").header, pa.nulls(1))
    assert check_delivery(WATER, _water_delivery(tmp_path, "pq4", no_values).parent, tmp_path / "staging")


# --- ingested, every row accounted for -------------------------------------------------------------------


def test_embedded_newlines_and_quotes_in_quoted_fields_stay_one_row(tmp_path, spark):
    d = _delivery(tmp_path, "quoted1")
    path = d.files[0]
    lines = path.read_text(encoding="utf-8").split("\n")
    address = '湖北省武汉市\n江岸区 "东湖" 路,1号\r\n2栋'
    fields = lines[2].split(",")
    fields[6] = '"' + address.replace('"', '""') + '"'
    lines[2] = ",".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8", newline="")
    _manifest(d.directory, {path.name: d.rows})
    [f] = check_delivery(HOUSEHOLD, d.directory, tmp_path / "staging")
    assert f.lines == 1 + d.rows  # records, not physical lines
    assert _run(spark, HOUSEHOLD, d.directory)[0] == d.rows
    [row] = [r for r in _silver(spark, HOUSEHOLD, "quoted1") if r.resident_id == fields[0]]
    assert (row.address, row._line) == (address, 3)
    after = [r._line for r in _silver(spark, HOUSEHOLD, "quoted1") if r._line > 3]
    assert min(after) == 6  # the next record starts on the physical line after the three of this one


def test_doubled_quotes_in_a_quoted_field_on_one_line_are_one_quote(tmp_path, spark):
    d = _delivery(tmp_path, "quoted2")
    path = d.files[0]
    lines = path.read_text(encoding="utf-8").split("\n")
    fields = lines[1].split(",")
    fields[6] = '"武汉市 ""东湖"" 路,1号"'
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")
    _manifest(d.directory, {path.name: d.rows})
    assert _run(spark, HOUSEHOLD, d.directory) == (d.rows, d.rows, 0)
    [row] = [r for r in _silver(spark, HOUSEHOLD, "quoted2") if r._line == 2]
    assert row.address == '武汉市 "东湖" 路,1号'


@pytest.mark.parametrize("header", [True, False])
def test_a_utf8_bom_is_accepted_transparently(tmp_path, spark, header):
    contract = HOUSEHOLD if header else HOUSEHOLD.model_copy(update={"header": False})
    d = _delivery(tmp_path, f"bom{int(header)}", contract)
    path = _rewrite_text(d, d.files[0].read_text(encoding="utf-8"), bom=True)
    _manifest(d.directory, {path.name: d.rows})
    assert _run(spark, contract, d.directory) == (d.rows, d.rows, 0)


def test_crlf_line_ends_are_accepted_transparently(tmp_path, spark):
    d = _delivery(tmp_path, "crlf1")
    path = _rewrite_text(d, d.files[0].read_text(encoding="utf-8"), newline="\r\n")
    _manifest(d.directory, {path.name: d.rows})
    assert _run(spark, HOUSEHOLD, d.directory) == (d.rows, d.rows, 0)
    texts = [v for r in _silver(spark, HOUSEHOLD, "crlf1") for v in r.asDict().values() if isinstance(v, str)]
    assert not [v for v in texts if "\r" in v]


def test_a_header_only_file_is_a_valid_empty_delivery(tmp_path, spark):
    d = _delivery(tmp_path, "hdr1")
    path = d.files[0]
    path.write_text(path.read_text(encoding="utf-8").split("\n", 1)[0] + "\n", encoding="utf-8")
    _manifest(d.directory, {path.name: 0})
    [f] = check_delivery(HOUSEHOLD, d.directory, tmp_path / "staging")
    assert f.lines == 1
    assert _run(spark, HOUSEHOLD, d.directory) == (0, 0, 0)


def test_an_empty_delivery_after_a_full_one_publishes_nothing_and_says_so(tmp_path, spark):
    from jobs.publish import publish  # lazy: the Spark steps, for the pipeline cases only

    full = _delivery(tmp_path, "hdr2", persons=3)
    assert _run(spark, HOUSEHOLD, full.directory) == (3, 3, 0)
    assert publish(spark, HOUSEHOLD, "hdr2").inserted == 3
    d = _delivery(tmp_path, "hdr3")
    d.files[0].write_text(d.files[0].read_text(encoding="utf-8").split("\n", 1)[0] + "\n", encoding="utf-8")
    _manifest(d.directory, {d.files[0].name: 0})
    assert _run(spark, HOUSEHOLD, d.directory) == (0, 0, 0)
    r = publish(spark, HOUSEHOLD, "hdr3")
    assert (r.source_rows, r.inserted, r.updated) == (0, 0, 0)  # not the metrics of the commit before


def test_a_jsonl_file_with_one_broken_line_quarantines_that_line(tmp_path, spark):
    rows = [
        {"station_id": f"S{i:03d}", "name": f"站点{i}", "kind": "空气", "basin": "长江",
         "admin_code": "420102", "longitude": "114.3", "latitude": "30.6"}
        for i in range(6)
    ]  # fmt: skip
    path, _ = write_feed(STATIONS, rows, tmp_path / "landing", "json1", random.Random(1))
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[3] = lines[3][:-9]  # one object cut short
    path.write_text("\n".join(lines), encoding="utf-8")
    _manifest(path.parent, {path.name: 6})
    assert _run(spark, STATIONS, path.parent) == (6, 5, 1)
    quarantine = tables.table_path(feed_tables(STATIONS).quarantine)
    [bad] = spark.read.format("delta").load(quarantine).where(F.col("_batch_id") == "json1").collect()
    assert bad.line == 4 and "BAD_FIELD_COUNT" in [p.reason for p in bad.problems]


# --- compressed deliveries -------------------------------------------------------------------------------


def _gzip(path: Path) -> Path:
    packed = path.with_name(path.name + ".gz")
    packed.write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    return packed


def _zip(path: Path, entries: dict[str, bytes] | None = None) -> Path:
    packed = path.with_suffix(".zip")
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (entries or {path.name: path.read_bytes()}).items():
            zf.writestr(name, data)
    path.unlink()
    return packed


@pytest.mark.parametrize("pack", [_gzip, _zip])
def test_a_compressed_delivery_is_unpacked_checked_and_ingested(tmp_path, spark, pack):
    d = _delivery(tmp_path, f"packed{len(pack.__name__)}")
    packed = pack(d.files[0])
    _manifest(d.directory, {packed.name: d.rows})
    [f] = check_delivery(HOUSEHOLD, d.directory, tmp_path / "staging")
    assert f.path == packed and f.sha256 == _sha(packed) and f.lines == 1 + d.rows
    assert _run(spark, HOUSEHOLD, d.directory) == (d.rows, d.rows, 0)
    assert {Path(r._source_file).name for r in _silver(spark, HOUSEHOLD, d.directory.name)} == {packed.name}


def test_a_compressed_delivery_is_checked_like_any_csv(tmp_path):
    d = _delivery(tmp_path, "packed3")
    path = d.files[0]
    path.write_text(path.read_text(encoding="utf-8").replace("联系电话", "手机号码", 1), encoding="utf-8")
    packed = _gzip(path)
    _manifest(d.directory, {packed.name: d.rows})
    message = _refused(HOUSEHOLD, d.directory)
    assert message.startswith(f"{packed}: header does not match") and "missing field(s) 联系电话" in message


@pytest.mark.parametrize("pack", [_gzip, _zip])
def test_a_truncated_archive_is_refused_naming_it_and_reruns_once_fixed(tmp_path, pack):
    d = _delivery(tmp_path, f"broken{len(pack.__name__)}", persons=200)
    packed = pack(d.files[0])
    whole = packed.read_bytes()
    packed.write_bytes(whole[: len(whole) * 2 // 3])
    _manifest(d.directory, {packed.name: d.rows})
    message = _refused(HOUSEHOLD, d.directory)
    assert message.startswith(f"{packed}: ") and "truncated or corrupt" in message
    packed.write_bytes(whole)
    _manifest(d.directory, {packed.name: d.rows})
    assert check_delivery(HOUSEHOLD, d.directory, tmp_path / "staging")


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ({"../evil.csv": b"x"}, "entry '../evil.csv' is not a plain file name"),
        ({"/etc/evil.csv": b"x"}, "entry '/etc/evil.csv' is not a plain file name"),
        ({"a.csv": b"x", "b.csv": b"y"}, "holds 2 data files (a.csv, b.csv); one per archive"),
        ({"readme.txt": b"x"}, "holds no *.csv file"),
    ],
)
def test_a_hostile_zip_is_refused_naming_the_entry(tmp_path, entries, problem):
    d = _delivery(tmp_path, f"hostile{len(problem)}")
    packed = _zip(d.files[0], entries)
    _manifest(d.directory, {packed.name: 1})
    message = _refused(HOUSEHOLD, d.directory)
    assert message.startswith(f"{packed}: ") and problem in message
    assert not list((d.directory.parent / "_staging").rglob("evil.csv"))


def test_a_zip_entry_in_an_unknown_compression_method_is_refused(tmp_path):
    d = _delivery(tmp_path, "method1")
    packed = d.files[0].with_suffix(".zip")
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(d.files[0].name, d.files[0].read_bytes())
    d.files[0].unlink()
    data = packed.read_bytes()  # compression method 99 in the local and the central header
    data = data[:8] + b"\x63\x00" + data[10:]
    central = data.rindex(b"PK\x01\x02")
    packed.write_bytes(data[: central + 10] + b"\x63\x00" + data[central + 12 :])
    _manifest(d.directory, {packed.name: d.rows})
    message = _refused(HOUSEHOLD, d.directory)
    assert message.startswith(f"{packed}: not a readable zip archive") and "compression method" in message


@pytest.mark.parametrize("pack", [_gzip, _zip])
def test_an_archive_unpacking_beyond_the_bound_is_refused(tmp_path, monkeypatch, pack):
    from jobs import archives  # lazy: absent before compressed deliveries were supported

    monkeypatch.setattr(archives, "MAX_UNPACKED_BYTES", 1 << 20)
    d = _delivery(tmp_path, f"bomb{len(pack.__name__)}")
    path = d.files[0]
    header = path.read_bytes().split(b"\n", 1)[0] + b"\n"
    path.write_bytes(header + b"0" * (3 << 20))
    packed = pack(path)
    _manifest(d.directory, {packed.name: 1})
    message = _refused(HOUSEHOLD, d.directory)
    assert message.startswith(f"{packed}: unpacks to more than 1,048,576 bytes")
    staged = [p for p in (d.directory.parent / "_staging").rglob("*") if p.is_file()]
    assert all(p.stat().st_size <= (1 << 20) for p in staged)


def test_a_zip_bomb_by_ratio_is_refused_before_it_fills_the_disk(tmp_path):
    d = _delivery(tmp_path, "ratio1")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.csv", b"\0" * (32 << 20))
    packed = d.files[0].with_suffix(".zip")
    packed.write_bytes(buffer.getvalue())
    d.files[0].unlink()
    _manifest(d.directory, {packed.name: 1})
    assert "compresses more than 200:1" in _refused(HOUSEHOLD, d.directory)


def test_a_gbk_feed_delivered_gzipped_is_unpacked_then_decoded_to_utf8(tmp_path):
    gbk = HOUSEHOLD.model_copy(update={"encoding": "gbk"})
    d = _delivery(tmp_path, "gbkgz1", gbk)
    text = d.files[0].read_text(encoding="gbk")
    packed = _gzip(d.files[0])
    _manifest(d.directory, {packed.name: d.rows})
    [f] = check_delivery(gbk, d.directory, tmp_path / "staging")
    assert f.readable.parent == tmp_path / "staging" and f.readable.read_text(encoding="utf-8") == text


def test_a_broken_archive_through_the_preflight_stage_is_a_logged_rejection(tmp_path, monkeypatch):
    """Rejected before bronze: only governance.batch_log hears of it, naming the archive."""
    d = _delivery(tmp_path, "logged1", persons=200)
    packed = _gzip(d.files[0])
    packed.write_bytes(packed.read_bytes()[:-40])
    _manifest(d.directory, {packed.name: d.rows})
    logged: list[dict] = []
    monkeypatch.setattr(
        pipeline, "settings", lambda: SimpleNamespace(landing=tmp_path / "landing", home=tmp_path)
    )
    monkeypatch.setattr(pipeline, "get_spark", lambda: None)
    monkeypatch.setattr(batch_log, "record", lambda _spark, *entries: logged.extend(entries))
    with pytest.raises(DeliveryRejected):
        pipeline.preflight(HOUSEHOLD.key, "logged1")
    [entry] = logged
    assert (entry["stage"], entry["status"]) == ("preflight", "rejected")
    assert entry["message"].startswith(f"{packed}: not a readable gzip file (truncated or corrupt)")
