"""What a feed's stages hand each other: one typed state per batch, each stage filling in its own result.

The state crosses Airflow tasks as JSON (`model_dump(mode="json")` / `model_validate`), so every field is
plain data; a refined batch's cached rows stay in the process (govlake.pipeline), never in the state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeliveredFile(_Result):
    path: str
    readable: str  # the file in UTF-8 (a re-encoded copy in staging if delivered otherwise)
    sha256: str
    lines: int  # records, the header included
    headers: list[str]
    spans: bool = False  # some record spans physical lines (a newline inside a quoted field)


class PreflightResult(_Result):
    started: dt.datetime
    finished: dt.datetime
    lines: int
    files: list[DeliveredFile]


class BronzeResult(_Result):
    rows: int
    skipped_files: list[str]
    undeclared: list[str]


class SilverResult(_Result):
    rows_in: int
    rows_out: int
    quarantined: int
    reasons: dict[str, int]


class QualityResult(_Result):
    """One quality run (the gate on the batch, or the check on gold after publish)."""

    run_id: str
    expectations: int
    failed_expectations: list[str]
    failing_rows: int
    data_docs: str | None
    seconds: float
    blocked: str | None = None  # why the gate stops the batch; None when it passes
    warnings: list[str] = []
    on_refined_rows: bool = False  # validated refine's cached rows (else silver + quarantine as stored)


class GoldResult(_Result):
    inserted: int
    updated: int
    version: int


class TrinoResult(_Result):
    registered: list[str]
    seconds: float


class BatchState(_Result):
    """A feed's batch on its way through the stages."""

    feed: str  # <department>__<feed>
    batch_id: str | None = None  # None until preflight picks the latest delivery
    preflight: PreflightResult | None = None
    bronze: BronzeResult | None = None
    silver: SilverResult | None = None
    gate: QualityResult | None = None
    gold: GoldResult | None = None
    gold_quality: QualityResult | None = None
    trino: TrinoResult | None = None
    taken: str | None = None  # left to another run of the same batch (govlake.batch_claim), and why

    @property
    def batch(self) -> str:
        if self.batch_id is None:
            raise ValueError(f"{self.feed}: the batch is not known before preflight")
        return self.batch_id

    def with_(self, **results: Any) -> BatchState:
        return self.model_copy(update=results)


class _Readable(_Result):
    """A result that scripts may also read by key (`out["libraries"]`)."""

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


class LibraryResult(_Readable):
    """One library build: a golden library's subjects and history changes, or a theme's rows."""

    table: str
    kind: str  # golden | theme
    rows: int  # subjects of a golden library, rows of a theme
    inserted: int = 0
    closed: int = 0
    conflicts: int = 0
    version: int | None = None
    feedback: dict[str, int] | None = None  # conflicts per department, when the DAG wrote the report


class ProvinceRun(_Readable):
    """The province's day: every feed's batch, the feeds the quality gate stopped, the libraries."""

    feeds: dict[str, BatchState]
    blocked: dict[str, str]  # feed → why the gate stopped it
    rejected: dict[str, str]  # feed → why preflight rejected its delivery
    missing: list[str]  # feeds that delivered nothing for the batch
    libraries: dict[str, LibraryResult]
    feedback: dict[str, int]  # verification conflicts fed back, per department
    registered: list[str]
