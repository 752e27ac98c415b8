"""Label and feature nodes: pure functions of silver DataFrames and the feature settings."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.framework import gold
from lakehouse_mlops.framework.config import StrictModel, parse_config
from lakehouse_mlops.framework.usecase import parse_usecase


class FeatureSpec(StrictModel):
    batch_id: str | None = None  # None: every batch; the cycle builds only the batch it processes
    salary_midpoints: dict[str, float]  # salary_range → yearly salary (EUR) used for the ratios
    trailing_batches: int = 3  # the repayment rate uses the labels that landed in the last n batches
    prior_strength: float = 50.0  # pseudo-loans pulling a small band toward the overall rate
    descriptions: dict[str, str] = {}


def parse_features(raw: dict) -> FeatureSpec:
    return parse_config(FeatureSpec, raw, "conf/base/usecases/car_loans/parameters_features.yml: features")


def build_labels(repayments: DataFrame, loans: DataFrame, features: dict, usecase: dict) -> DataFrame:
    """``repaid`` per loan, with when it became known and the salary band the trailing rate groups by."""
    contract = parse_usecase(usecase)
    delay = contract.label.known_after_batches
    known_at = gold.label_known_at(F.col("applied_at"), contract.batch.cadence, delay)
    return gold.of_batch(repayments, parse_features(features).batch_id).join(
        loans.select("loan_id", "applied_at", "salary_range"), "loan_id"
    ).select(
        "loan_id", "applied_at", "salary_range", (F.col("repaid") == 1).alias("repaid"),
        known_at.alias(gold.LABEL_KNOWN_AT), F.col("_batch_id").alias(gold.LABEL_BATCH),
    )  # fmt: skip


def build_loan_features(loans: DataFrame, labels: DataFrame, features: dict) -> DataFrame:
    """One row per loan: the application's columns, amounts derived from them, the band's repayment rate."""
    spec = parse_features(features)
    midpoints = F.create_map(*[F.lit(x) for pair in spec.salary_midpoints.items() for x in pair])
    salary = midpoints[F.col("salary_range")]
    downpayment = F.regexp_extract("size_of_downpayment", r"^(\d+)%$", 1).cast("double") / 100
    amount = F.col("car_value") * (1 - downpayment)
    base = gold.of_batch(loans, spec.batch_id).select(
        "loan_id", "applied_at", F.col("_batch_id").alias("batch_id"), "car_value", "salary_range",
        "debt_to_income_ratio", "loan_length", "size_of_downpayment", "driver_tenure", "incumbent_score",
        (F.col("repaid_loan_on_prev_car") == "True").cast("int").alias("repaid_loan_on_prev_car"),
        downpayment.alias("downpayment_share"), amount.alias("loan_amount"),
        (amount / F.col("loan_length")).alias("monthly_payment"),
        (amount / F.col("loan_length") * 12 / salary).alias("payment_to_salary"),
    )  # fmt: skip
    return gold.gold_feature_rows(with_band_repayment_rate(base, labels, spec), spec.descriptions)


def with_band_repayment_rate(base: DataFrame, labels: DataFrame, spec: FeatureSpec) -> DataFrame:
    """``salary_band_repaid_rate``: ``(repaid + k·overall) / (n + k)`` of the band's labels known in the last
    ``trailing_batches`` months up to the start of the loan's batch (its cutoff); null before any label."""
    base = base.withColumn("_cutoff", F.trunc("applied_at", "month").cast("timestamp"))
    known_at = F.col(gold.LABEL_KNOWN_AT)
    window = (known_at <= F.col("_cutoff")) & (known_at > F.add_months("_cutoff", -spec.trailing_batches))
    cutoffs = F.broadcast(base.select("_cutoff").distinct())
    seen = labels.filter(F.col("repaid").isNotNull()).join(cutoffs, window)
    seen = seen.select("_cutoff", "salary_range", F.col("repaid").cast("double").alias("_repaid"))
    overall = seen.groupBy("_cutoff").agg(F.avg("_repaid").alias("_overall"))
    counts = F.sum("_repaid").alias("_sum"), F.count("*").alias("_n")
    band = seen.groupBy("_cutoff", "salary_range").agg(*counts)
    k = F.lit(spec.prior_strength)
    rate = (F.coalesce("_sum", F.lit(0.0)) + k * F.col("_overall")) / (F.coalesce("_n", F.lit(0)) + k)
    joined = base.join(overall, "_cutoff", "left").join(band, ["_cutoff", "salary_range"], "left")
    return joined.withColumn("salary_band_repaid_rate", rate).drop("_cutoff", "_overall", "_sum", "_n")
