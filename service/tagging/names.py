"""Entity label names: the engine's canonical label order, and what the model knows near a label.

Label order: GLiNER reads the labels as part of its input, so the same labels in another order can
give other entities. :func:`canonical_order` gives every permutation of a label set one order (the
default labels in their default order, then the others by name), so the caller's order never
reaches the model.

Out of reach: :class:`ConceptIndex` embeds the wordings of the concepts the entity model was
trained on (``data/concepts.json``, ``{"version", "concepts": {concept: [wording, ...]}}``, written
by the model's recipe) once, with the service's sentence encoder (all-MiniLM-L6-v2), and says for
any label name which trained concept is nearest and how near (cosine similarity of unit vectors), so
a client can warn its editor when a label is far from anything the model learnt.

Words: :data:`WORDS` holds the word tables that entities and topics read (titles, stopwords, name
connectors, country aliases: ``data/name_words.json``, read once at import), and the word helpers
both use live here: :func:`stem`, :func:`acronym_in` (a name written as an acronym) and
:func:`acronym_of` (the acronym a label name makes). :func:`as_labels` is the one way a label list
from a caller (names or :class:`Label`, possibly repeated) becomes unique labels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from service.tagging.types import Label


@dataclass(frozen=True)
class Words:
    """The word tables of ``data/name_words.json`` (each table's ``why`` there says what it is for)."""

    person_titles: tuple[str, ...]
    leader_titles: tuple[str, ...]
    stopwords: frozenset[str]
    person_words: frozenset[str]
    name_kind_words: frozenset[str]
    connectors: frozenset[str]
    time_tails: frozenset[str]
    reporting_verbs: frozenset[str]
    label_stopwords: frozenset[str]
    country_aliases: dict[str, str]  # normalised key -> canonical country name


def load_words() -> Words:
    """``data/name_words.json`` as :class:`Words`."""
    raw = json.loads(resources.files("service.tagging").joinpath("data/name_words.json").read_text("utf-8"))

    def words(table: str) -> list[str]:
        return list(raw[table]["words"])

    return Words(
        # tuples: the title alternations are built from them in this order
        person_titles=tuple(words("person_titles")),
        leader_titles=tuple(words("leader_titles")),
        stopwords=frozenset(words("stopwords")),
        person_words=frozenset(words("person_words")),
        name_kind_words=frozenset(words("name_kind_words")),
        connectors=frozenset(words("connectors")),
        time_tails=frozenset(words("time_tails")),
        reporting_verbs=frozenset(words("reporting_verbs")),
        label_stopwords=frozenset(words("label_stopwords")),
        country_aliases={
            key: name for name, keys in raw["country_aliases"]["names"].items() for key in keys
        },
    )


WORDS = load_words()

# A word of a label name or a sentence, for topic matching: letters and digits, with an inner
# apostrophe ("Xi's", "don't").
WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")


def stem(word: str) -> str:
    """A light stemmer, enough to match label words with their inflections."""
    w = word.lower().replace("\u2019", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix in ("ies", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            w = w[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return w


def acronym_in(text: str) -> str | None:
    """``text`` as an acronym (dots dropped: "U.S." -> "US") when it is written as one: 2 to 6
    capital letters; else None."""
    s = text.replace(".", "")
    return s if 2 <= len(s) <= 6 and s.isalpha() and s.isupper() else None


def acronym_of(name: str) -> str | None:
    """The acronym a label name of 2 to 4 content words makes ("artificial intelligence" -> "AI");
    else None."""
    words = [w for w in WORD.findall(name) if w.lower() not in WORDS.label_stopwords]
    if 2 <= len(words) <= 4:
        return "".join(w[0].upper() for w in words)
    return None


def as_labels(labels: Iterable[Label | str] | None, default: Sequence[Label] = ()) -> list[Label]:
    """A caller's labels as :class:`Label` objects, each name once (its first occurrence wins);
    ``None`` means ``default``."""
    if labels is None:
        return list(default)
    out: list[Label] = []
    seen = set()
    for lab in labels:
        label = lab if isinstance(lab, Label) else Label(str(lab))
        if label.name not in seen:
            seen.add(label.name)
            out.append(label)
    return out


def canonical_order(labels: Sequence[Label], defaults: Sequence[Label]) -> list[Label]:
    """``labels`` in one order whatever order they came in: defaults first, in their default order
    (so a request with the default labels reads exactly as before), then the rest by name."""
    rank = {lab.name: i for i, lab in enumerate(defaults)}
    return sorted(labels, key=lambda lab: (rank.get(lab.name, len(rank)), lab.name, lab.description or ""))


@dataclass(frozen=True)
class Nearest:
    """The trained concept nearest a label name, and their cosine similarity in [-1, 1]."""

    concept: str
    similarity: float


def load_concepts() -> dict[str, Any] | None:
    """``data/concepts.json`` as shipped, or None where it is missing."""
    path = resources.files("service.tagging").joinpath("data/concepts.json")
    if not path.is_file():
        return None
    return json.loads(path.read_text("utf-8"))


class ConceptIndex:
    """The trained concepts' wordings as unit vectors; :meth:`nearest` answers per label name."""

    def __init__(self, encoder: Any, concepts: dict[str, list[str]], version: str = "") -> None:
        self.encoder = encoder
        self.version = version
        self._concept_of: list[str] = []
        wordings: list[str] = []
        for concept, forms in concepts.items():
            for form in forms:
                self._concept_of.append(concept)
                wordings.append(form)
        self._vectors = encoder.encode(wordings) if wordings else np.zeros((0, 1), dtype=np.float32)
        self._cache: dict[str, Nearest] = {}

    def nearest(self, names: Sequence[str]) -> dict[str, Nearest]:
        """The nearest trained concept of each name (encoded once per name and process)."""
        todo = [n for n in dict.fromkeys(names) if n not in self._cache]
        if todo and len(self._concept_of):
            sims = self.encoder.encode(todo) @ self._vectors.T
            for name, row in zip(todo, sims, strict=True):
                i = int(np.argmax(row))
                self._cache[name] = Nearest(self._concept_of[i], round(float(row[i]), 4))
            if len(self._cache) > 10_000:  # bounded: callers may send any label
                self._cache = {n: self._cache[n] for n in names if n in self._cache}
        return {n: self._cache[n] for n in names if n in self._cache}
