"""The ``decisions`` table: every promotion, rejection, forced promotion, rollback and monitoring
decision, with its reasons and metrics — written by promotion, monitoring and the operator commands."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import ArrayType, StringType, StructField, StructType, TimestampType

from lakehouse_mlops.framework.model_registry import actor

DECISIONS_SCHEMA = StructType(
    [
        StructField("decision_id", StringType()),
        StructField("decided_at", TimestampType()),
        StructField("kind", StringType()),  # promotion | forced_promotion | rollback | monitoring
        StructField("batch_id", StringType()),
        StructField("model_name", StringType()),
        StructField("candidate_version", StringType()),
        StructField("champion_version", StringType()),
        StructField("window_start", StringType()),
        StructField("window_end", StringType()),
        StructField("decision", StringType()),
        StructField("reasons", ArrayType(StringType())),
        StructField("metrics", StringType()),  # JSON
        StructField("decided_by", StringType()),
    ]
)
DECISION_COLUMNS = [f.name for f in DECISIONS_SCHEMA.fields]


def decision_rows(decisions: list[dict]) -> DataFrame:
    """Decisions as rows of the ``decisions`` table (id, time and actor filled in, metrics as JSON)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "decision_id": str(uuid.uuid4()),
            "decided_at": now,
            "decided_by": actor(),
            **d,
            "metrics": json.dumps(d.get("metrics", {}), sort_keys=True),
        }
        for d in decisions
    ]
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    return spark.createDataFrame([[r.get(c) for c in DECISION_COLUMNS] for r in rows], DECISIONS_SCHEMA)
