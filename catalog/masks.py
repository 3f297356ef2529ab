"""What a gold column shows outside the platform, in one place: the share views (catalog/provision.py) and
the analysts' Trino column masks (catalog/server.py) use these expressions.

By classification level: L1/L2 as stored; L3 masked by PII kind — a resident ID keeps only its 6-digit
region (birth date, sequence and check digit hidden: `420102************`), a phone `138****1234`, a name
`张*`, an address its first 6 characters, a date its year, other personal text (a marital status code,
a record) hidden, as its first character may tell; L4 hidden whole (denied to analysts). Analysts
see resident IDs as a keyed pseudonym instead (`pseudonym`: HMAC-SHA256 with a key only the platform
reads), so they can join persons across tables without the ID. The rebuild rule: where a masked ID is
shown, the columns that repeat its digits (the birth date, by the contract's `resident_id_matches` row
check) are shown as their year only, so the two together never give the ID back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from schemas.contracts import Column, FeedContract, identifier, load_contracts
from schemas.libraries import Library, ThemeTable, library_columns, load_libraries

HIDDEN = "******"
ID_REGION = 6  # digits 1–6 of a resident ID: the region; 7–14 the birth date, 15–17 sequence, 18 check
KEY_SCHEMA, KEY_TABLE = "platform_keys", "pseudonym_key"  # the platform-only table holding the HMAC key
DATES = ("date", "timestamp")
TRINO_TYPES = {
    "string": "varchar",
    "int": "integer",
    "long": "bigint",
    "double": "double",
    "boolean": "boolean",
}
TRINO_TYPES |= {"date": "date", "timestamp": "timestamp(3)"}  # decimal: precision unknown here, NULL untyped


@dataclass(frozen=True)
class GoldTable:
    """A gold table's classified columns; `typed`: the contract declares the real column types (feeds and
    golden libraries; a theme's columns carry labels and classification only); `birth_dates`: columns
    that repeat the birth date inside a resident ID of the same row."""

    columns: dict[str, Column]
    typed: bool = True
    birth_dates: frozenset[str] = frozenset()

    @property
    def id_columns(self) -> set[str]:
        return {n for n, c in self.columns.items() if c.pii == "resident_id"}


def quoted(name: str) -> str:
    return f'"{identifier(name)}"'


def text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _birth_dates(contract: FeedContract) -> set[str]:
    return {rc.birth_date for rc in contract.row_checks if rc.birth_date}


def gold_tables(
    feeds: dict[str, FeedContract] | None = None, libraries: dict[str, Library] | None = None
) -> dict[str, GoldTable]:
    """gold table → its classified columns, from the feed contracts and the library contracts (a golden
    library's attributes carry their authoritative feed's classification; a theme declares its own)."""
    feeds = feeds if feeds is not None else load_contracts()
    libraries = libraries if libraries is not None else load_libraries()
    out: dict[str, GoldTable] = {}
    for c in feeds.values():
        known = out.get(c.target.table, GoldTable({}))
        columns = known.columns | {col.name: col for col in c.columns}
        out[c.target.table] = GoldTable(columns, True, known.birth_dates | _birth_dates(c))
    for table, lib in libraries.items():
        columns = library_columns(lib, feeds)
        if isinstance(lib, ThemeTable):
            births = {
                n for n in columns if any(n in out.get(s, GoldTable({})).birth_dates for s in lib.sources)
            }
            out[table] = GoldTable(columns, False, frozenset(births))
        else:
            births = {a.name for a in lib.attributes if a.name in _birth_dates(feeds[a.authority[0]])}
            out[table] = GoldTable(columns, True, frozenset(births))
    return out


def pseudonym(ref: str, catalog: str) -> str:
    """A person key as analysts see it: hex HMAC-SHA256 under the platform-held key (read by a subquery on
    a platform-only table, so the key never appears in the mask or in EXPLAIN; evaluate as the platform)."""
    key = f"(SELECT k FROM {identifier(catalog)}.{KEY_SCHEMA}.{KEY_TABLE})"
    return f"to_hex(hmac_sha256(to_utf8(CAST({ref} AS varchar)), {key}))"


def year_only(ref: str, column: Column) -> str:
    return f"date_trunc('year', {ref})" if column.type in DATES else f"substr(CAST({ref} AS varchar), 1, 4)"


def _by_kind(ref: str, pii: str) -> str:
    """An L3 text value masked by its PII kind."""
    return {
        "resident_id": f"concat(substr({ref}, 1, {ID_REGION}), '{'*' * (18 - ID_REGION)}')",  # 420102******…
        "phone": f"concat(substr({ref}, 1, 3), '****', substr({ref}, 8, 4))",  # 138****1234
        "name": f"rpad(substr({ref}, 1, 1), length({ref}), '*')",  # 张*
        "address": f"concat(substr({ref}, 1, 6), '****')",
        "credit_code": f"concat(substr({ref}, 1, 8), '**********')",
        "email": f"regexp_replace({ref}, '^(.).*@', '$1***@')",
    }.get(pii, text(HIDDEN))  # other personal data (codes, records): even a first character can tell


def masked(column: Column, ref: str, typed: bool = True) -> str:
    """The L3 mask of `ref`, of the column's own type where the type is known (a Trino column mask must
    keep it); a value of unknown type becomes NULL."""
    if column.pii != "none":
        return _by_kind(ref, column.pii)  # PII kinds are text
    if not typed:
        return "NULL"
    if column.type in DATES:
        return year_only(ref, column)
    if column.type == "string":
        return _by_kind(ref, "none")
    return f"CAST(NULL AS {TRINO_TYPES[column.type]})" if column.type in TRINO_TYPES else "NULL"


def masked_text(column: Column, ref: str, catalog: str) -> str:
    """A value of `column` held as text elsewhere (governance.quality_failure.value, verification
    conflicts), as an analyst sees it: the column's level decides, resident IDs become pseudonyms."""
    if column.level in ("L1", "L2"):
        return ref
    if column.level != "L3":
        return text(HIDDEN)
    if column.pii == "resident_id":
        return pseudonym(ref, catalog)
    if column.pii != "none" or column.type == "string":
        return _by_kind(ref, column.pii)
    return f"concat(substr({ref}, 1, 4), '-**-**')" if column.type in DATES else text(HIDDEN)


def rebuilt_by(table: GoldTable, shown: Iterable[str]) -> set[str]:
    """The shown columns that, beside a masked resident ID, would give its hidden digits back (its birth
    date): they are shown as their year only."""
    shown = set(shown)
    masked_ids = {c for c in shown & table.id_columns if table.columns[c].level in ("L3", "L4")}
    return shown & table.birth_dates if masked_ids else set()


def share_column(table: GoldTable, name: str, shown: Iterable[str]) -> str:
    """The select item a share view shows for a gold column (masked by level, the rebuild rule applied)."""
    ref, column = quoted(name), table.columns.get(name)
    if column is None:
        return ref
    if name in rebuilt_by(table, shown):
        return f"{year_only(ref, column)} AS {ref}"
    if column.level in ("L1", "L2"):
        return ref
    if column.level == "L4":
        return f"CAST({text(HIDDEN)} AS varchar) AS {ref}"
    expr = masked(column, ref, table.typed)
    if expr == "NULL":
        expr = "CAST(NULL AS varchar)"
    return f"{expr} AS {ref}"


def case(ref: str, branches: dict[str, list[str]], otherwise: str) -> str:
    """`CASE WHEN ref IN (…) THEN expr … ELSE otherwise END` (expr → the values that take it)."""
    whens = [
        f"WHEN {ref} IN ({', '.join(text(v) for v in sorted(values))}) THEN {expr}"
        for expr, values in sorted(branches.items())
        if values
    ]
    return f"CASE {' '.join(whens)} ELSE {otherwise} END" if whens else otherwise
