"""Load and validate the reference data files, once, at the edge.

The files live in ``reference/data`` inside the package (or another folder given by the
caller, so a clinic can edit a copy without changing code). Every file is validated with the
Pydantic schemas; then the files are checked against each other (every muscle, indication,
condition and document a rule names must exist). Any problem is a ``ReferenceDataError``
naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bontrack.errors import ReferenceDataError
from bontrack.reference.catalogue import Reference
from bontrack.reference.schema import (
    Cited,
    Document,
    Indication,
    IndicationFile,
    MedicinesFile,
    MetaFile,
    Muscle,
    MuscleFile,
    OutcomeScale,
    Pattern,
    PatternFile,
    ProductFile,
    RedFlagFile,
    SafetyFile,
    ScaleFile,
    TriageData,
)

DATA_DIR = Path(__file__).parent / "data"

M = TypeVar("M", bound=BaseModel)

#: libyaml's safe loader where PyYAML was built with it (the wheels are): the same documents
#: as the pure-Python ``SafeLoader`` (tests/reference/test_loader.py compares them on every
#: file), read about ten times faster, which is most of the time a CLI command or a server
#: takes to start.
YAML_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReferenceDataError(str(path), "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceDataError(str(path), "", f"cannot be read ({exc})") from None
    try:
        return yaml.load(text, Loader=YAML_LOADER)  # a safe loader, C or Python
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ReferenceDataError(str(path), "", f"{line}not valid YAML ({problem})") from None


def _validate(model: type[M], data: Any, path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        extra = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise ReferenceDataError(str(path), field, f"{first['msg']}{extra}") from None


def _walk_cited(obj: Any, trail: str) -> Iterable[tuple[str, Cited]]:
    """Yield every cited object below ``obj`` with its dotted path."""
    if isinstance(obj, Cited):
        yield trail, obj
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _walk_cited(getattr(obj, name), f"{trail}.{name}" if trail else name)
    elif isinstance(obj, list | tuple):
        for i, item in enumerate(obj):
            yield from _walk_cited(item, f"{trail}.{i}")
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from _walk_cited(item, f"{trail}.{key}")


def _check_sources(model: BaseModel, documents: dict[str, Document], path: Path) -> None:
    for trail, cited in _walk_cited(model, ""):
        for name, src in (("source", cited.source), ("maximum_source", cited.maximum_source)):
            if src is not None and src.document not in documents:
                raise ReferenceDataError(
                    str(path),
                    f"{trail}.{name}.document",
                    f"document {src.document!r} is not listed under 'documents' "
                    f"(known: {', '.join(sorted(documents)) or 'none'})",
                )


def load_reference(data_dir: Path | None = None) -> Reference:
    """Read, validate and cross-check every reference file under ``data_dir``."""
    base = data_dir or DATA_DIR
    meta = _validate(MetaFile, _read_yaml(base / "meta.yaml"), base / "meta.yaml")
    ind_path, mus_path, saf_path, red_path = (
        base / "indications.yaml",
        base / "muscles.yaml",
        base / "safety.yaml",
        base / "red_flags.yaml",
    )
    indications = _validate(IndicationFile, _read_yaml(ind_path), ind_path)
    muscles = _validate(MuscleFile, _read_yaml(mus_path), mus_path)
    safety = _validate(SafetyFile, _read_yaml(saf_path), saf_path)
    red = _validate(RedFlagFile, _read_yaml(red_path), red_path)
    med_path = base / "medicines.yaml"
    medicines = _validate(MedicinesFile, _read_yaml(med_path), med_path)
    documents: dict[str, Document] = {}
    for model, path in (
        (indications, ind_path),
        (muscles, mus_path),
        (safety, saf_path),
        (red, red_path),
        (medicines, med_path),
    ):
        _check_sources(model, model.documents, path)
        _merge_documents(documents, model.documents, path)
    drug_classes = [*safety.drug_classes, *medicines.drug_classes]
    ids = [d.id for d in drug_classes]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        raise ReferenceDataError(str(med_path), f"drug_classes.{dup}",
                                 "drug class defined twice (safety.yaml and medicines.yaml)")

    product_paths = sorted((base / "products").glob("*.yaml"))
    if not product_paths:
        raise ReferenceDataError(str(base / "products"), "", "no product files found")
    products: list[tuple[ProductFile, Path]] = []
    for path in product_paths:
        pf = _validate(ProductFile, _read_yaml(path), path)
        _check_sources(pf, pf.documents, path)
        _merge_documents(documents, pf.documents, path)
        products.append((pf, path))

    ref = Reference.build(
        version=meta.version,
        released=meta.released,
        documents=documents,
        indications=indications.indications,
        muscles=muscles.muscles,
        conditions=safety.conditions,
        triage=TriageData(advice=red.advice, matching=red.matching, red_flags=red.red_flags),
        drug_classes=drug_classes,
        products=[pf.product for pf, _ in products],
        scales=load_scales(base),
        patterns=load_patterns(base, documents, indications.indications, muscles.muscles),
    )
    for pf, path in products:
        _check_product_names(ref, pf, path)
    return ref


# -- patterns (patterns.yaml) ----------------------------------------------------------------
def load_patterns(base: Path, documents: dict[str, Document], indications: Iterable[Indication],
                  muscles: Iterable[Muscle]) -> list[Pattern]:
    """The posture and pattern templates of ``base/patterns.yaml`` (none where the file is
    absent), validated: every indication and muscle a pattern names must exist, and every
    source must name a document of any reference file (``documents``, updated with the
    file's own)."""
    path = base / "patterns.yaml"
    if not path.exists():
        return []
    pf = _validate(PatternFile, _read_yaml(path), path)
    _merge_documents(documents, pf.documents, path)
    known_ind = {i.id for i in indications}
    known_mus = {m.id for m in muscles}
    for i, p in enumerate(pf.patterns):
        where = f"patterns.{i}"
        for j, name in enumerate(p.indications):
            if name not in known_ind:
                raise ReferenceDataError(str(path), f"{where}.indications.{j}",
                                         f"unknown indication {name!r}")
        for j, m in enumerate(p.muscles):
            if m.muscle not in known_mus:
                raise ReferenceDataError(str(path), f"{where}.muscles.{j}.muscle",
                                         f"unknown muscle {m.muscle!r} (add it to muscles.yaml)")
        for j, src in enumerate(p.sources):
            if src.document not in documents:
                raise ReferenceDataError(
                    str(path), f"{where}.sources.{j}.document",
                    f"document {src.document!r} is not listed under 'documents' of any "
                    "reference file")
    return pf.patterns
# -- end of patterns -------------------------------------------------------------------------


def _merge_documents(into: dict[str, Document], new: dict[str, Document], path: Path) -> None:
    for key, doc in new.items():
        if key in into and into[key] != doc:
            raise ReferenceDataError(
                str(path), f"documents.{key}", "defined differently in another file"
            )
        into[key] = doc


def _check_product_names(ref: Reference, pf: ProductFile, path: Path) -> None:
    """Every indication, muscle and condition a product file names must exist."""
    p = pf.product
    seen: dict[str, list[tuple[int, int]]] = {}
    for i, entry in enumerate(p.labels):
        where = f"product.labels.{i}"
        if entry.indication not in ref.indications:
            raise ReferenceDataError(
                str(path), f"{where}.indication", f"unknown indication {entry.indication!r}"
            )
        lo, hi = entry.ages.min, entry.ages.max if entry.ages.max is not None else 200
        if hi < lo:
            raise ReferenceDataError(str(path), f"{where}.ages", "max is below min")
        for a, b in seen.get(entry.indication, []):
            if lo <= b and a <= hi:
                raise ReferenceDataError(
                    str(path),
                    f"{where}.ages",
                    f"ages {lo}-{hi} overlap another {entry.indication} entry ({a}-{b}): "
                    "the entry for a patient's age must be unambiguous",
                )
        seen.setdefault(entry.indication, []).append((lo, hi))
        for name in entry.retreatment_also_after:
            if name not in ref.indications:
                raise ReferenceDataError(
                    str(path), f"{where}.retreatment_also_after", f"unknown indication {name!r}"
                )
        for k, other in enumerate(entry.retreatment_after_other):
            for name in other.after:
                if name not in ref.indications:
                    raise ReferenceDataError(
                        str(path), f"{where}.retreatment_after_other.{k}.after",
                        f"unknown indication {name!r}",
                    )
        in_rows: set[str] = set()
        for j, row in enumerate(entry.muscles):
            for m in row.row_muscles:
                if m not in ref.muscles:
                    raise ReferenceDataError(
                        str(path), f"{where}.muscles.{j}.muscle", f"unknown muscle {m!r}"
                    )
                if m in in_rows:
                    raise ReferenceDataError(
                        str(path),
                        f"{where}.muscles.{j}.muscle",
                        f"muscle {m!r} is in two rows of one dosing table",
                    )
                in_rows.add(m)
        for j, lim in enumerate(entry.muscle_limits):
            if lim.muscle not in ref.muscles:
                raise ReferenceDataError(
                    str(path),
                    f"{where}.muscle_limits.{j}.muscle",
                    f"unknown muscle {lim.muscle!r}",
                )
    for i, cum in enumerate(p.cumulative_limits):
        for name in cum.indications:
            if name not in ref.indications:
                raise ReferenceDataError(
                    str(path),
                    f"product.cumulative_limits.{i}.indications",
                    f"unknown indication {name!r}",
                )
    for i, cond in enumerate(p.conditions):
        if cond.condition not in ref.conditions:
            raise ReferenceDataError(
                str(path),
                f"product.conditions.{i}.condition",
                f"unknown condition flag {cond.condition!r} (add it to safety.yaml)",
            )
        for name in cond.indications:
            if name not in ref.indications:
                raise ReferenceDataError(
                    str(path),
                    f"product.conditions.{i}.indications",
                    f"unknown indication {name!r}",
                )
    for i, ix in enumerate(p.interactions):
        if ref.drug_class_id(ix.drug_class) is None:
            raise ReferenceDataError(
                str(path),
                f"product.interactions.{i}.drug_class",
                f"{ix.drug_class!r} matches no drug class in medicines.yaml (by name or "
                "synonym): the interaction would never be found",
            )
    for i, se in enumerate(p.side_effects):
        if se.indication is not None and se.indication not in ref.indications:
            raise ReferenceDataError(
                str(path),
                f"product.side_effects.{i}.indication",
                f"unknown indication {se.indication!r}",
            )


# -- outcome scales (scales.yaml) ------------------------------------------------------------
def load_scales(base: Path) -> list[OutcomeScale]:
    """The outcome scales of ``base/scales.yaml``, validated (a scale without a plain name or
    its FHIR coding is a ``ReferenceDataError`` naming the file and the field)."""
    path = base / "scales.yaml"
    return _validate(ScaleFile, _read_yaml(path), path).scales
# -- end of outcome scales -------------------------------------------------------------------


@cache
def default_reference() -> Reference:
    """The bundled reference data, loaded once per process."""
    return load_reference()
