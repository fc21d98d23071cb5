"""Patient: a patient record (MRN, name, sex, birth date; the plan check's condition
flags and medication names as extensions). The subject of every other kind."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from bontrack.fhir import narrative
from bontrack.fhir.codes import MRN_SYSTEM, MRN_TYPE, V2_0203, coding, concept
from bontrack.fhir.elements import Refusal, as_day, ext_all, ext_value
from bontrack.fhir.kind import Kind
from bontrack.fhir.lines import columns, dumps, fixed, isoday, memo
from bontrack.fhir.lines import meta as meta_bytes
from bontrack.fhir.mapping import Context, Json, day, ext, meta, status_ext
from bontrack.fhir.query import ParamFilter, Source
from bontrack.fhir.reading import control_characters
from bontrack.fhir.resolve import Reader
from bontrack.fhir.tables import Batch, P, clinic_names, find
from bontrack.services import audit
from bontrack.store.models import Patient
from bontrack.store.search_index import LIKE_ESCAPE, like_literal


def patient(ctx: Context, p: Any, clinic: str | None = None) -> Json:
    out: Json = {"resourceType": "Patient", "id": str(p.id),
                 "meta": meta(p.version, p.updated_at)}
    extensions: list[Json] = []
    if p.status != "active":
        extensions.append(status_ext(p.status))
    extensions += [ext("condition-flag", valueCode=f) for f in (p.flags or [])]
    extensions += [ext("medication-name", valueString=m) for m in (p.medications or [])]
    if extensions:
        out["extension"] = extensions
    identifier: Json = {"use": "usual", "type": concept(coding(V2_0203, *MRN_TYPE)),
                        "system": MRN_SYSTEM, "value": p.mrn}
    if clinic:
        identifier["assigner"] = {"display": clinic}
    out.update(identifier=[identifier], active=p.status == "active",
               name=[human_name(p)], gender=p.sex, birthDate=day(p.birth_date))
    return out


def human_name(p: Any) -> Json:
    """The name as US Core asks: ``official``, the display name as ``text``, and ``family``
    and ``given`` only when the record holds them (never split from the display name)."""
    name: Json = {"use": "official", "text": p.display_name}
    if p.family_name:
        name["family"] = p.family_name
    if p.given_names:
        name["given"] = list(p.given_names)
    return name


def export(ctx: Context, batch: Batch, p: Any, clinic: str | None) -> Iterator[Json]:
    yield patient(ctx, p, clinic)


#: a patient's line: id, meta, extensions (if any), MRN, assigner (if a clinic), active,
#: the name's text, family and given (if held), gender, birth date
_PATIENT = (b'{"resourceType":"Patient","id":"%d%b%b,"identifier":[{"use":"usual","type":'
            + fixed(dumps(concept(coding(V2_0203, *MRN_TYPE)))) + b',"system":'
            + fixed(dumps(MRN_SYSTEM)) + b',"value":%b%b}],"active":%b,"name":[{"use":'
            b'"official","text":%b%b%b}],"gender":%b,"birthDate":"%b"}\n')
(P_ID, P_VERSION, P_UPDATED, P_STATUS, P_FLAGS, P_MEDICATIONS, P_MRN, P_DISPLAY, P_FAMILY,
 P_GIVEN, P_SEX, P_BIRTH, P_CLINIC) = columns(
    P, "id", "version", "updated_at", "status", "flags", "medications", "mrn", "display_name",
    "family_name", "given_names", "sex", "birth_date", "clinic_id")


def lines(ctx: Context, batch: Batch, patients: Sequence[Any],
          clinics: Mapping[int, str]) -> Iterator[bytes]:
    """``export`` as NDJSON lines (fhir/lines.py): the same bytes, from byte pieces."""
    assigners = memo(ctx, "assigner")
    for p in patients:
        status, flags, medications = p[P_STATUS], p[P_FLAGS], p[P_MEDICATIONS]
        family, given, clinic = p[P_FAMILY], p[P_GIVEN], clinics.get(p[P_CLINIC])
        active = status == "active"
        if active and not flags and not medications:
            extensions = b""
        else:
            extensions = b',"extension":' + dumps(
                ([] if active else [status_ext(status)])
                + [ext("condition-flag", valueCode=f) for f in (flags or [])]
                + [ext("medication-name", valueString=m) for m in (medications or [])])
        yield _PATIENT % (
            p[P_ID], meta_bytes(p[P_VERSION], p[P_UPDATED]), extensions, dumps(p[P_MRN]),
            (assigners.get(clinic) or assigners.setdefault(
                clinic, b',"assigner":{"display":' + dumps(clinic) + b"}")) if clinic else b"",
            b"true" if active else b"false", dumps(p[P_DISPLAY]),
            b',"family":' + dumps(family) if family else b"",
            b',"given":' + dumps(list(given)) if given else b"",
            dumps(p[P_SEX]), isoday(p[P_BIRTH]))


def fetch(session: Session, ctx: Context, rid: str) -> tuple[Json, int] | None:
    p = find(session, P, rid)
    if p is None:
        return None
    return patient(ctx, p, clinic_names(session).get(p.clinic_id)), p.id


def read(reader: Reader, key: str, res: dict[str, Any]) -> None:
    mrn = medical_record_number(res.get("identifier") or [])
    if not mrn:
        raise Refusal("identifier", "no identifier to keep as the MRN")
    name, at = _chosen_name(res.get("name") or [])
    family = (name.get("family") or "").strip() or None
    given = [g.strip() for g in name.get("given") or [] if g.strip()]
    display = (name.get("text") or "").strip() or " ".join([*given, family or ""]).strip()
    if not display:
        raise Refusal(at, "the patient needs a name (text, or family and given)")
    if res.get("gender", "unknown") not in ("female", "male", "other", "unknown"):
        raise Refusal("gender", f"{res.get('gender')!r} is not female, male, other or "
                      "unknown")
    if not res.get("birthDate"):
        raise Refusal("birthDate", "the birth date is needed (doses depend on age)")
    flags = []
    for i, e in enumerate(ext_all(res, "condition-flag")):
        cid = reader.ref.condition_id(str(e.get("valueCode")))
        if cid is None:
            raise Refusal(f"extension[condition-flag][{i}]",
                          f"unknown condition flag {e.get('valueCode')!r}")
        flags.append(cid)
    # an MRN with a control character is already refused at its element path, and is
    # never sent to the database (PostgreSQL cannot even compare a text holding NUL)
    exists = None if any(control_characters(str(mrn))) else reader.s.scalar(
        select(Patient).where(Patient.clinic_id == reader.actor.clinic_id,
                              Patient.mrn == mrn))
    if mrn in {p.mrn for _, p in reader.plan.patients}:
        raise Refusal("identifier", f"MRN {mrn!r} appears for two patients in this input")
    now = audit.now()
    status = ext_value(res, "record-status", "valueCode") or "active"
    medications = [str(e.get("valueString")).lower() for e in ext_all(res, "medication-name")]
    birth = as_day(res["birthDate"], "birthDate")
    if exists is not None:
        # the same patient again (re-import, or the EHR's newer copy): updated by MRN, never
        # a second record; flags and medicines only where the file carries bontrack's own.
        # The file's name replaces the stored one, parts included; a file with the same
        # text and no parts (an EHR that sends text only) leaves the stored parts alone.
        keep = not (family or given) and display == exists.display_name
        parts = {} if keep else {"family_name": family, "given_names": given}
        reader.plan.existing[key] = _update(exists, display_name=display, birth_date=birth,
                                            sex=res.get("gender", "unknown"), now=now,
                                            **parts,
                                            **({"flags": flags} if flags else {}),
                                            **({"medications": medications}
                                               if medications else {}))
        reader.load_links(exists.id)
        reader.plan.patients.append((key, exists))
        return
    reader.plan.patients.append((key, Patient(
        clinic_id=reader.actor.clinic_id, mrn=str(mrn), display_name=display,
        family_name=family, given_names=given, birth_date=birth, sex=res.get("gender", "unknown"),
        flags=flags, medications=medications,
        status=status if status in ("active", "entered_in_error") else "active",
        version=1, created_at=now, updated_at=now)))


def _chosen_name(names: list[Any]) -> tuple[dict[str, Any], str]:
    """The name to keep, and its element path: the ``official`` one, else the first."""
    found = [(i, n) for i, n in enumerate(names) if isinstance(n, dict)]
    i, name = next(((i, n) for i, n in found if n.get("use") == "official"),
                   found[0] if found else (0, {}))
    return name, f"name[{i}]" if found else "name"


def _update(p: Patient, now: Any, **values: Any) -> bool:
    """Change what differs; a change is a new version of the record. Whether it changed."""
    changed = {k: v for k, v in values.items() if getattr(p, k) != v}
    if not changed:
        return False
    for k, v in changed.items():
        setattr(p, k, v)
    p.version += 1
    p.updated_at = now
    return True


def medical_record_number(identifiers: list[Any]) -> str | None:
    """The MRN among a patient's identifiers: bontrack's own MRN system, else the one typed
    ``MR`` (medical record number, HL7 v2 table 0203), else the first with a value."""
    idents = [i for i in identifiers if isinstance(i, dict) and i.get("value")]
    ours = next((i for i in idents if i.get("system") == MRN_SYSTEM), None)
    typed = next((i for i in idents if any(
        isinstance(c, dict) and c.get("system") == V2_0203 and c.get("code") == MRN_TYPE[0]
        for c in (i.get("type") or {}).get("coding") or [])), None)
    found = ours or typed or (idents[0] if idents else None)
    return str(found["value"]) if found else None


class json_texts(FunctionElement[Any]):
    """The text elements of a JSON array column, as rows with one column ``value``:
    ``json_each`` on SQLite, ``json_array_elements_text`` on PostgreSQL."""

    name = "json_texts"
    inherit_cache = True


@compiles(json_texts)
def _json_each(element: json_texts, compiler: Any, **kw: Any) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(json_texts, "postgresql")
def _json_array_elements_text(element: json_texts, compiler: Any, **kw: Any) -> str:
    return f"json_array_elements_text({compiler.process(element.clauses, **kw)})"


def _text_matches(column: Any, value: str, modifier: str, word: str
                  ) -> ColumnElement[bool]:
    """A FHIR string match on one text, case-insensitive: ``word`` "any" when any word of
    it starts with the value, "first" when the text does, "later" when a word after the
    first does; ``:contains`` anywhere, ``:exact`` the whole text, case-sensitive."""
    if modifier == "exact":
        return column == value  # type: ignore[no-any-return]
    text = func.lower(column)
    v = like_literal(value.strip().lower())
    if modifier == "contains":
        return text.like(f"%{v}%", escape=LIKE_ESCAPE)
    first = text.like(f"{v}%", escape=LIKE_ESCAPE)
    later = text.like(f"% {v}%", escape=LIKE_ESCAPE)
    return {"any": or_(first, later), "first": first, "later": later}[word]


def _has_parts() -> ColumnElement[bool]:
    return or_(P.c.family_name.is_not(None), func.json_array_length(P.c.given_names) > 0)


def _family(value: str, modifier: str) -> ColumnElement[bool]:
    return and_(P.c.family_name.is_not(None),
                _text_matches(P.c.family_name, value, modifier, "any"))


def _given(value: str, modifier: str) -> ColumnElement[bool]:
    names = json_texts(P.c.given_names).table_valued("value")
    return exists(select(literal(1)).select_from(names).where(
        _text_matches(names.c.value, value, modifier, "any")))


def _words(where: str) -> ParamFilter:
    """A FHIR string search over a patient's name, case-insensitive, a comma meaning OR
    (``:contains`` anywhere, ``:exact`` the whole text, case-sensitive, as FHIR says).

    ``family`` and ``given`` search the name parts (``family_name``, each of
    ``given_names``: any word of the part starts with the value). A patient recorded
    without parts (one display name, as before migration 0023) is searched by the words of
    the display name instead: ``given`` the first word, ``family`` a later word. ``name``
    matches when any word of the display name starts with the value, or a part matches."""

    def one(value: str, modifier: str) -> ColumnElement[bool]:
        display = P.c.display_name
        if where == "name":
            return or_(_text_matches(display, value, modifier, "any"),
                       _family(value, modifier), _given(value, modifier))
        part = _family(value, modifier) if where == "family" else _given(value, modifier)
        by_words = _text_matches(display, value, modifier,
                                 "later" if where == "family" else "first")
        return or_(part, and_(not_(_has_parts()), by_words))

    def build(raw: str, modifier: str = "") -> ColumnElement[bool]:
        values = [v for v in raw.split(",") if v.strip()]
        return or_(*[one(v, modifier) for v in values]) if values else false()

    return build


def _identifier(raw: str, modifier: str = "") -> ColumnElement[bool]:
    """``identifier=[system|]value``: the MRN (the only identifier bontrack keeps); another
    system matches nothing."""
    conds = []
    for one in raw.split(","):
        system, bar, value = one.partition("|")
        if not bar:
            system, value = "", one
        if system in ("", MRN_SYSTEM) and value:
            conds.append(P.c.mrn == value)
    return or_(*conds) if conds else false()


def _gender(raw: str, modifier: str = "") -> ColumnElement[bool]:
    return P.c.sex.in_([v.rpartition("|")[2] for v in raw.split(",")])


KIND = Kind(
    name="Patient", store=(Patient,), rows=(), export=export, fetch=fetch, read=read,
    audit={Patient: "patient"},
    sources=(Source(P, P.c.id, date=P.c.birth_date, updated=P.c.updated_at,
                    filters={"identifier": _identifier, "gender": _gender,
                             "name": _words("name"), "given": _words("given"),
                             "family": _words("family")}),),
    params={"identifier": "token", "name": "string", "family": "string", "given": "string",
            "birthdate": "date", "gender": "token"},
    operations=(("everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything"),
                ("export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
                 "patient-export")),
    lines=lines, narrative=narrative.patient,
)
