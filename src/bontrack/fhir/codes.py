"""Code systems, canonical URLs and the few standard codes the FHIR mapping uses.

Every standard code here is taken from the reference data or from the sourced research
notes (docs/fhir.md lists each with its source). Where no verified code exists, the value is
coded in a bontrack CodeSystem under ``CANONICAL`` and carries its text, never a guessed code.
"""

from __future__ import annotations

from typing import Any

from bontrack.fhir.extensions import EXTENSIONS

CANONICAL = "https://fhir.bontrack.org"
CS = f"{CANONICAL}/CodeSystem"
SD = f"{CANONICAL}/StructureDefinition"
MRN_SYSTEM = f"{CANONICAL}/NamingSystem/mrn"
USER_SYSTEM = f"{CANONICAL}/NamingSystem/username"
DIARY_QUESTIONNAIRE = f"{CANONICAL}/Questionnaire/diary"

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
#: National drug codes (V: HL7 Terminology NamingSystem v3-ndc: URI http://hl7.org/fhir/sid/ndc).
NDC = "http://hl7.org/fhir/sid/ndc"
V3_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
COND_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
LOINC = "http://loinc.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
COND_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"

# bontrack code systems (values are the ids of the reference data)
CS_PRODUCT = f"{CS}/product"
CS_INDICATION = f"{CS}/indication"
CS_MUSCLE = f"{CS}/injection-target"
CS_SIDE = f"{CS}/side"
CS_OUTCOME = f"{CS}/outcome-scale"
CS_MAS = f"{CS}/modified-ashworth-grade"
CS_GUIDANCE = f"{CS}/guidance"
CS_RELATEDNESS = f"{CS}/relatedness"
CS_PROCEDURE = f"{CS}/procedure"
CS_OBSERVATION = f"{CS}/observation"
CS_RED_FLAG = f"{CS}/red-flag"

# Extension URLs: one per declaration in fhir/extensions.py, whose StructureDefinitions
# fhir/definitions.py builds (docs/fhir.md, "Published definitions")
EXT = {name: f"{SD}/{name}" for name in EXTENSIONS}

#: LOINC 29463-7 "Body Weight" (V: US Core STU5 Observation-weight example: "code: weight
#: (LOINC#29463-7 \"Body Weight\")", category vital-signs, value in UCUM kg).
BODY_WEIGHT_LOINC = ("29463-7", "Body Weight")
#: HL7 v2 table 0203 identifier type MR, "Medical record number" (V: FHIR DSTU1 v2-0203
#: value set; the NHS North West Genomics MedicalRecordNumber profile gives the FHIR
#: type as "http://terminology.hl7.org/CodeSystem/v2-0203#MR").
MRN_TYPE = ("MR", "Medical record number")
#: condition-category "problem-list-item", "Problem List Item" (V: FHIR R4B ValueSet
#: condition-category: "An item on a problem list that can be managed over time"). A
#: bontrack condition is the treated condition, kept across cycles: a problem-list item,
#: not one encounter's diagnosis.
PROBLEM_LIST_ITEM = ("problem-list-item", "Problem List Item")
#: SNOMED CT laterality qualifiers (V: mCODE TG263 ConceptMap, DICOM PS3.16).
LATERALITY = {"left": ("7771000", "Left"), "right": ("24028007", "Right"),
              "bilateral": ("51440002", "Right and left")}
#: SNOMED CT laterality qualifiers read on import, wherever they stand (bontrack's laterality
#: extension, mCODE's laterality-qualifier extension, or a coding of the site itself): the
#: three above and Midline (V: mCODE STU2.1 ValueSet mcode-laterality-qualifier-vs,
#: https://hl7.org/fhir/us/mcode/STU2.1/ValueSet-mcode-laterality-qualifier-vs.html, "51440002
#: Right and left (qualifier value) | 399488007 Midline (qualifier value) | 24028007 Right
#: (qualifier value) | 7771000 Left (qualifier value)").
SIDE_BY_SNOMED = {"7771000": "left", "24028007": "right", "51440002": "bilateral",
                  "399488007": "midline"}
#: HL7's laterality qualifier extension, written on every site beside bontrack's own
#: (V: mCODE STU4 StructureDefinition mcode-laterality-qualifier,
#: https://hl7.org/fhir/us/mcode/StructureDefinition-mcode-laterality-qualifier.html:
#: "Official URL: http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier",
#: context "CodeableConcept", "Observation.bodySite", value "CodeableConcept ... Binding:
#: Laterality Qualifier Value Set (required)"; that value set is the four codes of
#: SIDE_BY_SNOMED above). Published by HL7, not by bontrack: not among ``EXT``.
MCODE_LATERALITY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"
#: SNOMED CT Midline (qualifier value), the fourth code of the mCODE laterality value set.
MIDLINE = ("399488007", "Midline")
#: Extensions an export writes that HL7 publishes (so bontrack publishes no definition).
HL7_EXTENSIONS = frozenset({MCODE_LATERALITY})
#: A body weight's UCUM unit (read on import: the FHIR body weight profile's units, V:
#: hl7.org/fhir/bodyweight.html, valueQuantity "code = 'kg', 'g', '[lb_av]' or '[oz_av]'")
#: -> grams per unit (weight may be converted; toxin units never).
#: UCUM 2.1 section 4.4, avoirdupois weights: [gr] = 64.79891 mg, [lb_av] = 7000 [gr],
#: [oz_av] = [lb_av]/16 (V: unitsofmeasure.org/ucum.html; the same definitions as coded in
#: xpertss measure's UCUM Avoirdupois class, "UCUM 4.4 §39").
GRAMS_PER_UNIT = {"kg": "1000", "g": "1", "[lb_av]": "453.59237", "[oz_av]": "28.349523125"}
#: SNOMED CT routes (V: DICOM PS3.16 CID 11 as packaged in pydicom).
ROUTE_IM = ("78421000", "Intramuscular route")
ROUTE_ID = ("372464004", "Intradermal route")
#: SNOMED CT 61593002 Ultrasonic guidance procedure (V: DICOM PS3.16).
GUIDANCE_SNOMED = {"ultrasound": ("61593002", "Ultrasonic guidance procedure")}
GUIDANCE_TEXT = {"anatomic": "Anatomical landmarks", "emg": "Electromyography guidance",
                 "estim": "Electrical stimulation guidance", "ultrasound": "Ultrasound guidance"}
# Outcome scales' codings (bontrack CS_OUTCOME and, where verified, SNOMED CT), category
# (survey / exam) and UCUM unit live in reference/data/scales.yaml (Reference.scales).
#: Our side-effect outcome -> R4 adverse-event-outcome (a one-to-one pairing).
AE_OUTCOMES = {"recovering": "recovering", "recovered": "resolved",
               "not_recovered": "ongoing", "fatal": "fatal", "unknown": "unknown"}
AE_SERIOUS = {True: ("Serious", "Serious"), False: ("Non-serious", "Non-serious")}
#: BoNT units are product-specific: UCUM [arb'U] ("arbitrary unit"), shown as "U".
UNITS = {"unit": "U", "system": UCUM, "code": "[arb'U]"}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(*codings: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if codings:
        out["coding"] = list(codings)
    if text:
        out["text"] = text
    return out


def code_in(cc: Any, system: str) -> str | None:
    """The code of ``system`` in a CodeableConcept dict, if any."""
    if not isinstance(cc, dict):
        return None
    for c in cc.get("coding") or []:
        if isinstance(c, dict) and c.get("system") == system and isinstance(c.get("code"), str):
            return str(c["code"])
    return None
