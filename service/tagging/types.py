"""Plain data that goes in and out of the tagging engine (no Flask, no marshmallow)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Label:
    """A zero-shot label: the name the caller sees, with an optional description the model reads."""

    name: str
    description: str | None = None


@dataclass(frozen=True)
class Mention:
    """One occurrence of an entity: ``field[start:end] == text`` (Python str indices, code points)."""

    start: int
    end: int
    text: str
    score: float
    field: str = "text"  # "text" or "title": which request field the offsets index into


@dataclass(frozen=True)
class Clue(Mention):
    """A span that implies a country without naming it: a city, a state, a nationality word, a dateline,
    a national body. ``kind`` says which; ``place`` is the gazetteer's name for what the span is."""

    kind: str = "city"
    place: str = ""


@dataclass(frozen=True)
class PlaceCountry:
    """The country a place lies in: ISO 3166-1 alpha-2 code and name."""

    code: str
    name: str


@dataclass
class Entity:
    """One real-world thing, grouped over all its mentions; ``text`` is the canonical name.

    Places resolved by the gazetteer (:mod:`service.tagging.places`) also carry ``ids`` (``geonames``,
    ``iso3166`` or ``iso3166_2``), their ``country`` and the ``confidence`` of the resolution; a country
    the article implies has ``evidence`` (the clues), and ``derived`` when the article never names it
    (then ``mentions`` is empty).
    """

    text: str
    label: str
    score: float
    relevance: float
    mentions: list[Mention]
    ids: dict[str, str] = field(default_factory=dict)
    country: PlaceCountry | None = None
    confidence: float | None = None
    derived: bool = False
    evidence: list[Clue] = field(default_factory=list)


@dataclass(frozen=True)
class Evidence:
    """A sentence that supports a topic: ``field[start:end] == text``."""

    start: int
    end: int
    text: str
    field: str = "text"


@dataclass
class Topic:
    """A topic label that applies to the article, with its score and supporting sentences."""

    label: str
    score: float
    evidence: list[Evidence]


@dataclass(frozen=True)
class Coverage:
    """What the engine read: all of it, in how many model windows."""

    chars: int
    words: int
    chunks: int
    truncated: bool = False


@dataclass(frozen=True)
class ModelInfo:
    """Which model produced the tags, and the precision its matrix multiplies ran in."""

    name: str
    version: str
    precision: str = "fp32"  # "fp32", or "bf16" (see service.tagging.loading.resolve_precision)


@dataclass(frozen=True)
class LabelReport:
    """What one requested entity label found, and how near it is to what the model was trained on:
    the nearest trained concept and the cosine similarity of their sentence embeddings (None where
    the service has no concept inventory or no sentence encoder)."""

    label: str
    entities: int
    nearest_concept: str | None = None
    similarity: float | None = None


@dataclass
class TagResult:
    """Everything the engine says about one document."""

    entities: list[Entity]
    topics: list[Topic]
    coverage: Coverage
    timings_ms: dict[str, float] = field(default_factory=dict)
    labels: list[LabelReport] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    """One article to tag."""

    text: str
    title: str | None = None


class DeadlineExceeded(Exception):
    """The request's time budget ran out before tagging finished."""
