"""The negative list by meaning (catalog/negative.py): an item taints the column its resource is mounted to,
its department's feed columns that declare it, golden-library attributes it is the authority of, and theme
columns whose SQL reads it — never only the one table its resource names."""

from __future__ import annotations

import pytest

from catalog.loader import load_catalog
from catalog.negative import fail_mask, message, negative_columns, refusal, theme_negatives
from schemas.contracts import Column, load_contracts
from schemas.libraries import ThemeTable, load_libraries

CAT = load_catalog()
FEEDS = load_contracts()
LIBRARIES = load_libraries()
NEGATIVES = negative_columns(CAT, FEEDS, LIBRARIES)
THEME = LIBRARIES["theme_business_environment"]
assert isinstance(THEME, ThemeTable)


def test_the_golden_library_column_is_negative_by_its_authority():
    item = NEGATIVES["population_base"]["ethnicity"]  # 人口库 takes 民族 from the household register
    assert (item.code, item.item, item.basis.article) == ("FM-001", "民族", "第二十八条")
    assert NEGATIVES["population_person"]["ethnicity"] is item  # the mounted column itself
    assert NEGATIVES["legal_person_statistics"]["revenue"].code == "FM-005"
    assert "resident_id" not in NEGATIVES["population_base"] and "name" not in NEGATIVES["population_base"]


def test_an_unmounted_item_is_caught_in_its_own_departments_feed_by_its_name():
    feeds = dict(FEEDS)
    permit = feeds["public_security/residence_permit"]
    extra = Column(name="case_type", label="案件类别（代码）", level="L4")
    feeds["public_security/residence_permit"] = permit.model_copy(
        update={"columns": [*permit.columns, extra]}
    )
    found = negative_columns(CAT, feeds, LIBRARIES)
    assert found["population_residence_permit"]["case_type"].code == "FM-002"  # GA-006 has no table


@pytest.mark.parametrize(
    ("select_list", "where", "tainted"),
    [
        ("l.credit_code, s.revenue AS employees", "", {"employees"}),  # renamed: still revenue
        ("l.credit_code, round(s.revenue / 10) AS employees", "", {"employees"}),
        ("l.credit_code, s.employees", "WHERE s.revenue > 100", {"credit_code", "employees"}),  # filter
        ("l.credit_code, s.*", "", {"credit_code", "employees"}),  # unreadable select list: all
        ("l.credit_code, x.total AS employees", "", {"employees"}),  # through a subquery
        ("l.credit_code, s.employees", "", set()),
    ],
)
def test_theme_columns_reading_a_negative_column_are_negative(select_list, where, tainted):
    sub = "LEFT JOIN (SELECT credit_code, sum(revenue) AS total FROM legal_person_statistics GROUP BY 1) x"
    sql = (
        f"SELECT {select_list} FROM legal_person_base l "
        f"LEFT JOIN legal_person_statistics s ON s.credit_code = l.credit_code "
        f"{sub} ON x.credit_code = l.credit_code {where}"
    )
    columns = [c for c in THEME.columns if c.name in ("credit_code", "employees")]
    theme = THEME.model_copy(update={"sql": sql, "columns": columns})
    found = theme_negatives(theme, NEGATIVES)
    assert set(found) == tainted
    assert all(n.code == "FM-005" for n in found.values())


def test_a_string_literal_or_comment_naming_the_column_is_not_a_read():
    sql = "SELECT l.credit_code, 'revenue' AS employees -- s.revenue\nFROM legal_person_base l"
    columns = [c for c in THEME.columns if c.name in ("credit_code", "employees")]
    assert theme_negatives(THEME.model_copy(update={"sql": sql, "columns": columns}), NEGATIVES) == {}


JOIN_S = "FROM legal_person_base l LEFT JOIN legal_person_statistics s ON s.credit_code = l.credit_code"
SUB_X = "JOIN (SELECT credit_code, revenue FROM legal_person_statistics) AS x(a, b) ON x.a = l.credit_code"


@pytest.mark.parametrize(
    ("sql", "tainted"),
    [  # most of these the reader of SQL as text (regular expressions) got wrong; the parse tree does not
        (  # an apostrophe in a comment opens no string: the read after it counts
            f"SELECT l.credit_code, -- the count isn't shown\n s.revenue AS employees {JOIN_S}"
            " WHERE l.status = '存续'",
            {"employees"},
        ),
        (f"SELECT l.credit_code, x.b AS employees FROM legal_person_base l {SUB_X}", {"employees"}),
        (f"SELECT l.credit_code, x.a AS employees FROM legal_person_base l {SUB_X}", set()),  # by position
        (  # a CTE with a column list, read through an aliased derived table
            "WITH w(code, total) AS (SELECT credit_code, revenue FROM legal_person_statistics)"
            " SELECT l.credit_code, d.t AS employees FROM legal_person_base l"
            " JOIN (SELECT code, total AS t FROM w) d ON d.code = l.credit_code",
            {"employees"},
        ),
        (  # a subquery inside a subquery
            "SELECT l.credit_code, (SELECT max(y.t) FROM (SELECT revenue AS t FROM legal_person_statistics)"
            " y) AS employees FROM legal_person_base l",
            {"employees"},
        ),
        (  # a correlated EXISTS filters on the item: every row kept reveals it
            f"SELECT l.credit_code, s.employees {JOIN_S} WHERE EXISTS (SELECT 1 FROM legal_person_statistics"
            " t WHERE t.credit_code = l.credit_code AND t.revenue > 5)",
            {"credit_code", "employees"},
        ),
        (  # HAVING on a select alias that reads the item
            f"SELECT l.credit_code, sum(s.revenue) AS employees {JOIN_S}"
            " GROUP BY l.credit_code HAVING employees > 0",
            {"credit_code", "employees"},
        ),
        (  # a join with a CTE that filters on the item
            "WITH big AS (SELECT credit_code FROM legal_person_statistics WHERE revenue > 9)"
            f" SELECT l.credit_code, s.employees {JOIN_S} JOIN big b ON b.credit_code = l.credit_code",
            {"credit_code", "employees"},
        ),
        (f"SELECT l.credit_code, s.employees {JOIN_S} WHERE l.name <> 's.revenue' /* s.revenue */", set()),
        ("SELECT l.credit_code, FROM WHERE", {"credit_code", "employees"}),  # unparsable: its sources decide
    ],
)
def test_the_theme_sql_is_read_as_sql(sql, tainted):
    columns = [c for c in THEME.columns if c.name in ("credit_code", "employees")]
    found = theme_negatives(THEME.model_copy(update={"sql": sql, "columns": columns}), NEGATIVES)
    assert set(found) == tainted
    assert all(n.code == "FM-005" for n in found.values())


def test_a_theme_reading_a_tainted_theme_is_tainted_too():
    libraries = dict(LIBRARIES)
    first = THEME.model_copy(update={"sql": THEME.sql.replace("s.employees", "s.revenue AS employees")})
    second = THEME.model_copy(
        update={
            "table": "theme_second",
            "sources": ["theme_business_environment"],
            "sql": "SELECT t.credit_code, t.employees FROM theme_business_environment t",
            "columns": [c for c in THEME.columns if c.name in ("credit_code", "employees")],
        }
    )
    libraries |= {"theme_business_environment": first, "theme_second": second}
    found = negative_columns(CAT, FEEDS, libraries)
    assert set(found["theme_business_environment"]) == {"employees"}
    assert set(found["theme_second"]) == {"employees"}


def test_refusal_names_the_item_and_its_legal_basis():
    basis = refusal(CAT, "population_base", ["resident_id", "ethnicity"], negatives=NEGATIVES)
    assert basis and "FM-001" in basis and "《中华人民共和国个人信息保护法》 第二十八条" in basis
    assert refusal(CAT, "population_base", ["resident_id", "name"], negatives=NEGATIVES) is None
    by_resource = refusal(CAT, "population_person", ["resident_id", "ethnicity"], "GA-001", NEGATIVES)
    assert by_resource and "民族" in by_resource


def test_the_fail_mask_quotes_the_message():
    item = NEGATIVES["population_base"]["ethnicity"]
    odd = item.model_copy(update={"reason": "it's sensitive"})
    mask = fail_mask(odd, "population_base", "ethnicity")
    assert mask.startswith("fail('") and mask.endswith("')") and "it''s sensitive" in mask
    text = message(item, "population_base", "ethnicity")
    assert "gold.population_base.ethnicity" in text and "FM-001" in text and "第二十八条" in text
