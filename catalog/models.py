"""The three lists (三清单) and share requests as validated models. Every name that can reach SQL
(departments, tables, columns, request ids) must pass `schemas.contracts.identifier`."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from schemas.contracts import identifier

ShareType = Literal["无条件", "有条件", "不予共享"]  # 国发〔2016〕51号
OpenType = Literal["无条件开放", "有条件开放", "不予开放"]
Frequency = Literal["实时", "每日", "每周", "每月", "每季", "每年", "不定期"]
RESOURCE_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,9}-[0-9]{3,6}$")
ADMIN_PREFIX = re.compile(r"^[0-9]{2,12}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _code(value: str) -> str:
    if not RESOURCE_CODE.fullmatch(value):
        raise ValueError(f"{value!r} is not a resource code like 'GA-001'")
    return value


class Item(_Model):
    """A data item (数据项): its Chinese name and, once mounted, the gold column holding it."""

    name: str = Field(min_length=1)
    column: str | None = None

    _column = field_validator("column")(lambda v: v if v is None else identifier(v))


class Resource(_Model):
    """An entry of a department's responsibility list (责任清单) = a catalog entry (目录)."""

    code: str
    name: str = Field(min_length=1)
    library: str | None = None
    table: str | None = Field(None, description="gold table the resource is mounted to (挂接)")
    frequency: Frequency = "每日"
    share_type: ShareType = "有条件"
    open_type: OpenType = "不予开放"
    items: list[Item] = Field(min_length=1)

    _code = field_validator("code")(_code)
    _table = field_validator("table")(lambda v: v if v is None else identifier(v))

    def item_by_column(self, column: str) -> Item | None:
        return next((i for i in self.items if i.column == column), None)


class Requirement(_Model):
    """An entry of a department's requirement list (需求清单)."""

    code: str
    provider: str
    items: list[str] = Field(min_length=1)
    business: str = Field(min_length=1)
    resource: str | None = None

    _code = field_validator("code")(_code)
    _provider = field_validator("provider")(identifier)
    _resource = field_validator("resource")(lambda v: v if v is None else _code(v))


class Department(_Model):
    department: str
    name: str = Field(min_length=1)
    responsibilities: list[Resource] = []
    requirements: list[Requirement] = []

    _department = field_validator("department")(identifier)


class LegalBasis(_Model):
    document: str = Field(min_length=1)
    article: str = Field(min_length=1)

    def __str__(self) -> str:
        return f"{self.document} {self.article}"


class NegativeItem(_Model):
    """An entry of the province's negative list (负面清单): never shared, with its legal basis."""

    code: str
    department: str
    resource: str
    item: str = Field(min_length=1)
    column: str | None = None
    reason: str = Field(min_length=1)
    basis: LegalBasis

    _department = field_validator("department")(identifier)
    _resource = field_validator("resource")(_code)
    _column = field_validator("column")(lambda v: v if v is None else identifier(v))


class NegativeList(_Model):
    items: list[NegativeItem]


class RowScope(_Model):
    """Rows a share is limited to, e.g. its own city: admin_code starting with 4201."""

    column: str
    prefix: str

    _column = field_validator("column")(identifier)

    @field_validator("prefix")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not ADMIN_PREFIX.fullmatch(value):
            raise ValueError(f"{value!r} is not an admin-code prefix (2–12 digits)")
        return value


class ShareRequest(_Model):
    """catalog/requests/<id>.yaml: a department asks for some columns of a resource."""

    id: str
    requester: str
    resource: str
    columns: list[Annotated[str, AfterValidator(identifier)]] = Field(min_length=1)
    purpose: str = Field(min_length=1)
    legal_basis: str = Field(min_length=1, description="the requester's legal basis of use")
    row_scope: RowScope | None = None
    submitted: dt.date
    expires: dt.date

    _names = field_validator("id", "requester")(identifier)
    _resource = field_validator("resource")(_code)

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("columns are listed twice")
        return value


class UnsignedReview(_Model):
    """A provider's decision on one version of a request, before it is signed."""

    request: str
    decision: Literal["approve", "reject", "revoke"]
    reviewer: str = Field(description="the deciding department")
    person: str = Field(min_length=1, description="the official who decided (free text)")
    reason: str = Field(min_length=1)
    decided_at: AwareDatetime
    request_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="catalog.signing.request_sha256")

    _names = field_validator("request", "reviewer")(identifier)


class Review(UnsignedReview):
    """catalog/approvals/<request id>.<decision>.yaml (`govlake share approve|reject|revoke`): the
    provider's word, signed by the deciding department (catalog.signing)."""

    signature: str = Field(min_length=1, description="base64 Ed25519 over all other fields")
