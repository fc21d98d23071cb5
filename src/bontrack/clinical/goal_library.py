"""A library of Goal Attainment Scaling goal statements, by goal area, to start a patient's
goal from (and then edit it for them). Pure data.

The goal areas are the six main goal areas that the analysis of the Upper Limb
International Spasticity (ULIS) programme's goal statements revealed, used by GAS-eous
(Goal Attainment Scaling - Evaluation of Outcome for Upper limb Spasticity; King's College
London, Cicely Saunders Institute, GAS toolkit; Turner-Stokes L, Ashford S, Jacinto J,
Maisonobe P, Balcaitiene J, Fheodoroff K. ULIS-III protocol. BMJ Open 2016;6(6)): passive
function, active function, pain, involuntary movements, mobility and impairment. "Active"
and "passive" function are meant as ULIS-II defines them: active function uses the
affected limb in a motor activity for a purpose; passive function is caring for the
affected limb, by a carer or the person (ULIS-II, BMJ Open, Table 3).

The statements are bontrack's own examples, written for this library, with no numbers in
them: a goal for a patient says what, how well and by when for that patient (the target
date and weight are set on the goal), so each is edited before or after it is added.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = ("Goal areas: the six main goal areas of the ULIS programme, as used by GAS-eous "
          "(King's College London GAS toolkit; Turner-Stokes L et al., ULIS-III protocol, BMJ "
          "Open 2016;6(6)); active and passive function as defined in ULIS-II (BMJ Open, "
          "Table 3). Statements: bontrack's own examples, to be edited for each patient.")


@dataclass(frozen=True, slots=True)
class GoalArea:
    id: str
    name: str
    covers: str
    statements: tuple[str, ...]


AREAS: tuple[GoalArea, ...] = (
    GoalArea("passive_function", "Passive function",
             "caring for the affected limb, by a carer or the person",
             ("The hand opens enough to wash and dry the palm and cut the nails.",
              "The affected arm goes into a sleeve with less effort when dressing.",
              "The armpit and elbow crease can be washed and dried without a struggle.")),
    GoalArea("active_function", "Active function",
             "using the affected limb for a task",
             ("Holds a cup steady with the affected hand while drinking.",
              "Lets go of an object placed in the affected hand.",
              "Holds paper still with the affected hand while writing with the other.")),
    GoalArea("pain", "Pain",
             "pain in or from the affected limb",
             ("Pain in the affected limb no longer wakes them at night.",
              "Positioning or stretching the limb is less painful.")),
    GoalArea("involuntary_movements", "Involuntary movements",
             "spasms and associated reactions",
             ("The arm stays down by the side when walking, without bending up.",
              "Spasms no longer wake them at night.")),
    GoalArea("mobility", "Mobility",
             "standing, walking, transfers, balance",
             ("Places the whole foot flat on the floor when standing.",
              "Walks indoors tripping less over the affected foot.",
              "Moves from bed to chair with less help.")),
    GoalArea("impairment", "Impairment",
             "range of movement, tone, contracture, splinting",
             ("The elbow straightens further when moved gently by another person.",
              "Less resistance when the wrist is moved by another person.",
              "Wears the splint for the planned time without discomfort.")),
)

BY_ID = {a.id: a for a in AREAS}


def statement(key: str) -> str:
    """The statement ``area_id:index`` (as the goals form sends it); KeyError if none."""
    area, _, index = key.partition(":")
    if area not in BY_ID or not index.isascii() or not index.isdigit():
        raise KeyError(key)
    items = BY_ID[area].statements
    if int(index) >= len(items):
        raise KeyError(key)
    return items[int(index)]
