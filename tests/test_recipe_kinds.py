"""The model recipe's common-noun kinds and social-media posts (models/kinds.py, models/prompts.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from models import prompts
from models.concepts import CONCEPTS, HELD_OUT

WORDNET = Path("/usr/share/wordnet/data.noun")
TOKENS = ["Police", "in", "Texas", "seized", "heroin", "from", "a", "tanker", "and", "a", "ship", "near",
          "a", "supermarket", "."]
SPANS = [(2, 2, "us state"), (4, 4, "drug")]


@pytest.fixture(scope="module")
def kinds():
    if not WORDNET.exists():
        pytest.skip("WordNet is not installed (apt-get install wordnet-base); only the recipe needs it")
    from models.descriptors import Describer
    from models.kinds import Kinds
    from models.wordnet import WordNet

    words = {w for c, (_, wordings) in CONCEPTS.items() for w in [c, *wordings]}
    return Kinds(Describer(WordNet()), words)


def _spans(kinds, words: dict[int, str]) -> list[tuple[int, int, int]]:
    out = []
    for i, w in words.items():
        off = kinds.span_kind([w])
        assert off is not None, w
        out.append((i, i, off))
    return out


def test_a_noun_takes_its_categories_and_never_a_concept_wording(kinds) -> None:
    names = {kinds.name(c) for c in kinds.labels(kinds.span_kind(["tanker"]))}
    assert {"ship", "vessel"} <= names
    assert not names & {w.lower() for _, ws in CONCEPTS.values() for w in ws}


@pytest.mark.parametrize("words", [["cholera"], ["rifles"], ["dollars"], ["grenade"], ["creek"], ["flu"]])
def test_nouns_of_held_out_concepts_are_held(kinds, words) -> None:
    off = kinds.span_kind(words)
    assert off is None or off < 0


def test_no_category_is_a_held_out_concept_or_above_one(kinds) -> None:
    for word in ("tanker", "knife", "tank", "supermarket", "vaccine", "steel", "pension", "earthquake"):
        off = kinds.span_kind([word])
        for c in kinds.labels(off):
            assert c not in kinds.above_held and not kinds.wn.is_a(c, kinds.held), (word, kinds.name(c))
            assert not any(h in kinds.name(c) for h in HELD_OUT)


def test_every_noun_under_an_asked_category_takes_it(kinds) -> None:
    found = _spans(kinds, {4: "heroin", 7: "tanker", 10: "ship", 13: "supermarket"})
    rng = random.Random(5)
    seen = 0
    for _ in range(300):
        e = prompts.example(TOKENS, SPANS, rng, kinds=kinds, kind_spans=found, p_kind=1.0)
        labelled = {(a, b): label for a, b, label in e["ner"]}
        if "vessel" in e["ner_labels"] and "ship" not in e["ner_labels"]:
            seen += 1
            # A tanker is a vessel; it takes "cargo ship" or "oil tanker" instead when those are asked.
            assert labelled.get((10, 10)) == "vessel"
            assert labelled.get((7, 7)) in {"vessel", "cargo ship", "oil tanker"} & set(e["ner_labels"])
        assert all(label in e["ner_labels"] for label in labelled.values())
    assert seen, "the shared category must be asked sometimes"


def test_a_named_span_of_a_kind_blocks_categories_of_that_kind(kinds) -> None:
    # A drug name the teachers typed (not a common noun) may be an artifact: "vessel" is not asked.
    found = _spans(kinds, {7: "tanker", 10: "ship"})
    rng = random.Random(5)
    for _ in range(200):
        e = prompts.example(TOKENS, SPANS, rng, kinds=kinds, kind_spans=found, p_kind=1.0)
        assert "vessel" not in e["ner_labels"]


def test_a_category_covering_a_held_noun_in_the_window_is_not_asked(kinds) -> None:
    # "knife" is a tool; a held-out "rifle" beside it must not be left unlabelled under a category.
    found = [*_spans(kinds, {7: "knife"}), (10, 10, kinds.span_kind(["rifle"]))]
    rng = random.Random(1)
    for _ in range(200):
        e = prompts.example(TOKENS, SPANS, rng, kinds=kinds, kind_spans=found, p_kind=1.0)
        for c in kinds.labels(found[0][2]):
            if kinds.name(c) in e["ner_labels"]:
                assert not kinds.covers(c, found[1][2])
        assert not [x for x in e["ner"] if x[:2] == [10, 10]]


def test_a_social_post_keeps_every_span_on_its_words() -> None:
    rng = random.Random(2)
    ner = [[2, 2, "US state"], [4, 4, "drug"]]
    for _ in range(200):
        tokens, moved = prompts.socialize(TOKENS, ner, rng)
        assert [tokens[a:b + 1] for a, b, _ in moved] == [["Texas"], ["heroin"]]


def test_handles_in_a_social_post_are_never_labelled() -> None:
    rng = random.Random(4)
    handles = 0
    for _ in range(200):
        e = prompts.example(TOKENS, SPANS, rng, p_social=1.0, p_lower=0.0, p_upper=0.0)
        toks = e["tokenized_text"]
        at = [i + 1 for i, t in enumerate(toks) if t == "@"]
        handles += len(at)
        assert not [x for x in e["ner"] if x[0] in at], "a handle is an account, not a mention"
    assert handles
