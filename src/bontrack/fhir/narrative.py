"""A generated narrative (``Resource.text``) for the resources the FHIR API serves.

Issue 18 item 4: the outside review found no narrative (invariant dom-6, "A resource
should have narrative for robust management"). The narrative is derived from the resource
itself, never stored: it is added where resources are served (read, search, $everything,
the command line's patient Bundle), so a resource's ``meta.versionId`` and ETag do not
change because of it. The Bulk Data NDJSON omits it (docs/fhir.md).

The XHTML is the limited subset FHIR R4 allows (txt-1, txt-2): one ``div`` with the XHTML
namespace as its only attribute, holding ``<p>``, ``<b>``, ``<ul>``/``<li>`` and text, every
value escaped. Pure: a resource in, a resource out.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

Json = dict[str, Any]

XHTML = "http://www.w3.org/1999/xhtml"
#: A heading and (label, value) facts; empty values are left out of the narrative.
Facts = tuple[str, list[tuple[str, str]]]
#: (resource) -> its heading and facts: each ``Kind`` names its own (``fhir/kinds/``).
Summary = Callable[[Json], Facts]
#: How many top-level facts the generic narrative lists.
GENERIC_FACTS = 8


def _concept(value: Any) -> str:
    """A CodeableConcept's words: its text, else its first coding's display or code."""
    if not isinstance(value, dict):
        return ""
    if value.get("text"):
        return str(value["text"])
    for coding in value.get("coding") or []:
        if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding.get("code"))
    return ""


def _concepts(values: Any) -> str:
    return "; ".join(t for t in (_concept(v) for v in values or []) if t)


def _quantity(value: Any) -> str:
    if not isinstance(value, dict) or value.get("value") is None:
        return ""
    unit = value.get("unit") or value.get("code") or ""
    return f"{value['value']} {unit}".strip()


def _reference(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    return str(value.get("display") or value.get("reference") or "")


def _side(concept: Any) -> str:
    """The laterality of a body site: bontrack's extension on the concept."""
    if not isinstance(concept, dict):
        return ""
    for ext in concept.get("extension") or []:
        if isinstance(ext, dict) and str(ext.get("url", "")).endswith("/laterality"):
            return _concept(ext.get("valueCodeableConcept"))
    return ""


def _site(concept: Any) -> str:
    name, side = _concept(concept), _side(concept)
    return f"{name} ({side.lower()})" if name and side else name


def _value(resource: Json) -> str:
    """A ``value[x]`` in words."""
    for key, val in resource.items():
        if not key.startswith("value") or key == "value":
            continue
        if key == "valueQuantity":
            return _quantity(val)
        if key == "valueCodeableConcept":
            return _concept(val)
        if isinstance(val, (str, int, float, bool)):
            return str(val)
    return ""


def _effective(resource: Json) -> str:
    if resource.get("effectiveDateTime"):
        return str(resource["effectiveDateTime"])
    period = resource.get("effectivePeriod") or resource.get("period") or {}
    return str(period.get("start") or "") if isinstance(period, dict) else ""


def patient(r: Json) -> Facts:
    names = r.get("name") or [{}]
    first = names[0] if isinstance(names[0], dict) else {}
    name = first.get("text") or " ".join(
        [*(first.get("given") or []), str(first.get("family") or "")]).strip()
    mrn = next((str(i.get("value", "")) for i in r.get("identifier") or []
                if isinstance(i, dict) and any(c.get("code") == "MR" for c in
                                               (i.get("type") or {}).get("coding") or [])),
               "")
    return name or "Patient", [("MRN", mrn), ("Birth date", str(r.get("birthDate") or "")),
                               ("Sex", str(r.get("gender") or "")),
                               ("Active", "" if r.get("active") is None
                                else ("yes" if r["active"] else "no"))]


def encounter(r: Json) -> Facts:
    return (_concepts(r.get("type")) or "Encounter",
            [("Date", _effective(r)), ("Status", str(r.get("status") or "")),
             ("Class", _concept(r.get("class")) or str((r.get("class") or {}).get("display")
                                                      or "")),
             ("Reason", _concepts(r.get("reasonCode")))])


def procedure(r: Json) -> Facts:
    performer = "; ".join(_reference(p.get("actor")) for p in r.get("performer") or []
                          if isinstance(p, dict))
    return (_concept(r.get("code")) or "Procedure",
            [("Date", str(r.get("performedDateTime") or "")),
             ("Status", str(r.get("status") or "")),
             ("Reason", _concepts(r.get("reasonCode"))), ("Performer", performer)])


def administration(r: Json) -> Facts:
    dosage = r.get("dosage") or {}
    site = dosage.get("site")
    return (_concept(site) or "Medication administration",
            [("Side", _side(site)), ("Dose", _quantity(dosage.get("dose"))),
             ("Route", _concept(dosage.get("route"))),
             ("Date", str(r.get("effectiveDateTime") or "")),
             ("Status", str(r.get("status") or "")),
             ("Medication", _reference(r.get("medicationReference"))
              or _concept(r.get("medicationCodeableConcept")))])


def medication(r: Json) -> Facts:
    vial = next((_quantity(e.get("valueQuantity")) for e in r.get("extension") or []
                 if isinstance(e, dict) and str(e.get("url", "")).endswith("/vial-size")), "")
    strength = ""
    for ing in r.get("ingredient") or []:
        s = ing.get("strength") if isinstance(ing, dict) else None
        if isinstance(s, dict):
            strength = " in ".join(x for x in (_quantity(s.get("numerator")),
                                               _quantity(s.get("denominator"))) if x)
    batch = r.get("batch") or {}
    return (_concept(r.get("code")) or "Medication",
            [("Vial", vial), ("Reconstituted", strength),
             ("Lot", str(batch.get("lotNumber") or "")),
             ("Expires", str(batch.get("expirationDate") or ""))])


def observation(r: Json) -> Facts:
    return (_concept(r.get("code")) or "Observation",
            [("Value", _value(r)), ("Date", _effective(r)),
             ("Body site", _site(r.get("bodySite"))),
             ("Status", str(r.get("status") or ""))])


def condition(r: Json) -> Facts:
    return (_concept(r.get("code")) or "Condition",
            [("Clinical status", _concept(r.get("clinicalStatus"))),
             ("Verification", _concept(r.get("verificationStatus"))),
             ("Onset", str(r.get("onsetDateTime") or "")),
             ("Body site", "; ".join(_site(s) for s in r.get("bodySite") or []))])


def goal(r: Json) -> Facts:
    due = "; ".join(str(t.get("dueDate")) for t in r.get("target") or []
                    if isinstance(t, dict) and t.get("dueDate"))
    return (_concept(r.get("description")) or "Goal",
            [("Status", str(r.get("lifecycleStatus") or "")),
             ("Achievement", _concept(r.get("achievementStatus"))), ("Due", due)])


def adverse_event(r: Json) -> Facts:
    return (_concept(r.get("event")) or "Adverse event",
            [("Date", str(r.get("date") or "")),
             ("Seriousness", _concept(r.get("seriousness"))),
             ("Severity", _concept(r.get("severity"))),
             ("Outcome", _concept(r.get("outcome")))])


def _answer(item: Json) -> str:
    return ", ".join(v for v in (_value(a) for a in item.get("answer") or []
                                 if isinstance(a, dict)) if v)


def questionnaire_response(r: Json) -> Facts:
    facts = [("Authored", str(r.get("authored") or "")),
             ("Status", str(r.get("status") or ""))]
    facts += [(str(i.get("text") or i.get("linkId") or ""), _answer(i))
              for i in r.get("item") or [] if isinstance(i, dict)]
    questionnaire = str(r.get("questionnaire") or "").rstrip("/").rsplit("/", 1)[-1]
    return questionnaire or "QuestionnaireResponse", facts


def group(r: Json) -> Facts:
    return (str(r.get("name") or "Group"),
            [("Type", str(r.get("type") or "")),
             ("Members", str(r.get("quantity", len(r.get("member") or []))))])


def _scalar(value: Any) -> str:
    if isinstance(value, (str, int, float, bool)):
        return str(value)
    if isinstance(value, dict):
        return _concept(value) or _quantity(value) or _reference(value)
    return ""


def generic(r: Json) -> Facts:
    facts = [(k, _scalar(v)) for k, v in r.items()
             if k not in ("resourceType", "id", "meta", "text", "extension", "contained")]
    return str(r.get("resourceType") or "Resource"), [f for f in facts if f[1]][:GENERIC_FACTS]


def narrative(resource: Json, summary: Summary | None = None) -> Json:
    """``Resource.text`` for a resource: a heading and a list of its main facts, as its
    kind's ``summary`` gives them (each ``Kind`` names its own; ``generic`` otherwise)."""
    kind = str(resource.get("resourceType") or "Resource")
    title, facts = (summary or generic)(resource)
    items = "".join(f"<li>{escape(label)}: {escape(value)}</li>"
                    for label, value in facts if label and value)
    body = f"<p><b>{escape(kind)}</b> {escape(title) if title != kind else ''}</p>".replace(
        " </p>", "</p>")
    if resource.get("id"):
        body += f"<p>id {escape(str(resource['id']))}</p>"
    if items:
        body += f"<ul>{items}</ul>"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def with_narrative(resource: Json, summary: Summary | None = None) -> Json:
    """The resource with a generated ``text`` placed after ``meta`` (a copy); one that
    already has a narrative, or is a subset (``_elements``: meta.tag SUBSETTED), is
    returned as it is."""
    tags = (resource.get("meta") or {}).get("tag") or []
    if "text" in resource or any(isinstance(t, dict) and t.get("code") == "SUBSETTED"
                                 for t in tags):
        return resource
    out: Json = {}
    for key, value in resource.items():
        out[key] = value
        if key == "meta":
            out["text"] = narrative(resource, summary)
    if "text" not in out:
        out["text"] = narrative(resource, summary)
    return out
