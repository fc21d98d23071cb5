"""Use cases: the one place the edges (CLI, API, web) call into the clinical core."""

from __future__ import annotations

from datetime import date
from typing import Any

from bontrack.clinical.check import CheckResult, check_plan
from bontrack.clinical.plan import read_plan
from bontrack.clinical.result import result_dict
from bontrack.reference import Reference, default_reference


def check_document(
    data: Any, where: str = "plan", on: date | None = None, ref: Reference | None = None
) -> tuple[CheckResult, dict[str, Any]]:
    """Read and check a decoded plan document; the result and its contract JSON form."""
    reference = ref or default_reference()
    plan = read_plan(data, reference, where=where, on=on)
    result = check_plan(plan, reference)
    return result, result_dict(result, reference)
