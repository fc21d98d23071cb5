"""Imported cycles are judged by bontrack, not by the file (issue 15).

When an import writes a cycle, the plan check the API runs is run again here on what the
file says was injected, with the patient's history from the store as it stands in the
import's transaction (earlier cycles of the same file are written first, in date order, so
they count; later ones do not). The verdict, findings and total stored are bontrack's; the
file's verdict, overrides and signature were already turned into text by the reader
(``Cycle.provenance``). A cycle with stop findings is kept as it was given (records are
history) with its stops as findings and no override: an override is a local clinician's
decision and no file can make it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from bontrack.clinical.check import check_plan
from bontrack.clinical.plan import read_plan
from bontrack.clinical.result import number
from bontrack.errors import PlanError
from bontrack.fhir.reading import Problem
from bontrack.reference import Reference
from bontrack.services.cycles import child_rows, history_of, plan_document, record_findings
from bontrack.services.given import today
from bontrack.services.records import weight_on
from bontrack.services.schemas import CycleIn
from bontrack.store.models import Cycle, CycleFinding, Patient


def cycle_input(cy: Cycle) -> CycleIn:
    """The imported cycle as the API's input (already checked by ``fhir/rules.py``)."""
    return CycleIn.model_validate({
        "date": cy.date, "product": cy.product, "indication": cy.indication,
        "weight_kg": cy.weight_kg, "consent_recorded": cy.consent_recorded,
        "consent_text": cy.consent_text, "note": cy.note,
        "injections": [{"muscle": i.muscle, "side": i.side, "units": i.units,
                        "sites": i.sites, "guidance": i.guidance} for i in cy.injections],
        "vials": [{"size_units": v.size_units, "diluent_ml": v.diluent_ml, "lot": v.lot,
                   "expiry": v.expiry, "reconstituted_at": v.reconstituted_at}
                  for v in cy.vials]})


def recheck(session: Session, ref: Reference, patient: Patient, key: str, cy: Cycle,
            claimed: Decimal | None) -> tuple[list[Problem], list[str]]:
    """Run bontrack's plan check on an imported cycle before it is written: its verdict,
    reference version, findings and total replace whatever the file claimed. Returns
    (problems that refuse the import, warnings for the summary)."""
    body = cycle_input(cy)
    weight = body.weight_kg or weight_on(session, patient.id, body.date)
    history: list[dict[str, Any]] = [h for h in history_of(session, patient.id)
                                     if h["date"] <= cy.date]
    try:
        plan = read_plan(plan_document(patient, body, weight, history), ref, where="cycle")
    except PlanError as err:
        return [Problem(key, err.field, err.reason)], []
    result = record_findings(session, patient, check_plan(plan, ref), None, today())
    _, _, findings = child_rows(result, cy.created_by)
    cy.verdict = result.verdict
    cy.reference_version = result.reference_version
    cy.next_earliest_date = result.effect.next_earliest_date
    cy.findings = [CycleFinding(**f) for f in findings]
    cy.overrides = []
    cy.total_units = plan.total_units()
    warnings = []
    if claimed is not None and claimed != cy.total_units:
        warnings.append(f"{key} extension[total-units]: the file's total {number(claimed)} U "
                        f"disagrees with its injections ({number(cy.total_units)} U); "
                        f"recorded {number(cy.total_units)} U")
        cy.provenance = "\n".join(filter(None, [
            cy.provenance, f"total claimed by the file: {number(claimed)} U"]))
    return [], warnings
