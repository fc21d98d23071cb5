"""A clinic as a FHIR Group: the patients of one clinic, the group ``Group/[id]/$export``
exports (Bulk Data Access IG v2.0.0, "Endpoint - Group of Patients": "If a FHIR server
supports Group-level data export, it SHOULD support reading ... for Group resource").

The Group's id is the clinic's id; it is ``type: person``, ``actual: true`` (its members
are listed, not described by characteristics), and its members are the clinic's patients,
the same set a system-level export of that clinic writes. Membership follows the patient's
clinic, so a patient's whole record is in the group's export; a patient moved into the
clinic after a ``_since`` time is exported only with what changed after it (the IG lets a
server return more, and asks it to say which it does: docs/fhir.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bontrack.fhir.mapping import Json
from bontrack.fhir.tables import P
from bontrack.numerals import is_digits
from bontrack.store.models import Clinic

#: The operation definitions the CapabilityStatement names for Group.
GROUP_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"


#: clinics.id is a 32-bit INTEGER: a larger id names no clinic (and PostgreSQL would refuse
#: to compare it, a 500)
CLINIC_ID_MAX = 2**31 - 1


def clinic_of(session: Session, group_id: str) -> Any:
    """The clinic a Group id names (its row: id, name), or None."""
    if not is_digits(group_id, 18) or int(group_id) > CLINIC_ID_MAX:
        return None
    return session.execute(select(Clinic.id, Clinic.name)
                           .where(Clinic.id == int(group_id))).first()


def member_ids(session: Session, clinic_id: int) -> Iterable[int]:
    """The clinic's patients, in id order, streamed."""
    return session.scalars(select(P.c.id).where(P.c.clinic_id == clinic_id)
                           .order_by(P.c.id).execution_options(yield_per=5000))


def group_resource(clinic_id: int, name: str, members: Iterable[int]) -> Json:
    """The Group resource of a clinic and its members' ids."""
    member = [{"entity": {"reference": f"Patient/{pid}"}} for pid in members]
    return {"resourceType": "Group", "id": str(clinic_id), "type": "person", "actual": True,
            "name": name, "quantity": len(member), "member": member}
