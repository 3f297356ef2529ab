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

    @property
    def level(self) -> str:
        if self.code.endswith("0000"):
            return "province"
        return "prefecture" if self.code.endswith("00") else "county"

    @property
    def prefecture_code(self) -> str:
        return self.code[:4] + "00"


def _parse_name(raw: str) -> tuple[str, bool]:
    """'[1983-2000]石灰窑区,[2001-]西塞山区' → ('西塞山区', True)."""
    segments = []
    for part in raw.split(","):
        m = _SEGMENT.match(part.strip())
        if m:
            segments.append((m.group(2), m.group(3)))
    open_ended = [name for end, name in segments if end is None]
    if open_ended:
        return open_ended[-1], True
    return segments[-1][1], False


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
        clean, current = _parse_name(name)
        out.append(Division(province_code + key, clean, province_name, current))
    return tuple(out)


@cache
def by_code() -> dict[str, Division]:
    return {d.code: d for d in all_divisions()}


def current_counties(province: str) -> list[Division]:
    """Counties, districts and county-level cities now in use in a province ('42' for Hubei)."""
    return [
        d
        for d in all_divisions()
        if d.code.startswith(province) and d.current and d.level == "county" and not d.name.endswith("市辖区")
    ]
