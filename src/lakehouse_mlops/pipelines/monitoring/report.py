"""The monitoring report: one self-contained HTML page (plots embedded as PNG) per window."""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import pandas as pd  # noqa: E402

from lakehouse_mlops.framework.html import STYLE, figure_html, table_html  # noqa: E402

EFFECT = {"psi": "threshold", "jensen_shannon": "threshold"}


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


def figures(
    drift: pd.DataFrame, performance: pd.DataFrame, histogram: dict, baselines: dict
) -> dict[str, plt.Figure]:
    """The report's plots (also saved on their own, for kedro-viz and MLflow)."""
    return {
        "drift": drift_figure(drift[drift["kind"] == "data_drift"]),
        "scores": scores_figure(histogram),
        "performance": performance_figure(performance, baselines),
    }


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


def feed_table(feeds: list[dict]) -> pd.DataFrame:
    """Freshness (``feed_missing``) and completeness (``feed_incomplete``) per feed."""
    return pd.DataFrame(feeds).reindex(columns=list(FEED_COLUMNS)).rename(columns=FEED_COLUMNS)


def estimated_table(estimated: pd.DataFrame) -> pd.DataFrame:
    """Each estimated metric with its one-standard-error band."""
    if estimated.empty:
        return estimated
    values = dict(zip(estimated["metric"], estimated["value"], strict=True))
    names = [m for m in values if not m.endswith("_band") and "." not in m]
    return pd.DataFrame(
        {
            "metric": names,
            "estimated": [values[m] for m in names],
            "± band (1 SE)": [values.get(f"{m}_band") for m in names],
        }
    )


def render(
    decision: dict,
    drift: pd.DataFrame,
    performance: pd.DataFrame,
    plots: dict[str, plt.Figure],
    estimated: pd.DataFrame | None = None,
    feeds: list[dict] | None = None,
) -> str:
    data_drift = drift_table(drift, "data_drift")
    quality = drift_table(drift, "data_quality")
    prediction = drift_table(drift, "prediction_drift")
    estimated = estimated_table(estimated if estimated is not None else pd.DataFrame())
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in decision["reasons"])
    latest = (
        performance[performance["batch_id"] == performance["batch_id"].max()]
        if not performance.empty
        else performance
    )
    parts = [
        f"<h1>Monitoring — batch {html.escape(decision['batch_id'])}</h1>",
        f"<p>model {html.escape(decision['model_name'])} "
        f"version {html.escape(decision['model_version'])}</p>",
        f'<div class="decision {decision["decision"]}">decision: <b>{decision["decision"]}</b></div>',
        f"<ul>{reasons}</ul>",
        "<h2>Per-feature drift</h2>",
        figure_html(plots["drift"], "per-feature drift"),
        table_html(data_drift),
        "<h2>Data quality</h2>",
        table_html(quality),
        "<h2>Feed freshness and completeness (ingestion audit)</h2>",
        table_html(feed_table(feeds or [])),
        "<h2>Prediction drift</h2>",
        figure_html(plots["scores"], "score distribution"),
        table_html(prediction),
        "<h2>Estimated performance (from the scores, before labels land)</h2>",
        table_html(estimated)
        if not estimated.empty
        else "<p><em>not estimated: the window is smaller than min_labelled_rows</em></p>",
        "<h2>Performance over time</h2>",
        figure_html(plots["performance"], "performance over time"),
        table_html(latest[["batch_id", "model_version", "metric", "value", "threshold", "flagged", "status"]])
        if not latest.empty
        else "<p><em>no labelled window yet: labels land after their batch</em></p>",
    ]
    body = "\n".join(parts)
    title = f"Monitoring {html.escape(decision['batch_id'])}"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
