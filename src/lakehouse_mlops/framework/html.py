"""Self-contained HTML pages: the shared style, figures embedded as PNG, tables."""

from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import pandas as pd  # noqa: E402

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f3f3f3}.flagged{background:#fde2e2}.insufficient{color:#888}
.decision{font-size:1.4em;padding:.4em .8em;display:inline-block;border-radius:4px;background:#eef}
.retrain{background:#fde2e2}.alert{background:#fff3cd}.none{background:#e2f5e2}
"""


def figure_html(fig: plt.Figure, alt: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)  # released from pyplot; the figure itself can still be saved
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'


def table_html(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p><em>none</em></p>"
    rows = []
    for record in frame.to_dict("records"):
        css = (
            "flagged"
            if record.get("flagged")
            else ("insufficient" if record.get("status") == "insufficient" else "")
        )
        cells = "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in record.values())
        rows.append(f'<tr class="{css}">{cells}</tr>')
    header = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


def _fmt(value) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.4g}"
    return "" if value is None else str(value)
