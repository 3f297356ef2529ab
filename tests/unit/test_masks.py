"""The masks share views and analysts' column masks use (catalog/masks.py): an ID keeps only its region, the
rebuild rule (a masked ID beside its birth date shows the year only), the view's expiry and row scope, and
the keyed pseudonym without its key."""

from __future__ import annotations

import re

from catalog_fixtures import share_request

from catalog.masks import (
    GoldTable,
    case,
    gold_tables,
    masked,
    masked_text,
    pseudonym,
    rebuilt_by,
    share_column,
)
from catalog.models import ShareRequest
from catalog.provision import view_sql
from schemas.contracts import Column

TABLES = gold_tables()
PERSON = TABLES["population_person"]


def request(**kw) -> ShareRequest:
    return share_request(**{"resource": "GA-001", **kw})


def test_the_id_mask_hides_birth_date_sequence_and_check_digit():
    expr = share_column(PERSON, "resident_id", ["resident_id"])
    assert expr == 'concat(substr("resident_id", 1, 6), \'************\') AS "resident_id"'
    assert 'substr("resident_id", 7' not in expr and "15" not in expr  # nothing after the region
    assert share_column(PERSON, "phone", ["phone"]).startswith("concat(substr(\"phone\", 1, 3), '****'")
    assert share_column(PERSON, "gender", ["gender"]) == '"gender"'  # L2 as stored
    assert share_column(PERSON, "ethnicity", ["ethnicity"]) == "CAST('******' AS varchar) AS \"ethnicity\""


def test_a_birth_date_beside_a_masked_id_is_shown_as_its_year_only():
    assert PERSON.birth_dates == {"birth_date"}  # from the contract's resident_id_matches row check
    assert TABLES["population_base"].birth_dates == {"birth_date"}  # the golden library inherits it
    assert rebuilt_by(PERSON, ["resident_id", "birth_date", "gender"]) == {"birth_date"}
    assert rebuilt_by(PERSON, ["birth_date", "gender"]) == set()
    public_birth = PERSON.columns["birth_date"].model_copy(update={"level": "L1"})  # even if L1
    table = GoldTable(PERSON.columns | {"birth_date": public_birth}, True, PERSON.birth_dates)
    assert share_column(table, "birth_date", ["birth_date"]) == '"birth_date"'
    together = share_column(table, "birth_date", ["resident_id", "birth_date"])
    assert together == 'date_trunc(\'year\', "birth_date") AS "birth_date"'


def test_view_sql_applies_expiry_row_scope_masks_and_the_rebuild_rule():
    sql = view_sql(
        request(
            columns=["resident_id", "birth_date", "gender"],
            row_scope={"column": "admin_code", "prefix": "4201"},
        ),
        "population_person",
        "lake_platform",
        PERSON,
        "lake",
    )
    assert sql.startswith('CREATE OR REPLACE VIEW lake_platform."share_civil_affairs"."r1"')
    assert 'FROM lake.gold."population_person"' in sql and "SECURITY DEFINER" in sql
    assert "WHERE current_date <= DATE '2027-01-31' AND starts_with(\"admin_code\", '4201')" in sql
    assert 'date_trunc(\'year\', "birth_date") AS "birth_date"' in sql
    plain = view_sql(request(), "population_person", "lake", PERSON.columns)  # a plain column dict works
    assert plain.endswith("WHERE current_date <= DATE '2027-01-31'")


def test_masks_keep_the_column_type_where_it_is_known():
    theme = TABLES["theme_employment_social_security"]  # a theme declares no types
    assert not theme.typed and masked(theme.columns["annual_income"], '"annual_income"', False) == "NULL"
    income = TABLES["population_income_tax"].columns["annual_income"]  # decimal, L3
    assert masked(income, '"annual_income"') == "NULL"
    registered = PERSON.columns["registered_on"]
    assert masked(registered, '"registered_on"') == "date_trunc('year', \"registered_on\")"
    assert masked(PERSON.columns["name"], '"name"') == 'rpad(substr("name", 1, 1), length("name"), \'*\')'
    marital = TABLES["population_base"].columns["marital_status"]  # a code: its first digit tells
    assert masked(marital, '"marital_status"') == "'******'"


def test_values_held_as_text_are_masked_by_their_columns_level():
    assert masked_text(PERSON.columns["gender"], '"value"', "lake") == '"value"'
    assert masked_text(PERSON.columns["ethnicity"], '"value"', "lake") == "'******'"
    assert (
        masked_text(PERSON.columns["birth_date"], '"value"', "lake")
        == "concat(substr(\"value\", 1, 4), '-**-**')"
    )
    assert "hmac_sha256" in masked_text(PERSON.columns["resident_id"], '"value"', "lake")


def test_the_pseudonym_reads_its_key_from_the_platform_table_never_inline():
    expr = pseudonym('"resident_id"', "lake")
    assert expr == (
        'to_hex(hmac_sha256(to_utf8(CAST("resident_id" AS varchar)), '
        "(SELECT k FROM lake.platform_keys.pseudonym_key)))"
    )
    assert not re.search(r"X'|varbinary|from_hex", expr)


def test_case_lists_each_value_once_and_quotes_it():
    sql = case('"feed"', {'"key"': ["a'b", "c"], "'x'": []}, "NULL")
    assert sql == "CASE WHEN \"feed\" IN ('a''b', 'c') THEN \"key\" ELSE NULL END"
    assert case('"feed"', {}, "NULL") == "NULL"


def test_every_gold_column_is_classified():
    for name, table in TABLES.items():
        assert table.columns, name
        assert all(
            isinstance(c, Column) and c.level in ("L1", "L2", "L3", "L4") for c in table.columns.values()
        )
