"""Who may do what: the role rules, applied by every use case (API and web alike).

- admin: manages accounts of their clinic; reads the clinic's records.
- clinician: everything clinical in their clinic; the only role that signs cycles and
  overrides stop findings.
- nurse: records patients, vials, outcomes, goals, side effects; cannot sign or override.
- patient: reads only their own record; writes only their own diary.
Nobody sees another clinic's data.
"""

from __future__ import annotations

from dataclasses import dataclass

from bontrack.errors import AccessDenied, NotFound
from bontrack.store.models import Patient

STAFF = ("admin", "clinician", "nurse")
CLINICAL_WRITERS = ("clinician", "nurse")


@dataclass(frozen=True)
class Actor:
    user_id: int
    clinic_id: int
    role: str
    username: str
    patient_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


def require_role(actor: Actor, roles: tuple[str, ...], what: str) -> None:
    if actor.role not in roles:
        raise AccessDenied(f"a {actor.role} may not {what}", entity=what)


def can_read_patient(actor: Actor, patient: Patient, asked: str | None = None) -> None:
    """Staff of the patient's clinic, or the patient themself. Another clinic's patient is
    answered as not found, naming only what was ``asked`` for ("cycle 7"): saying which
    patient a cycle belongs to would reveal another clinic's ids (issue 15)."""
    if patient.clinic_id != actor.clinic_id:
        raise NotFound(f"{asked or f'patient {patient.id}'} not found")
    if actor.role == "patient" and actor.patient_id != patient.id:
        raise AccessDenied(
            "a patient may only read their own record", entity="patient",
            entity_id=patient.id, patient_id=patient.id,
        )


def can_write_clinical(actor: Actor, patient: Patient, what: str) -> None:
    can_read_patient(actor, patient)
    if actor.role not in CLINICAL_WRITERS:
        raise AccessDenied(
            f"a {actor.role} may not {what}", entity=what, patient_id=patient.id
        )
