"""The catalog report: size, mount rate (挂接率), requirement coverage and items on neither list, computed
against the gold tables that exist in Trino now; and its load into governance.* tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog import governance
from catalog.loader import Catalog
from catalog.models import Requirement, Resource
from infra.settings import Settings, settings


@dataclass
class Coverage:
    department: str
    requirement: Requirement
    covered_by: list[str]
    missing: list[str]
    negative: list[str]

    @property
    def covered(self) -> bool:
        return not self.missing and not self.negative


@dataclass
class Report:
    departments: int
    resources: int
    items: int
    negative_items: int
    mounted: list[str]
    unmounted_declared: list[str]  # declare a table that does not (yet) exist or lacks a column
    coverage: list[Coverage]
    neither: list[tuple[str, str, str]] = field(default_factory=list)  # (requester, provider, item)

    @property
    def mount_rate(self) -> float:
        return len(self.mounted) / self.resources if self.resources else 0.0

    @property
    def requirements_covered(self) -> int:
        return sum(c.covered for c in self.coverage)

    def lines(self) -> list[str]:
        n = len(self.coverage)
        out = [
            f"catalog: {self.departments} departments, {self.resources} resources (目录), "
            f"{self.items} data items, "
            f"{self.negative_items} on the negative list",
            f"mounted (挂接): {len(self.mounted)} of {self.resources} resources ({self.mount_rate:.1%})",
            f"requirements (需求清单): {n}, covered by responsibilities {self.requirements_covered} "
            f"({self.requirements_covered / n:.1%})"
            if n
            else "requirements: none",
        ]
        if self.unmounted_declared:
            out.append("declared mount, table/columns not in gold yet: " + ", ".join(self.unmounted_declared))
        for c in self.coverage:
            if not c.covered:
                why = []
                if c.missing:
                    why.append("not provided: " + "、".join(c.missing))
                if c.negative:
                    why.append("negative list: " + "、".join(c.negative))
                out.append(
                    f"  uncovered {c.requirement.code} {c.department} ← {c.requirement.provider} "
                    f"({c.requirement.business}): {'; '.join(why)}"
                )
        out.append(f"items on neither list (requested, not provided, not prohibited): {len(self.neither)}")
        out += [f"  {item} ({requester} ← {provider})" for requester, provider, item in self.neither]
        return out


def gold_columns(s: Settings) -> dict[str, set[str]]:
    rows = governance.select(
        f"SELECT table_name, column_name FROM {s.trino_catalog}.information_schema.columns "
        "WHERE table_schema = 'gold'",
        s=s,
    )
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


def is_mounted(res: Resource, gold: dict[str, set[str]]) -> bool:
    cols = [i.column for i in res.items if i.column]
    return bool(res.table) and res.table in gold and bool(cols) and set(cols) <= gold[res.table]


def build(cat: Catalog, gold: dict[str, set[str]]) -> Report:
    resources = [r for d in cat.departments.values() for r in d.responsibilities]
    mounted = [r.code for r in resources if is_mounted(r, gold)]
    declared = [f"{r.code}→gold.{r.table}" for r in resources if r.table and r.code not in mounted]
    provided_anywhere = {i.name for r in resources for i in r.items}
    negative_names = {(n.department, n.item) for n in cat.negative}
    coverage, neither = [], []
    for name, dept in sorted(cat.departments.items()):
        for req in dept.requirements:
            provider = cat.departments[req.provider]
            pool = [r for r in provider.responsibilities if not req.resource or r.code == req.resource]
            offered = {i.name: r.code for r in pool for i in r.items}
            negative = [i for i in req.items if (req.provider, i) in negative_names]
            missing = [i for i in req.items if i not in offered and i not in negative]
            covered_by = sorted({offered[i] for i in req.items if i in offered})
            coverage.append(Coverage(name, req, covered_by, missing, negative))
            neither += [(name, req.provider, i) for i in missing if i not in provided_anywhere]
    return Report(
        departments=len(cat.departments),
        resources=len(resources),
        items=sum(len(r.items) for r in resources),
        negative_items=len(cat.negative),
        mounted=mounted,
        unmounted_declared=declared,
        coverage=coverage,
        neither=neither,
    )


def load(cat: Catalog, report: Report, s: Settings | None = None) -> dict[str, int]:
    """Replace governance.catalog_resource / catalog_item / catalog_requirement / negative_list."""
    s = s or settings()
    mounted = set(report.mounted)
    negative = {(n.resource, n.item) for n in cat.negative}
    res_rows, item_rows = [], []
    for name, dept in sorted(cat.departments.items()):
        for r in dept.responsibilities:
            res_rows.append(
                [
                    name,
                    r.code,
                    r.name,
                    r.library,
                    r.table,
                    r.frequency,
                    r.share_type,
                    r.open_type,
                    len(r.items),
                    r.code in mounted,
                ]
            )
            item_rows += [[name, r.code, i.name, i.column, (r.code, i.name) in negative] for i in r.items]
    req_rows = [
        [
            c.department,
            c.requirement.code,
            c.requirement.provider,
            "、".join(c.requirement.items),
            c.requirement.business,
            c.covered,
            ",".join(c.covered_by),
            "、".join(c.missing + c.negative),
        ]
        for c in report.coverage
    ]
    neg_rows = [
        [n.code, n.department, n.resource, n.item, n.column, n.reason, n.basis.document, n.basis.article]
        for n in cat.negative
    ]
    return {
        "catalog_resource": governance.insert("catalog_resource", res_rows, s, replace=True),
        "catalog_item": governance.insert("catalog_item", item_rows, s, replace=True),
        "catalog_requirement": governance.insert("catalog_requirement", req_rows, s, replace=True),
        "negative_list": governance.insert("negative_list", neg_rows, s, replace=True),
    }
