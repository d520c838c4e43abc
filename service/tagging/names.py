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
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from service.tagging.types import Label


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
