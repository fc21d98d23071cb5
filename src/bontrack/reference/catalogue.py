"""The loaded reference data as one read-only value with look-ups.

``Reference`` is what the clinical core receives: it holds no file handles and does no I/O,
so rules stay pure functions of (plan, reference, history, day).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from bontrack.reference.schema import (
    ConditionFlag,
    Document,
    DrugClass,
    Indication,
    Interaction,
    LabelEntry,
    Muscle,
    Product,
    RedFlag,
    TriageData,
)

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)
def normalise(name: str) -> str:
    """Fold case, punctuation and spaces so 'Botox®', 'BOTOX' and 'botox' meet."""
    return _NOT_ALNUM.sub("", name.lower())


@dataclass(frozen=True)
class Reference:
    version: str
    released: str
    documents: Mapping[str, Document]
    products: Mapping[str, Product]
    indications: Mapping[str, Indication]
    muscles: Mapping[str, Muscle]
    conditions: Mapping[str, ConditionFlag]
    red_flags: Sequence[RedFlag]
    triage: TriageData
    drug_classes: Mapping[str, DrugClass]
    _product_names: Mapping[str, str] = field(repr=False)
    _indication_names: Mapping[str, str] = field(repr=False)
    _muscle_names: Mapping[str, str] = field(repr=False)
    _condition_names: Mapping[str, str] = field(repr=False)
    _interactions: Mapping[str, Mapping[str, Interaction]] = field(repr=False)
    _citations: dict[tuple[str, str], str] = field(repr=False, default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        version: str,
        released: str,
        documents: Mapping[str, Document],
        indications: Sequence[Indication],
        muscles: Sequence[Muscle],
        conditions: Sequence[ConditionFlag],
        triage: TriageData,
        drug_classes: Sequence[DrugClass],
        products: Sequence[Product],
    ) -> Reference:
        prod_names: dict[str, str] = {}
        for p in products:
            for n in (p.id, *p.brands):
                prod_names[normalise(n)] = p.id
        ind_names = _names({i.id: (i.name, *i.synonyms) for i in indications})
        mus_names = _names({m.id: (m.name, *m.synonyms) for m in muscles})
        cond_names = _names({c.id: (c.name, *c.synonyms) for c in conditions})
        classes = {d.id: d for d in drug_classes}
        class_names = _names({d.id: (d.name, *d.synonyms) for d in drug_classes})
        interactions = {
            p.id: MappingProxyType(_interaction_index(p.interactions, classes, class_names))
            for p in products
        }
        return cls(
            version=version,
            released=released,
            documents=MappingProxyType(dict(documents)),
            products=MappingProxyType({p.id: p for p in products}),
            indications=MappingProxyType({i.id: i for i in indications}),
            muscles=MappingProxyType({m.id: m for m in muscles}),
            conditions=MappingProxyType({c.id: c for c in conditions}),
            red_flags=tuple(triage.red_flags),
            triage=triage,
            drug_classes=MappingProxyType(classes),
            _product_names=MappingProxyType(prod_names),
            _indication_names=MappingProxyType(ind_names),
            _muscle_names=MappingProxyType(mus_names),
            _condition_names=MappingProxyType(cond_names),
            _interactions=MappingProxyType(interactions),
        )

    # -- name resolution -------------------------------------------------------------------
    def product_id(self, name: str) -> str | None:
        return self._product_names.get(normalise(name))

    def indication_id(self, name: str) -> str | None:
        return self._indication_names.get(normalise(name))

    def muscle_id(self, name: str) -> str | None:
        return self._muscle_names.get(normalise(name))

    def condition_id(self, name: str) -> str | None:
        return self._condition_names.get(normalise(name))

    def suggest(self, kind: str, name: str, n: int = 3) -> list[str]:
        """Closest known ids for a misspelt name (by id, name or synonym)."""
        table = {
            "product": self._product_names,
            "indication": self._indication_names,
            "muscle": self._muscle_names,
            "condition": self._condition_names,
        }[kind]
        hits = difflib.get_close_matches(normalise(name), list(table), n=n * 3, cutoff=0.6)
        out: list[str] = []
        for h in hits:
            if table[h] not in out:
                out.append(table[h])
        return out[:n]

    # -- labels ---------------------------------------------------------------------------
    def label_entries(self, product_id: str, indication_id: str) -> list[LabelEntry]:
        return [e for e in self.products[product_id].labels if e.indication == indication_id]

    def label_for_age(
        self, product_id: str, indication_id: str, age_years: int
    ) -> LabelEntry | None:
        """The label entry whose age range holds the patient's age (adult vs paediatric)."""
        for e in self.label_entries(product_id, indication_id):
            if e.ages.min <= age_years and (e.ages.max is None or age_years <= e.ages.max):
                return e
        return None

    def interaction_for(self, product_id: str, medication: str) -> Interaction | None:
        """The label interaction a medication falls under: by the generic names the label
        lists, or through membership of the drug class the label names."""
        return self._interactions[product_id].get(normalise(medication))

    def citation(self, document_key: str, section: str) -> str:
        """A one-line citation: title, revision, section."""
        key = (document_key, section)
        cached = self._citations.get(key)
        if cached is None:
            doc = self.documents.get(document_key)
            cached = (
                f"{document_key}, {section}"
                if doc is None
                else f"{doc.title} (rev. {doc.revised}), {section}"
            )
            self._citations[key] = cached
        return cached


def _names(table: Mapping[str, Sequence[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ident, names in table.items():
        out[normalise(ident)] = ident
        for n in names:
            out.setdefault(normalise(n), ident)
    return out


def _interaction_index(
    interactions: Sequence[Interaction],
    classes: Mapping[str, DrugClass],
    class_names: Mapping[str, str],
) -> dict[str, Interaction]:
    """Normalised medication name -> the first label interaction it falls under."""
    index: dict[str, Interaction] = {}
    for ix in interactions:
        names = {ix.drug_class, *ix.members}
        for n in list(names):
            cls = class_names.get(normalise(n))
            if cls is not None:
                d = classes[cls]
                names |= {d.id, d.name, *d.synonyms, *d.members}
        for n in names:
            index.setdefault(normalise(n), ix)
    return index
