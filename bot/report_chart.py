"""The report's chart: questions per day (bars) and the helpful rate (line), as PNG bytes. The only matplotlib
import, with the Agg backend (no display, safe in worker threads)."""
from __future__ import annotations

import io
import threading

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)

from bot.reports import Report  # noqa: E402

_DRAWING = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe


def chart_png(report: Report) -> bytes:
    """A 900×450 PNG of the report's days."""
    days = [d.day for d in report.days]
    labels = [d.strftime("%a %d") for d in days]
    with _DRAWING:
        figure = Figure(figsize=(9, 4.5), dpi=100)
        axes = figure.add_subplot()
        axes.bar(labels, [d.questions for d in report.days], color="#4a90d9", label="Questions")
        axes.set_ylabel("Questions per day")
        axes.set_title(f"Rollout pilot, {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}")
        rates = axes.twinx()
        rates.plot(labels, [float("nan") if d.helpful_rate is None else 100 * d.helpful_rate for d in report.days],
                   color="#2e9e5b", marker="o", label="Helpful %")
        rates.set_ylim(0, 105)
        rates.set_ylabel("Helpful rate (%)")
        figure.legend(loc="upper left")
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()
