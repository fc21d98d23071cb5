"""The API's input rules, applied to what an import would write.

An import is another door into the same records, so it obeys the same rules as the API:
every row an import pass built is put through the Pydantic input model the API uses for
that record (``services/schemas.py``: text without control characters, lengths, plausible
dates, unit ranges), and every text in the incoming resource is first scanned for control
characters (``reading.check_model``: NUL breaks PostgreSQL text and hides text on SQLite).
Each failure is one
problem naming the resource and its FHIR element path, so a refused file says everything
wrong with it in one go (issue 15: NUL was stored in an MRN on SQLite and crashed
PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from bontrack.fhir.reading import Problem
from bontrack.services.schemas import (
    ConditionIn,
    CycleIn,
    DiaryIn,
    GoalIn,
    GoalScoreIn,
    OutcomeIn,
    PatientIn,
    SideEffectIn,
    WeightIn,
)
from bontrack.store.models import (
    Condition,
    Cycle,
    DiaryEntry,
    Goal,
    Outcome,
    Patient,
    SideEffect,
    Weight,
)

# -- each stored record: its API input model, the row's values, the FHIR element of a field --

Rule = tuple[type[BaseModel], Callable[[Any], dict[str, Any]], dict[str, str]]


def _cycle(c: Cycle) -> dict[str, Any]:
    return {"date": c.date, "product": c.product or "?", "indication": c.indication,
            "weight_kg": c.weight_kg, "consent_recorded": c.consent_recorded,
            "consent_text": c.consent_text, "note": c.note,
            "injections": [{"muscle": i.muscle, "side": i.side, "units": i.units,
                            "sites": i.sites, "guidance": i.guidance} for i in c.injections],
            "vials": [{"size_units": v.size_units, "diluent_ml": v.diluent_ml, "lot": v.lot,
                       "expiry": v.expiry, "reconstituted_at": v.reconstituted_at}
                      for v in c.vials]}


RULES: dict[type, list[Rule]] = {
    Patient: [(PatientIn, lambda p: {"mrn": p.mrn, "display_name": p.display_name,
                                     "family_name": p.family_name,
                                     "given_names": p.given_names,
                                     "birth_date": p.birth_date, "sex": p.sex,
                                     "flags": p.flags, "medications": p.medications},
               {"mrn": "identifier", "display_name": "name", "family_name": "name.family",
                "given_names": "name.given", "birth_date": "birthDate",
                "sex": "gender", "flags": "extension[condition-flag]",
                "medications": "extension[medication-name]"})],
    Weight: [(WeightIn, lambda w: {"measured_on": w.measured_on, "weight_kg": w.weight_kg},
              {"measured_on": "effectiveDateTime", "weight_kg": "valueQuantity"})],
    Condition: [(ConditionIn, lambda c: {"indication": c.indication, "icd10cm": c.icd10cm,
                                         "affected_side": c.affected_side,
                                         "onset_date": c.onset_date, "note": c.note},
                 {"indication": "code", "icd10cm": "code",
                  "affected_side": "extension[affected-side]",
                  "onset_date": "onsetDateTime", "note": "note"})],
    Outcome: [(OutcomeIn, lambda o: {"scale": o.scale, "value": o.value_text,
                                     "measured_at": o.measured_at, "muscle": o.muscle,
                                     "region": o.region, "side": o.side},
               {"scale": "code", "value": "value[x]", "measured_at": "effectiveDateTime",
                "muscle": "bodySite", "region": "extension[region]", "side": "bodySite"})],
    Goal: [(GoalIn, lambda g: {"description": g.description, "weight": g.weight,
                               "target_date": g.target_date},
            {"description": "description.text", "weight": "extension[gas-weight]",
             "target_date": "target.dueDate"}),
           (GoalScoreIn, lambda g: {"attainment": g.attainment}
            if g.attainment is not None else {"attainment": 0},
            {"attainment": "extension[gas-attainment]"})],
    SideEffect: [(SideEffectIn, lambda e: {"term": e.term, "onset": e.onset,
                                           "severity": e.severity, "serious": e.serious,
                                           "outcome": e.outcome,
                                           "relatedness": e.relatedness},
                  {"term": "event.text", "onset": "date", "severity": "severity",
                   "serious": "seriousness", "outcome": "outcome",
                   "relatedness": "extension[relatedness]"})],
    DiaryEntry: [(DiaryIn, lambda d: {"entry_date": d.entry_date,
                                      "spasm_frequency": d.spasm_frequency,
                                      "spasm_intensity": d.spasm_intensity, "pain": d.pain,
                                      "side_effects": d.side_effects, "note": d.note},
                  {"entry_date": "item[entry-date]", "spasm_frequency":
                   "item[spasm-frequency]", "spasm_intensity": "item[spasm-intensity]",
                   "pain": "item[pain]", "side_effects": "item[side-effects]",
                   "note": "item[note]"})],
    Cycle: [(CycleIn, _cycle,
             {"date": "performedDateTime", "product": "usedReference",
              "indication": "reasonCode", "weight_kg": "extension[weight-kg]",
              "consent_text": "extension[consent]", "note": "note",
              "injections": "MedicationAdministration", "vials": "Medication"})],
}

#: what an element of a cycle's injection or vial is called in its own resource
_PART = {"muscle": "dosage.site", "side": "dosage.site.extension[laterality]",
         "units": "dosage.dose", "sites": "extension[injection-sites]",
         "guidance": "extension[guidance]", "size_units": "extension[vial-size]",
         "diluent_ml": "ingredient.strength", "lot": "batch.lotNumber",
         "expiry": "batch.expirationDate", "reconstituted_at": "extension[reconstituted-at]"}


def _path(loc: tuple[Any, ...], paths: dict[str, str]) -> str:
    if not loc:
        return ""
    head = paths.get(str(loc[0]), str(loc[0]))
    rest = list(loc[1:])
    if loc[0] in ("injections", "vials") and len(rest) >= 1:
        n = int(rest[0]) + 1
        part = _PART.get(str(rest[1]), str(rest[1])) if len(rest) > 1 else ""
        return f"{head} #{n} {part}".rstrip()
    return head + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)


def check_row(key: str, row: Any) -> list[Problem]:
    """The problems the API's input rules find in one row (none when it passes)."""
    problems: list[Problem] = []
    for model, values, paths in RULES.get(type(row), []):
        try:
            model.model_validate(values(row))
        except ValidationError as exc:
            for err in exc.errors():
                msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
                problems.append(Problem(key, _path(tuple(err.get("loc", ())), paths), msg))
    return problems
