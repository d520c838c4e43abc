"""The news gold set is well-formed and big enough, and its scorer gives known figures."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from models.evaluate import eval_latency, eval_order, merge_reports, order_changes
from models.gold import (
    MAX_LABELS,
    MIN_LABELS,
    NEVER_TRAINED,
    TRAINED,
    GoldSentence,
    counts,
    load_gold,
    problems,
    score,
)
from service.tagging.text import words
from service.tagging.types import Coverage, Entity, Mention, TagResult

ROOT = Path(__file__).resolve().parent.parent
GOLD = load_gold()


def test_records_are_well_formed() -> None:
    """Offsets inside the text, labels from the two lists, every span's label asked, no overlaps."""
    assert problems(GOLD) == []


def test_spans_fall_on_word_boundaries() -> None:
    """The model predicts whole words of the service's splitter: a span cutting a word is unreachable."""
    bad = []
    for s in GOLD:
        starts = {a for _, a, _ in words(s.text)}
        ends = {b for _, _, b in words(s.text)}
        bad += [(s.id, s.text[a:b]) for a, b, _ in s.spans if a not in starts or b not in ends]
    assert bad == []


def test_annotation_convention() -> None:
    """No possessive 's inside a span, and no span is only punctuation or a stray article."""
    texts = [s.text[a:b] for s in GOLD for a, b, _ in s.spans]
    assert not [t for t in texts if t.endswith(("'s", "\u2019s"))]
    assert not [t for t in texts if t.lower() in {"the", "a", "an"} or not any(c.isalnum() for c in t)]


def test_every_sentence_asks_a_hard_negative() -> None:
    """Each sentence asks a label it does not contain; every never-trained label is asked as one."""
    assert not [s.id for s in GOLD if not set(s.labels) - {lab for _, _, lab in s.spans}]
    negatives = {lab for s in GOLD for lab in set(s.labels) - {x for _, _, x in s.spans}}
    assert set(NEVER_TRAINED) <= negatives


def test_sizes_meet_the_floors() -> None:
    """>= 220 sentences, >= 35 labels, >= 23 trained ones, all 12 never-trained with >= 10 spans each."""
    c = counts(GOLD)
    assert c["sentences"] >= 220
    assert c["labels"] >= 35
    assert c["trained_labels"] >= 23
    assert {lab for lab, n in c["spans_by_label"].items() if n >= 10} >= set(NEVER_TRAINED)
    assert all(MIN_LABELS <= len(s.labels) <= MAX_LABELS for s in GOLD)


def test_no_sentence_is_taken_from_the_seed_articles() -> None:
    seeds = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    assert seeds
    assert not [s.id for s in GOLD if any(s.text in seed for seed in seeds)]


def test_the_two_label_lists_do_not_overlap() -> None:
    assert not set(TRAINED) & set(NEVER_TRAINED)
    assert len(TRAINED) == len(set(TRAINED)) and len(NEVER_TRAINED) == len(set(NEVER_TRAINED)) == 12


@pytest.mark.skipif(importlib.util.find_spec("models.concepts") is None, reason="no concept inventory yet")
def test_never_trained_labels_are_the_recipes_held_out_concepts() -> None:
    """The scorer's groups match the recipe: its held-out concepts are the never-trained ones."""
    from models import concepts

    assert set(concepts.HELD_OUT) == set(NEVER_TRAINED)
    wordings = {w for _, ws in concepts.CONCEPTS.values() for w in ws} | set(concepts.CONCEPTS)
    assert [lab for lab in TRAINED if lab not in wordings] == []


# ---------------------------------------------------------------- the scorer on constructed cases

TEXT = "Ada Obi banked at Zenith Bank in Lagos."
CASE = GoldSentence("t1", TEXT, ("person", "bank", "city", "judge"),
                    frozenset({(0, 7, "person"), (18, 29, "bank"), (33, 38, "city")}))


def test_perfect_prediction_scores_one() -> None:
    out = score([CASE], [CASE.spans])
    assert out["overall"]["f1"] == out["trained"]["f1"] == out["never_trained"]["f1"] == 1.0
    assert out["overall"]["tp"] == 3 and out["overall"]["fp"] == out["overall"]["fn"] == 0


def test_known_figures_split_by_trained_and_never_trained() -> None:
    """Right city; bank with a wrong boundary; person missed; an extra judge: figures by hand."""
    pred = [(33, 38, "city"), (24, 29, "bank"), (18, 24, "judge")]
    out = score([CASE], [pred])
    assert out["overall"] == {"p": 0.333, "r": 0.333, "f1": 0.333, "tp": 1, "fp": 2, "fn": 2}
    assert out["trained"] == {"p": 1.0, "r": 0.5, "f1": 0.667, "tp": 1, "fp": 0, "fn": 1}
    assert out["never_trained"] == {"p": 0.0, "r": 0.0, "f1": 0.0, "tp": 0, "fp": 2, "fn": 1}
    assert out["by_label"]["judge"]["fp"] == 1 and out["by_label"]["bank"]["fn"] == 1


def test_right_span_wrong_label_is_a_false_positive_and_a_miss() -> None:
    out = score([CASE], [[(0, 7, "judge"), (18, 29, "bank"), (33, 38, "city")]])
    assert out["by_label"]["person"] == {"p": 0.0, "r": 0.0, "f1": 0.0, "tp": 0, "fp": 0, "fn": 1}
    assert out["by_label"]["judge"] == {"p": 0.0, "r": 0.0, "f1": 0.0, "tp": 0, "fp": 1, "fn": 0}
    assert out["overall"]["f1"] == 0.667


def test_scores_are_micro_averaged_over_sentences() -> None:
    """Two sentences: all 3 spans right in one, nothing found in the other (1 span): R = 3/4."""
    other = GoldSentence("t2", "Rain in Kano.", ("city", "bank", "judge", "person"),
                         frozenset({(8, 12, "city")}))
    out = score([CASE, other], [CASE.spans, []])
    assert (out["overall"]["p"], out["overall"]["r"], out["overall"]["f1"]) == (1.0, 0.75, 0.857)
    assert out["by_label"]["city"]["r"] == 0.5


def test_score_refuses_a_prediction_count_that_does_not_match() -> None:
    with pytest.raises(ValueError):
        score([CASE], [])


def test_problems_finds_each_kind_of_fault() -> None:
    bad = [
        GoldSentence("x", "Ada in Lagos", ("person", "city", "bank"), frozenset({(0, 3, "person")})),
        GoldSentence("x", "Ada in Lagos", ("person", "city", "bank", "planet"),
                     frozenset({(0, 40, "person"), (7, 12, "court"), (7, 10, "city"), (6, 12, "bank")})),
    ]
    found = "\n".join(problems(bad))
    for needle in ("id used 2 times", "3 labels asked", "unknown label 'planet'", "outside the text",
                   "'court', which was not asked", "overlaps another span", "surrounding spaces"):
        assert needle in found


def test_load_gold_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"id": "a", "text": "x", "labels": [], "spans": []}\n{"id": "b"}\n')
    with pytest.raises(ValueError, match=r"g\.jsonl:2"):
        load_gold(path)


def test_order_changes_counts_changed_and_one_sided_mentions() -> None:
    first = {(0, 5): "country", (10, 15): "city", (20, 25): "person"}
    second = {(0, 5): "US state", (10, 15): "city", (30, 35): "drug"}
    out = order_changes(first, second)
    assert (out["mentions"], out["changed_label"], out["only_one_run"], out["changes"]) == (4, 1, 2, 3)
    assert order_changes(first, dict(first))["changes"] == 0


class _FakeTagger:
    """Answers with one mention whose label is the first label asked, and a fixed model time."""

    def __init__(self, name: str, model_ms: float, calls: list[str]) -> None:
        self.name, self.model_ms, self.calls = name, model_ms, calls

    def tag(self, text: str, entity_labels: list[str] | None = None, topic_labels: list[str] | None = None):
        self.calls.append(self.name)
        label = (entity_labels or ["person"])[0]
        entity = Entity(text=text[:3], label=label, score=0.9, relevance=1.0,
                        mentions=[Mention(start=0, end=3, text=text[:3], score=0.9)])
        return TagResult(entities=[entity], topics=[], coverage=Coverage(chars=len(text), words=1, chunks=1),
                         timings_ms={"model": self.model_ms})


def test_eval_order_counts_a_label_that_follows_the_order() -> None:
    """A tagger that labels by the first label asked changes one mention per article when reversed."""
    out = eval_order(_FakeTagger("m", 1.0, []), {"a.txt": "Ada went home.", "b.txt": "Obi too."})
    assert (out["mentions"], out["changes"]) == (2, 2)
    assert out["articles"]["a.txt"]["examples"] == [[0, 3, "country", "military organization"]]


def test_eval_latency_takes_turns_and_reports_ratios_to_the_baseline() -> None:
    calls: list[str] = []
    taggers = {"model": _FakeTagger("model", 10.0, calls), "baseline": _FakeTagger("baseline", 20.0, calls)}
    out = eval_latency(taggers, "a.txt", "Ada went home.", runs=4)
    # one warm-up each, then turns whose order alternates so neither always goes first
    assert calls == ["model", "baseline"] + ["model", "baseline", "baseline", "model"] * 2
    assert out["model_part_ratio_to_baseline"] == {"model": 0.5, "baseline": 1.0}
    assert out["ratio_to_baseline"]["baseline"] == 1.0 and out["runs"] == 4


def test_merge_replaces_only_the_sections_rerun() -> None:
    old = {"model": "m", "model_version": "k1", "sections": ["gold", "wnut9"], "gold": 1, "wnut2016_nine": 2}
    new = {"model": "m", "model_version": "k1", "sections": ["gold"], "gold": 3}
    assert merge_reports(old, new) == {"model": "m", "model_version": "k1", "sections": ["gold", "wnut9"],
                                       "gold": 3, "wnut2016_nine": 2}
    with pytest.raises(SystemExit):
        merge_reports(old, {**new, "model_version": "k2"})


# ---------------------------------------------------------------- with the real model


@pytest.mark.model
def test_gold_predictions_use_only_the_asked_labels_and_real_offsets() -> None:
    """The embedded model through the gold predictor: labels asked, offsets that index the sentence."""
    from conftest import MODEL

    from models.gold import evaluate_gold, gliner_sentence_predictor

    predict = gliner_sentence_predictor(MODEL)
    sample = GOLD[:12]
    seen: Counter[str] = Counter()
    for s in sample:
        for start, end, label in predict(s.text, s.labels):
            assert label in s.labels
            assert 0 <= start < end <= len(s.text) and s.text[start:end].strip()
            seen[label] += 1
    assert sum(seen.values()) > 0
    report = evaluate_gold(predict, sample)
    assert report["sentences"] == 12 and 0.0 < report["overall"]["f1"] <= 1.0
