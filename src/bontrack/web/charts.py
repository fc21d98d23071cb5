"""Outcome charts: one measure over time, injection dates marked (matplotlib, SVG)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from bontrack.analytics.charts import figure_bytes
from bontrack.clinical.scales import Scales


def outcome_svg(scales: Scales, scale_id: str, points: Sequence[tuple[datetime, float]],
                injections: Sequence[date], title: str | None = None) -> str:
    """An SVG line chart of ``points`` with a dashed line at each injection date."""
    return outcome_chart(scales, scale_id, points, injections, title, "svg").decode()


def outcome_chart(scales: Scales, scale_id: str, points: Sequence[tuple[datetime, float]],
                  injections: Sequence[date], title: str | None = None, fmt: str = "svg"
                  ) -> bytes:
    """The outcome chart as SVG or PNG bytes."""
    scale = scales.get(scale_id)
    fig, ax = plt.subplots(figsize=(6.4, 2.6), dpi=96)
    try:
        xs = [mdates.date2num(p[0]) for p in points]
        ys = [p[1] for p in points]
        ax.plot(xs, ys, marker="o", linewidth=1.8, color="#1f5f8b")
        for i, d in enumerate(injections):
            ax.axvline(mdates.date2num(datetime.combine(d, datetime.min.time())),
                       color="#b5443b", linestyle="--", linewidth=1,
                       label="injection" if i == 0 else None)
        ax.set_title(title or (scale.name if scale else scale_id), fontsize=10, loc="left")
        if scale is not None:
            ax.set_ylim(float(scale.low) - 0.2, float(scale.high) + 0.2)
            if scale.labels:
                ax.set_yticks([float(v) for _, v in scale.labels],
                              [lbl for lbl, _ in scale.labels])
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
        ax.grid(alpha=0.3)
        if injections:
            ax.legend(loc="upper right", fontsize=8, frameon=False)
        fig.autofmt_xdate()
    except BaseException:
        plt.close(fig)
        raise
    return figure_bytes(fig, fmt)
