"""Analytics charts (matplotlib): response by cycle, dose per muscle over time, clinic
side-effect rates next to the label's, units discarded per month. Each renders as SVG (for
the pages) or PNG (for export); each has a CSV twin with the same numbers (``*_rows``)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bontrack.clinical.display import change_text, scale_text
from bontrack.clinical.scales import Scales
from bontrack.spreadsheet import safe

FORMATS = {"svg": "image/svg+xml", "png": "image/png", "csv": "text/csv; charset=utf-8"}
BLUE, RED, GREY = "#1f5f8b", "#b5443b", "#6b6b6b"


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure as SVG (the <svg> element only, to inline or serve) or PNG; closes it."""
    try:
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=110 if fmt == "png" else None)
    finally:
        plt.close(fig)
    data = buf.getvalue()
    if fmt == "svg":
        text = data.decode()
        return text[text.index("<svg"):].encode()
    return data


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"No {what} for these filters", ha="center", va="center",
            transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        # numbers as numbers, text neutralised against spreadsheet formulas (a patient's
        # side-effect term is text)
        w.writerow([safe(v) for v in r])
    return buf.getvalue().encode()


# -- per patient ---------------------------------------------------------------------------


def response_rows(series: dict[str, Any], scales: Scales
                  ) -> tuple[list[str], list[list[Any]]]:
    """The numbers of a response chart; grades as the scale writes them (Modified Ashworth
    "1+", never 1.5) and a graded scale's change in steps."""
    header = ["cycle_date", "product", "total_units", "scale", "site", "baseline", "best",
              "change", "improvement", "responder", "onset_days", "peak_days",
              "duration_days", "duration_kind", "unknown_reason"]
    scale = series["scale"]
    rows = [[c["date"], c["product"], c["total_units"], scale, series["site"],
             scale_text(scales, scale, c["baseline"]), scale_text(scales, scale, c["best"]),
             change_text(scales, scale, c["change"], c["improvement"]), c["improvement"],
             {True: "yes", False: "no", None: "unknown"}[c["responder"]], c["onset_days"],
             c["peak_days"], c["duration_days"], c["duration_kind"], c["unknown_reason"]]
            for c in series["cycles"]]
    return header, rows


def response_chart(series: dict[str, Any], fmt: str = "svg") -> bytes:
    """Improvement per cycle (bars: responder dark, not a responder light, unknown empty)."""
    fig, ax = plt.subplots(figsize=(6.4, 2.6), dpi=96)
    cycles = series["cycles"]
    title = f"Response by cycle: {series['scale'].replace('_', ' ')}" + (
        f" ({series['site'].replace('_', ' ')})" if series["site"] else "")
    ax.set_title(title, fontsize=10, loc="left")
    if not cycles:
        _empty(ax, "cycles")
        return figure_bytes(fig, fmt)
    labels = [c["date"] for c in cycles]
    values = [c["improvement"] or 0 for c in cycles]
    colors = [BLUE if c["responder"] else ("#9cc3dd" if c["responder"] is False else "white")
              for c in cycles]
    ax.bar(range(len(cycles)), values, color=colors, edgecolor=BLUE)
    for i, c in enumerate(cycles):
        if c["improvement"] is None:
            ax.text(i, 0, "unknown", ha="center", va="bottom", fontsize=7, color=GREY)
    ax.set_xticks(range(len(cycles)), labels, rotation=30, fontsize=7)
    ax.axhline(0, color=GREY, linewidth=0.8)
    ax.set_ylabel("improvement", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return figure_bytes(fig, fmt)


def dose_rows(doses: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    return (["product", "muscle", "side", "date", "units"],
            [[d["product"], d["muscle"], d["side"], p["date"], p["units"]]
             for d in doses for p in d["points"]])


def dose_chart(doses: list[dict[str, Any]], fmt: str = "svg") -> bytes:
    """Units per muscle and side over time, one line each; the product is in the legend
    (units of different products are different quantities and never added up)."""
    fig, ax = plt.subplots(figsize=(6.4, 2.8), dpi=96)
    ax.set_title("Dose per muscle over time (units of each product)", fontsize=10, loc="left")
    if not doses:
        _empty(ax, "injections")
        return figure_bytes(fig, fmt)
    for d in doses[:10]:
        xs = [date.fromisoformat(p["date"]) for p in d["points"]]
        ax.plot(xs, [p["units"] for p in d["points"]], marker="o", linewidth=1.4,  # type: ignore[arg-type]
                label=f"{d['muscle'].replace('_', ' ')} {d['side']} ({d['brand']})")
    ax.legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    ax.set_ylabel("units", fontsize=8)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return figure_bytes(fig, fmt)


# -- per clinic ----------------------------------------------------------------------------


def side_effect_rows(effects: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    return (["indication", "product", "term", "cycles_with", "cycles", "per_100_cycles",
             "label_percent", "label_source"],
            [[e["indication"], e["product"], e["term"], e["cycles_with"], e["cycles"],
              e["per_100_cycles"], e["label_percent"], e["label_source"]] for e in effects])


def side_effect_chart(effects: list[dict[str, Any]], fmt: str = "svg") -> bytes:
    """Clinic side effects per 100 cycles (bars) with the label's rate (marker) where the
    reference data has a cited one."""
    top = sorted(effects, key=lambda e: -(e["per_100_cycles"] or 0))[:12]
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.32 * max(len(top), 2)), dpi=96)
    ax.set_title("Side effects per 100 cycles: clinic (bars), label (diamonds)", fontsize=10,
                 loc="left")
    if not top:
        _empty(ax, "side effects")
        return figure_bytes(fig, fmt)
    names = [f"{e['term']} · {e['indication'].replace('_', ' ')} · {e['product']}"[:70]
             for e in top]
    ys = list(range(len(top)))
    ax.barh(ys, [e["per_100_cycles"] or 0 for e in top], color=BLUE, label="clinic")
    label = [(y, e["label_percent"]) for y, e in zip(ys, top, strict=True)
             if e["label_percent"] is not None]
    if label:
        ax.scatter([v for _, v in label], [y for y, _ in label], marker="D", color=RED,
                   zorder=3, label="label (cited)")
    ax.set_yticks(ys, names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("per 100 cycles (label: % of patients in trials)", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return figure_bytes(fig, fmt)


def waste_rows(waste: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    return (["product", "month", "units_discarded", "units_opened", "vials"],
            [[w["product"], w["month"], w["units_discarded"], w["units_opened"], w["vials"]]
             for w in waste])


def waste_chart(waste: list[dict[str, Any]], fmt: str = "svg") -> bytes:
    """Units discarded per month, one panel per product (units never added across
    products)."""
    by_product: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for w in waste:
        by_product[w["product"]].append((w["month"], w["units_discarded"] or 0))
    n = max(len(by_product), 1)
    fig, axes = plt.subplots(n, 1, figsize=(6.4, 1.2 + 1.5 * n), dpi=96, squeeze=False)
    if not by_product:
        axes[0][0].set_title("Units discarded per month", fontsize=10, loc="left")
        _empty(axes[0][0], "vials")
        return figure_bytes(fig, fmt)
    for ax, (product, rows) in zip(axes[:, 0], sorted(by_product.items()), strict=True):
        months = [m for m, _ in rows]
        ax.bar(range(len(rows)), [v for _, v in rows], color=BLUE)
        ax.set_title(f"Units discarded per month: {product}", fontsize=9, loc="left")
        step = max(1, len(months) // 12)
        ax.set_xticks(range(0, len(months), step), months[::step], fontsize=7, rotation=30)
        ax.set_ylabel("units", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    return figure_bytes(fig, fmt)


def responder_rows(responders: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    return (["indication", "product", "scale", "cycles", "known", "responders", "unknown",
             "rate_percent", "rule"],
            [[r["indication"], r["product"], r["scale"], r["cycles"], r["known"],
              r["responders"], r["unknown"], r["rate_percent"], r["rule"]]
             for r in responders])


def responder_chart(responders: list[dict[str, Any]], fmt: str = "svg") -> bytes:
    rows = [r for r in responders if r["rate_percent"] is not None][:12]
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.32 * max(len(rows), 2)), dpi=96)
    ax.set_title("Responders (% of cycles with a known response)", fontsize=10, loc="left")
    if not rows:
        _empty(ax, "measured responses")
        return figure_bytes(fig, fmt)
    ys = list(range(len(rows)))
    ax.barh(ys, [r["rate_percent"] for r in rows], color=BLUE)
    ax.set_yticks(ys, [f"{r['indication'].replace('_', ' ')} · {r['product']} · "
                       f"{r['scale'].replace('_', ' ')}"[:70] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.grid(axis="x", alpha=0.3)
    return figure_bytes(fig, fmt)


CLINIC_CHARTS = {
    "responders": ("responders", responder_chart, responder_rows),
    "side-effects": ("side_effects", side_effect_chart, side_effect_rows),
    "waste": ("waste", waste_chart, waste_rows),
}
