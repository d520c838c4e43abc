"""The model recipe's synthetic social posts (models/posts.py, models/data/posts.json)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from models import posts
from models.concepts import CONCEPTS, HELD_OUT
from service.tagging.text import words


@pytest.fixture(scope="module")
def committed() -> posts.Posts:
    return posts.Posts()


def test_every_filled_slot_is_a_listed_name_on_word_boundaries(committed: posts.Posts) -> None:
    listed = {c: {tuple(w.lower() for w, _, _ in words(n)) for n in names}
              for c, names in committed.names.items()}
    rng = random.Random(5)
    for _ in range(2000):
        w = committed.window(rng)
        for a, b, concept in w["spans"]:
            assert 0 <= a <= b < len(w["tokens"])
            assert tuple(t.lower() for t in w["tokens"][a:b + 1]) in listed[concept]


def test_the_lists_cover_the_kinds_news_prose_lacks(committed: posts.Posts) -> None:
    stats = committed.stats()
    for concept in ("movie", "tv show", "music artist", "product", "building or facility", "sports team"):
        assert stats["names"].get(concept, 0) >= 100, concept
    assert stats["templates"] >= 200
    # Posts with no name at all teach that "this movie" is not a title.
    assert sum(1 for t in committed.templates if not posts.SLOT.search(t)) >= 20


def test_no_held_out_concept_is_a_slot(committed: posts.Posts) -> None:
    assert not set(committed.names) & set(HELD_OUT)
    assert set(committed.names) <= set(CONCEPTS)


def test_a_slot_without_a_list_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "posts.json"
    f.write_text(json.dumps({"entities": {"movie": ["Jaws"]}, "templates": ["{song} on repeat"]}))
    with pytest.raises(ValueError, match="song"):
        posts.Posts(f)


def test_a_name_run_into_the_next_word_is_redrawn(tmp_path: Path) -> None:
    f = tmp_path / "posts.json"
    f.write_text(json.dumps({"entities": {"movie": ["Jaws"]},
                             "templates": ["{movie}x marathon", "{movie} marathon"]}))
    rng = random.Random(1)
    for _ in range(20):
        w = posts.Posts(f).window(rng)
        assert w["tokens"][:2] in (["Jaws", "marathon"], ["jaws", "marathon"], ["JAWS", "marathon"])
        assert w["spans"] == [(0, 0, "movie")]
