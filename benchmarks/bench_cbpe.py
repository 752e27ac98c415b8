"""Label-free performance estimation (CBPE): ours from binned scores vs NannyML's CBPE, per month of
the car-loan data, and both against the realised metrics once labels are known.

NannyML runs in its own virtualenv (its pins differ from ours; 0.13.1 imports statsmodels without
declaring it and predates pandas 3); set it up once, then run::

    python3 -m venv .venv-nannyml
    .venv-nannyml/bin/pip install nannyml==0.13.1 statsmodels "pandas<3" "numpy<2.3" "scikit-learn<1.8"
    .venv/bin/python benchmarks/bench_cbpe.py --nannyml-python .venv-nannyml/bin/python

Both sides fit the isotonic calibrator on the same reference rows (the 50,000 loans of NannyML's
reference file, scored by the incumbent model) and estimate each later month from its scores alone.
Prints one line per month and metric, and the largest difference. Without ``--nannyml-python`` only
our estimates and the realised values are printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score

from lakehouse_mlops.pipelines.monitoring import estimation as est
from lakehouse_mlops.usecases.car_loans.source import loans

BINS = 10_000
REFERENCE_ROWS = 50_000  # NannyML's reference file; the analysis file follows it in time
METRICS = ("roc_auc", "average_precision", "precision", "recall")

NANNYML_SCRIPT = """
import json, sys, time
import pandas as pd
import nannyml as nml
reference, analysis, out = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2]), sys.argv[3]
metrics = ["roc_auc", "average_precision", "precision", "recall"]
started = time.perf_counter()
cbpe = nml.CBPE(
    y_pred_proba="score", y_pred="y_pred", y_true="y", timestamp_column_name="applied_at",
    problem_type="classification_binary", metrics=metrics,
    chunk_period="M",
)
cbpe.fit(reference)
result = cbpe.estimate(analysis).filter(period="analysis").to_df()
seconds = time.perf_counter() - started
rows = {}
for _, row in result.iterrows():
    month = str(row[("chunk", "start_date")])[:7]
    rows[month] = {m: float(row[(m, "value")]) for m in metrics}
    rows[month].update({m + "_band": float(row[(m, "sampling_error")]) for m in ["roc_auc", "precision"]})
json.dump({"version": nml.__version__, "seconds": seconds, "months": rows}, open(out, "w"))
"""


def our_estimates(reference: pd.DataFrame, analysis: pd.DataFrame) -> tuple[dict, est.Calibrator, float]:
    started = time.perf_counter()
    calibrator = est.fit_calibrator(reference["score"].to_numpy(), reference["y"].to_numpy())
    months = {}
    for month, window in analysis.groupby(analysis["applied_at"].str[:7]):
        scores = window["score"].to_numpy()
        p = calibrator.apply(scores)
        index = np.minimum((scores * BINS).astype(int), BINS - 1)
        bins = est.ExpectedBins(
            np.bincount(index, minlength=BINS).astype(float), np.bincount(index, weights=p, minlength=BINS)
        )
        predicted = window["y_pred"].to_numpy() == 1
        confusion = est.expected_confusion(
            predicted.sum(), p[predicted].sum(), (~predicted).sum(), p[~predicted].sum()
        )
        roc = est.estimated_roc_auc(bins)
        months[month] = {
            "roc_auc": roc,
            "average_precision": est.estimated_average_precision(bins),
            "precision": confusion.precision,
            "recall": confusion.recall,
            "roc_auc_band": est.auc_standard_error(roc, p.sum(), (1 - p).sum()),
            "precision_band": est.proportion_standard_error(confusion.precision, predicted.sum()),
        }
    return months, calibrator, time.perf_counter() - started


def realised(analysis: pd.DataFrame) -> dict:
    months = {}
    for month, window in analysis.groupby(analysis["applied_at"].str[:7]):
        y, s, yp = window["y"], window["score"], window["y_pred"]
        months[month] = {
            "roc_auc": roc_auc_score(y, s),
            "average_precision": average_precision_score(y, s),
            "precision": precision_score(y, yp),
            "recall": recall_score(y, yp),
        }
    return months


def nannyml_estimates(python: str, reference: pd.DataFrame, analysis: pd.DataFrame) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / name for name in ("reference.parquet", "analysis.parquet", "out.json")]
        reference.to_parquet(paths[0])
        analysis.to_parquet(paths[1])
        subprocess.run([python, "-c", NANNYML_SCRIPT, *map(str, paths)], check=True)
        return json.loads(paths[2].read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nannyml-python", help="python of a virtualenv with nannyml installed")
    args = parser.parse_args()
    frame = loans().rename(columns={"incumbent_score": "score", "repaid": "y"})
    # the positive class of NannyML's car-loan example is "repaid" (y = 1), as in its CBPE tutorial
    frame = frame[["applied_at", "score", "y_pred", "y"]]
    reference, analysis = frame.iloc[:REFERENCE_ROWS], frame.iloc[REFERENCE_ROWS:]
    ours, calibrator, our_seconds = our_estimates(reference, analysis)
    truth = realised(analysis)
    theirs = nannyml_estimates(args.nannyml_python, reference, analysis) if args.nannyml_python else None
    print(
        f"calibrator: {'identity' if calibrator.identity else f'isotonic, {len(calibrator.knots_x)} knots'}; "
        f"out-of-sample Brier {calibrator.brier_before:.4f} -> {calibrator.brier_after:.4f}"
    )
    header = (
        f"{'month':<8} {'metric':<18} {'ours':>7} {'NannyML':>8} {'|diff|':>7} {'realised':>9} {'band':>6}"
    )
    print(header)
    worst = {m: 0.0 for m in METRICS}
    for month in sorted(ours):
        for metric in METRICS:
            mine = ours[month][metric]
            other = theirs["months"].get(month, {}).get(metric) if theirs else None
            diff = abs(mine - other) if other is not None else float("nan")
            if other is not None:
                worst[metric] = max(worst[metric], diff)
            band = ours[month].get(f"{metric}_band", float("nan"))
            shown = f"{other:8.4f}" if other is not None else f"{'-':>8}"
            real = truth[month][metric]
            print(f"{month:<8} {metric:<18} {mine:7.4f} {shown} {diff:7.4f} {real:9.4f} {band:6.4f}")
    errors = {m: np.mean([abs(ours[k][m] - truth[k][m]) for k in ours]) for m in METRICS}
    print("mean |ours - realised|: " + ", ".join(f"{m} {v:.4f}" for m, v in errors.items()))
    print(f"our estimation: {our_seconds:.2f} s for {len(analysis):,} rows ({len(ours)} months)")
    if theirs:
        print(f"NannyML {theirs['version']}: {theirs['seconds']:.2f} s")
        print("largest |ours - NannyML|: " + ", ".join(f"{m} {v:.4f}" for m, v in worst.items()))


if __name__ == "__main__":
    main()
