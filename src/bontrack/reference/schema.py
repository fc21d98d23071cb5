"""Pydantic schemas of the reference data files.

Every model that carries a number carries a ``source`` too: the checker never
shows a limit it cannot attribute to a label section or a paper. Models forbid
unknown keys so that a typo in a data file is an error, not a silently ignored
rule.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

Population = Literal["adult", "pediatric", "any"]
Region = Literal[
    "head", "face", "neck", "trunk", "shoulder", "upper_limb", "lower_limb", "gland", "skin",
    "pelvis",
]
Serotype = Literal["A", "B"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Document(Strict):
    """A label or paper that numbers are taken from."""

    title: str = Field(min_length=3)
    publisher: str = Field(min_length=2)
    revised: str = Field(min_length=4, description="revision date as printed, e.g. 2023-11")
    url: str = Field(min_length=8)


class Source(Strict):
    """Where a number comes from: a document key, its section and the quoted words."""

    document: str = Field(min_length=1)
    section: str = Field(min_length=1)
    quote: str = Field(min_length=3)


class Cited(Strict):
    """A value with its source. ``derivation`` says how a number follows from the quoted
    words when it is not printed in them (e.g. "2 sites x 10 U each")."""

    source: Source
    derivation: str | None = None
    maximum_source: Source | None = Field(
        default=None,
        description="for a maximum whose own quote gives a recommended dose: the label's "
        "sentence that says the recommended dose must not be exceeded",
    )


class CitedValue(Cited):
    value: Decimal = Field(ge=0)


class CitedText(Cited):
    text: str = Field(min_length=1)


class Range(Cited):
    """An inclusive range; either end may be open."""

    min: Decimal | None = Field(default=None, ge=0)
    max: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class Interval(Cited):
    """A span of time as the label words it: days, weeks or calendar months."""

    days: int | None = Field(default=None, ge=1)
    weeks: int | None = Field(default=None, ge=1)
    months: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_unit(self) -> Interval:
        given = [x for x in (self.days, self.weeks, self.months) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of days, weeks, months")
        return self

    def describe(self) -> str:
        if self.days is not None:
            return f"{self.days} days"
        if self.weeks is not None:
            return f"{self.weeks} weeks"
        return f"{self.months} months"


class IntervalAfterOther(Interval):
    """A minimum retreatment interval counted from the last treatment for ``after`` (other
    indications), beside the entry's own interval."""

    after: list[str] = Field(min_length=1)


class AgeRange(Cited):
    """Labelled ages in whole years, both ends inclusive (max null = no upper bound)."""

    min: int = Field(ge=0)
    max: int | None = Field(default=None, ge=0)


#: RxNorm term types of a product as a whole (ingredient, brand, drug forms) and of one
#: strength, i.e. one vial size (clinical and branded drug).
RXNORM_PRODUCT_TTYS = frozenset({"IN", "PIN", "BN", "SCDF", "SBDF"})
RXNORM_VIAL_TTYS = frozenset({"SCD", "SBD"})
#: Term types that name a brand: exported only for a product of one brand.
RXNORM_BRANDED_TTYS = frozenset({"BN", "SBDF", "SBD"})


class RxNormCode(Cited):
    """An RxNorm concept (RxCUI) with its RxNorm name and term type as the cited source
    prints them. A clinical or branded drug (SCD, SBD) has a strength, so it names one vial
    size: ``vial_units`` ties it to one of the product's vials; the other term types name
    the product and have none."""

    code: str = Field(pattern=r"^[0-9]+$")
    display: str
    tty: Literal["IN", "PIN", "BN", "SCDF", "SBDF", "SCD", "SBD"] = Field(
        description="RxNorm term type")
    vial_units: Decimal | None = Field(default=None, gt=0)


class NdcCode(Cited):
    """A US National Drug Code of one vial size as its original labeler lists it (openFDA
    NDC directory). ``vial_units`` ties it to one of the product's vial sizes."""

    product_ndc: str = Field(pattern=r"^[0-9]{4,5}-[0-9]{3,4}$",
                             description="labeler-product, as the NDC directory prints it")
    brand: str
    labeler: str
    vial_units: Decimal = Field(gt=0)

    def eleven_digit_prefix(self) -> str:
        """The 9 digits an 11-digit (5-4-2) NDC of this product starts with."""
        labeler, product = self.product_ndc.split("-")
        return labeler.zfill(5) + product.zfill(4)

    def names(self, code: str) -> bool:
        """True if ``code`` (product NDC, package NDC with hyphens, or 11 digits) is this."""
        code = code.strip()
        if "-" in code:
            return code == self.product_ndc or code.startswith(self.product_ndc + "-")
        return len(code) == 11 and code.isdigit() and code.startswith(
            self.eleven_digit_prefix())


class Vial(Cited):
    size_units: Decimal = Field(gt=0)


class Reconstitution(Cited):
    """Diluent volumes the label lists for one vial size."""

    size_units: Decimal = Field(gt=0)
    diluent_ml: list[Decimal] = Field(min_length=1)


class WeightBasedLimit(Cited):
    """A paediatric limit: units per kg, capped at an absolute number, whichever is lower.

    scope ``session`` applies to the plan's total; ``per_limb`` to the units given in one
    limb (a region of upper_limb or lower_limb on one side).
    """

    scope: Literal["session", "per_limb"] = "session"
    max_units_per_kg: Decimal = Field(gt=0)
    cap_units: Decimal | None = Field(default=None, gt=0)


class CumulativeLimit(Cited):
    """A hard maximum on this product's units summed over more than one plan: this plan plus
    the same product's earlier treatments in the history (never another product's units).

    ``window``: the span of time ending on the plan's day (e.g. 3 months); none means one
    treatment session (the plan's day: other treatments recorded on the same day count).
    ``indications``: the indications whose units count (and to which the limit applies);
    empty means every indication of the product.
    """

    population: Population
    window: Interval | None = None
    indications: list[str] = Field(default_factory=list)
    max_units: Decimal | None = Field(default=None, gt=0)
    max_units_per_kg: Decimal | None = Field(default=None, gt=0)

    def applies_to(self, indication: str) -> bool:
        return not self.indications or indication in self.indications

    def describe_window(self) -> str:
        return "one treatment session" if self.window is None else self.window.describe()

    @model_validator(mode="after")
    def _some_limit(self) -> CumulativeLimit:
        if self.max_units is None and self.max_units_per_kg is None:
            raise ValueError("give max_units, max_units_per_kg or both")
        return self


class MuscleDose(Cited):
    """One row of a label's dosing table. A row the label gives to several muscles together
    (e.g. "Flexor pollicis brevis/Opponens pollicis") names the others in ``together_with``:
    their units are summed (per side) and compared with the row once."""

    muscle: str
    together_with: list[str] = Field(default_factory=list)
    units: Range | None = None
    units_per_kg: Range | None = None
    sites: Range | None = None
    both_sides: bool = Field(
        default=False,
        description="true where the row's numbers are for left and right together "
        "(e.g. a chronic migraine site table); false where they are per side (limb tables)",
    )

    @model_validator(mode="after")
    def _has_dose(self) -> MuscleDose:
        if self.units is None and self.units_per_kg is None and self.sites is None:
            raise ValueError("a dosing-table row needs units, units_per_kg or sites")
        if self.muscle in self.together_with or len(set(self.together_with)) != len(
            self.together_with
        ):
            raise ValueError("together_with repeats a muscle of the row")
        return self

    @property
    def row_muscles(self) -> tuple[str, ...]:
        return (self.muscle, *self.together_with)


class MuscleLimit(Cited):
    """A limit on the units in one muscle (both sides together unless per_side)."""

    muscle: str
    max_units: Decimal = Field(gt=0)
    per_side: bool = False
    finding: Literal["DYSPHAGIA_RISK", "MUSCLE_DOSE_ABOVE_RANGE"] = "DYSPHAGIA_RISK"


class EffectCourse(Strict):
    onset_days: Range | None = None
    peak_days: Range | None = None
    duration_days: Range | None = None


class LabelEntry(Strict):
    """What one product's label says for one indication and population.

    A *maximum* (``session_max_units``, ``weight_based``, the product's ``cumulative_limits``)
    is a number the label says should not be exceeded: above it is a stop. A *recommended*
    dose or range (``usual_units``, ``usual_weight_based``, the ``muscles`` table) is what the
    label recommends: above it, but within every maximum, is a warning. A label's range is
    never entered as a maximum.
    """

    indication: str
    population: Population
    ages: AgeRange
    labelled: bool = Field(
        default=True,
        description="false where the label states the use is not established (kept as data so "
        "the checker can say so)",
    )
    session_max_units: CitedValue | None = None
    usual_units: Range | None = None
    usual_weight_based: list[WeightBasedLimit] = Field(
        default_factory=list,
        description="recommended (not maximum) units per kg, capped, whichever is lower",
    )
    weight_based: list[WeightBasedLimit] = Field(default_factory=list)
    per_site_max_units: CitedValue | None = None
    per_site_max_ml: CitedValue | None = None
    per_site_usual_units: CitedValue | None = Field(
        default=None, description="recommended (not maximum) units per injection site"
    )
    per_site_usual_ml: CitedValue | None = Field(
        default=None, description="recommended (not maximum) volume per injection site"
    )
    retreatment_min_interval: Interval | None = None
    retreatment_after_other: list[IntervalAfterOther] = Field(
        default_factory=list,
        description="a minimum interval counted from the last treatment for other indications "
        "(a child treated for both upper- and lower-limb spasticity: 'should not occur in "
        "intervals of less than 3 months')",
    )
    retreatment_also_after: list[str] = Field(
        default_factory=list,
        description="other indications whose last treatment also starts the interval (e.g. "
        "'no sooner than 12 weeks from the prior bladder injection': OAB and NDO)",
    )
    muscle_limits: list[MuscleLimit] = Field(default_factory=list)
    muscles: list[MuscleDose] = Field(default_factory=list)
    muscles_complete: bool = Field(
        default=False,
        description="true only where every row of the label's dosing table is in `muscles`; "
        "a muscle missing from an incomplete copy is 'not in bontrack's copy', never "
        "'not in the label'",
    )
    effect_course: EffectCourse | None = None
    notes: list[CitedText] = Field(default_factory=list)


class ConditionRule(Cited):
    """A patient condition flag the label speaks of (for the indications it names; empty:
    every indication, e.g. an intradetrusor-only contraindication names the bladder ones)."""

    condition: str
    indications: list[str] = Field(default_factory=list)
    kind: Literal["contraindication", "neuromuscular", "dysphagia", "respiratory", "other"]


class Interaction(Cited):
    drug_class: str
    members: list[str] = Field(min_length=1, description="generic names, lower case")


class SideEffect(Cited):
    indication: str | None = None
    term: str
    percent: Decimal | None = Field(default=None, ge=0, le=100)
    comparator_percent: Decimal | None = Field(default=None, ge=0, le=100)


class Product(Strict):
    id: str = Field(pattern=r"^[a-z]+[A-Z]$")
    serotype: Serotype
    brands: list[str] = Field(min_length=1)
    form: Literal["lyophilized_powder", "solution"]
    rxnorm: list[RxNormCode] = Field(default_factory=list)
    ndc: list[NdcCode] = Field(default_factory=list)
    vials: list[Vial] = Field(min_length=1)
    solution_units_per_ml: CitedValue | None = Field(
        default=None, description="for ready-made solutions: units per mL as supplied"
    )
    units_statement: CitedText | None = Field(
        default=None, description="the label's words that its units are not interchangeable"
    )
    diluent: CitedText | None = None
    reconstitution: list[Reconstitution] = Field(default_factory=list)
    use_within_hours_after_reconstitution: CitedValue | None = None
    storage: list[CitedText] = Field(default_factory=list)
    cumulative_limits: list[CumulativeLimit] = Field(default_factory=list)
    conditions: list[ConditionRule] = Field(default_factory=list)
    interactions: list[Interaction] = Field(default_factory=list)
    side_effects: list[SideEffect] = Field(default_factory=list)
    labels: list[LabelEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _ndc_sizes_are_vials(self) -> Product:
        sizes = {v.size_units for v in self.vials}
        for n in self.ndc:
            if n.vial_units not in sizes:
                raise ValueError(f"ndc {n.product_ndc}: vial_units {n.vial_units} is not one "
                                 f"of the product's vial sizes {sorted(sizes)}")
        for r in self.rxnorm:
            if r.tty in RXNORM_VIAL_TTYS and r.vial_units not in sizes:
                raise ValueError(f"rxnorm {r.code}: a {r.tty} has a strength; its vial_units "
                                 f"({r.vial_units}) must be one of the product's vial sizes "
                                 f"{sorted(sizes)}")
            if r.tty in RXNORM_PRODUCT_TTYS and r.vial_units is not None:
                raise ValueError(f"rxnorm {r.code}: a {r.tty} names the product, not a vial "
                                 "size; give no vial_units")
        return self


class ProductFile(Strict):
    schema_version: Literal[1]
    documents: dict[str, Document]
    product: Product


class Icd10Code(Cited):
    code: str = Field(pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
    display: str


class Indication(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    synonyms: list[str] = Field(default_factory=list)
    group: Literal["spasticity", "dystonia", "headache", "autonomic", "cosmetic", "other"]
    icd10cm: list[Icd10Code] = Field(default_factory=list)


class IndicationFile(Strict):
    schema_version: Literal[1]
    documents: dict[str, Document]
    indications: list[Indication]


class SnomedCode(Cited):
    code: str = Field(pattern=r"^[0-9]{6,18}$")
    display: str


class Muscle(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    synonyms: list[str] = Field(default_factory=list)
    region: Region
    paired: bool
    kind: Literal["muscle", "muscle_group", "gland", "skin_region"] = "muscle"
    snomed: SnomedCode | None = None


class MuscleFile(Strict):
    schema_version: Literal[1]
    documents: dict[str, Document]
    muscles: list[Muscle]


class ConditionFlag(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    synonyms: list[str] = Field(default_factory=list)


class Citation(Cited):
    """A further source for the same entry (e.g. the patient wording of a label warning)."""


class RedFlag(Cited):
    """A symptom that needs urgent care, with the words patients use for it: ``phrases``
    mean it (urgent); ``vague`` words may mean it (unclear: the clinic calls back)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    plain_language: str
    phrases: list[str] = Field(min_length=1)
    vague: list[str] = Field(default_factory=list)
    also_cited: list[Citation] = Field(default_factory=list)


class FuzzySpelling(Strict):
    """How far a written word may be from a phrase word and still match it (edits, as
    Damerau-Levenshtein distance between word stems): words of ``min_length`` letters or
    more, against phrase words whose stem has ``min_stem_length`` letters or more."""

    min_length: int = Field(ge=3)
    min_stem_length: int = Field(ge=3)
    max_edits: int = Field(ge=0, le=3)
    long_min_length: int = Field(ge=3)
    long_max_edits: int = Field(ge=0, le=3)


class TriageMatching(Strict):
    """How patients' words are read: see docs/triage.md."""

    ignore_words: list[str]
    max_extra_words: int = Field(ge=0, le=10)
    rewrites: dict[str, str]
    negations: list[str] = Field(min_length=1)
    negation_scope_words: int = Field(ge=1, le=10)
    clause_breakers: list[str]
    negation_carries: list[str]
    #: Words a negation reaches over to the phrase after it ("not noticed any blurred
    #: vision"); any other word in between ends its reach ("not eating, can't swallow").
    negation_reaches_over: list[str] = Field(default_factory=list)
    fuzzy: FuzzySpelling
    not_misspellings: list[str] = Field(default_factory=list)
    #: A report none of whose red flags matched is read as "not urgent" only if the rule
    #: could read it: when at least this share of its words is neither common English
    #: (zxcvbn's English frequency lists), nor a word of the rule, nor in ``known_words``,
    #: or it has no words at all, it is unclear (another language, gibberish, emoji only).
    unknown_words_share: float = Field(default=1.0, gt=0, le=1)
    #: Words shorter than this are not counted (the lists leave out many short words).
    unknown_min_letters: int = Field(default=1, ge=1, le=10)
    known_words: list[str] = Field(default_factory=list)


class TriageAdvice(Strict):
    """The message a patient sees; ``urgent`` may name the symptoms with ``{symptoms}``."""

    urgent: str = Field(min_length=10)
    unclear: str = Field(min_length=10)
    not_urgent: str = Field(min_length=10)


class TriageData(Strict):
    """Everything the triage rule reads: red flags, their wording, advice and matching."""

    advice: TriageAdvice
    matching: TriageMatching
    red_flags: list[RedFlag] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> TriageData:
        ids = [f.id for f in self.red_flags]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"red flag id listed twice: {', '.join(dup)}")
        return self


class RedFlagFile(TriageData):
    schema_version: Literal[1]
    documents: dict[str, Document]


ATC_CODE = r"^[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$"


class AtcGroup(Cited):
    """A group of the WHO ATC classification a drug class is drawn from (e.g. G04BD); the
    code is printed in the source's quoted words."""

    code: str = Field(pattern=ATC_CODE)
    name: str = Field(min_length=3)


class BrandNames(Cited):
    """Brand names of one medicine, all printed in the source's quoted words."""

    names: list[str] = Field(min_length=1)


class DrugMember(Cited):
    """One medicine of a drug class: its generic name, the ATC codes a readable source prints
    for it (none where none could be read), other generic spellings, and brand names, each
    group with its own source. ``source`` backs the membership and the codes."""

    name: str = Field(min_length=3, description="generic name, lower case")
    atc: list[str] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list, description="other generic spellings")
    brands: list[BrandNames] = Field(default_factory=list)

    @model_validator(mode="after")
    def _codes_are_codes(self) -> DrugMember:
        for code in self.atc:
            if not re.fullmatch(ATC_CODE, code) or len(code) != 7:
                raise ValueError(f"{self.name}: {code!r} is not a 7-character ATC code")
        return self

    @property
    def brand_names(self) -> list[str]:
        return [n for group in self.brands for n in group.names]


class DrugClass(Cited):
    """A drug class a label names (aminoglycosides, anticholinergics...): the ATC groups it is
    drawn from and its members, each cited. ``members_from_products`` marks the class of
    other botulinum toxin products, whose members are the product files themselves."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    synonyms: list[str] = Field(default_factory=list)
    atc: list[AtcGroup] = Field(min_length=1)
    members: list[DrugMember] = Field(default_factory=list)
    members_from_products: bool = False

    @model_validator(mode="after")
    def _has_members(self) -> DrugClass:
        if not self.members and not self.members_from_products:
            raise ValueError(f"drug class {self.id} has no members")
        return self


class SafetyFile(Strict):
    schema_version: Literal[1]
    documents: dict[str, Document]
    conditions: list[ConditionFlag]
    #: Older files kept the drug classes here; they now live in medicines.yaml.
    drug_classes: list[DrugClass] = Field(default_factory=list)


class MedicinesFile(Strict):
    """medicines.yaml: the drug classes the labels' Drug Interactions sections name."""

    schema_version: Literal[1]
    documents: dict[str, Document]
    drug_classes: list[DrugClass] = Field(min_length=1)


class MetaFile(Strict):
    schema_version: Literal[1]
    version: str = Field(min_length=1)
    released: str
    notes: str = ""


# -- patterns (patterns.yaml) ----------------------------------------------------------------
class PatternMuscle(Strict):
    """A muscle a pattern names: ``named_as`` is the source's own words for it; ``side`` is
    the side the clinician picks ("same") or the other one ("opposite")."""

    muscle: str
    named_as: str = Field(min_length=3)
    side: Literal["same", "opposite"] = "same"
    note: str | None = None


class Pattern(Strict):
    """A posture or pattern template: the muscles a cited source groups under one clinical
    pattern. No dose and no sites: those come from the chosen product's label entry."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=3)
    region: Literal["arm", "leg", "neck", "head", "face"]
    indications: list[str] = Field(min_length=1)
    side_means: str = Field(default="the affected side", min_length=3)
    muscles: list[PatternMuscle] = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _muscles_once(self) -> Pattern:
        ids = [m.muscle for m in self.muscles]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"muscle listed twice: {', '.join(dup)}")
        return self


class PatternFile(Strict):
    schema_version: Literal[1]
    documents: dict[str, Document] = Field(default_factory=dict)
    patterns: list[Pattern] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> PatternFile:
        ids = [p.id for p in self.patterns]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"pattern id listed twice: {', '.join(dup)}")
        return self
# -- end of patterns -------------------------------------------------------------------------


# -- outcome scales (scales.yaml) ------------------------------------------------------------
#: The bontrack CodeSystem every outcome scale is coded in (its code is the scale's id).
OUTCOME_SCALE_SYSTEM = "https://fhir.bontrack.org/CodeSystem/outcome-scale"


class ScaleGrade(Strict):
    """A named grade (Modified Ashworth "1+") and the number it is stored as for ordering."""

    label: str = Field(min_length=1)
    value: Decimal


class ScaleRange(Strict):
    """Inclusive numeric range; ``step`` 1 means whole numbers, no step any decimal."""

    min: Decimal
    max: Decimal
    step: Decimal | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ScaleRange:
        if self.min >= self.max:
            raise ValueError(f"min {self.min} is not below max {self.max}")
        return self


class ScaleValues(Strict):
    """Either named grades in order or a numeric range."""

    grades: list[ScaleGrade] = Field(default_factory=list)
    range: ScaleRange | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ScaleValues:
        if bool(self.grades) == (self.range is not None):
            raise ValueError("give either grades or range")
        values = [g.value for g in self.grades]
        if values != sorted(set(values)):
            raise ValueError("grades must be listed in order, each value once")
        return self


class ScaleUnit(Strict):
    """UCUM unit of the value (``{score}`` for scores)."""

    code: str = Field(min_length=1)
    display: str = Field(min_length=1)


class ResponderDef(Strict):
    """A responder reaches ``threshold`` of improvement, counted in ``kind``. ``citation``
    quotes the paper; ``convention`` marks this clinic's convention (no cited threshold)."""

    kind: Literal["steps", "points", "percent"]
    threshold: Decimal = Field(gt=0)
    direction: Literal["down", "up"]
    citation: str = Field(min_length=30)
    convention: bool = False

    @model_validator(mode="after")
    def _labelled(self) -> ResponderDef:
        if self.convention != self.citation.startswith("Clinic convention"):
            raise ValueError("a clinic convention's citation starts 'Clinic convention', "
                             "and only a convention's does")
        return self


class ScaleCoding(Strict):
    system: str = Field(min_length=8)
    code: str = Field(min_length=1)
    display: str = Field(min_length=1)
    source: str | None = Field(default=None, description="where a standard code was verified")


class ScaleFhir(Strict):
    category: Literal["survey", "exam"]
    codings: list[ScaleCoding] = Field(min_length=1)


class OutcomeScale(Strict):
    """One outcome scale: its values, names (clinician and patient words), responder rule
    and FHIR coding."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=3, description="clinician name")
    plain_name: str = Field(min_length=3, description="patient words, on the patient page")
    plain_sentence: str = Field(min_length=3, description="patient words, inside a sentence")
    definition: str | None = Field(default=None, description="the scale's published source")
    values: ScaleValues
    better: Literal["lower", "higher"]
    unit: ScaleUnit
    responder: ResponderDef | None = None
    fhir: ScaleFhir

    @field_validator("responder")
    @classmethod
    def _rule_fits_the_scale(cls, r: ResponderDef | None, info: ValidationInfo
                             ) -> ResponderDef | None:
        better, values = info.data.get("better"), info.data.get("values")
        if r is not None and better is not None:
            if r.direction != ("down" if better == "lower" else "up"):
                raise ValueError(f"direction {r.direction!r} contradicts better: {better}")
            if r.kind == "steps" and values is not None and not values.grades:
                raise ValueError("a 'steps' responder rule needs named grades")
        return r

    @field_validator("fhir")
    @classmethod
    def _coded(cls, fhir: ScaleFhir, info: ValidationInfo) -> ScaleFhir:
        sid = info.data.get("id")
        if not any(c.system == OUTCOME_SCALE_SYSTEM and c.code == sid for c in fhir.codings):
            raise ValueError(f"codings need the coding {OUTCOME_SCALE_SYSTEM}|{sid}")
        return fhir

    @property
    def labels(self) -> tuple[tuple[str, Decimal], ...]:
        return tuple((g.label, g.value) for g in self.values.grades)

    @property
    def low(self) -> Decimal:
        r = self.values.range
        return r.min if r is not None else self.values.grades[0].value

    @property
    def high(self) -> Decimal:
        r = self.values.range
        return r.max if r is not None else self.values.grades[-1].value

    @property
    def step(self) -> Decimal | None:
        r = self.values.range
        return r.step if r is not None else None

    @property
    def lower_is_better(self) -> bool:
        return self.better == "lower"


class ScaleFile(Strict):
    schema_version: Literal[1]
    scales: list[OutcomeScale] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> ScaleFile:
        ids = [s.id for s in self.scales]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"scale id listed twice: {', '.join(dup)}")
        return self


# -- end of outcome scales -------------------------------------------------------------------
