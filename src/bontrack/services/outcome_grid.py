"""The outcome grid (issue 17): one scale scored for every muscle and side injected in a
cycle, saved together or not at all. A row left "not assessed" is skipped on purpose; a row
left blank is refused, naming it, so no value is ever recorded by default."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from bontrack.errors import InvalidRecord
from bontrack.reference import Reference
from bontrack.services.access import Actor
from bontrack.services.records import add_outcome
from bontrack.services.schemas import OutcomeIn
from bontrack.services.usecase import use_case
from bontrack.store.models import Outcome


@use_case()
def add_outcomes(session: Session, actor: Actor, patient_id: int, rows: Sequence[OutcomeIn],
                 ref: Reference) -> list[Outcome]:
    """Record each row; the first refused row refuses them all (its number in the field,
    ``outcomes.<index>.<field>``), so a grid is never half saved."""
    if not rows:
        raise InvalidRecord("no value entered: score at least one muscle, or go back",
                            field="outcomes")
    saved = []
    for index, row in enumerate(rows):
        try:
            saved.append(add_outcome(session, actor, patient_id, row, ref))
        except InvalidRecord as err:
            raise InvalidRecord(err.message, field=f"outcomes.{index}.{err.field or 'value'}"
                                ) from None
    return saved
