"""Draft orders as an EHR sends them in a CDS Hooks call (synthetic)."""

from __future__ import annotations

from typing import Any

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SITES_EXT = "https://fhir.bontrack.org/StructureDefinition/injection-sites"


def site(text: str | None = None, *codings: tuple[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [{"system": s, "code": c} for s, c in codings]}
    if text is not None:
        out["text"] = text
    return out


def dose(where: dict[str, Any] | None, value: Any, unit: str = "U", sites: int | None = None
         ) -> dict[str, Any]:
    d: dict[str, Any] = {"doseAndRate": [{"doseQuantity": {"value": value, "unit": unit,
                                                            "system": UCUM, "code": unit}}]}
    if where is not None:
        d["site"] = where
    if sites is not None:
        d["extension"] = [{"url": SITES_EXT, "valuePositiveInt": sites}]
    return d


def order(oid: str, medication: str | dict[str, Any], *dosages: dict[str, Any],
          reason: str | None = None, icd: str | None = None) -> dict[str, Any]:
    med = {"text": medication} if isinstance(medication, str) else medication
    res: dict[str, Any] = {"resourceType": "MedicationRequest", "id": oid, "status": "draft",
                           "intent": "order", "subject": {"reference": "Patient/ehr-1"},
                           "medicationCodeableConcept": med,
                           "dosageInstruction": list(dosages)}
    if reason or icd:
        cc: dict[str, Any] = {"text": reason} if reason else {}
        if icd:
            cc["coding"] = [{"system": ICD10CM, "code": icd}]
        res["reasonCode"] = [cc]
    return res


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in resources]}
