"""The monitoring report: one self-contained HTML page (plots embedded as PNG) per window."""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import pandas as pd  # noqa: E402

from lakehouse_mlops.framework.html import STYLE, figure_html, table_html  # noqa: E402
from lakehouse_mlops.pipelines.monitoring.estimated import BIAS, ESTIMATED  # noqa: E402
from lakehouse_mlops.pipelines.monitoring.performance import PERFORMANCE  # noqa: E402
from lakehouse_mlops.pipelines.monitoring.slices import SLICE_ESTIMATED, SLICE_PERFORMANCE  # noqa: E402

EFFECT = {"psi": "threshold", "jensen_shannon": "threshold"}
#: drifted features whose reference and current distributions the summary shows
TOP_FEATURES = 3


def drift_figure(drift: pd.DataFrame) -> plt.Figure:
    """Effect size relative to its threshold per feature (PSI for numeric, JS for categorical)."""
    effects = drift[drift["metric"].isin(list(EFFECT))].copy()
    effects["ratio"] = effects["value"] / effects["threshold"]
    effects = effects.sort_values("ratio")
    fig, ax = plt.subplots(figsize=(7, max(3, 0.28 * len(effects))))
    colours = ["#d9534f" if f else "#5b8bd9" for f in effects["flagged"]]
    ax.barh(effects["feature"] + " (" + effects["metric"] + ")", effects["ratio"], color=colours)
    ax.axvline(1.0, color="grey", linestyle="--")
    ax.set(xlabel="effect size / threshold (red: drift detected)", title="per-feature drift")
    fig.tight_layout()
    return fig


def scores_figure(histogram: dict) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    edges = histogram["edges"]
    for name in ("reference", "current"):
        ax.stairs(
            histogram[name],
            edges,
            label=name,
            fill=name == "reference",
            alpha=0.5 if name == "reference" else 1,
        )
    ax.set(
        xlabel=f"predicted probability of '{histogram.get('positive', 'the positive class')}'",
        ylabel="share of rows",
        title="score distribution",
    )
    ax.legend()
    fig.tight_layout()
    return fig


def performance_figure(performance: pd.DataFrame, baselines: dict[str, float]) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    auc = performance[performance["metric"] == "roc_auc"].sort_values("batch_id")
    for version, rows in auc.groupby("model_version"):
        ax.plot(rows["batch_id"], rows["value"], marker="o", label=f"version {version}")
        if version in baselines:
            ax.axhline(baselines[version], linestyle=":", color=ax.lines[-1].get_color())
    ax.set(
        xlabel="labelled window",
        ylabel="ROC AUC",
        title="performance over time (dotted: test AUC at training)",
    )
    if not auc.empty:
        ax.legend()
    fig.tight_layout()
    return fig


def estimates_figure(estimates: pd.DataFrame) -> plt.Figure:
    """Per batch, the deployed version's estimated ROC AUC with its band, and the realised value once
    the labels landed."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if not estimates.empty:
        x = estimates["batch_id"]
        band = estimates["band"].fillna(0)
        ax.plot(x, estimates["estimated"], marker="o", label="estimated (from the scores)")
        ax.fill_between(x, estimates["estimated"] - band, estimates["estimated"] + band, alpha=0.2)
        realised = estimates.dropna(subset=["realised"])
        ax.plot(realised["batch_id"], realised["realised"], "s", color="black", label="realised (labels)")
        ax.legend()
    ax.set(xlabel="batch", ylabel="ROC AUC", title="estimated vs realised performance (band: 1 SE)")
    fig.tight_layout()
    return fig


def feature_figure(feature: str, distribution: dict) -> plt.Figure:
    """Reference vs current shares of one feature (numeric: per reference decile)."""
    bins = distribution["bins"]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    positions = range(len(bins))
    ax.bar([i - 0.2 for i in positions], distribution["reference"], width=0.4, label="reference")
    ax.bar([i + 0.2 for i in positions], distribution["current"], width=0.4, label="current")
    ax.set_xticks(list(positions), bins, rotation=30, ha="right", fontsize=8)
    ax.set(ylabel="share of rows", title=f"{feature}: reference vs current")
    ax.legend()
    fig.tight_layout()
    return fig


def most_drifted(drift: pd.DataFrame, count: int = TOP_FEATURES) -> list[str]:
    """The drifted features, strongest first (their largest flagged effect relative to its threshold)."""
    flagged = drift[
        (drift["kind"] == "data_drift") & drift["flagged"].astype(bool) & drift["threshold"].notna()
    ]
    if flagged.empty:
        return []
    ratio = (flagged["value"] / flagged["threshold"]).groupby(flagged["feature"]).max()
    return list(ratio.sort_values(ascending=False).index[:count])


def figures(
    drift: pd.DataFrame,
    performance: pd.DataFrame,
    histogram: dict,
    baselines: dict,
    estimates: pd.DataFrame | None = None,
) -> dict[str, plt.Figure]:
    """The report's plots (the drift and performance ones also saved on their own, for kedro-viz and
    MLflow); ``feature:<name>`` for each of the most drifted features."""
    plots = {
        "drift": drift_figure(drift[drift["kind"] == "data_drift"]),
        "scores": scores_figure(histogram),
        "performance": performance_figure(performance, baselines),
        "estimates": estimates_figure(
            estimates if estimates is not None else estimates_timeline(pd.DataFrame())
        ),
    }
    distributions = histogram.get("features", {})
    for feature in most_drifted(drift) if not drift.empty else []:
        if feature in distributions:
            plots[f"feature:{feature}"] = feature_figure(feature, distributions[feature])
    return plots


def estimates_timeline(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` of kinds ``estimated_performance`` and ``performance`` (batch_id, model_version, metric,
    value) → per estimated batch: estimated ROC AUC, its band and the realised ROC AUC of the same
    version on that batch (NaN until its labels land)."""
    columns = ["batch_id", "model_version", "estimated", "band", "realised"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    keys = ["batch_id", "model_version"]
    estimated = rows[rows["kind"] == ESTIMATED].pivot_table(index=keys, columns="metric", values="value")
    estimated = estimated.reindex(columns=["roc_auc", "roc_auc_band"]).dropna(subset=["roc_auc"])
    realised = (
        rows[(rows["kind"] == PERFORMANCE) & (rows["metric"] == "roc_auc")].groupby(keys)["value"].last()
    )
    timeline = estimated.join(realised.rename("realised"), how="left").reset_index()
    timeline = timeline.rename(columns={"roc_auc": "estimated", "roc_auc_band": "band"})
    return timeline.sort_values("batch_id").reindex(columns=columns).reset_index(drop=True)


#: the drift tables' columns: an effect size is read against its threshold, a test's p-value against
#: alpha — two different things, shown apart
DRIFT_COLUMNS = {
    "feature": "feature",
    "metric": "metric",
    "value": "value",
    "threshold": "effect threshold",
    "p_value": "p-value",
    "alpha": "alpha",
    "flagged": "flagged",
    "status": "status",
    "reference": "compared with",
    "reference_batch_id": "reference batch",
    "reference_rows": "reference rows",
    "current_rows": "current rows",
}


def drift_table(drift: pd.DataFrame, kind: str) -> pd.DataFrame:
    rows = drift[drift["kind"] == kind].reindex(columns=list(DRIFT_COLUMNS))
    return rows.rename(columns=DRIFT_COLUMNS)


#: the feed table: rows of this batch, and, for completeness, the trailing median they are read against
FEED_COLUMNS = {
    "feature": "feed",
    "metric": "check",
    "current_rows": "rows (landed / accepted)",
    "reference_rows": "trailing median",
    "value": "value (missing 1/0; rows / median)",
    "threshold": "min ratio",
    "flagged": "flagged",
    "status": "status",
}


#: the use case's custom metrics: which rows, which batch and version, the value against its bound
CUSTOM_COLUMNS = {
    "metric": "metric",
    "feature": "over",
    "batch_id": "batch",
    "model_version": "version",
    "value": "value",
    "threshold": "bound",
    "flagged": "flagged",
    "status": "status",
    "current_rows": "rows",
}


def custom_table(custom: list[dict]) -> pd.DataFrame:
    """The use case's custom metrics (``usecase.monitoring.custom_metrics``)."""
    return pd.DataFrame(custom).reindex(columns=list(CUSTOM_COLUMNS)).rename(columns=CUSTOM_COLUMNS)


def _per_slice(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One line per ``keys``: each metric a column, with the slice's rows and status."""
    values = rows.pivot_table(index=keys, columns="metric", values="value", aggfunc="last", dropna=False)
    values = values.drop(columns="rows", errors="ignore")  # a realised slice's row count: as below
    sizes = rows.groupby(keys).agg(rows=("current_rows", "max"), status=("status", "first"))
    return values.join(sizes).reset_index()


def estimated_slice_table(slice_rows: list[dict]) -> pd.DataFrame:
    """This batch's estimated performance per slice (``usecase.monitoring.slices``)."""
    rows = pd.DataFrame(
        slice_rows or [], columns=["kind", "feature", "metric", "value", "current_rows", "status"]
    )
    rows = rows[(rows["kind"] == SLICE_ESTIMATED) & ~rows["metric"].str.contains(".", regex=False)]
    if rows.empty:
        return pd.DataFrame()
    table = _per_slice(rows, ["feature"]).reindex(
        columns=[
            "feature",
            "rows",
            "roc_auc",
            "roc_auc_band",
            "precision",
            "recall",
            "positive_rate",
            "status",
        ]
    )
    return table.rename(
        columns={"feature": "slice", "roc_auc": "estimated ROC AUC", "roc_auc_band": "± band (1 SE)"}
    )


def realised_slice_table(slice_rows: list[dict]) -> pd.DataFrame:
    """Realised performance per slice of the windows whose labels landed now, with the error of the
    estimate made when the window was monitored."""
    columns = ["kind", "batch_id", "model_version", "feature", "metric", "value", "current_rows", "status"]
    rows = pd.DataFrame(slice_rows or [], columns=columns)
    realised = rows[rows["kind"] == SLICE_PERFORMANCE]
    if realised.empty:
        return pd.DataFrame()
    keys = ["batch_id", "model_version", "feature"]
    table = _per_slice(realised, keys)
    errors = rows[(rows["kind"] == SLICE_ESTIMATED) & (rows["metric"] == "estimation_error.roc_auc")]
    table = table.merge(
        errors[keys + ["value"]].rename(columns={"value": "estimation error"}), on=keys, how="left"
    )
    ordered = ["batch_id", "model_version", "feature", "rows", "roc_auc", "estimation error", "precision"]
    table = table.reindex(columns=[*ordered, "recall", "brier", "positive_rate", "status"])
    return table.rename(
        columns={"batch_id": "window", "model_version": "version", "feature": "slice", "roc_auc": "ROC AUC"}
    )


def feed_table(feeds: list[dict]) -> pd.DataFrame:
    """Freshness (``feed_missing``) and completeness (``feed_incomplete``) per feed."""
    return pd.DataFrame(feeds).reindex(columns=list(FEED_COLUMNS)).rename(columns=FEED_COLUMNS)


def estimated_table(estimated: pd.DataFrame) -> pd.DataFrame:
    """Each estimated metric with its one-standard-error band and the bias correction it includes."""
    if estimated.empty:
        return estimated
    values = dict(zip(estimated["metric"], estimated["value"], strict=True))
    names = [m for m in values if not m.endswith(("_band", BIAS)) and "." not in m]
    return pd.DataFrame(
        {
            "metric": names,
            "estimated": [values[m] for m in names],
            "± band (1 SE)": [values.get(f"{m}_band") for m in names],
            "of which bias correction": [values.get(f"{m}{BIAS}") for m in names],
        }
    )


def _band(value: float | None, band: float | None) -> str:
    if value is None or pd.isna(value):
        return "not estimated"
    return f"{value:.3f}" + ("" if band is None or pd.isna(band) else f" ± {band:.3f}")


def summary_table(decision: dict, estimated: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """The figures behind the decision, one line each."""
    signals = decision.get("signals", {})
    values = dict(zip(estimated.get("metric", []), estimated.get("value", []), strict=True))
    lines = [("estimated ROC AUC of this batch", _band(values.get("roc_auc"), values.get("roc_auc_band")))]
    labelled = estimates.dropna(subset=["realised"]) if not estimates.empty else estimates
    if not labelled.empty:
        last = labelled.iloc[-1]
        lines.append(
            (
                f"realised ROC AUC of batch {last['batch_id']} (version {last['model_version']})",
                f"{last['realised']:.3f} (estimated {last['estimated']:.3f}, "
                f"error {last['realised'] - last['estimated']:+.3f})",
            )
        )
    else:
        lines.append(("realised ROC AUC", "no labelled batch yet: labels land after their batch"))
    drifted, share = signals.get("drifted_features", []), signals.get("drift_share")
    lines += [
        (
            "drifted features",
            f"{len(drifted)} ({share:.0%} of those assessed)" if share is not None else "not assessed",
        ),
        ("data-quality alarms", ", ".join(signals.get("quality_alarms", [])) or "none"),
        ("feed alarms", "; ".join(signals.get("feed_alarms", [])) or "none"),
        ("custom metric alarms", "; ".join(signals.get("custom_alarms", [])) or "none"),
        (
            "prediction drift",
            {True: "yes", False: "no", None: "not assessed"}[signals.get("prediction_drift")],
        ),
    ]
    return pd.DataFrame(lines, columns=["figure", "value"])


def _folded(title: str, *content: str) -> str:
    return f"<details><summary>{html.escape(title)}</summary>{''.join(content)}</details>"


def render(
    decision: dict,
    drift: pd.DataFrame,
    performance: pd.DataFrame,
    plots: dict[str, plt.Figure],
    estimated: pd.DataFrame | None = None,
    estimates: pd.DataFrame | None = None,
    feeds: list[dict] | None = None,
    custom: list[dict] | None = None,
    slice_rows: list[dict] | None = None,
) -> str:
    """Summary first (decision, its evidence, estimated vs realised performance, the most drifted
    features' distributions, the scores); every metric table folded below."""
    data_drift = drift_table(drift, "data_drift")
    quality = drift_table(drift, "data_quality")
    prediction = drift_table(drift, "prediction_drift")
    estimated = estimated if estimated is not None else pd.DataFrame()
    estimates = estimates if estimates is not None else estimates_timeline(pd.DataFrame())
    estimated_metrics = estimated_table(estimated)
    estimated_slices, realised_slices = estimated_slice_table(slice_rows), realised_slice_table(slice_rows)
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in decision["reasons"])
    latest = (
        performance[performance["batch_id"] == performance["batch_id"].max()]
        if not performance.empty
        else performance
    )
    features = [name for name in plots if name.startswith("feature:")]
    parts = [
        f"<h1>Monitoring — batch {html.escape(decision['batch_id'])}</h1>",
        f"<p>model {html.escape(decision['model_name'])} "
        f"version {html.escape(decision['model_version'])}</p>",
        '<section id="summary"><h2>Summary</h2>',
        f'<div class="decision {decision["decision"]}">decision: <b>{decision["decision"]}</b></div>',
        f"<ul>{reasons}</ul>",
        table_html(summary_table(decision, estimated, estimates)),
        "<h3>Estimated vs realised performance</h3>",
        figure_html(plots["estimates"], "estimated vs realised performance") if "estimates" in plots else "",
        "<h3>Most drifted features</h3>",
        "".join(figure_html(plots[name], name.removeprefix("feature:")) for name in features)
        or "<p><em>no feature drifted</em></p>",
        "<h3>Scores</h3>",
        figure_html(plots["scores"], "score distribution"),
        '<h3 id="slices">Slices: estimated performance of this batch</h3>',
        table_html(estimated_slices)
        if not estimated_slices.empty
        else "<p><em>no slices declared (usecase.monitoring.slices)</em></p>",
        "</section>",
        '<section id="details"><h2>Details</h2>',
        _folded(
            "Per-feature drift (every metric)",
            figure_html(plots["drift"], "per-feature drift"),
            table_html(data_drift),
        ),
        _folded("Data quality", table_html(quality)),
        _folded("Feed freshness and completeness (ingestion audit)", table_html(feed_table(feeds or []))),
        _folded(
            "Custom metrics (usecase.monitoring.custom_metrics)",
            table_html(custom_table(custom))
            if custom
            else "<p><em>none declared, or no rows to aggregate</em></p>",
        ),
        _folded(
            "Slices: realised performance of the windows whose labels landed now",
            table_html(realised_slices)
            if not realised_slices.empty
            else "<p><em>no slices declared, or no labels landed with this batch</em></p>",
        ),
        _folded("Prediction drift", table_html(prediction)),
        _folded(
            "Estimated performance (from the scores, before labels land)",
            table_html(estimated_metrics)
            if not estimated_metrics.empty
            else "<p><em>not estimated: the window is smaller than min_labelled_rows</em></p>",
        ),
        _folded(
            "Performance over time",
            figure_html(plots["performance"], "performance over time"),
            table_html(
                latest[["batch_id", "model_version", "metric", "value", "threshold", "flagged", "status"]]
            )
            if not latest.empty
            else "<p><em>no labelled window yet: labels land after their batch</em></p>",
        ),
        "</section>",
    ]
    body = "\n".join(parts)
    title = f"Monitoring {html.escape(decision['batch_id'])}"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
