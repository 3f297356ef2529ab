"""Checks a delivery before anything is written: encoding, header, delivery manifest.

A delivery that fails any check is rejected whole, with an error naming the file and the field
(or line); nothing is written, and once the files are fixed the same batch can simply be run again.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from jobs.archives import ArchiveProblem, archive_formats, is_archive, unpack
from jobs.parquet_types import type_problem
from jobs.records import RecordProblem, UndecodableText, scan_text
from schemas.contracts import FeedContract, validation_problems

UTF8 = "utf-8"
UNDECLARED = "?"  # prefix of an undeclared (schema-drift) field in DeliveredFile.headers


class DeliveryRejected(Exception):
    """The whole delivery is refused; the message names the file and the problem."""


@dataclass(frozen=True)
class DeliveredFile:
    path: Path  # as delivered, in the landing zone
    readable: Path  # what Spark reads: the file itself, or its UTF-8 copy when delivered in another encoding
    sha256: str
    lines: int  # records, the header included (a quoted field's newlines do not end one)
    headers: tuple[str, ...]  # contract column names in the file's order; "?<header>" if undeclared
    spans: bool = False  # some record spans physical lines (a newline inside a quoted field)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ManifestFile(_Strict):
    """One delivered file as `_delivery.json` lists it."""

    name: str = Field(min_length=1)
    sha256: str | None = Field(None, pattern="^[0-9a-fA-F]{64}$")
    rows: StrictInt | None = Field(None, ge=0, description="data rows, without the header line")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if value in (".", "..") or any(c in value for c in "/\\\0"):
            raise ValueError(f"{value!r} is not a plain file name (no '/', '\\' or '..')")
        return value


class Manifest(_Strict):
    """`_delivery.json`: the files of the delivery with their checksums and row counts."""

    batch_id: str | None = None
    files: list[ManifestFile]

    @model_validator(mode="after")
    def _each_file_once(self) -> Manifest:
        names = [f.name for f in self.files]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"files: {', '.join(twice)} listed more than once")
        return self


def batch_dir(landing: Path, contract: FeedContract, batch_id: str) -> Path:
    return landing / contract.department / contract.feed / batch_id


def data_files(directory: Path, contract: FeedContract) -> list[Path]:
    """The delivery's data files: every `*.<format>` (or `*.<format>.gz`, `*.zip` for a text format)
    not starting with `_` or `.`."""
    endings = (f".{contract.format}", *archive_formats(contract.format))
    found = directory.iterdir() if directory.is_dir() else iter(())
    return sorted(p for p in found if p.name.endswith(endings) and not p.name.startswith(("_", ".")))


def check_delivery(
    contract: FeedContract, directory: Path, staging: Path, landing: Path | None = None
) -> list[DeliveredFile]:
    """Every file of the batch folder `directory` (landing/<department>/<feed>/<batch>/; the landing zone is
    three levels up unless named) against the contract; DeliveryRejected names the first problem."""
    _refuse_links(directory, landing or directory.parent.parent.parent)
    if not directory.is_dir():
        raise DeliveryRejected(
            f"{directory}: no such delivery (expected landing/<department>/<feed>/<batch>/)"
        )
    try:
        contract.batch_order.key(directory.name)
    except ValueError as exc:
        raise DeliveryRejected(
            f"{directory}: {exc}, as schemas/{contract.department}/{contract.feed}.yaml declares"
        ) from exc
    files = data_files(directory, contract)
    if not files:
        raise DeliveryRejected(f"{directory}: the delivery holds no *.{contract.format} file")
    for folder in (p for p in files if not p.is_file()):
        raise DeliveryRejected(f"{folder}: a folder named like a data file; the whole delivery is refused")
    manifest = _manifest(directory)
    check = _check_parquet if contract.format == "parquet" else _check_text
    checked = [check(contract, path, staging) for path in files]
    if manifest is not None:
        _match_manifest(directory, manifest, checked, contract)
    return checked


def _refuse_links(directory: Path, landing: Path) -> None:
    """A symbolic link anywhere in the delivery (or as the batch folder), anything but plain files and
    folders, or a batch folder outside the landing zone refuses the whole delivery."""
    if directory.is_symlink():
        raise DeliveryRejected(
            f"{directory}: the batch folder is a symbolic link (to {os.readlink(directory)}); refused"
        )
    if not directory.resolve().is_relative_to(landing.resolve()):
        raise DeliveryRejected(
            f"{directory}: resolves to {directory.resolve()}, outside the landing zone {landing}"
        )
    for root, folders, names in os.walk(directory):  # never descends into a linked folder
        for entry in (Path(root) / n for n in [*folders, *names]):
            if entry.is_symlink():
                raise DeliveryRejected(
                    f"{entry}: is a symbolic link (to {os.readlink(entry)}); the whole delivery is refused"
                )
            if not (entry.is_file() or entry.is_dir()):
                raise DeliveryRejected(
                    f"{entry}: not a regular file or folder; the whole delivery is refused"
                )


def _manifest(directory: Path) -> dict[str, ManifestFile] | None:
    """`_delivery.json`, validated: a bad one rejects the delivery naming the file and the field."""
    path = directory / "_delivery.json"
    if not path.exists():
        return None
    try:
        manifest = Manifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError) as exc:  # ValidationError, JSON and Unicode: ValueError
        problem = (
            validation_problems(exc) if isinstance(exc, ValidationError) else f"not readable JSON: {exc}"
        )
        raise DeliveryRejected(f"{path}: {problem}") from exc
    if manifest.batch_id is not None and manifest.batch_id != directory.name:
        raise DeliveryRejected(
            f"{path}: batch_id: {manifest.batch_id!r}, but the folder is {directory.name!r}"
        )
    return {f.name: f for f in manifest.files}


def _match_manifest(
    directory: Path, manifest: dict[str, ManifestFile], files: list[DeliveredFile], contract: FeedContract
) -> None:
    names = {f.path.name for f in files}
    for missing in sorted(set(manifest) - names):
        raise DeliveryRejected(f"{directory / missing}: listed in _delivery.json but not delivered")
    for f in files:
        entry = manifest.get(f.path.name)
        if entry is None:
            raise DeliveryRejected(f"{f.path}: delivered but not listed in _delivery.json")
        if entry.sha256 and entry.sha256.lower() != f.sha256:
            raise DeliveryRejected(
                f"{f.path}: sha256 {f.sha256} differs from _delivery.json (truncated copy?)"
            )
        header_lines = 1 if f.headers and contract.format == "csv" and contract.header else 0
        if entry.rows is not None and entry.rows != f.lines - header_lines:
            raise DeliveryRejected(
                f"{f.path}: {f.lines - header_lines} data rows, _delivery.json says {entry.rows}"
            )


def _check_text(contract: FeedContract, path: Path, staging: Path) -> DeliveredFile:
    """A CSV or JSON Lines file; an archive is unpacked into staging first and its content checked."""
    if not is_archive(path):
        return _check_file(contract, path, staging, path)
    try:
        unpacked = unpack(path, contract.format, staging / "unpacked")
    except ArchiveProblem as exc:
        raise DeliveryRejected(f"{path}: {exc}") from exc
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()  # the file as delivered and listed
    return dataclasses.replace(_check_file(contract, path, staging, unpacked), sha256=digest)


def _check_file(contract: FeedContract, path: Path, staging: Path, source: Path) -> DeliveredFile:
    """One streaming pass over `source` (the delivered `path`, or what its archive unpacked to):
    checksum, strict decoding, records, header; a UTF-8 copy if needed. Problems name `path`."""
    encoding = codecs.lookup(contract.encoding).name
    copy = staging / source.name if encoding != UTF8 else None
    try:
        digest, scan, first_line = scan_text(source, encoding, contract.format == "csv", copy)
    except UndecodableText as exc:
        raise DeliveryRejected(
            f"{path}: not valid {contract.encoding} {exc}; the contract "
            f"schemas/{contract.department}/{contract.feed}.yaml declares encoding {contract.encoding}"
        ) from exc
    except RecordProblem as exc:
        raise DeliveryRejected(f"{path}: {exc}") from exc
    if not scan.lines and not scan.records and contract.header and contract.format == "csv":
        raise DeliveryRejected(
            f"{path}: the file is empty (0 bytes); a delivery without rows still needs its header line"
        )
    if contract.format == "jsonl":  # keys are checked per line in Spark (undeclared ones kept or flagged)
        headers = tuple(c.name for c in contract.columns)
    else:
        headers = _check_header(contract, path, first_line or "")
    return DeliveredFile(path, copy or source, digest, scan.records, headers, scan.spans)


def _check_parquet(contract: FeedContract, path: Path, staging: Path) -> DeliveredFile:
    """Parquet: the footer must be readable; its column names are the header; one row is one 'line'."""
    try:
        meta = pq.read_metadata(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DeliveryRejected(f"{path}: not a readable Parquet file: {exc}") from exc
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    headers = _match_fields(contract, path, list(meta.schema.names))
    arrow = meta.schema.to_arrow_schema()
    for c in contract.columns:
        problem = type_problem(c.type, arrow.field(c.header).type)
        if problem:
            raise DeliveryRejected(f"{path}: field {c.header}: {problem}")
    return DeliveredFile(path, path, digest, meta.num_rows, headers)


def _check_header(contract: FeedContract, path: Path, first_line: str) -> tuple[str, ...]:
    if not contract.header:
        return tuple(c.name for c in contract.columns)
    line = first_line.lstrip("\ufeff").rstrip("\r")
    try:
        return _match_fields(contract, path, _fields(line, contract.delimiter))
    except DeliveryRejected as exc:
        expected = {c.header for c in contract.columns}
        for other in (d for d in ",;\t|" if d != contract.delimiter):
            if expected <= set(_fields(line, other)):
                raise DeliveryRejected(
                    f"{exc}; the header splits on {other!r}, not on {contract.delimiter!r} "
                    "(the wrong delimiter?)"
                ) from exc
        raise


def _fields(line: str, delimiter: str) -> list[str]:
    return [h.strip() for h in next(csv.reader([line], delimiter=delimiter), [])]


def _match_fields(contract: FeedContract, path: Path, got: list[str]) -> tuple[str, ...]:
    """Delivered field names against the contract; undeclared ones pass only if the contract keeps them."""
    expected = [c.header for c in contract.columns]
    missing = [h for h in expected if h not in got]
    unexpected = [h for h in got if h not in contract.by_header]
    if contract.undeclared_columns == "keep":
        unexpected = []
    if missing or unexpected or len(set(got)) != len(got):
        parts = []
        if missing:
            parts.append(f"missing field(s) {', '.join(missing)}")
        if unexpected:
            parts.append(f"unexpected field(s) {', '.join(unexpected)}")
        if len(set(got)) != len(got):
            parts.append("a field appears twice")
        raise DeliveryRejected(
            f"{path}: header does not match contract schemas/{contract.department}/{contract.feed}.yaml: "
            + "; ".join(parts)
        )
    return tuple(contract.by_header[h].name if h in contract.by_header else UNDECLARED + h for h in got)
