"""Feature and label nodes (pure functions of silver DataFrames and the feature definitions)."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse_mlops.framework.gold import gold_feature_rows, label_known_at, of_batch
from lakehouse_mlops.framework.usecase import parse_usecase
from lakehouse_mlops.usecases.flights.config import FeatureSpec, parse_features

LATE, ON_TIME, CANCELLED, DIVERTED = "late", "on_time", "cancelled", "diverted"


def build_labels(outcomes: DataFrame, flights: DataFrame, features: dict, usecase: dict) -> DataFrame:
    """``is_late = arr_delay > threshold`` with the outcome status and when the label became known.

    Cancelled flights (no departure) and diverted ones (departed, no arrival delay) have no arrival
    delay: ``is_late`` is null for them unless ``cancelled_as_late`` counts both as late.
    """
    batch_id = parse_features(features).batch_id
    spec, contract = parse_features(features).label, parse_usecase(usecase)
    outcomes = of_batch(outcomes, batch_id)
    status = (
        F.when(F.col("dep_time").isNull(), F.lit(CANCELLED))
        .when(F.col("arr_delay").isNull(), F.lit(DIVERTED))
        .when(F.col("arr_delay") > spec.late_threshold_minutes, F.lit(LATE))
        .otherwise(F.lit(ON_TIME))
    )
    disrupted_label = F.lit(True) if spec.cancelled_as_late else F.lit(None).cast("boolean")
    is_late = F.when(F.col("outcome_status").isin(CANCELLED, DIVERTED), disrupted_label).otherwise(
        F.col("outcome_status") == LATE
    )
    route = flights.select("flight_key", "dest")
    return (
        outcomes.join(route, "flight_key", "left")
        .withColumn("outcome_status", status)
        .select(
            "flight_key",
            "flight_date",
            "carrier",
            "origin",
            "dest",
            "arr_delay",
            "outcome_status",
            is_late.alias("is_late"),
            label_known_at(
                F.col("flight_date"), contract.batch.cadence, contract.label.known_after_batches
            ).alias("label_known_at"),
            F.col("_batch_id").alias("label_batch_id"),
        )
    )


def build_flight_features(
    flights: DataFrame,
    weather: DataFrame,
    planes: DataFrame,
    labels: DataFrame,
    features: dict,
    usecase: dict,
) -> DataFrame:
    """One row per scheduled flight with schedule, route, plane, weather and trailing features."""
    spec, delay = parse_features(features), parse_usecase(usecase).label.known_after_batches
    base = _schedule_features(of_batch(flights, spec.batch_id), spec)
    base = _with_plane(base, planes)
    base = _with_weather(base, weather, spec)
    base = _with_trailing_rates(base, labels, spec, delay)
    return gold_feature_rows(base, spec.descriptions)


def _schedule_features(flights: DataFrame, spec: FeatureSpec) -> DataFrame:
    departure = F.col("time_hour") + F.make_interval(mins=F.col("minute"))
    holidays = F.array(*[F.lit(d) for d in spec.holidays])
    to_holiday = F.array_min(F.transform(holidays, lambda h: F.abs(F.datediff(h, F.col("flight_date")))))
    return flights.select(
        "flight_key",
        "flight_date",
        F.col("_batch_id").alias("batch_id"),
        departure.alias("scheduled_departure"),
        F.col("hour").alias("dep_hour"),
        F.dayofweek("flight_date").alias("dep_weekday"),
        F.month("flight_date").alias("dep_month"),
        to_holiday.alias("days_to_holiday"),
        "carrier",
        "origin",
        "dest",
        "distance",
        "tailnum",
        F.col("time_hour").alias("_scheduled_hour"),
    )


def _with_plane(base: DataFrame, planes: DataFrame) -> DataFrame:
    plane = planes.select(
        "tailnum",
        F.col("year").alias("_plane_year"),
        F.col("manufacturer").alias("plane_manufacturer"),
        F.col("seats").alias("plane_seats"),
        F.col("engine").alias("plane_engine"),
    )
    joined = base.join(plane, "tailnum", "left")
    age = F.year("flight_date") - F.col("_plane_year")
    return joined.withColumn("plane_age", age.cast("double")).drop("_plane_year", "tailnum")


def _with_weather(base: DataFrame, weather: DataFrame, spec: FeatureSpec) -> DataFrame:
    """The latest observation at the origin not after the scheduled hour (and not too old).

    Resolved on the weather side: each observation is spread over the scheduled hours it may serve
    (its own hour to ``max_age_hours`` later) and, per origin and hour, the latest one is kept. The
    flights then take it with an equi-join on (origin, hour). A range join of the flights with the
    observations would compare every flight with every observation at its origin (three origins:
    billions of pairs at 1M flights).
    """
    one_hour = F.expr("INTERVAL 1 HOUR")
    observed = F.col("time_hour")
    on_the_hour = F.date_trunc("hour", observed)
    first_hour = F.when(on_the_hour == observed, observed).otherwise(on_the_hour + one_hour)
    last_hour = observed + F.make_interval(hours=F.lit(spec.weather.max_age_hours))
    served_hours = F.sequence(first_hour, last_hour, one_hour)
    latest = Window.partitionBy("_wx_origin", "_scheduled_hour").orderBy(F.col("_wx_time").desc())
    by_hour = (
        weather.select(
            F.col("origin").alias("_wx_origin"),
            F.col("time_hour").alias("_wx_time"),
            F.explode(served_hours).alias("_scheduled_hour"),
            *[F.col(c).alias(f"wx_{c}") for c in spec.weather.columns],
        )
        .withColumn("_rank", F.row_number().over(latest))
        .filter(F.col("_rank") == 1)
        .drop("_rank")
    )
    on = (F.col("origin") == F.col("_wx_origin")) & (base["_scheduled_hour"] == by_hour["_scheduled_hour"])
    age = (base["_scheduled_hour"].cast("long") - F.col("_wx_time").cast("long")) / 3600.0
    joined = base.join(by_hour, on, "left")
    return joined.select(
        base["*"], *[by_hour[f"wx_{c}"] for c in spec.weather.columns], age.alias("wx_age_hours")
    )


def _with_trailing_rates(base: DataFrame, labels: DataFrame, spec: FeatureSpec, delay: int) -> DataFrame:
    """Smoothed late rates per entity over the window before each flight's knowledge cutoff.

    With outcomes landing ``delay`` months after their month, a flight in month M can know the
    outcomes of flights before the first day of month M - delay + 1: that day is its cutoff.
    """
    trailing = spec.trailing
    base = base.withColumn("_cutoff", F.add_months(F.trunc("flight_date", "month"), 1 - delay))
    cutoffs = base.select("_cutoff").distinct()
    entity_columns = sorted({c for keys in trailing.entities.values() for c in keys})
    known = labels.filter(F.col("is_late").isNotNull()).select(
        "flight_date", *entity_columns, F.col("is_late").cast("double").alias("_late")
    )
    window = (F.col("flight_date") < F.col("_cutoff")) & (
        F.col("flight_date") >= F.date_sub(F.col("_cutoff"), trailing.window_days)
    )
    in_window = known.join(F.broadcast(cutoffs), window, "inner")
    overall = in_window.groupBy("_cutoff").agg(F.avg("_late").alias("_global_rate"))
    base = base.join(overall, "_cutoff", "left")
    for entity, keys in trailing.entities.items():
        stats = in_window.groupBy("_cutoff", *keys).agg(
            F.sum("_late").alias("_late_n"), F.count("*").alias(f"{entity}_flights_{trailing.window_days}d")
        )
        base = base.join(stats, ["_cutoff", *keys], "left")
        n = F.coalesce(F.col(f"{entity}_flights_{trailing.window_days}d"), F.lit(0))
        rate = (
            F.coalesce(F.col("_late_n"), F.lit(0.0)) + trailing.prior_strength * F.col("_global_rate")
        ) / (n + trailing.prior_strength)
        base = (
            base.withColumn(f"{entity}_late_rate_{trailing.window_days}d", rate)
            .withColumn(f"{entity}_flights_{trailing.window_days}d", n)
            .drop("_late_n")
        )
    return base.drop("_cutoff", "_global_rate", "_scheduled_hour")
