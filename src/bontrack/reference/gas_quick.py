"""The quick entry of a goal's GAS level (issue 17 item 5): plain answers ("achieved", "a
little more", "partly", "no change", "worse" ...), each mapped to one level of the outcome
scale ``gas`` with the words it is quoted from (``reference/data/gas_quick.yaml``). Every
answer cites a document of the file, or the file fails at load; ``fits`` says whether the
levels are exactly the scale's range (tests/clinical/test_gas_quick.py holds the bundled file
to it); ``clinical.gas.quick_level`` turns an answer into its level."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, model_validator

from bontrack.reference.loader import DATA_DIR, _read_yaml, _validate
from bontrack.reference.schema import Document, OutcomeScale, Source, Strict


class QuickAnswer(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=3)
    level: int
    source: Source
    #: how the level follows from the quoted words, when no single line prints it
    derivation: str | None = Field(default=None, min_length=10)


class GasQuickFile(Strict):
    schema_version: int
    scale: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    documents: dict[str, Document] = Field(min_length=1)
    baseline_sources: list[Source] = Field(min_length=1)
    range_source: Source
    answers: list[QuickAnswer] = Field(min_length=2)

    @model_validator(mode="after")
    def _cited(self) -> GasQuickFile:
        for s in [self.range_source, *self.baseline_sources, *(a.source for a in self.answers)]:
            if s.document not in self.documents:
                raise ValueError(f"source document {s.document!r} is not in documents")
        ids = [a.id for a in self.answers]
        if len(set(ids)) != len(ids):
            raise ValueError("two answers share an id")
        return self

    def by_id(self) -> dict[str, QuickAnswer]:
        return {a.id: a for a in self.answers}

    def citation(self, source: Source) -> str:
        doc = self.documents[source.document]
        return f"{doc.title} (rev. {doc.revised}), {source.section}: \u201c{source.quote}\u201d"

    def fits(self, scale: OutcomeScale) -> bool:
        """True when every level lies in the scale's range and every whole level of the
        range is some answer's."""
        rng = scale.values.range
        if rng is None:
            return False
        return ({a.level for a in self.answers}
                == set(range(int(rng.min), int(rng.max) + 1)))


def load_gas_quick(data_dir: Path | None = None) -> GasQuickFile:
    path = (data_dir or DATA_DIR) / "gas_quick.yaml"
    return _validate(GasQuickFile, _read_yaml(path), path)


@cache
def default_gas_quick() -> GasQuickFile:
    """The bundled quick answers, loaded once per process."""
    return load_gas_quick()
