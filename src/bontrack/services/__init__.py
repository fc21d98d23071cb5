"""Use cases: the one place the edges (CLI, API, web) call into the clinical core."""

from __future__ import annotations

from datetime import date
from typing import Any

from bontrack.clinical.check import CheckResult, check_plan
from bontrack.clinical.plan import read_plan
from bontrack.clinical.result import result_dict, result_json
from bontrack.documents import loads_json_fast
from bontrack.reference import Reference, default_reference


def check_document(
    data: Any, where: str = "plan", on: date | None = None, ref: Reference | None = None
) -> tuple[CheckResult, dict[str, Any]]:
    """Read and check a decoded plan document; the result and its contract JSON form."""
    reference = ref or default_reference()
    plan = read_plan(data, reference, where=where, on=on)
    result = check_plan(plan, reference)
    return result, result_dict(result, reference)


def check_json(
    raw: bytes, where: str = "plan", on: date | None = None, ref: Reference | None = None
) -> tuple[CheckResult, bytes]:
    """``check_document`` from the plan's JSON bytes to the result's (compact UTF-8): the
    fast road of issue 16, for callers that hold bytes (an HTTP body, a queue message).
    The same result and the same errors (``DocumentError``, ``PlanError``) as decoding with
    ``documents.loads_json`` and calling ``check_document``."""
    reference = ref or default_reference()
    result = check_plan(read_plan(loads_json_fast(raw), reference, where=where, on=on), reference)
    return result, result_json(result, reference)
