"""The default entity labels and topic taxonomy, versioned in ``data/labels.json`` beside this file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from service.tagging.types import Label


@dataclass(frozen=True)
class CatalogEntry:
    """A default label with its stable id (and, for topics, its group)."""

    id: str
    label: Label
    group: str | None = None


@dataclass(frozen=True)
class LabelSet:
    """The versioned defaults: what is tagged when a caller sends no labels."""

    version: str
    entities: tuple[CatalogEntry, ...]
    topics: tuple[CatalogEntry, ...]
    # ids of the topics every topic score is standardised against (None: all topics); a frozen
    # set, so that adding topics to the default list does not move any label's score
    reference_ids: tuple[str, ...] | None = None

    @property
    def entity_labels(self) -> list[Label]:
        """Default entity labels, in order."""
        return [e.label for e in self.entities]

    @property
    def topic_labels(self) -> list[Label]:
        """Default topic labels, in order."""
        return [t.label for t in self.topics]

    @property
    def reference_topic_labels(self) -> list[Label]:
        """The topics every candidate topic label is compared with (``reference_ids``)."""
        ids = self.reference_ids
        return [t.label for t in self.topics if ids is None or t.id in ids]

    def describe(self, name: str) -> str | None:
        """The description of a default label of that name (entity or topic), if there is one."""
        for entry in (*self.entities, *self.topics):
            if entry.label.name.lower() == name.lower():
                return entry.label.description
        return None


def _entry(raw: dict) -> CatalogEntry:
    return CatalogEntry(raw["id"], Label(raw["name"], raw.get("description")), raw.get("group"))


@lru_cache(maxsize=1)
def default_labels() -> LabelSet:
    """The default label set shipped with this version of the service."""
    raw = json.loads(resources.files("service.tagging").joinpath("data/labels.json").read_text("utf-8"))
    return LabelSet(
        version=raw["version"],
        entities=tuple(_entry(e) for e in raw["entity_labels"]),
        topics=tuple(_entry(t) for t in raw["topics"]),
        reference_ids=tuple(raw["topic_reference"]) if "topic_reference" in raw else None,
    )
