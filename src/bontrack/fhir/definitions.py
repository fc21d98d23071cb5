"""bontrack's published FHIR definitions: a StructureDefinition for each extension, a
CodeSystem and a ValueSet for each of its code systems, and a NamingSystem for each of its
identifier systems (docs/fhir.md, "Published definitions").

Each is built from what the export itself writes: the extensions from their declarations
(``fhir/extensions.py``, the same table ``codes.EXT`` comes from), the concepts from the
reference data (products, indications, muscles, scales, red flags) and from the mapping's
own constants and functions (guidance, the session and body weight codes, the sides), so a
code the export writes is a concept here the day it is added. ``/fhir/StructureDefinition``,
``/fhir/CodeSystem``, ``/fhir/ValueSet`` and ``/fhir/NamingSystem`` serve them, and
``bontrack fhir definitions --out DIR`` writes them as files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import escape
from typing import Any, get_args

from bontrack.fhir.codes import (
    CANONICAL,
    CS_GUIDANCE,
    CS_INDICATION,
    CS_MAS,
    CS_MUSCLE,
    CS_OBSERVATION,
    CS_OUTCOME,
    CS_PROCEDURE,
    CS_PRODUCT,
    CS_RED_FLAG,
    CS_RELATEDNESS,
    CS_SIDE,
    EXT,
    GUIDANCE_TEXT,
    LATERALITY,
    MRN_SYSTEM,
    SIDE_BY_SNOMED,
    SNOMED,
    USER_SYSTEM,
)
from bontrack.fhir.extensions import EXTENSIONS, Extension, Part
from bontrack.fhir.kinds.observation import weight_code
from bontrack.fhir.mapping import session_concept
from bontrack.reference import Reference
from bontrack.services.schemas import SideEffectIn

Json = dict[str, Any]

VS = f"{CANONICAL}/ValueSet"
NS = f"{CANONICAL}/NamingSystem"
BASE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/Extension"
PUBLISHER = "bontrack"
#: The resource types served as definitions, in the order the CapabilityStatement lists them.
TYPES = ("StructureDefinition", "CodeSystem", "ValueSet", "NamingSystem")

Concept = tuple[str, str, str | None]  # code, display, definition


@dataclass(frozen=True)
class System:
    """A bontrack CodeSystem: its title, what it codes, and where its concepts come from."""

    url: str
    title: str
    description: str
    concepts: Callable[[Reference], list[Concept]]


def _relatedness_codes() -> tuple[str, ...]:
    """The values a side effect's relatedness takes (the record's input schema)."""
    return tuple(get_args(SideEffectIn.model_fields["relatedness"].annotation))


def _ours(codings: list[Json], system: str) -> list[Concept]:
    return [(c["code"], c.get("display") or c["code"], None) for c in codings
            if c["system"] == system]


def _scales(ref: Reference) -> list[Concept]:
    out: list[Concept] = []
    for s in ref.scales.values():
        mine = [c for c in s.fhir.codings if c.system == CS_OUTCOME]
        code, display = (mine[0].code, mine[0].display) if mine else (s.id, s.name)
        out.append((code, display or s.name, s.definition))
    return out


def _mas(ref: Reference) -> list[Concept]:
    scale = ref.scales.get("modified_ashworth")
    return [] if scale is None else [(label, label, None) for label, _ in scale.labels]


SYSTEMS: tuple[System, ...] = (
    System(CS_PRODUCT, "Botulinum toxin products",
           "The botulinum toxin products bontrack knows (reference data products/*.yaml); "
           "RxNorm and NDC codes stand beside them where verified.",
           lambda ref: [(p.id, p.id, f"{p.id} ({', '.join(p.brands)})")
                        for p in ref.products.values()]),
    System(CS_INDICATION, "Indications",
           "The treated conditions (reference data indications.yaml); ICD-10-CM codes stand "
           "beside them where verified.",
           lambda ref: [(i.id, i.name, None) for i in ref.indications.values()]),
    System(CS_MUSCLE, "Injection targets",
           "Muscles, glands and skin regions injected (reference data muscles.yaml); SNOMED "
           "CT body structures stand beside them where verified.",
           lambda ref: [(m.id, m.name, None) for m in ref.muscles.values()]),
    System(CS_SIDE, "Sides",
           "The side of a body site or of the affected body half. Left, right and both are "
           "also written as SNOMED CT laterality qualifiers; midline only here.",
           lambda ref: [(s, s, None) for s in dict.fromkeys(SIDE_BY_SNOMED.values())]),
    System(CS_OUTCOME, "Outcome scales",
           "The outcome scales (reference data scales.yaml); SNOMED CT assessment scales "
           "stand beside them where verified.", _scales),
    System(CS_MAS, "Modified Ashworth Scale grades",
           "The grades of the Modified Ashworth Scale as the scale writes them (1+ is not a "
           "number), from reference data scales.yaml.", _mas),
    System(CS_GUIDANCE, "Injection guidance",
           "How an injection was guided; ultrasound also as SNOMED CT 61593002.",
           lambda ref: [(k, v, None) for k, v in GUIDANCE_TEXT.items()]),
    System(CS_RELATEDNESS, "Relatedness of a side effect",
           "How related a side effect is to the injection, as the clinician judged it.",
           lambda ref: [(c, c.replace("_", " "), None) for c in _relatedness_codes()]),
    System(CS_PROCEDURE, "Procedures",
           "The procedure bontrack records (no SNOMED CT or CPT code was verifiable).",
           lambda ref: _ours(session_concept()["coding"], CS_PROCEDURE)),
    System(CS_OBSERVATION, "Observations",
           "bontrack's observation codes (a body weight also carries LOINC 29463-7).",
           lambda ref: _ours(weight_code()["coding"], CS_OBSERVATION)),
    System(CS_RED_FLAG, "Red flags",
           "Symptoms after botulinum toxin injections that need urgent care (reference data "
           "red_flags.yaml, each cited from the labels' boxed warning or hypersensitivity "
           "section).",
           lambda ref: [(f.id, f.name, f.plain_language) for f in ref.red_flags]),
)

#: Identifier systems: (id, title, description)
NAMING: tuple[tuple[str, str, str], ...] = (
    ("mrn", "Medical record number",
     "The patient's medical record number in bontrack (Patient.identifier, type MR)."),
    ("username", "bontrack user name",
     "A user's login name: the logical identifier of the people bontrack references "
     "(no Practitioner resources leave the system)."),
)


def tail(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _pascal(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in name.replace("_", "-").split("-"))


def _narrative(title: str, description: str, rows: list[str] | None = None) -> Json:
    items = "".join(f"<li>{escape(r)}</li>" for r in rows or [])
    body = (f"<p><b>{escape(title)}</b></p><p>{escape(description)}</p>"
            + (f"<ul>{items}</ul>" if items else ""))
    return {"status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _common(kind: str, rid: str, url: str, title: str, description: str, ref: Reference,
            rows: list[str] | None = None) -> Json:
    return {"resourceType": kind, "id": rid,
            "text": _narrative(title, description, rows), "url": url,
            "version": ref.version, "name": _pascal(rid), "title": title, "status": "active",
            "experimental": False, "date": ref.released, "publisher": PUBLISHER,
            "description": description}


def code_system(system: System, ref: Reference) -> Json:
    rid = tail(system.url)
    concepts = system.concepts(ref)
    out = _common("CodeSystem", rid, system.url, system.title, system.description, ref,
                  [f"{c}: {d}" for c, d, _ in concepts])
    out.update({"caseSensitive": True, "valueSet": f"{VS}/{rid}", "content": "complete",
                "count": len(concepts)})
    out["concept"] = [{"code": c, "display": d, **({"definition": x} if x else {})}
                      for c, d, x in concepts]
    return out


def value_sets(ref: Reference) -> Iterator[Json]:
    """One ValueSet of all the codes of each CodeSystem, and the laterality value set (the
    SNOMED CT qualifiers and the bontrack sides)."""
    for system in SYSTEMS:
        rid = tail(system.url)
        title = f"All {system.title[:1].lower()}{system.title[1:]}"
        description = f"Every code of the bontrack CodeSystem {system.url}."
        out = _common("ValueSet", rid, f"{VS}/{rid}", title, description, ref)
        out["compose"] = {"include": [{"system": system.url}]}
        yield out
    description = ("The side of a body site: SNOMED CT laterality qualifiers, and the "
                   "bontrack sides (midline).")
    out = _common("ValueSet", "laterality", f"{VS}/laterality", "Laterality", description, ref)
    out["compose"] = {"include": [
        {"system": SNOMED, "concept": [{"code": c, "display": d}
                                       for c, d in LATERALITY.values()]},
        {"system": CS_SIDE}]}
    yield out


def naming_systems(ref: Reference) -> Iterator[Json]:
    for rid, title, description in NAMING:
        url = f"{NS}/{rid}"
        assert url in (MRN_SYSTEM, USER_SYSTEM), url
        yield {"resourceType": "NamingSystem", "id": rid,
               "text": _narrative(title, description), "name": _pascal(rid),
               "status": "active", "kind": "identifier", "date": ref.released,
               "publisher": PUBLISHER, "description": description,
               "uniqueId": [{"type": "uri", "value": url, "preferred": True}]}


# ---- StructureDefinitions -------------------------------------------------------------

def _element(path: str, eid: str, lo: int, hi: str, base: tuple[str, int, str],
             short: str, **more: Any) -> Json:
    return {"id": eid, "path": path, "short": short, "definition": short, "min": lo,
            "max": hi, "base": {"path": base[0], "min": base[1], "max": base[2]}, **more}


def _binding(name: str) -> Json:
    return {"strength": "required", "valueSet": f"{VS}/{name}"}


def _value(prefix: str, eid: str, type_: str, binding: str | None) -> Json:
    more: Json = {"type": [{"code": type_}]}
    if binding:
        if type_ == "CodeableConcept":
            more["binding"] = {"strength": "extensible", "valueSet": f"{VS}/{binding}"}
        else:
            more["binding"] = _binding(binding)
    return _element(f"{prefix}.value[x]", f"{eid}.value[x]", 1, "1",
                    ("Extension.value[x]", 0, "1"), "Value of extension", **more)


def _no_value(prefix: str, eid: str) -> Json:
    return _element(f"{prefix}.value[x]", f"{eid}.value[x]", 0, "0",
                    ("Extension.value[x]", 0, "1"), "Value of extension (none: the "
                    "extension has parts)")


def _url(prefix: str, eid: str, url: str) -> Json:
    return _element(f"{prefix}.url", f"{eid}.url", 1, "1", ("Extension.url", 1, "1"),
                    "identifies the meaning of the extension", type=[{"code": "uri"}],
                    fixedUri=url)


def _id(prefix: str, eid: str) -> Json:
    return _element(f"{prefix}.id", f"{eid}.id", 0, "1", ("Element.id", 0, "1"),
                    "Unique id for inter-element referencing",
                    type=[{"code": "http://hl7.org/fhirpath/System.String",
                           "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/"
                                          "structuredefinition-fhir-type",
                                          "valueUrl": "string"}]}])


def _no_extension(prefix: str, eid: str) -> Json:
    return _element(f"{prefix}.extension", f"{eid}.extension", 0, "0",
                    ("Element.extension", 0, "*"), "Additional content defined by "
                    "implementations", type=[{"code": "Extension"}])


def _elements(name: str, spec: Extension) -> tuple[list[Json], list[Json]]:
    """(snapshot, differential) element lists of the extension ``name``."""
    root = _element("Extension", "Extension", 0, "*" if spec.repeats else "1",
                    ("Extension", 0, "*"), spec.title, comment=spec.description)
    if not spec.parts:
        assert spec.type is not None, name
        value = _value("Extension", "Extension", spec.type, spec.binding)
        url = _url("Extension", "Extension", EXT[name])
        none = _no_extension("Extension", "Extension")
        return ([root, _id("Extension", "Extension"), none, url, value],
                [root, none, url, value])
    sliced = _element("Extension.extension", "Extension.extension", 0, "*",
                      ("Element.extension", 0, "*"), "The parts of the extension",
                      type=[{"code": "Extension"}],
                      slicing={"discriminator": [{"type": "value", "path": "url"}],
                               "rules": "closed"})
    snapshot, differential = [root, _id("Extension", "Extension"), sliced], [root, sliced]
    for part in spec.parts:
        eid = f"Extension.extension:{part.name}"
        head = _element("Extension.extension", eid, 1 if part.required else 0, "1",
                        ("Element.extension", 0, "*"), part.name, sliceName=part.name,
                        type=[{"code": "Extension"}])
        pieces = [_no_extension("Extension.extension", eid),
                  _url("Extension.extension", eid, part.name),
                  _value("Extension.extension", eid, part.type, None)]
        snapshot += [head, _id("Extension.extension", eid), *pieces]
        differential += [head, *pieces]
    url = _url("Extension", "Extension", EXT[name])
    none = _no_value("Extension", "Extension")
    return [*snapshot, url, none], [*differential, url, none]


def _part_list(parts: tuple[Part, ...]) -> list[str]:
    return [f"{p.name}: {p.type} ({'1..1' if p.required else '0..1'})" for p in parts]


def structure_definition(name: str, ref: Reference) -> Json:
    spec = EXTENSIONS[name]
    snapshot, differential = _elements(name, spec)
    rows = ([f"value: {spec.type}"] if spec.type else _part_list(spec.parts)) + [
        f"context: {', '.join(spec.context)}"]
    out = _common("StructureDefinition", name, EXT[name], spec.title, spec.description, ref,
                  rows)
    out.update({
        "fhirVersion": "4.0.1", "kind": "complex-type", "abstract": False,
        "context": [{"type": "element", "expression": c} for c in spec.context],
        "type": "Extension", "baseDefinition": BASE_EXTENSION, "derivation": "constraint",
        "snapshot": {"element": snapshot}, "differential": {"element": differential}})
    return out


def definitions(ref: Reference) -> list[Json]:
    """Every published definition, StructureDefinitions first, then CodeSystems, ValueSets
    and NamingSystems."""
    out = [structure_definition(name, ref) for name in EXTENSIONS]
    out += [code_system(s, ref) for s in SYSTEMS]
    out += list(value_sets(ref))
    out += list(naming_systems(ref))
    return out


class Published:
    """The definitions of one reference data release, by type and id and by canonical URL."""

    def __init__(self, ref: Reference) -> None:
        self.ref = ref
        self.resources = definitions(ref)
        self.by_id = {(r["resourceType"], r["id"]): r for r in self.resources}
        self.by_url = {r.get("url") or r["uniqueId"][0]["value"]: r for r in self.resources}

    def of_type(self, kind: str) -> list[Json]:
        return [r for r in self.resources if r["resourceType"] == kind]


_CACHE: dict[int, Published] = {}


def published(ref: Reference) -> Published:
    """The definitions of ``ref``, built once (they hold no patient data and change only
    with the reference data)."""
    hit = _CACHE.get(id(ref))
    if hit is None or hit.ref is not ref:
        if len(_CACHE) > 8:
            _CACHE.clear()
        hit = _CACHE[id(ref)] = Published(ref)
    return hit
