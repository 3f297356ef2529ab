"""The household register as a hand-written script for this one feed would spell it out: columns, the
contract's rules and the GB 11643 constants, hard-coded (no contract loader, no check registry). The unit
test tests/unit/test_benchmark_baselines.py holds them to schemas/public_security/household_register.yaml
and schemas/codes.py, so the baselines check what our refine checks.

Reason codes and their order are refine's (a row's first problem names its reason), so that quarantine
counts per reason can be compared across the pipeline and the baselines.
"""

from __future__ import annotations

from functools import cache

from schemas.divisions import all_divisions

FEED = "public_security/household_register"
KEY = "resident_id"

# (name, delivered header, type), in the order of the delivered file's columns
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("resident_id", "公民身份号码", "string"),
    ("name", "姓名", "string"),
    ("gender", "性别", "string"),
    ("birth_date", "出生日期", "date"),
    ("ethnicity", "民族", "string"),
    ("admin_code", "户籍地行政区划代码", "string"),
    ("address", "户籍地址", "string"),
    ("phone", "联系电话", "string"),
    ("registered_on", "登记日期", "date"),
)
NAMES = tuple(name for name, _, _ in COLUMNS)
HEADERS = tuple(header for _, header, _ in COLUMNS)
DATES = tuple(name for name, _, kind in COLUMNS if kind == "date")  # all as yyyyMMdd
REQUIRED = ("resident_id", "name", "gender", "birth_date", "admin_code", "address")
UPPER = ("resident_id",)  # compared upper-cased (the X check character)
GENDERS = ("1", "2")
PHONE = r"^1[3-9][0-9]{9}$"

# GB 11643: format, ISO 7064 MOD 11-2 weights and check characters
ID_FORMAT = r"^[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]$"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

# Refine's order of problems (field, reason); DUPLICATE_KEY comes after all of these.
PROBLEMS: tuple[tuple[str, str], ...] = (
    ("resident_id", "MISSING_FIELD"),
    ("resident_id", "BAD_FORMAT"),
    ("resident_id", "BAD_CHECK_DIGIT"),
    ("resident_id", "UNKNOWN_REGION"),
    ("name", "MISSING_FIELD"),
    ("gender", "MISSING_FIELD"),
    ("gender", "NOT_ALLOWED"),
    ("birth_date", "MISSING_FIELD"),
    ("birth_date", "BAD_TYPE"),
    ("admin_code", "MISSING_FIELD"),
    ("admin_code", "UNKNOWN_ADMIN_CODE"),
    ("address", "MISSING_FIELD"),
    ("phone", "BAD_FORMAT"),
    ("registered_on", "BAD_TYPE"),
    ("_extra", "BAD_FIELD_COUNT"),
    ("birth_date", "ID_BIRTH_MISMATCH"),
    ("gender", "ID_GENDER_MISMATCH"),
)
DUPLICATE = (KEY, "DUPLICATE_KEY")


@cache
def division_codes() -> tuple[frozenset[str], frozenset[str]]:
    """GB/T 2260 from python-stdnum's table (the list our reference joins use): every code ever issued
    (a resident ID's region) and the codes still in use (an address's admin code)."""
    every = all_divisions()
    return frozenset(d.code for d in every), frozenset(d.code for d in every if d.current)
