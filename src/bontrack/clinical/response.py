"""Response to a treatment cycle, and a patient's course across cycles.

For one cycle and one outcome series (a scale, on one muscle and side where it has one):

- **baseline**: the last value measured after the previous cycle and on or before the
  injection day (a value from before the previous cycle is not this cycle's baseline);
- **best change**: the best value measured after the injection day and before the next
  cycle, compared with the baseline; **onset** is the first such day with any improvement
  (the effect started *by* then), **peak** the day of the best value;
- **responder**: the best change meets the scale's responder rule (the ``responder`` entry
  of reference/data/scales.yaml, each with its source; ``responder_rule``), else not; no
  rule for the scale means "unknown";
- **duration of benefit**: days from the injection to the first measurement after the peak
  that is back at (or worse than) the baseline, or to the day the patient's diary says the
  effect wore off, whichever comes first. When the benefit is still there at the last
  measurement before the next cycle, the duration is "at least" that many days.
- **reported onset**: the day the patient's cycle diary says the injection started working
  (``clinical.cycle_diary``). A measured onset wins: the reported day is the cycle's onset
  only where no measurement after the injection shows an improvement (none measured, or no
  benefit measured), and ``onset_source`` says which it is.

Missing or sparse data gives ``None`` ("unknown") with the reason, never a guess: no
baseline, no measurement after the injection, or no rule for the scale.

Across cycles: the patient's typical duration of benefit (the median of measured durations,
at least ``MIN_DURATIONS`` of them), a suggested window for the next cycle (never before the
earliest safe date from the label), and a waning-response warning (``waning``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median_low
from typing import Literal

from bontrack.clinical.scales import Scales
from bontrack.reference.schema import OutcomeScale

RuleKind = Literal["steps", "points", "percent"]
DurationKind = Literal["measured", "diary", "at_least", "no_benefit", "unknown"]
OnsetSource = Literal["measured", "diary", ""]


@dataclass(frozen=True, slots=True)
class ResponderRule:
    """A responder is a patient whose best improvement reaches ``threshold``, counted in
    ``kind``: ordinal ``steps`` of the scale, scale ``points``, or ``percent`` of the
    baseline. ``convention`` is true where the rule is this clinic's convention (no cited
    paper): the docs and the pages say so. Built from the scale's ``responder`` entry in
    reference/data/scales.yaml (``responder_rule``)."""

    scale: str
    kind: RuleKind
    threshold: Decimal
    source: str
    convention: bool = False
    name: str = ""
    direction: Literal["down", "up"] = "down"

    def describe(self) -> str:
        unit = {"steps": "step(s)", "points": "point(s)", "percent": "%"}[self.kind]
        return f"{self.name} {self.direction} by at least {self.threshold} {unit}"


def responder_rule(scale: OutcomeScale) -> ResponderRule | None:
    """The scale's responder rule, or None where the reference data gives it none."""
    r = scale.responder
    if r is None:
        return None
    return ResponderRule(scale.id, r.kind, r.threshold, r.citation, r.convention,
                         scale.name, r.direction)


def responder_rules(scales: Scales) -> dict[str, ResponderRule]:
    """The responder rules, one per scale that has one (a scale without a rule gets responder
    "unknown")."""
    return {k: rule for k, s in scales.items() if (rule := responder_rule(s)) is not None}


#: A typical duration needs at least this many measured durations (clinic convention).
MIN_DURATIONS = 2
#: Waning: this many most recent measured cycles all responded less (clinic convention).
WANING_CYCLES = 2


@dataclass(frozen=True, slots=True)
class Measurement:
    day: date
    value: Decimal


@dataclass(frozen=True, slots=True)
class CycleResponse:
    cycle_day: date
    scale: str
    baseline: Decimal | None
    baseline_day: date | None
    best: Decimal | None
    change: Decimal | None  # best - baseline, in the scale's own units (signed)
    improvement: Decimal | None  # in the rule's units (steps, points or percent); + = better
    onset_day: date | None
    peak_day: date | None
    responder: bool | None
    duration_days: int | None
    duration_kind: DurationKind
    unknown_reason: str = ""
    #: where ``onset_day`` comes from: a measurement, the patient's cycle diary, or nowhere
    onset_source: OnsetSource = ""

    @property
    def onset_days(self) -> int | None:
        return (self.onset_day - self.cycle_day).days if self.onset_day else None

    @property
    def peak_days(self) -> int | None:
        return (self.peak_day - self.cycle_day).days if self.peak_day else None


def _steps(scale: OutcomeScale, value: Decimal) -> Decimal:
    """The ordinal position of a labelled value (MAS: 0, 1, 1+, 2, 3, 4 -> 0..5)."""
    labels = scale.labels
    for i, (_, v) in enumerate(labels):
        if v == value:
            return Decimal(i)
    # an unlabelled value between labels: count it by position among them
    return Decimal(sum(1 for _, v in labels if v < value))


def improvement(scales: Scales, scale_id: str, baseline: Decimal, value: Decimal,
                kind: RuleKind = "points") -> Decimal | None:
    """How much better ``value`` is than ``baseline`` (positive = better), in ``kind``.
    A percent of a zero baseline is unknown (None)."""
    scale = scales.get(scale_id)
    better_down = scale.lower_is_better if scale is not None else True
    if kind == "steps" and scale is not None and scale.labels:
        diff = _steps(scale, baseline) - _steps(scale, value)
    else:
        diff = baseline - value
    if not better_down:
        diff = -diff
    if kind == "percent":
        if baseline == 0:
            return None
        return (diff * 100 / abs(baseline)).quantize(Decimal("0.1"))
    return diff


def _unknown(day: date, scale: str, reason: str, baseline: Measurement | None = None,
             reported: date | None = None) -> CycleResponse:
    return CycleResponse(day, scale, baseline.value if baseline else None,
                         baseline.day if baseline else None, None, None, None, reported,
                         None, None, None, "unknown", reason,
                         "diary" if reported is not None else "")


def _within(days: Sequence[date], day: date, next_day: date | None, *, same_day: bool
            ) -> date | None:
    """The earliest of ``days`` after the cycle ``day`` (or on it, with ``same_day``) and
    before the next cycle."""
    return min((d for d in days if (d >= day if same_day else d > day)
                and (next_day is None or d < next_day)), default=None)


def cycle_response(scales: Scales, scale: str, day: date, series: Sequence[Measurement], *,
                   previous_day: date | None = None, next_day: date | None = None,
                   wore_off: Sequence[date] = (), onsets: Sequence[date] = ()
                   ) -> CycleResponse:
    """The response of one cycle given on ``day`` in one outcome ``series``.

    ``previous_day`` and ``next_day`` are the neighbouring cycles' days (they bound the
    baseline and the follow-up); ``wore_off`` the days the patient's diary said the effect
    wore off; ``onsets`` the days the patient's cycle diary said it started working (used
    only where no measurement shows an improvement)."""
    reported = _within(onsets, day, next_day, same_day=True)
    ordered = sorted(series, key=lambda m: m.day)
    before = [m for m in ordered if m.day <= day and (previous_day is None
                                                     or m.day > previous_day)]
    after = [m for m in ordered if m.day > day and (next_day is None or m.day < next_day)]
    if not before:
        return _unknown(day, scale, "no baseline measured since the previous cycle",
                        reported=reported)
    base = before[-1]
    if not after:
        return _unknown(day, scale, "nothing measured after the injection", base, reported)
    defined = scales.get(scale)
    rule = responder_rule(defined) if defined is not None else None
    kind: RuleKind = rule.kind if rule else "points"
    points = [(m, improvement(scales, scale, base.value, m.value, "points")) for m in after]
    # best: the largest improvement; on a tie the earliest day
    best_m, best_gain = max(points, key=lambda p: (p[1] or Decimal(0),
                                                   -p[0].day.toordinal()))
    assert best_gain is not None
    onset = next((m.day for m, g in points if g is not None and g > 0), None)
    onset_source: OnsetSource = "measured" if onset is not None else ""
    if onset is None and reported is not None:
        onset, onset_source = reported, "diary"
    rule_gain = improvement(scales, scale, base.value, best_m.value, kind)
    if rule is None:
        responder: bool | None = None
        reason = f"no responder rule for {scale}"
    elif rule_gain is None:
        responder, reason = None, "baseline is 0, so a percent change is undefined"
    else:
        responder, reason = rule_gain >= rule.threshold, ""
    worn = min((d for d in wore_off if d > day and (next_day is None or d < next_day)),
               default=None)
    duration: int | None
    dkind: DurationKind
    if best_gain <= 0:
        duration, dkind = None, "no_benefit"
        if worn is not None:
            duration, dkind = (worn - day).days, "diary"
    else:
        back = next((m.day for m, g in points if m.day > best_m.day and g is not None
                     and g <= 0), None)
        ends = [(d, k) for d, k in ((back, "measured"), (worn, "diary")) if d is not None]
        if ends:
            end, k = min(ends, key=lambda e: e[0])
            duration, dkind = (end - day).days, k  # type: ignore[assignment]
        else:
            last_good = max(m.day for m, g in points if g is not None and g > 0)
            duration, dkind = (last_good - day).days, "at_least"
    return CycleResponse(day, scale, base.value, base.day, best_m.value,
                         best_m.value - base.value, rule_gain, onset, best_m.day, responder,
                         duration, dkind, reason, onset_source)


@dataclass(frozen=True, slots=True)
class CycleFacts:
    """What the analysis needs of one cycle: its day, product and total units."""

    day: date
    product: str
    total_units: Decimal


def series_responses(scales: Scales, scale: str, cycles: Sequence[CycleFacts],
                     series: Sequence[Measurement],
                     wore_off: Sequence[date] = (), onsets: Sequence[date] = ()
                     ) -> list[CycleResponse]:
    """The response of every cycle (in date order) in one outcome series."""
    ordered = sorted(cycles, key=lambda c: c.day)
    out = []
    for i, c in enumerate(ordered):
        prev = ordered[i - 1].day if i > 0 else None
        nxt = ordered[i + 1].day if i + 1 < len(ordered) else None
        out.append(cycle_response(scales, scale, c.day, series, previous_day=prev,
                                  next_day=nxt, wore_off=wore_off, onsets=onsets))
    return out


# -- across cycles ------------------------------------------------------------------------


def typical_duration(responses: Sequence[CycleResponse],
                     minimum: int = MIN_DURATIONS) -> int | None:
    """The median (lower middle) of the measured durations of benefit ("measured" or
    "diary"; "at least" ones are left out), or None with fewer than ``minimum``."""
    days = sorted(r.duration_days for r in responses
                  if r.duration_kind in ("measured", "diary") and r.duration_days is not None)
    if len(days) < minimum:
        return None
    return int(median_low(days))


@dataclass(frozen=True, slots=True)
class NextWindow:
    start: date
    end: date
    clamped_to_safe_interval: bool
    basis: str


def next_window(last_day: date, responses: Sequence[CycleResponse],
                next_earliest: date | None, minimum: int = MIN_DURATIONS
                ) -> NextWindow | None:
    """A suggested window for the next cycle: from the last cycle plus the patient's shortest
    measured duration of benefit to the last cycle plus their longest, never starting before
    ``next_earliest`` (the label's earliest safe date). None with too few durations."""
    days = sorted(r.duration_days for r in responses
                  if r.duration_kind in ("measured", "diary") and r.duration_days is not None)
    if len(days) < minimum:
        return None
    start = last_day + timedelta(days=days[0])
    end = last_day + timedelta(days=days[-1])
    clamped = next_earliest is not None and start < next_earliest
    if clamped:
        assert next_earliest is not None
        start = next_earliest
    end = max(end, start)
    return NextWindow(start, end, clamped,
                      f"the patient's own measured durations of benefit ({len(days)} cycles: "
                      f"{days[0]} to {days[-1]} days)"
                      + ("; moved to the earliest safe date from the label" if clamped else ""))


@dataclass(frozen=True, slots=True)
class Waning:
    warn: bool
    rule: str
    detail: str


WANING_RULE = (
    "Possible secondary non-response: each of the last {n} cycles with a measured response "
    "improved less than the best earlier cycle of the same product, at the same or a higher "
    "total dose of that product. Loss of response after an initial response is how "
    "secondary non-response is described (e.g. Bellows S, Jankovic J, Toxins 2019;11:491); "
    "the number of cycles is this clinic's convention.")


def waning(cycles: Sequence[CycleFacts], responses: Sequence[CycleResponse],
           n: int = WANING_CYCLES) -> Waning:
    """The waning-response warning for one series; ``cycles`` and ``responses`` pair up
    (same order, as ``series_responses`` returns them)."""
    rule = WANING_RULE.format(n=n)
    pairs = [(c, r) for c, r in zip(sorted(cycles, key=lambda c: c.day), responses,
                                    strict=True)
             if r.improvement is not None]
    if len(pairs) < n + 1:
        return Waning(False, rule, f"too few measured cycles ({len(pairs)}; needs {n + 1})")
    last = pairs[-n:]
    product = last[-1][0].product
    if any(c.product != product for c, _ in last):
        return Waning(False, rule, "the last cycles were of different products")
    earlier = [(c, r) for c, r in pairs[:-n] if c.product == product]
    if not earlier:
        return Waning(False, rule, "no earlier cycle of the same product")
    best_c, best_r = max(earlier, key=lambda p: (p[1].improvement or Decimal(0),
                                                  p[0].day.toordinal()))
    assert best_r.improvement is not None
    less = all(r.improvement is not None and r.improvement < best_r.improvement
               for _, r in last)
    dose = all(c.total_units >= best_c.total_units for c, _ in last)
    if less and dose:
        return Waning(True, rule,
                      f"best earlier response {best_r.improvement} on {best_c.day} with "
                      f"{best_c.total_units} U; the last {n}: "
                      + ", ".join(f"{r.improvement} on {c.day} with {c.total_units} U"
                                  for c, r in last))
    return Waning(False, rule, "the last cycles responded as well, or at a lower dose")


def dose_by_muscle(rows: Sequence[tuple[date, str, str, str, Decimal]]
                   ) -> dict[tuple[str, str, str], list[tuple[date, Decimal]]]:
    """Units per (product, muscle, side) per cycle day, from (day, product, muscle, side,
    units) rows. Units of different products stay apart (never summed)."""
    out: dict[tuple[str, str, str], dict[date, Decimal]] = {}
    for day, product, muscle, side, units in rows:
        per_day = out.setdefault((product, muscle, side), {})
        per_day[day] = per_day.get(day, Decimal(0)) + units
    return {k: sorted(v.items()) for k, v in sorted(out.items())}
