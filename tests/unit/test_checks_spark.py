"""The native Spark rules agree with python-stdnum on valid and corrupted resident IDs."""

import pytest
from pyspark.sql import functions as F
from stdnum.cn import ric

from schemas import codes
from tools.synthetic.household import _break_check_digit, population


@pytest.fixture(scope="module")
def spark():
    from jobs.spark import get_spark, stop_spark

    yield get_spark("govlake-tests")
    stop_spark()


def test_check_character_matches_stdnum(spark):
    ids = [p.resident_id for p in population(11, 1500)]
    ids += [_break_check_digit(i) for i in ids[:500]]
    ids += ["11010519491231002X", "110105194912310021", "12345", "4201061990010112ZZ"]
    df = spark.createDataFrame([(i,) for i in ids], "rid string")
    rid = F.col("rid")
    rows = df.select(
        "rid",
        codes.resident_id_bad_format(rid).alias("bad_format"),
        codes.resident_id_bad_check(rid).alias("bad"),
    ).collect()
    for r in rows:
        if r.bad_format:
            assert len(r.rid) != 18 or not r.rid[:17].isdigit(), r.rid
            continue
        assert r.bad == (ric.calc_check_digit(r.rid) != r.rid[17]), r.rid


def test_birth_date_and_gender_from_id(spark):
    df = spark.createDataFrame([("11010519491231002X",), ("420106199001011234",)], "rid string")
    rows = df.select(
        codes.resident_id_birth_date(F.col("rid")).alias("d"),
        codes.resident_id_gender(F.col("rid")).alias("g"),
    ).collect()
    assert [(str(r.d), r.g) for r in rows] == [("1949-12-31", "2"), ("1990-01-01", "1")]


def test_custom_map_expectations_name_the_rows_gx_counts_as_failing(spark):
    from quality.suite import custom_fails

    assert custom_fails("expect_table_row_count_to_be_between", {"min_value": 1}) is None
    df = spark.createDataFrame(
        [(1.0, "a1"), (7.5, "b"), (15.0, None), (None, "ccc")], "ph double, code string"
    )
    cases = [
        ("expect_column_values_to_be_between", "ph", {"min_value": 0, "max_value": 14}, [15.0]),
        ("expect_column_values_to_be_between", "ph", {"min_value": 1, "strict_min": True}, [1.0]),
        ("expect_column_values_to_match_regex", "code", {"regex": "^[a-z][0-9]$"}, ["b", "ccc"]),
        ("expect_column_values_to_be_in_set", "code", {"value_set": ["a1", "b"]}, ["ccc"]),
        ("expect_column_values_to_not_be_null", "code", {}, [None]),
        ("expect_column_value_lengths_to_be_between", "code", {"min_value": 2, "max_value": 2}, ["b", "ccc"]),
    ]
    for kind, column, kwargs, expected in cases:
        fails = custom_fails(kind, {"column": column, **kwargs})
        got = [r[0] for r in df.where(fails()).select(column).collect()]
        assert sorted(got, key=str) == sorted(expected, key=str), kind
