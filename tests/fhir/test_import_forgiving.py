"""A forgiving FHIR import (issue 18, item 6): another system's Bundle is imported for what
bontrack can hold, and what it cannot is skipped and listed with the reason, never fatal and
never guessed. Doses are held in their own product's units (U, [iU], {Unit}); a dose whose
product cannot be identified is skipped, never counted under another product. A dose given
by another service counts in the plan check. Importing the same Bundle again updates the
patient (by MRN) and writes nothing twice. Bad JSON, or JSON that is not FHIR, is refused
with a clear error and nothing saved.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bontrack.services.given import today
from bontrack.store.db import make_engine, session_factory, transaction
from tests.fhir.test_export import cli
from tests.fhir.test_import import count, empty_clinic

UROLOGY_DAY = (today() - timedelta(days=14)).isoformat()
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def patient(mrn: str = "EHR-0042", name: str = "Alex Example") -> dict[str, Any]:
    given, family = name.split(" ")
    return {"resourceType": "Patient", "id": "pat-1",
            "identifier": [
                {"system": "urn:oid:2.16.840.1.113883.19.5.99", "value": "insurance-77"},
                {"type": {"coding": [{"system": V2_0203, "code": "MR"}]},
                 "system": "urn:oid:2.16.840.1.113883.19.5", "value": mrn}],
            "name": [{"given": [given], "family": family}], "gender": "female",
            "birthDate": "1970-03-04"}


def dose(rid: str, product: Any, units: int | str, unit_code: str = "U",
         site: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A dose given by urology, as an EHR sends it: not part of any bontrack session."""
    out = {"resourceType": "MedicationAdministration", "id": rid, "status": "completed",
           "medicationCodeableConcept": product, "subject": {"reference": "Patient/pat-1"},
           "effectiveDateTime": f"{UROLOGY_DAY}T10:30:00+01:00",
           "performer": [{"actor": {"reference": "Practitioner/uro-1"}}],
           "reasonCode": [{"coding": [{"system": ICD10CM, "code": "N32.81"}]}],
           "dosage": {"site": site or {"text": "detrusor"},
                      "dose": {"value": units, "unit": "Units", "system": UCUM,
                               "code": unit_code}}}
    out.update(extra)
    return out


BOTOX = {"text": "BOTOX 100 Units"}


def ehr_bundle(*doses: dict[str, Any], mrn: str = "EHR-0042",
               name: str = "Alex Example") -> dict[str, Any]:
    resources = [
        patient(mrn, name),
        {"resourceType": "Practitioner", "id": "uro-1",
         "name": [{"prefix": ["Dr"], "given": ["Uma"], "family": "Rolog"}]},
        {"resourceType": "Organization", "id": "org-uro", "name": "Urology service"},
        {"resourceType": "Observation", "id": "wt-1", "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7",
                              "display": "Body weight"}]},
         "subject": {"reference": "Patient/pat-1"}, "effectiveDateTime": UROLOGY_DAY,
         "valueQuantity": {"value": 154, "unit": "lb", "system": UCUM, "code": "[lb_av]"}},
        {"resourceType": "AllergyIntolerance", "id": "alg-1",
         "patient": {"reference": "Patient/pat-1"}, "code": {"text": "penicillin"}},
        {"resourceType": "Encounter", "id": "enc-1", "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                   "code": "AMB"}, "subject": {"reference": "Patient/pat-1"}},
        {"resourceType": "MedicationRequest", "id": "rx-1", "status": "active",
         "intent": "order", "medicationCodeableConcept": BOTOX,
         "subject": {"reference": "Patient/pat-1"}},
        *doses,
    ]
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}


def write(tmp_path: Path, doc: Any, name: str = "ehr.json") -> Path:
    f = tmp_path / name
    f.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return f


def run_import(db_url: str, f: Path) -> Any:
    return cli("fhir", "import", str(f), "--user", "dr.lee", "--db", db_url)


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a query, numbers as Decimal (SQLite gives NUMERIC back as float)."""
    engine = sa.create_engine(url)
    with engine.connect() as c:
        out = [tuple(Decimal(str(v)) if isinstance(v, float) else v for v in r)
               for r in c.execute(sa.text(sql))]
    engine.dispose()
    return out


def test_a_bundle_mixing_supported_and_unsupported_resources_imports_the_supported_and_lists_the_rest(  # noqa: E501
        db_url, tmp_path):
    empty_clinic(db_url)
    mystery = dose("ma-2", {"text": "Mystery toxin"}, 50)
    r = run_import(db_url, write(tmp_path, ehr_bundle(
        dose("ma-1", BOTOX, 200), mystery)))
    assert r.returncode == 0, r.stderr
    # the MRN is the identifier typed MR (HL7 v2 0203), not the first identifier
    assert rows(db_url, "SELECT mrn, display_name FROM patients") == [
        ("EHR-0042", "Alex Example")]
    # LOINC body weight in [lb_av], converted by UCUM's definitions to kg
    assert rows(db_url, "SELECT weight_kg FROM weights") == [(Decimal("69.85"),)]
    # each set-aside resource is listed with its type, id and reason
    out = r.stdout
    assert "skipped (not imported): 4" in out
    assert "Encounter/enc-1: an encounter with no injection session" in out
    assert "AllergyIntolerance/alg-1 resourceType: AllergyIntolerance is not imported" in out
    assert "MedicationRequest/rx-1 resourceType: an order, not a dose given" in out
    assert "MedicationAdministration/ma-2" in out and "Mystery toxin" in out
    assert "never counted under another product" in out
    # the dose given by urology is a given cycle of BOTOX, in BOTOX units, marked as given
    # elsewhere by the Practitioner the Bundle names, its time kept
    cycles = rows(db_url, "SELECT product, indication, status, total_units, provenance "
                          "FROM cycles")
    assert len(cycles) == 1
    product, indication, status, total, provenance = cycles[0]
    assert (product, indication, status, Decimal(total)) == (
        "onabotulinumtoxinA", "overactive_bladder", "signed", Decimal(200))
    assert "given elsewhere" in provenance and "Dr Uma Rolog" in provenance
    assert f"{UROLOGY_DAY}T10:30:00+01:00" in provenance
    assert rows(db_url, "SELECT muscle, side, units FROM injections") == [
        ("detrusor", "midline", Decimal(200))]
    # nothing of the unknown product was counted under BOTOX or anything else
    assert count(db_url, "injections") == 1


def test_each_unit_spelling_is_held_as_the_product_own_units(db_url, tmp_path):
    empty_clinic(db_url)
    doses = [dose(f"ma-{code}", BOTOX, n, code,
                  effectiveDateTime=f"{(today() - timedelta(days=d)).isoformat()}T09:00:00Z")
             for code, n, d in (("U", 10, 40), ("[iU]", 20, 30), ("{Unit}", 30, 20),
                                ("[arb'U]", 40, 10))]
    doses = [{**d, "id": f"ma-{i}"} for i, d in enumerate(doses)]
    r = run_import(db_url, write(tmp_path, ehr_bundle(*doses)))
    assert r.returncode == 0, r.stderr
    got = rows(db_url, "SELECT c.product, i.units FROM injections i JOIN cycles c "
                       "ON c.id = i.cycle_id ORDER BY c.date")
    assert got == [("onabotulinumtoxinA", Decimal(n)) for n in (10, 20, 30, 40)]
    # a dose in mg is not product units: skipped, never converted
    mg = dose("ma-mg", BOTOX, 1, "mg")
    r = run_import(db_url, write(tmp_path, ehr_bundle(mg), "mg.json"))
    assert r.returncode == 0, r.stderr
    assert "MedicationAdministration/ma-mg dosage.dose.code" in r.stdout
    assert count(db_url, "injections") == 4


def test_an_unknown_product_is_skipped_and_never_counted(db_url, tmp_path):
    empty_clinic(db_url)
    r = run_import(db_url, write(tmp_path, ehr_bundle(
        dose("ma-9", {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                  "code": "999999"}], "text": "botulinum toxin"}, 300))))
    assert r.returncode == 0, r.stderr
    assert "MedicationAdministration/ma-9" in r.stdout
    assert count(db_url, "cycles") == 0 and count(db_url, "injections") == 0
    assert count(db_url, "patients") == 1  # the rest was imported


def test_importing_the_same_bundle_twice_updates_and_never_duplicates(db_url, tmp_path):
    empty_clinic(db_url)
    f = write(tmp_path, ehr_bundle(dose("ma-1", BOTOX, 200)))
    assert run_import(db_url, f).returncode == 0
    tables = ("patients", "cycles", "injections", "weights", "import_links")
    before = {t: count(db_url, t) for t in tables}
    assert before["patients"] == 1 and before["cycles"] == 1 and before["weights"] == 1
    again = write(tmp_path, ehr_bundle(dose("ma-1", BOTOX, 200), name="Alexa Example"),
                  "again.json")
    r = run_import(db_url, again)
    assert r.returncode == 0, r.stderr
    assert {t: count(db_url, t) for t in tables} == before
    assert "1 patient updated" in r.stdout
    assert "already imported, not written again: 2" in r.stdout
    # the patient was updated by MRN (a new version), not added
    assert rows(db_url, "SELECT display_name, version FROM patients") == [
        ("Alexa Example", 2)]
    # a new dose in a later Bundle is added to the same patient
    later = dose("ma-7", BOTOX, 20, effectiveDateTime=f"{today().isoformat()}T08:00:00Z")
    r = run_import(db_url, write(tmp_path, ehr_bundle(dose("ma-1", BOTOX, 200), later),
                                 "later.json"))
    assert r.returncode == 0, r.stderr
    assert count(db_url, "patients") == 1 and count(db_url, "cycles") == 2


def _check(db_url: str, units: int) -> list[str]:
    from bontrack.reference import default_reference
    from bontrack.services import accounts
    from bontrack.services.cycles import check_only
    from bontrack.services.schemas import CycleIn
    from bontrack.store.models import Patient, User

    engine = make_engine(db_url)
    with transaction(session_factory(engine)) as s:
        doc = s.scalar(sa.select(User).where(User.username == "dr.lee"))
        pid = s.scalar(sa.select(Patient.id))
        body = CycleIn.model_validate({
            "date": today(), "product": "onabotulinumtoxinA",
            "indication": "upper_limb_spasticity",
            "injections": [{"muscle": "biceps_brachii", "side": "left", "units": units,
                            "sites": 4}],
            "consent_recorded": True, "consent_text": "Discussed."})
        result = check_only(s, accounts.actor_of(doc), pid, body, default_reference())
        codes = [f.code for f in result.findings]
    engine.dispose()
    return codes


def test_a_dose_given_by_another_service_counts_in_the_plan_check(db_url, tmp_path):
    """BOTOX's label: across indications, no more than 400 Units in 3 months. 300 U for
    the arm is within it alone; with urology's 200 U two weeks ago it is not."""
    empty_clinic(db_url)
    r = run_import(db_url, write(tmp_path, ehr_bundle()))  # the patient, no dose
    assert r.returncode == 0, r.stderr
    assert "CUMULATIVE_MAX_EXCEEDED" not in _check(db_url, 300)
    r = run_import(db_url, write(tmp_path, ehr_bundle(dose("ma-1", BOTOX, 200)), "d.json"))
    assert r.returncode == 0, r.stderr
    assert "CUMULATIVE_MAX_EXCEEDED" in _check(db_url, 300)


def test_snomed_laterality_of_a_paired_muscle_is_read(db_url, tmp_path):
    empty_clinic(db_url)
    mcode = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"
    left = {"text": "biceps brachii", "extension": [{"url": mcode, "valueCodeableConcept": {
        "coding": [{"system": SNOMED, "code": "7771000", "display": "Left"}]}}]}
    right = {"coding": [{"system": SNOMED, "code": "24028007"}], "text": "biceps brachii"}
    uls = [{"text": "upper limb spasticity"}]
    r = run_import(db_url, write(tmp_path, ehr_bundle(
        dose("ma-l", BOTOX, 50, site=left, reasonCode=uls),
        dose("ma-r", BOTOX, 60, site=right, reasonCode=uls),
        dose("ma-x", BOTOX, 70, site={"text": "biceps brachii"}, reasonCode=uls))))
    assert r.returncode == 0, r.stderr
    assert sorted(rows(db_url, "SELECT muscle, side, units FROM injections")) == [
        ("biceps_brachii", "left", Decimal(50)), ("biceps_brachii", "right", Decimal(60))]
    # no side for a paired muscle: skipped, not guessed
    assert "MedicationAdministration/ma-x dosage.site.extension" in r.stdout


def test_bad_json_or_not_a_bundle_is_refused_clearly_and_nothing_is_saved(db_url, tmp_path):
    empty_clinic(db_url)
    for name, text, said in (
            ("broken.json", '{"resourceType": "Bundle", "entry": [', "not JSON"),
            ("other.json", json.dumps({"hello": "world"}), "not a FHIR resource"),
            ("list.json", json.dumps([1, 2]), "not a JSON object"),
            ("only-skipped.json", json.dumps({"resourceType": "Bundle", "type": "collection",
                                              "entry": [{"resource": {
                                                  "resourceType": "Flag", "id": "f"}}]}),
             "nothing bontrack imports")):
        r = run_import(db_url, write(tmp_path, text, name))
        assert r.returncode == 2, (name, r.stdout)
        assert said in r.stderr, (name, r.stderr)
        assert "Traceback" not in r.stderr
        assert "nothing was imported" in r.stderr
    # a supported resource that is wrong still refuses the whole input: nothing half-saved
    bad = ehr_bundle(dose("ma-1", BOTOX, 200))
    bad["entry"][3]["resource"]["effectiveDateTime"] = "not a date"
    r = run_import(db_url, write(tmp_path, bad, "bad.json"))
    assert r.returncode == 2 and "Observation/wt-1" in r.stderr
    assert all(count(db_url, t) == 0 for t in ("patients", "cycles", "weights",
                                                 "import_links"))


def test_mcode_laterality_alone_is_read_and_a_disagreeing_pair_is_refused(db_url, tmp_path):
    empty_clinic(db_url)
    mcode = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"
    ours = "https://fhir.bontrack.org/StructureDefinition/laterality"

    def lat(url: str, code: str) -> dict[str, Any]:
        return {"url": url, "valueCodeableConcept": {"coding": [{"system": SNOMED,
                                                                 "code": code}]}}

    right = {"text": "biceps brachii", "extension": [lat(mcode, "24028007")]}
    clash = {"text": "biceps brachii", "extension": [lat(ours, "7771000"),
                                                     lat(mcode, "24028007")]}
    uls = [{"text": "upper limb spasticity"}]
    r = run_import(db_url, write(tmp_path, ehr_bundle(
        dose("ma-r", BOTOX, 60, site=right, reasonCode=uls),
        dose("ma-c", BOTOX, 70, site=clash, reasonCode=uls))))
    assert r.returncode == 0, r.stderr
    assert rows(db_url, "SELECT muscle, side, units FROM injections") == [
        ("biceps_brachii", "right", Decimal(60))]
    assert "MedicationAdministration/ma-c dosage.site.extension" in r.stdout
    assert "disagrees" in r.stdout
