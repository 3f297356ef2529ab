"""Library contracts: schemas/libraries/<name>.yaml, validated on load.

Two kinds:
* `golden` — a base library (人口库, 法人库 …): one row per subject key; per attribute the authoritative
  feed(s) ("one number, one source", first non-null in the listed order) and the feeds that verify it.
  jobs/library.py builds gold.<table> and governance.verification_conflict from it.
* `theme` — a thematic table in gold built by one Spark SQL select over gold tables (named by table),
  with a Chinese label per output column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.contracts import (
    LIBRARIES_DIR,
    SCHEMAS_DIR,
    Column,
    ContractError,
    FeedContract,
    Level,
    PiiKind,
    identifier,
    load_contracts,
    parse,
    read_mapping,
    require_level,
)

FEED_REF = r"^[a-z][a-z0-9_]*/[a-z][a-z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Attribute(_Model):
    name: str
    label: str = Field(min_length=1)
    authority: list[str] = Field(min_length=1, description="authoritative feed(s), by precedence")
    verify: list[str] = Field([], description="feeds whose value is compared with the authoritative one")

    _name = field_validator("name")(identifier)


class OutputColumn(_Model):
    name: str
    label: str = Field(min_length=1)
    pii: PiiKind = "none"
    level: Level  # mandatory, as for feed columns: shares mask L3 and hide L4 columns

    _name = field_validator("name")(identifier)
    _classified = model_validator(mode="before")(require_level)


class GoldenLibrary(_Model):
    kind: Literal["golden"] = "golden"
    library: str
    title: str
    table: str
    key: str
    key_label: str
    base: list[str] = Field(min_length=1, description="feeds whose keys make up the subjects")
    attributes: list[Attribute] = Field(min_length=1)
    details: list[str] = Field([], description="further feeds of the library (per-source detail tables)")

    _names = field_validator("library", "table", "key")(identifier)

    @property
    def feeds(self) -> list[str]:
        refs = [*self.base, *self.details]
        for a in self.attributes:
            refs += [*a.authority, *a.verify]
        return list(dict.fromkeys(refs))


class ThemeTable(_Model):
    kind: Literal["theme"]
    library: str
    title: str
    table: str
    sources: list[str] = Field(min_length=1, description="gold tables the select reads")
    sql: str
    columns: list[OutputColumn] = Field(min_length=1)

    _names = field_validator("library", "table")(identifier)

    @field_validator("sources")
    @classmethod
    def _tables(cls, value: list[str]) -> list[str]:
        return [identifier(v) for v in value]

    @model_validator(mode="after")
    def _select_only(self) -> ThemeTable:
        if not self.sql.lstrip().lower().startswith(("select", "with")):
            raise ValueError("sql must be a single SELECT (or WITH … SELECT)")
        return self


Library = GoldenLibrary | ThemeTable


def _check_refs(lib: GoldenLibrary, feeds: dict[str, FeedContract]) -> None:
    problems = []
    for ref in lib.feeds:
        if ref not in feeds:
            problems.append(f"unknown feed {ref!r}")
            continue
        names = {c.name for c in feeds[ref].columns}
        if lib.key not in names:
            problems.append(f"feed {ref} has no key column {lib.key!r}")
    for a in lib.attributes:
        for ref in [*a.authority, *a.verify]:
            if ref in feeds and a.name not in {c.name for c in feeds[ref].columns}:
                problems.append(f"attributes.{a.name}: feed {ref} has no column {a.name!r}")
    if problems:
        raise ValueError("; ".join(problems))


def load_library(path: Path, feeds: dict[str, FeedContract] | None = None) -> Library:
    data = read_mapping(path, "library contract")
    lib: Library = (
        parse(path, ThemeTable, data) if data.get("kind") == "theme" else parse(path, GoldenLibrary, data)
    )
    try:
        if isinstance(lib, GoldenLibrary):
            _check_refs(lib, feeds if feeds is not None else load_contracts())
    except ValueError as exc:
        raise ContractError(f"{path}: {exc}") from exc
    if path.stem != lib.table:
        raise ContractError(f"{path}: must be named schemas/{LIBRARIES_DIR}/{lib.table}.yaml")
    return lib


def load_libraries(root: Path = SCHEMAS_DIR) -> dict[str, Library]:
    """Every library contract, by table name: golden libraries first, then themes (build order)."""
    feeds = load_contracts(root)
    libs = [load_library(p, feeds) for p in sorted((root / LIBRARIES_DIR).glob("*.yaml"))]
    libs.sort(key=lambda lib: lib.kind != "golden")
    return {lib.table: lib for lib in libs}


def library_columns(lib: Library, feeds: dict[str, FeedContract]) -> dict[str, Column]:
    """The classified columns of a library's gold table: a golden library's key and attributes take their
    authoritative feed's classification (PII kind, level); a theme declares its own."""
    if isinstance(lib, ThemeTable):
        return {c.name: Column(name=c.name, label=c.label, pii=c.pii, level=c.level) for c in lib.columns}
    base = feeds[lib.base[0]]
    out = {lib.key: base.column(lib.key)}
    for a in lib.attributes:
        out[a.name] = feeds[a.authority[0]].column(a.name)
    return out
