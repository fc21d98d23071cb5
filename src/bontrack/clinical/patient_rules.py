"""Patient rules: label coverage and age, contraindications, neuromuscular disorders,
swallowing and breathing risk, interacting medications, and other products in the history."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from bontrack.clinical.calendar import before
from bontrack.clinical.context import Context, nothing_kept, u
from bontrack.clinical.findings import Finding
from bontrack.reference.catalogue import normalise

CONDITION_CODES = {
    "contraindication": "CONTRAINDICATED",
    "neuromuscular": "NEUROMUSCULAR_DISORDER",
    "dysphagia": "DYSPHAGIA_RISK",
    "respiratory": "DYSPHAGIA_RISK",
}
PREGNANCY_FLAGS = {"pregnancy", "breastfeeding"}


def labelled_use(ctx: Context) -> list[Finding]:
    """INDICATION_NOT_LABELLED where the product has no label entry for the indication;
    AGE_OUTSIDE_LABEL where it has, but none covers the patient's age."""
    if ctx.label is not None and ctx.label.labelled:
        return []
    entries = ctx.ref.label_entries(ctx.product.id, ctx.plan.indication)
    labelled = [e for e in entries if e.labelled]
    if not labelled:
        not_est = next((e for e in entries if not e.labelled), None)
        return [
            ctx.finding(
                "INDICATION_NOT_LABELLED",
                f"{ctx.product_name()} has no US label for {ctx.indication_name()}: the "
                "checker has no labelled limits for this use; doses are not checked "
                "against a session maximum.",
                not_est.ages.source if not_est else None,
            )
        ]
    if ctx.label is not None and ctx.label.labelled:
        return []
    ranges = "; ".join(
        f"{e.population} {e.ages.min}" + (f"-{e.ages.max}" if e.ages.max is not None else "+")
        for e in labelled
    )
    src = ctx.label.ages.source if ctx.label is not None else labelled[0].ages.source
    return [
        ctx.finding(
            "AGE_OUTSIDE_LABEL",
            f"Age {ctx.age} is outside the labelled ages for {ctx.indication_name()} with "
            f"{ctx.product_name()} ({ranges} years).",
            src,
            value=ctx.age,
            limit=labelled[0].ages.min if ctx.age < labelled[0].ages.min else None,
            unit="years",
        )
    ]


def patient_conditions(ctx: Context) -> list[Finding]:
    """CONTRAINDICATED, NEUROMUSCULAR_DISORDER, DYSPHAGIA_RISK, PREGNANCY_OR_BREASTFEEDING:
    the patient's condition flags against what this product's label says of them."""
    out: list[Finding] = []
    if not ctx.plan.patient.conditions:
        return out
    rules = defaultdict(list)
    for rule in ctx.product.conditions:
        if not rule.indications or ctx.plan.indication in rule.indications:
            rules[rule.condition].append(rule)
    for flag in ctx.plan.patient.conditions:
        name = ctx.ref.conditions[flag].name
        for rule in rules.get(flag, []):
            code = CONDITION_CODES.get(rule.kind)
            if code is None and flag in PREGNANCY_FLAGS:
                code = "PREGNANCY_OR_BREASTFEEDING"
            if code is None:
                continue
            verb = {
                "CONTRAINDICATED": "is a contraindication to",
                "NEUROMUSCULAR_DISORDER": "raises the risk of serious effects (swallowing, "
                "breathing, generalised weakness) with",
                "DYSPHAGIA_RISK": "raises the risk of swallowing and breathing difficulty with",
                "PREGNANCY_OR_BREASTFEEDING": "is addressed by a label warning for",
            }[code]
            out.append(ctx.finding(code, f"{name} {verb} {ctx.product_name()}.", rule.source))
    return out


def drug_interactions(ctx: Context) -> list[Finding]:
    """DRUG_INTERACTION: a medication the label's Drug Interactions section names, matched by
    generic or brand name, or through the drug class the label names (``product.interactions``
    read against ``medicines.yaml``). Dose text is ignored; a misspelling close to one known
    medicine alone is read as it, and the finding says so.

    MEDICATION_NOT_RECOGNISED: a medication bontrack does not know: its interactions with the
    toxin were not checked, and the finding names it (with the closest known names).
    Where the product's label interactions are not in the reference data nothing is matched:
    ``limits_available`` reports the family (and names the medicines) as not checked.

    The findings of one entry are a function of the product and the entry's text alone, and
    the same few medicines recur: each entry's are kept per product (``_MEDICATIONS_KEPT``)."""
    out: list[Finding] = []
    meds = ctx.plan.patient.medications
    if not ctx.product.interactions:
        # Not checked: ``limits_available`` names the "interactions" family and these medicines.
        return out
    kept = ctx.ref.derived("medication_findings", ctx.product, nothing_kept)
    for entry in meds:
        found = kept.get(entry)
        if found is None:
            found = _medication_findings(ctx, entry)
            if len(kept) < _MEDICATIONS_KEPT:
                kept[entry] = found
        out.extend(found)
    return out


#: How many medication entries' findings are kept per product (a few kB each at most).
_MEDICATIONS_KEPT = 4096


def _medication_findings(ctx: Context, entry: str) -> tuple[Finding, ...]:
    """DRUG_INTERACTION and MEDICATION_NOT_RECOGNISED for one entry of the medication list."""
    out: list[Finding] = []
    matches = ctx.ref.medications(entry)
    if not matches:  # nothing but numbers: said, never dropped
        out.append(_not_recognised(ctx, entry, entry, ()))
    for match in matches:
        known = match.known
        if known is None:
            name = entry if len(matches) == 1 else match.text
            out.append(_not_recognised(ctx, name, entry, match.suggestions))
            continue
        said = (f"{entry!r} (read as {known.medicine})" if match.read_as
                else entry if normalise(entry) == normalise(known.medicine)
                else f"{entry} ({known.medicine})")
        for ix in ctx.ref.interactions_of(ctx.product.id, known):
            out.append(
                ctx.finding(
                    "DRUG_INTERACTION",
                    f"{said}: the {ctx.product_name()} label names {ix.drug_class} among "
                    "the drugs that may potentiate the toxin's effect (use with caution).",
                    ix.source,
                )
            )
    return tuple(out)


def _not_recognised(ctx: Context, name: str, entry: str, suggestions: tuple[str, ...]
                    ) -> Finding:
    where = "" if name == entry else f" (in {entry!r})"
    hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
    return ctx.finding(
        "MEDICATION_NOT_RECOGNISED",
        f"The medication {name!r}{where} is not in bontrack's list of medicines: its "
        f"interactions with {ctx.product_name()} were not checked.{hint} Check the label's "
        "Drug Interactions section by hand, or correct the name.",
        None,
    )


def other_products(ctx: Context) -> list[Finding]:
    """UNITS_NOT_INTERCHANGEABLE: the history holds another botulinum toxin product. Its units
    are reported as they are and never added to this product's totals."""
    if all(h.product == ctx.product.id for h in ctx.history):
        return []
    by_product: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    windows = [lim.window for lim in ctx.product.cumulative_limits if lim.window is not None]
    since = min((before(ctx.day, w) for w in windows), default=None)
    for h in ctx.history:
        if h.product != ctx.product.id and (since is None or h.date > since):
            by_product[h.product].append((h.date.isoformat(), h.total_units))
    src = ctx.product.units_statement.source if ctx.product.units_statement else None
    out = []
    for pid, given in sorted(by_product.items()):
        listing = ", ".join(f"{u(units)} on {day}" for day, units in sorted(given))
        amount = sum((units for _, units in given), Decimal(0))
        out.append(
            ctx.finding(
                "UNITS_NOT_INTERCHANGEABLE",
                f"The history holds {ctx.product_name(pid)}: {listing}. Its units are not "
                f"{ctx.product_name()} units and are not added to any total here; weigh the "
                "combined exposure clinically.",
                src,
                value=amount,
                unit=f"U ({pid})",
            )
        )
    return out


def history_after_day(ctx: Context) -> list[Finding]:
    """HISTORY_AFTER_PLAN_DATE: history entries dated after the plan's day are ignored."""
    later = [h for h in ctx.plan.history if h.date > ctx.day]
    if not later:
        return []
    days = ", ".join(sorted(h.date.isoformat() for h in later))
    return [
        ctx.finding(
            "HISTORY_AFTER_PLAN_DATE",
            f"History entries dated after {ctx.day} ({days}) were not counted.",
            None,
            value=len(later),
            unit="entries",
        )
    ]


PATIENT_RULES = (
    labelled_use,
    patient_conditions,
    drug_interactions,
    other_products,
    history_after_day,
)
