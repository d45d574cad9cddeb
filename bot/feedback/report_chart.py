"""The report's chart: questions per day (bars) and the helpful rate (line), as PNG bytes. The only matplotlib
import, with the Agg backend (no display, safe in worker threads)."""
from __future__ import annotations

import io
import threading

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from bot.feedback.reports import Report  # noqa: E402

_DRAWING = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe
NO_DATA = "No questions asked in Slack in this period yet"


def chart_png(report: Report) -> bytes:
    """A 900×450 PNG of the report's days."""
    with _DRAWING:
        figure = chart_figure(report)
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()


def chart_figure(report: Report) -> Figure:
    """The chart as a matplotlib Figure: bars and line, the legend above the plot (never over a bar), or a plain
    "no data yet" notice when no question was asked in the period."""
    figure = Figure(figsize=(9, 4.5), dpi=100, layout="constrained")
    title = f"Rollout pilot, {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}"
    if not any(d.questions for d in report.days):
        figure.suptitle(title)
        figure.text(0.5, 0.5, NO_DATA, ha="center", va="center", fontsize=14, color="#555555")
        return figure
    labels = [d.day.strftime("%a %d") for d in report.days]
    axes = figure.add_subplot()
    axes.bar(labels, [d.questions for d in report.days], color="#4a90d9", label="Questions")
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("Questions per day")
    axes.set_title(title)
    rates = axes.twinx()
    rates.plot(labels, [float("nan") if d.helpful_rate is None else 100 * d.helpful_rate for d in report.days],
               color="#2e9e5b", marker="o", label="Helpful %")
    rates.set_ylim(0, 105)
    rates.set_ylabel("Helpful rate (%)")
    figure.legend(loc="outside lower center", ncols=2, frameon=False)
    return figure
