"""GB/T 2260 administrative-division codes, from the table python-stdnum maintains (stdnum/cn/loc.dat).

Each code carries the years it was in use; a code that is still in use has an open end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_SEGMENT = re.compile(r"^(?:\[(\d{4})?-(\d{4})?\])?(.+)$")


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    province: str
    current: bool  # still in use (not abolished)
    spans: tuple[tuple[int | None, int | None, str], ...] = ()  # (first year, last year, name); None: open

    def valid_in(self, year: int) -> bool:
        """In use in `year` (the test python-stdnum applies to a resident ID's birth year)."""
        if not self.spans:
            return True
        return any((a is None or a <= year) and (b is None or year <= b) for a, b, _ in self.spans)

    @property
    def level(self) -> str:
        if self.code.endswith("0000"):
            return "province"
        return "prefecture" if self.code.endswith("00") else "county"

    @property
    def prefecture_code(self) -> str:
        return self.code[:4] + "00"


def _spans(raw: str) -> tuple[tuple[int | None, int | None, str], ...]:
    """'[1983-2000]石灰窑区,[2001-]西塞山区' → ((1983, 2000, '石灰窑区'), (2001, None, '西塞山区'))."""
    out = []
    for part in raw.split(","):
        m = _SEGMENT.match(part.strip())
        if m:
            bracketed = part.strip().startswith("[")
            start = int(m.group(1)) if m.group(1) else None
            end = int(m.group(2)) if m.group(2) else None
            out.append((start, end, m.group(3)) if bracketed else (None, None, m.group(3)))
    return tuple(out)


@cache
def all_divisions() -> tuple[Division, ...]:
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    out: list[Division] = []
    province_code = province_name = ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.strip().partition(" ")
        attr, _, quoted = value.partition("=")
        name = quoted.strip('"')
        if not line.startswith(" "):
            province_code, province_name = key, name
            continue
        if attr != "county":
            continue
        spans = _spans(name)
        open_ended = [n for _, end, n in spans if end is None]
        current = bool(open_ended)
        out.append(
            Division(province_code + key, (open_ended or [spans[-1][2]])[-1], province_name, current, spans)
        )
    return tuple(out)


@cache
def by_code() -> dict[str, Division]:
    return {d.code: d for d in all_divisions()}


def counties(province: str) -> list[Division]:
    """County-level codes of a province ever in use (districts, counties, county-level cities)."""
    return [
        d
        for d in all_divisions()
        if d.code.startswith(province) and d.level == "county" and not d.name.endswith(("市辖区", "市区"))
    ]


def current_counties(province: str) -> list[Division]:
    """Counties, districts and county-level cities now in use in a province ('42' for Hubei)."""
    return [
        d
        for d in all_divisions()
        if d.code.startswith(province) and d.current and d.level == "county" and not d.name.endswith("市辖区")
    ]
