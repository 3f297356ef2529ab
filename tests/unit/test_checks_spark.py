"""The native Spark rules agree with python-stdnum on valid and corrupted resident IDs."""

import pytest
from pyspark.sql import functions as F
from stdnum.cn import ric

from govlake.synthetic.household import _break_check_digit, population
from jobs import checks


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
        checks.resident_id_bad_format(rid).alias("bad_format"),
        checks.resident_id_bad_check(rid).alias("bad"),
    ).collect()
    for r in rows:
        if r.bad_format:
            assert len(r.rid) != 18 or not r.rid[:17].isdigit(), r.rid
            continue
        assert r.bad == (ric.calc_check_digit(r.rid) != r.rid[17]), r.rid


def test_birth_date_and_gender_from_id(spark):
    df = spark.createDataFrame([("11010519491231002X",), ("420106199001011234",)], "rid string")
    rows = df.select(
        checks.resident_id_birth_date(F.col("rid")).alias("d"),
        checks.resident_id_gender(F.col("rid")).alias("g"),
    ).collect()
    assert [(str(r.d), r.g) for r in rows] == [("1949-12-31", "2"), ("1990-01-01", "1")]
