"""Synthetic Hubei residents: real GB/T 2260 codes, valid 18-digit resident IDs, Chinese names."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import ClassVar

from faker.providers.person.zh_CN import Provider as ZhPerson
from faker.providers.phone_number.zh_CN import Provider as ZhPhone
from stdnum.cn import ric

from schemas.divisions import Division, by_code, counties, current_counties

HUBEI = "42"
TODAY = dt.date(2026, 11, 23)
ETHNICITIES = ["汉族"] * 90 + ["土家族"] * 6 + ["苗族", "回族", "侗族", "蒙古族"]


@dataclass(frozen=True)
class Person:
    resident_id: str
    name: str
    gender: str  # GB/T 2261.1: 1 male, 2 female
    birth_date: dt.date
    ethnicity: str
    admin_code: str
    address: str
    phone: str
    registered_on: dt.date


def resident_id(region: str, birth: dt.date, sequence: int) -> str:
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum drops the last character


class PersonFactory:
    """Same seed, same people: every random draw comes from one seeded generator."""

    # Faker zh_CN's own name and phone data, drawn with our seeded generator: Faker's weighted
    # sampling costs ~40 µs a draw, random.choices with cumulative weights about 1 µs.
    SURNAMES: ClassVar[list[str]] = list(ZhPerson.last_names)
    SURNAME_WEIGHTS: ClassVar[list[int]] = list(accumulate(ZhPerson.last_names.values()))
    GIVEN: ClassVar[list[str]] = list(ZhPerson.first_names)
    SINGLE: ClassVar[list[str]] = [g for g in GIVEN if len(g) == 1]
    PHONE_PREFIXES: ClassVar[list[str]] = [str(p) for p in ZhPhone.phonenumber_prefixes]
    STREET_SUFFIXES = ("路", "街", "大道", "巷")

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counties = current_counties(HUBEI)
        self._all_counties = counties(HUBEI)
        self._by_year: dict[int, list[Division]] = {}
        self._issued: set[str] = set()

    def name(self) -> str:
        r = self.rng
        surname = r.choices(self.SURNAMES, cum_weights=self.SURNAME_WEIGHTS)[0]
        given = r.choice(self.GIVEN)
        if len(given) == 1 and r.random() < 0.6:
            given += r.choice(self.SINGLE)
        return surname + given

    def phone(self) -> str:
        return self.rng.choice(self.PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def street(self) -> str:
        r = self.rng
        return r.choice(self.SURNAMES) + r.choice(self.GIVEN) + r.choice(self.STREET_SUFFIXES)

    def address(self, county: Division) -> str:
        prefecture = by_code().get(county.prefecture_code)
        city = prefecture.name if prefecture and prefecture.current else ""
        r = self.rng
        return (
            f"湖北省{city}{county.name}{self.street()}{r.randint(1, 399)}号"
            f"{r.randint(1, 30)}栋{r.randint(1, 6)}单元{r.randint(1, 33)}{r.randint(1, 4):02d}室"
        )

    def _counties_in(self, year: int) -> list[Division]:
        if year not in self._by_year:
            self._by_year[year] = [c for c in self._all_counties if c.valid_in(year)]
        return self._by_year[year]

    def avoid(self, taken: set[str]) -> None:
        """IDs already in use elsewhere (e.g. the residents of an earlier delivery)."""
        self._issued |= taken

    def _new_id(self, birthplace: Division, birth: dt.date, gender: str) -> str:
        r = self.rng
        while True:
            sequence = r.randrange(0, 999)
            if (sequence % 2 == 1) != (gender == "1"):
                sequence += 1
            rid = resident_id(birthplace.code, birth, sequence)
            if rid not in self._issued:
                self._issued.add(rid)
                return rid

    def person(self) -> Person:
        r = self.rng
        county = r.choice(self.counties)
        birth = TODAY - dt.timedelta(days=r.randint(0, 95 * 365))
        # The ID's region is a code in use in the birth year: older people carry older codes.
        birthplace = county
        if r.random() >= 0.85 or not county.valid_in(birth.year):
            birthplace = r.choice(self._counties_in(birth.year))
        gender = "1" if r.random() < 0.51 else "2"
        rid = self._new_id(birthplace, birth, gender)
        registered = birth + dt.timedelta(days=r.randint(0, max(0, (TODAY - birth).days)))
        return self._resident(rid, gender, birth, county, registered)

    def newborn(self, born: dt.date, registered: dt.date) -> Person:
        """A baby born on `born` in a current county, registered (户口登记) on `registered`; its ID avoids
        the IDs this factory has issued or been told of (`avoid`)."""
        r = self.rng
        county = r.choice(self.counties)
        gender = "1" if r.random() < 0.51 else "2"
        return self._resident(self._new_id(county, born, gender), gender, born, county, registered)

    def _resident(
        self, rid: str, gender: str, birth: dt.date, county: Division, registered: dt.date
    ) -> Person:
        """Name, ethnicity, address and phone (a baby's: a parent's) drawn in this order."""
        return Person(
            resident_id=rid,
            name=self.name(),
            gender=gender,
            birth_date=birth,
            ethnicity=self.rng.choice(ETHNICITIES),
            admin_code=county.code,
            address=self.address(county),
            phone=self.phone(),
            registered_on=registered,
        )

    def move(self, person: Person) -> Person:
        """The same person, moved to another county (a new address and admin code)."""
        county = self.rng.choice([c for c in self.counties if c.code != person.admin_code])
        return replace(person, admin_code=county.code, address=self.address(county))
