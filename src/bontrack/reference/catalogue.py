"""The loaded reference data as one read-only value with look-ups.

``Reference`` is what the clinical core receives: it holds no file handles and does no I/O,
so rules stay pure functions of (plan, reference, history, day).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any, TypeVar, cast

from bontrack.reference.schema import (
    ConditionFlag,
    Document,
    DrugClass,
    DrugMember,
    Indication,
    Interaction,
    LabelEntry,
    Muscle,
    MuscleDose,
    OutcomeScale,
    Pattern,
    Product,
    RedFlag,
    TriageData,
)

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
#: Where one medicine entry holds several (combination products, lists typed in one line).
_SEPARATORS = re.compile(r"[/+,;&]|\band\b|\bwith\b|\bplus\b")
_PARENS = re.compile(r"\(([^)]*)\)")
#: A dose with its unit, per-unit included ("10 mg", "5 mg/kg", "0.5mL", "750"): removed
#: before the entry is split, so that "mg/kg" is not read as two medicines.
_DOSE = re.compile(r"\d[\d.,]*\s*[a-zµ%]*(\s*/\s*[a-z0-9]+)*")
#: A misspelling is read as a known medicine only this close (difflib ratio), and only when
#: it is close to one medicine alone; shorter words are never guessed.
_READ_AS_CUTOFF = 0.8
_SUGGEST_CUTOFF = 0.6
_MIN_GUESS_LENGTH = 5
#: How many medication entries' readings are kept (about 1 MB at most).
_MEDICATION_READS_KEPT = 4096
#: How many derived values (``Reference.derived``) are kept: far more than the reference's
#: own label entries and products, so that only foreign values could ever reach it.
_DERIVED_KEPT = 4096

T = TypeVar("T")


@lru_cache(maxsize=4096)
def normalise(name: str) -> str:
    """Fold case, punctuation and spaces so 'Botox®', 'BOTOX' and 'botox' meet."""
    return _NOT_ALNUM.sub("", name.lower())


@dataclass(frozen=True, slots=True)
class MedicineName:
    """A name the reference knows: the medicine (generic name, or a class's name) and the
    drug classes it belongs to. ``product`` is set for a botulinum toxin product's names."""

    medicine: str
    classes: frozenset[str]
    product: str | None = None


@dataclass(frozen=True, slots=True)
class MedicationMatch:
    """How one entry of a patient's medication list was read.

    ``known`` is None when no known medicine was found in the text; ``read_as`` says the text
    was taken for a misspelling of ``known``; ``suggestions`` are close names when it was not
    read at all (or was ambiguous)."""

    text: str
    known: MedicineName | None
    read_as: bool = False
    suggestions: tuple[str, ...] = ()


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
    _class_names: Mapping[str, str] = field(repr=False, default_factory=dict)
    _medicines: Mapping[str, MedicineName] = field(repr=False, default_factory=dict)
    _class_interactions: Mapping[str, Mapping[str, tuple[Interaction, ...]]] = field(
        repr=False, default_factory=dict
    )
    _citations: dict[tuple[str, str], str] = field(repr=False, default_factory=dict)
    #: Each label entry's dosing table by muscle (``id(entry)``: entries live as long as the
    #: reference), built once here so that no plan check rebuilds it.
    _muscle_rows: Mapping[int, Mapping[str, MuscleDose]] = field(
        repr=False, default_factory=dict
    )
    #: Each kind's names as typed most often (ids, names, synonyms, brands, in lower and
    #: upper case, capitalised) with the id they resolve to: the plan reader's first
    #: look-up, the same answer as ``product_id`` & co. without folding the text.
    exact_names: Mapping[str, Mapping[str, str]] = field(repr=False, default_factory=dict)
    #: Each (product, indication)'s label entries in file order, indexed once.
    _label_entries: Mapping[tuple[str, str], tuple[LabelEntry, ...]] = field(
        repr=False, default_factory=dict
    )
    #: How medication entries were read (a pure function of the text): a plan check reads
    #: the same few names again and again. Bounded; see ``medications``.
    _medication_reads: dict[str, tuple[MedicationMatch, ...]] = field(
        repr=False, default_factory=dict
    )
    #: What the clinical core derives from one of this reference's values alone (a label
    #: entry's dosing table as the rules read it, its fixed message parts): built at the
    #: first use and kept with the value it was built from; see ``derived``.
    _derived: dict[tuple[str, int], tuple[object, Any]] = field(
        repr=False, default_factory=dict, compare=False
    )
    #: Outcome scales by id, in the order of scales.yaml.
    scales: Mapping[str, OutcomeScale] = field(default_factory=dict)
    #: Posture and pattern templates (patterns.yaml), in file order.
    patterns: Mapping[str, Pattern] = field(default_factory=dict)

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
        scales: Sequence[OutcomeScale] = (),
        patterns: Sequence[Pattern] = (),
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
        medicines = _medicine_names(drug_classes, products)
        class_interactions = {
            p.id: MappingProxyType(_class_interaction_index(p.interactions, class_names))
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
            _class_names=MappingProxyType(class_names),
            _medicines=MappingProxyType(medicines),
            _class_interactions=MappingProxyType(class_interactions),
            scales=MappingProxyType({s.id: s for s in scales}),
            patterns=MappingProxyType({p.id: p for p in patterns}),
            exact_names=MappingProxyType({
                "product": _exact(prod_names, [(p.id, *p.brands) for p in products]),
                "indication": _exact(
                    ind_names, [(i.id, i.name, *i.synonyms) for i in indications]
                ),
                "muscle": _exact(mus_names, [(m.id, m.name, *m.synonyms) for m in muscles]),
                "condition": _exact(
                    cond_names, [(c.id, c.name, *c.synonyms) for c in conditions]
                ),
            }),
            _label_entries=MappingProxyType(_entries_by_indication(products)),
            _muscle_rows=MappingProxyType({
                id(e): MappingProxyType({m: r for r in e.muscles for m in r.row_muscles})
                for p in products
                for e in p.labels
            }),
        )

    # -- outcome scales --------------------------------------------------------------------
    def scale_by_coding(self, system: str | None, code: str | None) -> str | None:
        """The id of the outcome scale coded ``system|code`` in scales.yaml (None: none)."""
        for s in self.scales.values():
            for c in s.fhir.codings:
                if c.system == system and c.code == code:
                    return s.id
        return None

    # -- name resolution -------------------------------------------------------------------
    def product_by_ndc(self, code: str) -> str | None:
        """The product a US National Drug Code (product or package NDC, hyphenated or 11
        digits) names, from the products' cited NDCs; None when no product or several do."""
        hits = {p.id for p in self.products.values() if any(n.names(code) for n in p.ndc)}
        return hits.pop() if len(hits) == 1 else None

    def product_by_rxnorm(self, code: str) -> str | None:
        """The product an RxNorm code (RxCUI) names, from the products' cited RxNorm codes;
        None when no product or several do."""
        hits = {p.id for p in self.products.values() if any(r.code == code for r in p.rxnorm)}
        return hits.pop() if len(hits) == 1 else None

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
        return list(self._entries(product_id, indication_id))

    def _entries(self, product_id: str, indication_id: str) -> tuple[LabelEntry, ...]:
        found = self._label_entries.get((product_id, indication_id))
        if found is None:  # a product this reference does not index (raises KeyError as before)
            return tuple(
                e for e in self.products[product_id].labels if e.indication == indication_id
            )
        return found

    def muscle_rows(self, entry: LabelEntry) -> Mapping[str, MuscleDose]:
        """The entry's dosing-table row of each muscle (a row shared by several muscles
        under each of them)."""
        rows = self._muscle_rows.get(id(entry))
        if rows is None:  # an entry that is not this reference's own
            return {m: r for r in entry.muscles for m in r.row_muscles}
        return rows

    def label_for_age(
        self, product_id: str, indication_id: str, age_years: int
    ) -> LabelEntry | None:
        """The label entry whose age range holds the patient's age (adult vs paediatric)."""
        for e in self._entries(product_id, indication_id):
            if e.ages.min <= age_years and (e.ages.max is None or age_years <= e.ages.max):
                return e
        return None

    def interaction_for(self, product_id: str, medication: str) -> Interaction | None:
        """The label interaction a medication falls under: by the generic names the label
        lists, or through membership of the drug class the label names."""
        return self._interactions[product_id].get(normalise(medication))

    def drug_class_id(self, name: str) -> str | None:
        """The drug class a label's class words name (by id, name or synonym)."""
        return self._class_names.get(normalise(name))

    def class_members(self, class_id: str) -> list[str]:
        """Every generic name of a class, with the botulinum toxin products for the class
        whose members are the product files."""
        d = self.drug_classes[class_id]
        names = [m.name for m in d.members]
        if d.members_from_products:
            names += list(self.products)
        return names

    def medications(self, text: str) -> tuple[MedicationMatch, ...]:
        """Read one entry of a medication list, one match per medicine it names (a
        combination 'carisoprodol/aspirin' names two). Case and punctuation are ignored, and
        so is dose or frequency text ("Baclofen 10 mg tds" is baclofen); a brand name reads
        as its generic medicine. A misspelling is read as a known medicine only when it is
        close to that one alone; otherwise the closest names are suggested."""
        found = self._medication_reads.get(text)
        if found is None:
            found = tuple(self._read_piece(piece, segs) for piece, segs in _pieces(text))
            if len(self._medication_reads) < _MEDICATION_READS_KEPT:
                self._medication_reads[text] = found
        return found

    def medication(self, text: str) -> MedicationMatch:
        """The first medicine one entry names (see ``medications``)."""
        found = self.medications(text)
        return found[0] if found else MedicationMatch(text, None)

    def _read_piece(self, piece: str, segs: list[list[str]]) -> MedicationMatch:
        for seg in segs:  # the longest run of words that is a known name, leftmost first
            for size in range(len(seg), 0, -1):
                for start in range(len(seg) - size + 1):
                    hit = self._medicines.get(normalise(" ".join(seg[start:start + size])))
                    if hit is not None:
                        return MedicationMatch(piece, hit)
        close: dict[str, MedicineName] = {}
        wide: list[str] = []
        for w in [w for seg in segs for w in (" ".join(seg), *seg)]:
            key = normalise(w)
            if len(key) < _MIN_GUESS_LENGTH:
                continue
            for near in difflib.get_close_matches(key, list(self._medicines), n=6,
                                                  cutoff=_SUGGEST_CUTOFF):
                name = self._medicines[near]
                if difflib.SequenceMatcher(None, key, near).ratio() >= _READ_AS_CUTOFF:
                    close.setdefault(name.medicine, name)
                if name.medicine not in wide:
                    wide.append(name.medicine)
        if len(close) == 1:
            return MedicationMatch(piece, next(iter(close.values())), read_as=True)
        return MedicationMatch(piece, None, suggestions=tuple((list(close) or wide)[:3]))

    def interactions_of(self, product_id: str, medicine: MedicineName) -> tuple[Interaction, ...]:
        """The label interactions of ``product_id`` a known medicine falls under (a product
        is never 'another botulinum toxin product' to itself)."""
        if medicine.product == product_id:
            return ()
        index = self._class_interactions[product_id]
        out: list[Interaction] = []
        for cls in sorted(medicine.classes):
            for ix in index.get(cls, ()):
                if ix not in out:
                    out.append(ix)
        return tuple(out)

    def derived(self, kind: str, of: Any, build: Callable[[Reference, Any], T]) -> T:
        """``build(self, of)``, built once per reference for each ``kind`` and value: a plan check
        reads the same label entry's tables in every check. ``of`` is held by identity (kept
        with the answer, so that its id is not reused while the answer is); ``build`` must
        be a pure function of ``of`` and this reference."""
        key = (kind, id(of))
        hit = self._derived.get(key)
        if hit is not None and hit[0] is of:
            return cast(T, hit[1])
        value = build(self, of)
        if len(self._derived) < _DERIVED_KEPT:
            self._derived[key] = (of, value)
        return value

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


def _entries_by_indication(products: Sequence[Product]
                           ) -> dict[tuple[str, str], tuple[LabelEntry, ...]]:
    out: dict[tuple[str, str], list[LabelEntry]] = {}
    for p in products:
        for e in p.labels:
            out.setdefault((p.id, e.indication), []).append(e)
    return {key: tuple(entries) for key, entries in out.items()}


def _exact(folded: Mapping[str, str], spellings: Sequence[Sequence[str]]
           ) -> Mapping[str, str]:
    """Each spelling (as written, in lower and upper case, capitalised) with the id that
    ``folded`` gives it; only spellings the plan reader takes as they are (no space at
    either end)."""
    out: dict[str, str] = {}
    for names in spellings:
        for name in names:
            for s in (name, name.lower(), name.upper(), name.capitalize()):
                found = folded.get(normalise(s))
                if found is not None and s and s == s.strip() and len(s) <= 200:
                    out[s] = found
    return MappingProxyType(out)


def _names(table: Mapping[str, Sequence[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ident, names in table.items():
        out[normalise(ident)] = ident
        for n in names:
            out.setdefault(normalise(n), ident)
    return out


def _pieces(text: str) -> list[tuple[str, list[list[str]]]]:
    """The medicines one entry names, each as (its text, runs of words without digits):
    'Lioresal (baclofen) 10 mg tds' is one piece with runs [lioresal], [tds], [baclofen];
    'carisoprodol/aspirin' is two pieces. A piece of numbers alone is dropped."""
    out: list[tuple[str, list[list[str]]]] = []
    for piece in _SEPARATORS.split(_DOSE.sub(" ", text.lower().replace("-", " "))):
        runs: list[list[str]] = []
        for part in (_PARENS.sub(" ", piece), *_PARENS.findall(piece)):
            run: list[str] = []
            for word in part.replace("(", " ").replace(")", " ").split():
                if any(ch.isdigit() for ch in word):
                    if run:
                        runs.append(run)
                    run = []
                else:
                    run.append(word)
            if run:
                runs.append(run)
        if runs:
            out.append((piece.strip(), runs))
    return out


def _medicine_names(classes: Sequence[DrugClass], products: Sequence[Product]
                    ) -> dict[str, MedicineName]:
    """Every known name (normalised) -> the medicine and all the classes it belongs to."""
    members: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    product_of: dict[str, str] = {}

    def add(name: str, medicine: str, cls: str, product: str | None = None) -> None:
        key = normalise(name)
        if not key:
            return
        names.setdefault(key, medicine)
        members.setdefault(key, set()).add(cls)
        if product is not None:
            product_of[key] = product

    for d in classes:
        for n in (d.id, d.name, *d.synonyms):
            add(n, d.name.lower(), d.id)
        for m in d.members:
            for n in _member_names(m):
                add(n, m.name, d.id)
        if d.members_from_products:
            for p in products:
                for n in (p.id, *p.brands):
                    add(n, p.id, d.id, p.id)
    # A generic name in two classes (orphenadrine) carries both, whichever name was typed.
    by_medicine: dict[str, set[str]] = {}
    for key, med in names.items():
        by_medicine.setdefault(med, set()).update(members[key])
    return {
        key: MedicineName(med, frozenset(by_medicine[med]), product_of.get(key))
        for key, med in names.items()
    }


def _member_names(m: DrugMember) -> list[str]:
    return [m.name, *m.synonyms, *m.brand_names]


def _class_interaction_index(
    interactions: Sequence[Interaction], class_names: Mapping[str, str]
) -> dict[str, tuple[Interaction, ...]]:
    """Drug class id -> the product's label interactions that name it."""
    index: dict[str, list[Interaction]] = {}
    for ix in interactions:
        cls = class_names.get(normalise(ix.drug_class))
        if cls is not None and ix not in index.setdefault(cls, []):
            index[cls].append(ix)
    return {k: tuple(v) for k, v in index.items()}


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
                names |= {d.id, d.name, *d.synonyms}
                for m in d.members:
                    names |= set(_member_names(m))
        for n in names:
            index.setdefault(normalise(n), ix)
    return index
