"""Loads and cross-checks the catalog YAML: departments/<dept>.yaml (responsibility + requirement lists),
negative_list.yaml, requests/<id>.yaml, approvals/*.yaml (signed reviews) and keys/<department>.pub (their
public keys). Errors name the file and the field."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from catalog.models import Department, NegativeItem, NegativeList, Resource, Review, ShareRequest
from infra.settings import Settings, settings
from schemas.contracts import read_mapping, validation_problems

PACKAGED = Path(__file__).resolve().parent  # the catalog YAML that ships with the package


def catalog_dir(s: Settings | None = None) -> Path:
    """Where the catalog lives: GOVLAKE_CATALOG_DIR (a deployment's own lists, requests and approvals),
    else the packaged catalog/ (the checkout's)."""
    return (s or settings()).catalog_dir or PACKAGED


def requests_dir(s: Settings | None = None) -> Path:
    return catalog_dir(s) / "requests"


def approvals_dir(s: Settings | None = None) -> Path:
    return catalog_dir(s) / "approvals"


def keys_dir(s: Settings | None = None) -> Path:
    """The departments' public keys (`<department>.pub`), beside approvals/."""
    return catalog_dir(s) / "keys"


class CatalogError(ValueError):
    """A catalog file is invalid; the message names the file and the field."""


def _read(path: Path, model: type[BaseModel]):
    data = read_mapping(path, "catalog file", CatalogError)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"{path}: {validation_problems(exc)}") from exc


@dataclass
class Catalog:
    departments: dict[str, Department]
    negative: list[NegativeItem]
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, tuple[Department, Resource]]:
        return {r.code: (d, r) for d in self.departments.values() for r in d.responsibilities}

    def negative_for(self, resource: str) -> list[NegativeItem]:
        return [n for n in self.negative if n.resource == resource]


def load_catalog(root: Path | None = None) -> Catalog:
    root = root or catalog_dir()
    departments: dict[str, Department] = {}
    files: dict[str, Path] = {}
    for path in sorted((root / "departments").glob("*.yaml")):
        dept = _read(path, Department)
        if dept.department != path.stem:
            raise CatalogError(f"{path}: department: {dept.department!r} differs from the file name")
        departments[dept.department] = dept
        files[dept.department] = path
    seen: dict[str, Path] = {}
    for name, dept in departments.items():
        for i, res in enumerate(dept.responsibilities):
            if res.code in seen:
                raise CatalogError(
                    f"{files[name]}: responsibilities.{i}.code: {res.code} also in {seen[res.code]}"
                )
            seen[res.code] = files[name]
    cat = Catalog(departments, [], files)
    resources = cat.resources
    for name, dept in departments.items():
        for i, req in enumerate(dept.requirements):
            if req.provider not in departments:
                raise CatalogError(
                    f"{files[name]}: requirements.{i}.provider: unknown department {req.provider!r}"
                )
            if req.resource and req.resource not in resources:
                raise CatalogError(
                    f"{files[name]}: requirements.{i}.resource: unknown resource {req.resource}"
                )
    negative_path = root / "negative_list.yaml"
    if negative_path.exists():
        cat.negative = list(_read(negative_path, NegativeList).items)
        for i, n in enumerate(cat.negative):
            owner = resources.get(n.resource)
            if not owner or owner[0].department != n.department:
                raise CatalogError(
                    f"{negative_path}: items.{i}.resource: {n.resource} is not a resource of {n.department}"
                )
            if not any(it.name == n.item for it in owner[1].items):
                raise CatalogError(
                    f"{negative_path}: items.{i}.item: {n.item!r} is not an item of {n.resource}"
                )
    return cat


def load_request(path: Path) -> ShareRequest:
    req = _read(path, ShareRequest)
    if req.id != path.stem:
        raise CatalogError(f"{path}: id: {req.id!r} differs from the file name {path.stem!r}")
    return req


@dataclass(frozen=True)
class ReviewFile:
    """One file of approvals/: its review, or why it could not be read (then `request` is the request it
    names, else the one its file name `<request>.<decision>.yaml` names)."""

    path: Path
    request: str
    sha256: str  # of the file's bytes: a refused file is recorded once per content
    review: Review | None = None
    problem: str = ""


def _review_file(path: Path) -> ReviewFile:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        data = read_mapping(path, "review", CatalogError)
        named = data.get("request")
        review = Review.model_validate(data)
    except CatalogError as exc:
        return ReviewFile(path, path.name.split(".")[0], digest, problem=str(exc))
    except ValidationError as exc:
        request = named if isinstance(named, str) and named.isidentifier() else path.name.split(".")[0]
        return ReviewFile(path, request, digest, problem=f"{path}: {validation_problems(exc)}")
    return ReviewFile(path, review.request, digest, review)


def load_reviews(directory: Path) -> dict[str, list[ReviewFile]]:
    """request id → its review files, unreadable ones included (the engine refuses them, naming why)."""
    out: dict[str, list[ReviewFile]] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        found = _review_file(path)
        out.setdefault(found.request, []).append(found)
    return out
