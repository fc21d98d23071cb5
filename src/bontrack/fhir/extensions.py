"""What each bontrack FHIR extension holds and where it stands: the one declaration that
``codes.EXT`` (the URLs the mapping writes) and ``definitions`` (the published
StructureDefinitions) are both drawn from, so an extension cannot be written without a
definition (``ext("name")`` of an undeclared name is a KeyError).

``tests/fhir/test_definitions.py`` exports a demo registry and checks every extension in it
against these declarations with an independent validator (@medplum/core), so a value type
or a context that drifts from what the mapping writes fails the tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    """A sub-extension of a complex extension: its relative url and value type."""

    name: str
    type: str
    required: bool = True


@dataclass(frozen=True)
class Extension:
    title: str
    description: str
    #: FHIR element paths where the extension stands (StructureDefinition.context, type
    #: "element")
    context: tuple[str, ...]
    #: the value[x] type of a simple extension (None for a complex one)
    type: str | None = None
    parts: tuple[Part, ...] = ()
    #: may it repeat on the element that carries it
    repeats: bool = False
    #: the bontrack value set its value is bound to (name of a ``definitions`` ValueSet)
    binding: str | None = None


EXTENSIONS: dict[str, Extension] = {
    "record-status": Extension(
        "Record status",
        "bontrack's own status of the record (e.g. active, entered_in_error, draft, signed): "
        "kept beside the FHIR status, which cannot say all of it.",
        ("Patient", "Procedure", "AdverseEvent"), "code"),
    "laterality": Extension(
        "Laterality",
        "The side of a body site: SNOMED CT laterality qualifier (left, right, right and "
        "left) or midline in the bontrack side CodeSystem. HL7 mCODE's laterality-qualifier "
        "extension stands beside it with the same side as a SNOMED CT code.",
        ("MedicationAdministration.dosage.site", "Observation.bodySite"), "CodeableConcept",
        binding="laterality"),
    "condition-flag": Extension(
        "Condition flag",
        "A flag on the patient's record that the plan check reads (e.g. pregnancy, "
        "breastfeeding, a neuromuscular disorder).",
        ("Patient",), "code", repeats=True),
    "medication-name": Extension(
        "Current medication",
        "A medication the patient takes, as written (the plan check looks for interacting "
        "drug classes).",
        ("Patient",), "string", repeats=True),
    "affected-side": Extension(
        "Affected side",
        "The side the treated condition affects.", ("Condition",), "code", binding="side"),
    "plan-check": Extension(
        "Plan check",
        "The verdict of bontrack's dose check of the session's plan, with the reference data "
        "version it was checked against and the earliest date of the next session.",
        ("Procedure",), parts=(Part("verdict", "code"), Part("reference-version", "string"),
                               Part("next-earliest-date", "date", required=False))),
    "consent": Extension(
        "Consent",
        "Whether consent to the session was recorded, and its wording.", ("Procedure",),
        parts=(Part("recorded", "boolean"), Part("text", "string", required=False))),
    "signature": Extension(
        "Signature",
        "Who signed the session (the record of what was given) and when.", ("Procedure",),
        parts=(Part("by", "Reference"), Part("at", "dateTime"))),
    "finding": Extension(
        "Plan check finding",
        "One finding of the dose check: its code, severity (stop, warn, info) and message, "
        "with the value, limit, unit, muscle, side and source it names.",
        ("Procedure",), repeats=True,
        parts=(Part("code", "code"), Part("severity", "code"), Part("message", "string"),
               Part("value", "decimal", required=False),
               Part("limit", "decimal", required=False),
               Part("unit", "string", required=False),
               Part("muscle", "string", required=False),
               Part("side", "string", required=False),
               Part("source", "string", required=False))),
    "override": Extension(
        "Override",
        "A clinician's recorded override of a dose check finding: the finding's code, the "
        "reason, who and when.",
        ("Procedure",), repeats=True,
        parts=(Part("code", "code"), Part("reason", "string"), Part("by", "Reference"),
               Part("at", "dateTime"))),
    "total-units": Extension(
        "Total units",
        "The session's total dose in the product's own units (never converted between "
        "products).", ("Procedure",), "Quantity"),
    "weight-kg": Extension(
        "Body weight at the session", "The weight the session's dose check used, in kg.",
        ("Procedure",), "Quantity"),
    "cycle-version": Extension(
        "Session version", "The version of the stored session record.", ("Procedure",),
        "integer"),
    "provenance": Extension(
        "Provenance line",
        "One line of where an imported session came from (source system, what it claimed).",
        ("Procedure",), "string", repeats=True),
    "injection-sites": Extension(
        "Injection sites", "How many sites the dose was given in.",
        ("MedicationAdministration",), "integer"),
    "injected-volume": Extension(
        "Injected volume", "The volume injected, in mL.", ("MedicationAdministration",),
        "Quantity"),
    "guidance": Extension(
        "Guidance", "How the injection was guided (anatomic landmarks, EMG, electrical "
        "stimulation, ultrasound).", ("MedicationAdministration",), "CodeableConcept",
        binding="guidance"),
    "vial-size": Extension(
        "Vial size", "The vial's content in the product's own units.", ("Medication",),
        "Quantity"),
    "reconstituted-at": Extension(
        "Reconstituted at", "When the vial was reconstituted.", ("Medication",), "dateTime"),
    "units-discarded": Extension(
        "Units discarded", "Units of the vial discarded, in the product's own units.",
        ("Medication",), "Quantity"),
    "recorded-by": Extension(
        "Recorded by", "Who wrote the record (a logical reference: the user's login).",
        ("Procedure", "Medication", "Observation"), "Reference"),
    "region": Extension(
        "Region", "The body region an outcome was measured in, as written.",
        ("Observation",), "string"),
    "gas-weight": Extension(
        "Goal weight", "The goal's weight in Goal Attainment Scaling.", ("Goal",), "integer"),
    "gas-attainment": Extension(
        "Goal attainment", "The attained Goal Attainment Scaling level (-2 to +2).",
        ("Goal",), "integer"),
    "red-flag": Extension(
        "Red flag",
        "A red flag (a symptom that needs urgent care) found in the side effect's words.",
        ("AdverseEvent",), "code", repeats=True, binding="red-flag"),
    "relatedness": Extension(
        "Relatedness",
        "How related the side effect is to the injection, as the clinician judged it.",
        ("AdverseEvent",), "CodeableConcept", binding="relatedness"),
}
