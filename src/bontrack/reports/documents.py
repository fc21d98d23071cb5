"""PDF documents built with WeasyPrint from HTML templates (``reports/templates``).

- the **patient visit report**, in plain language: what was injected at the last visit, how
  the previous treatments went, side effects, when the next visit can be, when to get help
  (the red-flag text and the expected side effects come from the leaflet, i.e. from the
  reference data with their sources);
- the **clinician cycle summary**: one cycle's injections, the same dose map as the record
  (``body_map``), vials, findings, overrides, the response measured after it and the side
  effects reported;
- the **clinic report** for a date range (and the other filters): the clinic figures of
  ``bontrack.analytics`` with their charts.

Each reads through the same use cases and role rules as the pages (in the caller's unit
of work: a document never opens a session nor reads a model), and is audited.
"""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from bontrack import __version__, analytics
from bontrack.clinical.display import change_text, scale_text, units_text
from bontrack.clinical.response import responder_rules
from bontrack.clinical.scales import Scales
from bontrack.reference import Reference
from bontrack.reports.body_map import dose_map, dose_map_svg
from bontrack.reports.leaflets import leaflet
from bontrack.reports.local_time import css_string, local_time
from bontrack.services import accounts, audit
from bontrack.services.access import STAFF, Actor, require_role
from bontrack.services.cycles import get_cycle
from bontrack.services.given import is_given, next_due
from bontrack.services.timeline import timeline
from bontrack.services.usecase import Work

HERE = Path(__file__).parent
ENV = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                  autoescape=select_autoescape(["html"]))
ENV.filters["units"] = units_text
ENV.filters["local_time"] = local_time
ENV.filters["css_string"] = css_string
ENV.globals["dose_map_svg"] = dose_map_svg  # the record's drawing (bontrack.reports.body_map)
# the scale filters read the reference's scales from the template context (``scales``)
ENV.filters["scale_value"] = pass_context(
    lambda ctx, value, scale: scale_text(ctx["scales"], scale, value))
ENV.filters["change"] = pass_context(
    lambda ctx, r: change_text(ctx["scales"], r.get("scale"), r.get("change"),
                               r.get("improvement")))

def _pdf(template: str, **ctx: Any) -> bytes:
    from weasyprint import HTML  # type: ignore[import-untyped]  # loaded on first use

    html = ENV.get_template(template).render(version=__version__, **ctx)
    return bytes(HTML(string=html, base_url=str(HERE)).write_pdf())


def _svg_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def _names(ref: Reference) -> dict[str, str]:
    return {m.id: m.name for m in ref.muscles.values()}


def _how_it_went(series: list[dict[str, Any]], scales: Scales) -> list[str]:
    """One plain sentence per outcome series about the last cycle that has a response (the
    scale named in the patient's words: ``plain_sentence`` in scales.yaml)."""
    lines = []
    for s in series:
        known = [c for c in s["cycles"] if c["baseline"] is not None and c["best"] is not None]
        known_scale = scales.get(s["scale"])
        what = (known_scale.plain_sentence if known_scale is not None
                else s["scale"].replace("_", " "))
        where = f" ({s['site'].replace('_', ' ')})" if s["site"] else ""
        if not known:
            lines.append(f"Your {what}{where}: not enough measurements yet to say how the "
                         "treatment worked.")
            continue
        c = known[-1]
        text = (f"After the injections on {c['date']}, your {what}{where} went from "
                f"{scale_text(scales, s['scale'], c['baseline'])} to "
                f"{scale_text(scales, s['scale'], c['best'])} at best")
        if c["peak_days"] is not None:
            text += f" (about {c['peak_days']} days after the injections)"
        if c["duration_kind"] in ("measured", "diary"):
            text += f"; the benefit lasted about {c['duration_days']} days"
        elif c["duration_kind"] == "at_least":
            text += f"; the benefit was still there {c['duration_days']} days later"
        elif c["duration_kind"] == "no_benefit":
            text += "; no improvement was measured"
        lines.append(text + ".")
    return lines


def patient_report(uow: Work, actor: Actor, patient_id: int, ref: Reference,
                   today: date) -> bytes:
    """The patient visit report (plain language)."""
    t = timeline(uow, actor, patient_id, audit_read=False)
    figs = analytics.patient_analytics(uow, actor, patient_id, ref, audit_read=False)
    patient = t["patient"]
    cycles = [e for e in t["events"] if e["kind"] == "cycle" and is_given(e)]
    last = cycles[-1] if cycles else None
    effects = [e for e in t["events"] if e["kind"] == "side_effect" and e["status"] == "active"
               and (last is None or e["date"] >= last["date"])]
    born = date.fromisoformat(patient["birth_date"])
    info = (leaflet(ref, last["product"], last["indication"],
                    pediatric=(today - born).days // 365 < 18)
            if last and last["product"] in ref.products and last["indication"] in
            ref.indications else None)
    audit.record(uow, actor, "read", "report", patient_id=patient_id,
                 detail="patient visit report")
    return _pdf("patient.html", patient=patient, last=last, today=today,
                brand=(ref.products[last["product"]].brands[0]
                       if last and last["product"] in ref.products else None),
                names=_names(ref), went=_how_it_went(figs["series"], ref.scales), effects=effects,
                next_earliest=t["next_earliest_date"], window=figs["next_window"],
                due=next_due(date.fromisoformat(last["date"]) if last else None,
                             date.fromisoformat(t["next_earliest_date"])
                             if t["next_earliest_date"] else None,
                             (date.fromisoformat(figs["next_window"]["start"]),
                              date.fromisoformat(figs["next_window"]["end"]))
                             if figs["next_window"] else None, today),
                leaflet=info, seek_help=[f.plain_language for f in ref.red_flags])


def cycle_summary(uow: Work, actor: Actor, cycle_id: int, ref: Reference) -> bytes:
    """The clinician's summary of one cycle: staff only (it carries the findings, overrides
    and the working record, drafts included); a patient has the visit report."""
    cycle = get_cycle(uow, actor, cycle_id, audit_read=False)
    require_role(actor, STAFF, "download the clinician's cycle summary")
    t = timeline(uow, actor, cycle.patient_id, audit_read=False)
    (c,) = [e for e in t["events"] if e["kind"] == "cycle" and e["id"] == cycle_id]
    figs = analytics.patient_analytics(uow, actor, cycle.patient_id, ref, audit_read=False)
    responses = [{"scale": s["scale"], "site": s["site"], "rule": s["rule"], **r}
                 for s in figs["series"] for r in s["cycles"] if r["cycle_id"] == cycle_id]
    effects = [e for e in t["events"] if e["kind"] == "side_effect"
               and e["cycle_id"] == cycle_id]
    clinician = accounts.display_name(uow, cycle.clinician_id)
    people = {uid: accounts.display_name(uow, uid) for uid in
              {cycle.signed_by, *(o.clinician_id for o in cycle.overrides)} if uid}
    audit.record(uow, actor, "read", "report", cycle_id, cycle.patient_id,
                 detail="cycle summary")
    doses = dose_map(c["injections"], {m.id: m.paired for m in ref.muscles.values()},
                     _names(ref))
    return _pdf("cycle.html", scales=ref.scales, patient=t["patient"], c=c,
                clinician=clinician, people=people, dose_map=doses,
                names=_names(ref), responses=responses, effects=effects,
                brand=ref.products[c["product"]].brands[0] if c["product"] in ref.products
                else c["product"])


def clinic_report(uow: Work, actor: Actor, ref: Reference,
                  filters: analytics.Filters) -> bytes:
    """The clinic report for the filters (a date range, and optionally the others)."""
    from bontrack.analytics import charts as ch  # matplotlib: the clinic report only

    figs = analytics.clinic_analytics(uow, actor, ref, filters, audit_read=False)
    charts = [(title, _svg_uri(chart(figs[key], "svg"))) for title, key, chart in (
        ("Responders", "responders", ch.responder_chart),
        ("Side effects per 100 cycles next to the label", "side_effects",
         ch.side_effect_chart),
        ("Units discarded per month", "waste", ch.waste_chart))]
    audit.record(uow, actor, "read", "report", detail=f"clinic report: {filters.describe()}")
    return _pdf("clinic.html", f=figs, charts=charts, rules=responder_rules(ref.scales).values(),
                clinic_id=actor.clinic_id)

