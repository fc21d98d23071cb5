"""Analytics pages and downloads: the patient's response charts, the clinic dashboard (with
its filter form), every chart as SVG, PNG or CSV, and the PDF reports. Same use cases and
role rules as everywhere else (bontrack.analytics, reports)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from bontrack import analytics
from bontrack.analytics import charts as ch
from bontrack.clinical.display import scale_text
from bontrack.errors import InvalidRecord, NotFound
from bontrack.reports import documents
from bontrack.server.deps import RecordId, state
from bontrack.server.downloads import attachment
from bontrack.server.routing import add_routes
from bontrack.services import audit, timeline
from bontrack.services.access import Actor, require_role
from bontrack.services.cache import LRU
from bontrack.services.given import is_given
from bontrack.web.charts import outcome_chart
from bontrack.web.rendering import render, series, signed_in, unit_of_work
from bontrack.web.security import SVG_CSP

#: Clinic figures are reused for this many seconds by the chart and CSV requests that follow
#: a dashboard page (the page itself always recomputes them).
CLINIC_TTL = 30.0


class _TTL:
    def __init__(self, size: int = 64) -> None:
        self.items: OrderedDict[Any, tuple[float, dict[str, Any]]] = OrderedDict()
        self.size = size
        self.lock = threading.Lock()

    def get(self, key: Any) -> dict[str, Any] | None:
        with self.lock:
            hit = self.items.get(key)
            if hit is None or time.monotonic() - hit[0] > CLINIC_TTL:
                return None
            return hit[1]

    def put(self, key: Any, value: dict[str, Any]) -> None:
        with self.lock:
            self.items[key] = (time.monotonic(), value)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


CLINIC: _TTL = _TTL()
PATIENT: LRU[tuple[int, int], dict[str, Any]] = LRU(256)


def _split(name: str) -> tuple[str, str]:
    stem, _, fmt = name.rpartition(".")
    if fmt not in ch.FORMATS or not stem:
        raise NotFound(f"no chart {name!r}; charts end in .svg, .png or .csv")
    return stem, fmt


def _download(body: bytes, fmt: str, filename: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    if fmt != "svg":
        headers["Content-Disposition"] = attachment(f"{filename}.{fmt}")
    else:
        headers["Content-Security-Policy"] = SVG_CSP
    return Response(body, media_type=ch.FORMATS[fmt], headers=headers)


def _pdf(body: bytes, filename: str) -> Response:
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": attachment(filename),
                             "Cache-Control": "no-store"})


def patient_figures(uow: Any, actor: Actor, patient_id: int, ref: Any) -> dict[str, Any]:
    """The patient's analytics, computed once per version of their record."""
    key = (patient_id, timeline.record_version(uow, actor, patient_id))
    hit = PATIENT.get(key)
    if hit is None:
        hit = analytics.patient_analytics(uow, actor, patient_id, ref, audit_read=False)
        PATIENT.put(key, hit)
    return hit


router = APIRouter()

def ref(request: Request) -> Any:
    return state(request).ref

def clinic_figures(request: Request, uow: Any, actor: Actor, fresh: bool = False
                   ) -> dict[str, Any]:
    # the role check comes before the cache: a cached figure is never a way around it
    require_role(actor, analytics.CLINIC_ROLES, "see clinic analytics")
    raw = {k: v for k, v in request.query_params.items() if k != "format"}
    f = analytics.read_filters(uow, actor, ref(request), raw)
    key = (actor.clinic_id, tuple(sorted(f.as_query().items())))
    hit = None if fresh else CLINIC.get(key)
    if hit is None:
        hit = analytics.clinic_analytics(uow, actor, ref(request), f, audit_read=False)
        CLINIC.put(key, hit)
    audit.record(uow, actor, "read", "clinic_analytics", detail=f.describe())
    return hit

# -- patient -------------------------------------------------------------------------
@router.get("/patients/{patient_id}/analytics/{name}", include_in_schema=False)
def patient_chart(request: Request, patient_id: RecordId, name: str, series_no: int = 0
                  ) -> Response:
    stem, fmt = _split(name)
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        figs = patient_figures(uow, actor, patient_id, ref(request))
        audit.record(uow, actor, "read", "analytics", patient_id=patient_id,
                     detail=name)
    if stem == "response":
        if not 0 <= series_no < len(figs["series"]):
            raise NotFound(f"patient {patient_id} has no outcome series {series_no}")
        one = figs["series"][series_no]
        body = (ch.to_csv(*ch.response_rows(one, ref(request).scales)) if fmt == "csv"
                else ch.response_chart(one, fmt))
    elif stem == "dose":
        body = (ch.to_csv(*ch.dose_rows(figs["doses"])) if fmt == "csv"
                else ch.dose_chart(figs["doses"], fmt))
    else:
        raise NotFound(f"no chart {name!r}; patient charts: response, dose")
    return _download(body, fmt, f"patient-{patient_id}-{stem}")

@router.get("/patients/{patient_id}/chart.csv", include_in_schema=False)
def outcome_csv(request: Request, patient_id: RecordId, scale: str, where: str = ""
                ) -> Response:
    """The numbers behind an outcome chart."""
    points, injections = _outcome_series(request, patient_id, scale, where, "csv")
    rows: list[list[Any]] = [[p[0].isoformat(), "outcome", scale, where,
                              scale_text(ref(request).scales, scale, p[1])]
                             for p in points]
    rows += [[d, "injection", "", "", ""] for d in injections]
    rows.sort(key=lambda r: (r[0], r[1]))
    return _download(ch.to_csv(["when", "kind", "scale", "site", "value"], rows), "csv",
                     f"patient-{patient_id}-{scale}")

@router.get("/patients/{patient_id}/chart.png", include_in_schema=False)
def outcome_png(request: Request, patient_id: RecordId, scale: str, where: str = ""
                ) -> Response:
    """An outcome chart as PNG, for export."""
    points, injections = _outcome_series(request, patient_id, scale, where, "png")
    title = scale.replace("_", " ").capitalize() + (f" — {where}" if where else "")
    body = outcome_chart(ref(request).scales, scale, points,
                         [date.fromisoformat(d) for d in injections], title, "png")
    return _download(body, "png", f"patient-{patient_id}-{scale}")

@router.get("/patients/{patient_id}/report.pdf", include_in_schema=False)
def patient_report(request: Request, patient_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        body = documents.patient_report(uow, actor, patient_id, ref(request),
                                        today=datetime.now().date())
    return _pdf(body, f"visit-report-{patient_id}.pdf")

@router.get("/cycles/{cycle_id}/summary.pdf", include_in_schema=False)
def cycle_summary(request: Request, cycle_id: RecordId) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        body = documents.cycle_summary(uow, actor, cycle_id, ref(request))
    return _pdf(body, f"cycle-summary-{cycle_id}.pdf")

# -- clinic --------------------------------------------------------------------------
@router.get("/clinic/dashboard", include_in_schema=False)
def dashboard(request: Request) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        clinicians = analytics.clinicians(uow, actor)
        form = {k: request.query_params.get(k, "") for k in analytics.FILTER_FIELDS}
        try:
            figs = clinic_figures(request, uow, actor, fresh=True)
        except InvalidRecord as err:
            return render(request, "dashboard.html", 422, actor=actor, error=err.message,
                          form=form, clinicians=clinicians, figs=None, query="",
                          indications=sorted(ref(request).indications.values(),
                                             key=lambda i: i.name),
                          products=sorted(ref(request).products))
    return render(request, "dashboard.html", actor=actor, figs=figs, form=form,
                  clinicians=clinicians, error=None,
                  query=urlencode(figs["query"]),
                  indications=sorted(ref(request).indications.values(),
                                     key=lambda i: i.name),
                  products=sorted(ref(request).products))

@router.get("/clinic/dashboard/{name}", include_in_schema=False)
def dashboard_chart(request: Request, name: str) -> Response:
    stem, fmt = _split(name)
    if stem not in ch.CLINIC_CHARTS:
        raise NotFound(f"no chart {name!r}; clinic charts: "
                       + ", ".join(ch.CLINIC_CHARTS))
    key, chart, rows = ch.CLINIC_CHARTS[stem]
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        figs = clinic_figures(request, uow, actor)
    body = ch.to_csv(*rows(figs[key])) if fmt == "csv" else chart(figs[key], fmt)
    return _download(body, fmt, f"clinic-{stem}")

@router.get("/clinic/report.pdf", include_in_schema=False)
def clinic_report(request: Request) -> Response:
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        raw = {k: v for k, v in request.query_params.items()}
        f = analytics.read_filters(uow, actor, ref(request), raw)
        body = documents.clinic_report(uow, actor, ref(request), f)
    return _pdf(body, "clinic-report.pdf")


def install_analytics_pages(app: FastAPI) -> None:
    add_routes(app, router)


def _outcome_series(request: Request, patient_id: int, scale: str, where: str, fmt: str
                    ) -> tuple[list[tuple[datetime, float]], list[str]]:
    """One outcome series of the patient (read and audited as a chart download) and the
    dates of the cycles that count (not entered in error). ``scale`` must be one of the
    reference scales (it names the file offered for download): else 422 naming it."""
    if scale not in ref(request).scales:
        raise InvalidRecord(f"scale: unknown outcome scale {scale[:40]!r}; one of "
                            + ", ".join(sorted(ref(request).scales)), field="scale")
    with unit_of_work(request) as uow:
        actor = signed_in(request, uow)
        t = timeline.timeline(uow, actor, patient_id, audit_read=False)
        audit.record(uow, actor, "read", "chart", patient_id=patient_id, detail=fmt)
    injections = [e["date"] for e in t["events"] if e["kind"] == "cycle" and is_given(e)]
    return sorted(series(t).get((scale, where), [])), injections
