"""Model explanation (SHAP) and a data profile of the training table (ydata-profiling)."""

from __future__ import annotations

import logging
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

logger = logging.getLogger(__name__)


def shap_summary(model, x: pd.DataFrame, sample_rows: int, seed: int) -> plt.Figure:
    """SHAP summary (beeswarm) of the classifier on a sample, in the preprocessed feature space."""
    import shap

    sample = x.sample(n=min(len(x), sample_rows), random_state=seed)
    preprocess, classifier = model[:-1], model[-1]
    features = pd.DataFrame(preprocess.transform(sample), columns=x.columns, index=sample.index)
    try:
        explainer = shap.TreeExplainer(classifier)
        values = explainer.shap_values(features)
    except Exception as exc:  # noqa: BLE001 - shap has no tree support for this model family
        logger.info("TreeExplainer unavailable (%s): using the permutation explainer", exc)
        explainer = shap.Explainer(
            lambda a: classifier.predict_proba(a)[:, 1], features.to_numpy(), seed=seed
        )
        values = explainer(features.to_numpy()[:200]).values
        features = features.iloc[:200]
    values = values[1] if isinstance(values, list) else values
    plt.figure()
    shap.summary_plot(np.asarray(values), features, show=False, max_display=20)
    fig = plt.gcf()
    fig.set_size_inches(8, 7)
    fig.tight_layout()
    return fig


def profile_html(table: pd.DataFrame, sample_rows: int, seed: int) -> str:
    """A minimal-mode ydata-profiling report of a sample of the training table, as HTML."""
    from ydata_profiling import ProfileReport

    sample = table.sample(n=min(len(table), sample_rows), random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = ProfileReport(
            sample, title=f"Training table (sample of {len(sample)} rows)", minimal=True, progress_bar=False
        )
        return report.to_html()
