"""common.tag_value: keys match on their lower-case letters and digits; the DuckDB map lookup of the matching
raw keys gives what normalizing every row's keys gives."""

import ibis
import pandas as pd
import pyarrow as pa

from finops_nb.analyses import common
from finops_nb.analyses.common import tag_value

TAGS = pa.map_(pa.string(), pa.string())


def table(con, rows, name):
    arrow = pa.table({"i": pa.array(range(len(rows)), pa.int64()), "Tags": pa.array(rows, TAGS)})
    return con.create_table(name, arrow)


def values(t, key, **kw):
    return [None if pd.isna(v) else v for v in t.select("i", v=tag_value(t, key, **kw)).order_by("i").execute().v]


def test_one_spelling_per_row_is_a_map_lookup_of_the_matching_keys():
    t = ibis.memtable(pa.table({"i": pa.array(range(5), pa.int64()), "Tags": pa.array(
        [[("Cost-Center", "a"), ("env", "x")], [("cost_center", "b")], [("env", "y")], None, [("COSTCENTER", "")]],
        TAGS)}))
    assert values(t, "cost center") == ["a", "b", None, None, ""]
    assert values(t, "CostCenter", case_sensitive=True) == [None, None, None, None, None]
    assert values(t, "cost_center", case_sensitive=True) == [None, "b", None, None, None]
    assert values(t, "nosuchtag") == [None] * 5
    assert '"Tags"' not in ibis.to_sql(t.select("i", v=tag_value(t, "nosuchtag")), dialect="duckdb")  # not read
    sql = ibis.to_sql(t.select(v=tag_value(t, "cost center")), dialect="duckdb")
    assert "regexp_replace" not in sql.lower()  # no row has two spellings: no per-row normalizing


def test_two_spellings_in_one_row_take_the_first_as_before():
    con = ibis.duckdb.connect()
    t = table(con, [[("Cost-Center", "first"), ("cost_center", "second")], [("cost_center", "only")]], "t2")
    assert values(t, "costcenter") == ["first", "only"]
    t = table(con, [[("cost_center", "second"), ("Cost-Center", "first")]], "t3")
    assert values(t, "Cost-Center") == ["second"]


def test_filtered_views_over_a_file_reuse_the_key_lists(tmp_path):
    path = tmp_path / "c.parquet"
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"i": pa.array(range(3), pa.int64()), "Tags": pa.array(
        [[("Team", "web")], [("team", "db")], []], TAGS)}), path)
    con = ibis.duckdb.connect()
    con.raw_sql(f"CREATE VIEW charges AS SELECT * FROM read_parquet('{path}')")
    t = con.table("charges")
    f = t.filter(t.i > 0).select("i", "Tags")
    assert values(f, "TEAM") == ["db", None]
    assert common.tag_key_lists(f) is common.tag_key_lists(t)  # read once for the view
    assert values(t, "team") == ["web", "db", None]


def test_a_parameter_key_still_works():
    con = ibis.duckdb.connect()
    t = table(con, [[("Cost-Center", "a")], [("env", "x")]], "t4")
    p = ibis.param("string")
    got = con.execute(t.order_by("i").select(v=tag_value(t, p)), params={p: "COST_center"})
    assert [None if pd.isna(v) else v for v in got.v] == ["a", None]
