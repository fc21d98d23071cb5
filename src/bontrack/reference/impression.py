"""The global impression of change asked in the cycle diary (issue 17 item 6): seven
answers, each with its words and the source they are quoted from
(``reference/data/global_impression.yaml``). The answer is stored as the number of the
bontrack outcome scale it names (``pgic`` in scales.yaml); a file whose answers do not
cover that scale's range fails at load."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, model_validator

from bontrack.reference.loader import DATA_DIR, _read_yaml, _validate
from bontrack.reference.schema import Document, OutcomeScale, Source, Strict


class ImpressionAnswer(Strict):
    value: int = Field(ge=0)
    label: str = Field(min_length=2)
    source: Source


class ImpressionFile(Strict):
    schema_version: int
    scale: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    question: str = Field(min_length=10)
    documents: dict[str, Document] = Field(min_length=1)
    scale_source: Source
    derivation_source: Source | None = None
    answers: list[ImpressionAnswer] = Field(min_length=2)

    @model_validator(mode="after")
    def _cited(self) -> ImpressionFile:
        sources = [self.scale_source, *(a.source for a in self.answers)]
        if self.derivation_source is not None:
            sources.append(self.derivation_source)
        for s in sources:
            if s.document not in self.documents:
                raise ValueError(f"source document {s.document!r} is not in documents")
        values = [a.value for a in self.answers]
        if len(set(values)) != len(values):
            raise ValueError("two answers share a value")
        return self

    def label_of(self, value: int) -> str | None:
        return next((a.label for a in self.answers if a.value == value), None)

    def citation(self, source: Source) -> str:
        doc = self.documents[source.document]
        return f"{doc.title} (rev. {doc.revised}), {source.section}: \u201c{source.quote}\u201d"

    def fits(self, scale: OutcomeScale) -> bool:
        """True when the answers are exactly the whole numbers of the scale's range."""
        rng = scale.values.range
        if rng is None:
            return False
        return sorted(a.value for a in self.answers) == list(range(int(rng.min),
                                                                   int(rng.max) + 1))


def load_impression(data_dir: Path | None = None) -> ImpressionFile:
    path = (data_dir or DATA_DIR) / "global_impression.yaml"
    return _validate(ImpressionFile, _read_yaml(path), path)


@cache
def default_impression() -> ImpressionFile:
    """The bundled global impression answers, loaded once per process."""
    return load_impression()
