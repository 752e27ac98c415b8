"""DeltaSparkDataset against real Delta tables."""

from __future__ import annotations

import pytest
from kedro.io.core import DatasetError

from lakehouse_mlops.framework.datasets import DeltaSparkDataset

SCHEMA = "id INT, batch STRING, value DOUBLE, tag STRING"


def rows(spark, data):
    return spark.createDataFrame(data, SCHEMA)


def table(path, **kwargs) -> DeltaSparkDataset:
    return DeltaSparkDataset(filepath=str(path), **kwargs)


def as_set(df):
    return {tuple(r) for r in df.select("id", "batch", "value", "tag").collect()}


def test_append_adds_rows_and_records_versions(spark, tmp_path):
    ds = table(tmp_path / "t", write_mode="append")
    ds.save(rows(spark, [(1, "a", 1.0, "x")]))
    first = ds.last_saved_version
    ds.save(rows(spark, [(2, "a", 2.0, "y")]))
    assert ds.last_saved_version == first + 1
    assert as_set(ds.load()) == {(1, "a", 1.0, "x"), (2, "a", 2.0, "y")}
    assert ds.last_loaded_version == ds.last_saved_version


def test_overwrite_replaces_table(spark, tmp_path):
    ds = table(tmp_path / "t", write_mode="overwrite")
    ds.save(rows(spark, [(1, "a", 1.0, "x")]))
    ds.save(rows(spark, [(2, "b", 2.0, "y")]))
    assert as_set(ds.load()) == {(2, "b", 2.0, "y")}


def test_merge_upserts_on_keys_and_skips_unchanged_rows(spark, tmp_path):
    ds = table(tmp_path / "t", write_mode="merge", merge_keys=["id"], update_when_changed=["value"])
    ds.save(rows(spark, [(1, "a", 1.0, "x"), (2, "a", 2.0, "x")]))
    ds.save(rows(spark, [(2, "b", 20.0, "y"), (3, "b", 3.0, "y")]))
    assert as_set(ds.load()) == {(1, "a", 1.0, "x"), (2, "b", 20.0, "y"), (3, "b", 3.0, "y")}
    # Same value, other tag: not a change by update_when_changed, so the row is left alone.
    ds.save(rows(spark, [(1, "c", 1.0, "z")]))
    assert (1, "a", 1.0, "x") in as_set(ds.load())


def test_insert_new_adds_new_keys_and_never_changes_a_stored_row(spark, tmp_path):
    ds = table(tmp_path / "t", write_mode="insert_new", merge_keys=["id"])
    ds.save(rows(spark, [(1, "a", 1.0, "x"), (2, "a", 2.0, "x")]))
    ds.save(rows(spark, [(2, "b", 20.0, "y"), (3, "b", 3.0, "y")]))
    assert as_set(ds.load()) == {(1, "a", 1.0, "x"), (2, "a", 2.0, "x"), (3, "b", 3.0, "y")}
    stored = ds.current_version()
    ds.save(rows(spark, [(1, "c", 10.0, "z"), (3, "c", 30.0, "z")]))  # every key present: no commit
    assert ds.current_version() == stored
    assert len(as_set(ds.load())) == 3


def test_replace_partitions_replaces_only_incoming_batches(spark, tmp_path):
    ds = table(tmp_path / "t", write_mode="replace_partitions", partition_by=["batch"])
    ds.save(rows(spark, [(1, "a", 1.0, "x"), (2, "b", 2.0, "x")]))
    ds.save(rows(spark, [(3, "b", 3.0, "y")]))
    assert as_set(ds.load()) == {(1, "a", 1.0, "x"), (3, "b", 3.0, "y")}


def test_pinned_version_loads_that_version(spark, tmp_path):
    ds = table(tmp_path / "t", write_mode="append")
    ds.save(rows(spark, [(1, "a", 1.0, "x")]))
    pinned_version = ds.last_saved_version
    ds.save(rows(spark, [(2, "a", 2.0, "x")]))
    pinned = table(tmp_path / "t", version=pinned_version)
    assert as_set(pinned.load()) == {(1, "a", 1.0, "x")}
    assert pinned.last_loaded_version == pinned_version


def test_empty_write_to_existing_table_commits_nothing(spark, tmp_path):
    ds = table(tmp_path / "t", write_mode="append")
    ds.save(rows(spark, [(1, "a", 1.0, "x")]))
    before = ds.current_version()
    ds.save(rows(spark, []))
    assert ds.current_version() == before


def test_missing_table_loads_as_none_or_fails_clearly(tmp_path, spark):
    assert table(tmp_path / "nope", if_missing="none").load() is None
    with pytest.raises(DatasetError, match="does not exist"):
        table(tmp_path / "nope").load()


def test_constraints_not_null_and_comments_are_applied(spark, tmp_path):
    ds = table(
        tmp_path / "t",
        write_mode="append",
        constraints={"value_positive": "value > 0"},
        not_null=["id"],
        column_comments={"value": "A positive number."},
    )
    ds.save(rows(spark, [(1, "a", 1.0, "x")]))
    with pytest.raises(Exception, match="(?i)check constraint|value_positive"):
        ds.save(rows(spark, [(2, "a", -1.0, "x")]))
    with pytest.raises(Exception, match="(?i)null"):
        ds.save(rows(spark, [(None, "a", 1.0, "x")]))
    comments = {f.name: f.metadata.get("comment") for f in ds.load().schema.fields}
    assert comments["value"] == "A positive number."


def test_first_write_creates_the_table_with_its_rows_in_one_commit(spark, tmp_path):
    ds = table(
        tmp_path / "t",
        write_mode="merge",
        merge_keys=["id"],
        partition_by=["batch"],
        constraints={"value_positive": "value > 0"},
        column_comments={"value": "A positive number."},
        table_properties={"delta.appendOnly": "false"},
    )
    with pytest.raises(Exception, match="(?i)check constraint|value_positive"):
        ds.save(rows(spark, [(1, "a", 1.0, "x"), (2, "a", -1.0, "x")]))
    assert ds.current_version() is None  # the failed first write left no table behind
    ds.save(rows(spark, [(1, "a", 1.0, "x")]))
    assert ds.last_saved_version == 0
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{tmp_path / 't'}`").first()
    assert detail["partitionColumns"] == ["batch"]
    assert detail["properties"]["delta.constraints.value_positive"] == "value > 0"
    schema = ds.load().schema
    assert schema["value"].metadata["comment"] == "A positive number."
    assert all(f.nullable for f in schema.fields)


def test_not_null_holds_from_the_first_rows(spark, tmp_path):
    ds = table(tmp_path / "t", write_mode="append", not_null=["id"])
    with pytest.raises(Exception, match="(?i)null"):
        ds.save(rows(spark, [(None, "a", 1.0, "x")]))
    ds.save(rows(spark, [(1, "a", 1.0, "x")]))
    assert not ds.load().schema["id"].nullable


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"write_mode": "upsert"}, "write_mode 'upsert'"),
        ({"write_mode": "merge"}, "needs merge_keys"),
        ({"write_mode": "insert_new"}, "insert_new. needs merge_keys"),
        ({"write_mode": "replace_partitions"}, "needs partition_by"),
        ({"if_missing": "empty"}, "if_missing 'empty'"),
        ({"constraints": {"bad name": "x > 0"}}, "'bad name' is not a plain identifier"),
        ({"schema_evolution": "merge"}, "schema_evolution 'merge' is not one of"),
    ],
)
def test_bad_configuration_is_rejected_naming_the_key(tmp_path, kwargs, message):
    with pytest.raises(DatasetError, match=message):
        table(tmp_path / "t", **kwargs)


WIDER = "id INT, batch STRING, value DOUBLE, tag STRING, score DOUBLE"


@pytest.mark.parametrize("mode", ["merge", "append", "replace_partitions", "insert_new"])
def test_new_columns_fail_by_name_and_nothing_is_written(spark, tmp_path, mode):
    ds = table(tmp_path / "t", write_mode=mode, merge_keys=["id"], partition_by=["batch"])
    ds.save(rows(spark, [(1, "a", 1.0, "x")]))
    before = ds.current_version()
    wider = spark.createDataFrame([(2, "a", 2.0, "y", 0.5)], WIDER)
    with pytest.raises(DatasetError, match=r"new column\(s\) \['score'\].*schema_evolution: add_columns"):
        ds.save(wider)
    assert ds.current_version() == before and "score" not in ds.load().columns


@pytest.mark.parametrize("mode", ["merge", "append", "replace_partitions"])
def test_add_columns_evolves_the_table_and_keeps_the_new_values(spark, tmp_path, mode):
    # Without schema evolution a Delta MERGE writes the old columns and drops the new ones silently.
    ds = table(
        tmp_path / "t",
        write_mode=mode,
        merge_keys=["id"],
        partition_by=["batch"],
        schema_evolution="add_columns",
    )
    ds.save(rows(spark, [(1, "a", 1.0, "x")]))
    ds.save(spark.createDataFrame([(1, "a", 1.5, "x", 0.5), (2, "b", 2.0, "y", 0.7)], WIDER))
    scores = {r["id"]: r["score"] for r in ds.load().collect()}
    assert scores[2] == 0.7 and scores[1] in (0.5, None if mode == "append" else 0.5)
    assert "score" in ds.load().columns


def test_rows_lacking_a_column_of_the_table_fail_by_name(spark, tmp_path):
    ds = table(tmp_path / "t", write_mode="merge", merge_keys=["id"], schema_evolution="add_columns")
    ds.save(rows(spark, [(1, "a", 1.0, "x")]))
    with pytest.raises(DatasetError, match=r"lack column\(s\) \['tag'\]"):
        ds.save(spark.createDataFrame([(2, "a", 2.0)], "id INT, batch STRING, value DOUBLE"))
