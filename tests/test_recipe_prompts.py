"""The model recipe's label prompts and descriptor mining (models/prompts.py, models/descriptors.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from models import prompts
from models.concepts import HELD_OUT

TOKENS = ["Striker", "Thierry", "Henry", "and", "Robert", "Pires", "scored", "as", "budget", "airline",
          "Ryanair", "fell"]
SPANS = [(1, 2, "athlete"), (4, 5, "athlete"), (10, 10, "company")]
POOL = [("rapper", 18), ("film", 10), ("fruit", 13), ("election", 11), ("airline", 6)]


def _examples(open_spans, n: int = 200, **kw) -> list[dict]:
    rng = random.Random(3)
    return [prompts.example(TOKENS, SPANS, rng, open_spans, POOL, p_open=1.0, **kw) for _ in range(n)]


def test_a_descriptor_shared_by_every_same_concept_span_is_asked_and_wins() -> None:
    out = _examples([(1, 2, "striker"), (4, 5, "striker")])
    asked = [e for e in out if "striker" in e["ner_labels"]]
    assert asked, "a descriptor every athlete carries must be asked sometimes"
    for e in asked:
        assert [1, 2, "striker"] in e["ner"] and [4, 5, "striker"] in e["ner"]
        assert not [x for x in e["ner"] if x[:2] in ([1, 2], [4, 5]) and x[2] != "striker"]


def test_a_descriptor_missing_on_a_same_concept_span_is_never_asked() -> None:
    # Henry is called a striker, Pires is not: asking "striker" would teach that Pires is not one.
    out = _examples([(1, 2, "striker")])
    assert not [e for e in out if "striker" in e["ner_labels"]]


def test_negative_descriptors_are_of_a_kind_absent_from_the_window() -> None:
    out = _examples([(10, 10, "airline")], p_open_negative=1.0)
    seen = {label for e in out for label in e["ner_labels"]}
    assert {"film", "fruit", "election"} & seen, "absent kinds serve as negatives"
    # A person is present, so "rapper" (a person noun) must never be asked as a negative.
    assert "rapper" not in seen


def test_every_labelled_span_carries_an_asked_label() -> None:
    for e in _examples([(10, 10, "airline")]):
        assert e["ner"], "the window has three spans"
        assert all(label in e["ner_labels"] for _, _, label in e["ner"])


WORDNET = Path("/usr/share/wordnet/data.noun")


@pytest.fixture(scope="module")
def describer():
    if not WORDNET.exists():
        pytest.skip("WordNet is not installed (apt-get install wordnet-base); only the recipe needs it")
    from models.descriptors import Describer
    from models.wordnet import WordNet

    return Describer(WordNet())


@pytest.mark.parametrize("text,name,label", [
    ("striker Thierry Henry scored", "Thierry Henry", "striker"),
    ("Ryanair, the budget airline, said", "Ryanair", "airline"),
    ("US rapper Eminem has", "Eminem", "rapper"),
    ("the drug fentanyl", "fentanyl", "drug"),
    ("Tony Blair, the prime minister, said", "Tony Blair", "prime minister"),
])
def test_descriptors_come_from_the_words_around_a_name(describer, text, name, label) -> None:
    start = text.index(name)
    found = describer.describe(text, start, start + len(name), person=label not in {"airline", "drug"})
    assert found is not None and found[0] == label


@pytest.mark.parametrize("text,name", [
    ("reporter John Smith wrote", "John Smith"),      # a journalist: held out
    ("the river Thames flooded", "Thames"),           # a body of water: held out
    ("last week Monday was", "Monday"),               # "week" does not type a name
])
def test_no_descriptor_for_held_out_kinds_or_non_types(describer, text, name) -> None:
    start = text.index(name)
    assert describer.describe(text, start, start + len(name)) is None


def test_no_held_out_concept_is_ever_a_descriptor(describer) -> None:
    for concept in HELD_OUT:
        assert describer.kind(concept) is None, concept


def test_a_crop_keeps_whole_spans_on_their_words() -> None:
    rng = random.Random(5)
    opens = [(8, 9, "budget airline")]
    for _ in range(300):
        tokens, spans, (cut_open,) = prompts.crop(TOKENS, SPANS, [opens], rng, lo=1, hi=4)
        assert spans, "the crop is cut around one of the window's spans"
        whole = {tuple(TOKENS[a:b + 1]) for a, b, _ in SPANS + opens}
        for a, b, _ in spans + cut_open:
            assert tuple(tokens[a:b + 1]) in whole
        # No span of the window is cut in two: each is wholly in the crop or wholly out of it.
        text = " ".join(tokens)
        for a, b, _ in SPANS:
            name = " ".join(TOKENS[a:b + 1])
            assert name in text or not set(TOKENS[a:b + 1]) & set(tokens) - {"and"}


def test_short_windows_and_few_labels_are_drawn() -> None:
    out = _examples([], n=300, p_short=0.5, p_few=1.0, p_default=0.0)
    lengths = [len(e["tokenized_text"]) for e in out]
    assert min(lengths) < len(TOKENS) and max(lengths) == len(TOKENS)
    assert min(len(e["ner_labels"]) for e in out) <= 4
    for e in out:
        assert all(label in e["ner_labels"] for _, _, label in e["ner"])
