"""Synthetic Hubei legal persons with valid unified social credit codes (GB 32100, via python-stdnum)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from stdnum.cn import uscc

from schemas.divisions import Division

# (registering authority + organisation type) of GB 32100, by base register
KINDS = {
    "enterprise": "91",  # 市场监管 · 企业
    "individual": "92",  # 市场监管 · 个体工商户
    "institution": "12",  # 编办 · 事业单位
    "social_org": "51",  # 民政 · 社会团体 (also used for other social organisations here)
}
TRADES = ("科技", "商贸", "建设", "物流", "农业", "医药", "文化", "电子", "新材料", "食品")
FORMS = ("有限公司", "股份有限公司", "有限责任公司")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code


@dataclass(frozen=True)
class LegalPerson:
    credit_code: str
    kind: str  # enterprise / individual / institution / social_org
    name: str
    admin_code: str
    established_on: dt.date
    registered_capital: int  # 万元; 0 where not applicable
    legal_rep_id: str


def organisation_code(body: str) -> str:
    """8 digits + the GB 11714 check character."""
    check = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(kind: str, admin_code: str, body: str) -> str:
    stem = KINDS[kind] + admin_code + organisation_code(body)
    return stem + uscc.calc_check_digit(stem + "0")


class LegalPersonFactory:
    def __init__(self, seed: int, counties: list[Division], rep_ids: list[str]) -> None:
        self.rng = random.Random(f"{seed}:legal-persons")
        self.counties = counties
        self.rep_ids = rep_ids
        self._issued: set[str] = set()

    def legal_person(self, kind: str, today: dt.date) -> LegalPerson:
        r = self.rng
        county = r.choice(self.counties)
        while True:
            code = credit_code(kind, county.code, f"{r.randrange(10**8):08d}")
            if code not in self._issued:
                self._issued.add(code)
                break
        place = county.name.rstrip("区县市") or county.name
        trade = r.choice(TRADES)
        name = {
            "enterprise": f"湖北{place}{r.choice('瑞华兴隆宏远恒达')}{trade}{r.choice(FORMS)}",
            "individual": f"{place}{r.choice('张王李刘陈杨')}记{trade}店",
            "institution": f"{place}{r.choice(('第一中学', '人民医院', '疾病预防控制中心', '图书馆'))}",
            "social_org": f"{place}{trade}{r.choice(('协会', '商会', '促进会', '基金会'))}",
        }[kind]
        return LegalPerson(
            credit_code=code,
            kind=kind,
            name=f"{name}{len(self._issued)}" if kind in ("enterprise", "individual") else name,
            admin_code=county.code,
            established_on=today - dt.timedelta(days=r.randint(30, 30 * 365)),
            registered_capital=r.choice((10, 50, 100, 200, 500, 1000, 5000)) if kind == "enterprise" else 0,
            legal_rep_id=r.choice(self.rep_ids) if self.rep_ids else "",
        )
