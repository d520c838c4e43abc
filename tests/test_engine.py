"""The engine with the real model: whole long texts, exact offsets, merging across windows."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from service.tagging.types import DeadlineExceeded, Document, Label

pytestmark = pytest.mark.model

MODEL = os.environ.get("TAGGER_MODEL") or str(Path(__file__).resolve().parent.parent / "models" / "embedded")
LABELS = ["political leader", "person", "country", "organization", "location"]


@pytest.fixture(scope="module")
def tagger():
    looks_like_path = MODEL.startswith(("/", ".", "~")) or MODEL.count("/") != 1
    if looks_like_path and not os.path.isdir(MODEL):
        pytest.skip(f"no model at {MODEL} (build it: python -m models.build --out models/embedded)")
    from service.tagging.engine import Tagger

    return Tagger(MODEL, topics=False)


def check_offsets(result, text, title=None):
    for e in result.entities:
        assert e.label in LABELS
        assert 0.0 <= e.relevance <= 1.0
        for m in e.mentions:
            src = title if m.field == "title" else text
            assert src[m.start : m.end] == m.text, (e.text, m)


def by_text(result):
    return {e.text: e for e in result.entities}


FILLER = [
    "The committee met on a rainy morning to discuss the budget for the coming year.",
    "Several members asked for more time to read the report before any vote was held.",
    "Prices in the shops rose again last month, according to figures published on Tuesday.",
    "Local schools said they would open later than usual because of the storm.",
    "A spokesman said the talks had been constructive and would continue next week.",
]


def long_text(target_words: int) -> tuple[str, str]:
    """Paragraphs of filler with named people and places, ending in a name found nowhere else."""
    paras = []
    words = 0
    i = 0
    while words < target_words:
        para = " ".join(FILLER[(i + k) % len(FILLER)] for k in range(3))
        if i % 4 == 0:
            para = f"German Chancellor Olaf Scholz visited Paris on Monday. {para} Scholz returned to Berlin."
        paras.append(para)
        words += len(para.split())
        i += 1
    last = "Finally, Prime Minister Jacinda Ardern of New Zealand arrived in Wellington on Friday."
    return "\n\n".join([*paras, last]), last


@pytest.mark.slow
def test_twenty_thousand_words_are_read_end_to_end(tagger):
    text, last = long_text(20_000)
    result = tagger.tag(text, LABELS, [])
    cov = result.coverage
    assert cov.truncated is False
    assert cov.chars == len(text)
    assert cov.words >= 20_000
    assert cov.chunks >= cov.words // 100
    check_offsets(result, text)
    ents = by_text(result)
    # a name from the very last sentence: the end of the text was read
    tail = len(text) - len(last)
    assert any(m.start >= tail for e in result.entities for m in e.mentions)
    assert "Jacinda Ardern" in ents and ents["Jacinda Ardern"].label == "political leader"
    scholz = ents["Olaf Scholz"]
    assert scholz.label == "political leader"
    # "Olaf Scholz" and "Scholz" in every fourth paragraph, all grouped in one entity, no duplicates
    expected = len(re.findall(r"Scholz", text))
    starts = [m.start for m in scholz.mentions]
    assert len(starts) == len(set(starts))
    assert len(starts) >= 0.9 * expected


def test_overlap_finds_each_mention_once(tagger):
    # sentences of ~20 words; with 100-word windows and one sentence of overlap, every fifth
    # sentence is read by two windows.
    sents = [
        f"In round {i} of the talks, President Joe Biden met Chinese President Xi Jinping in Lima, Peru, "
        "to discuss trade."
        for i in range(12)
    ]
    text = " ".join(sents)
    wins = tagger.windows(text, LABELS)
    assert len(wins) > 2
    assert all(text[w.start : w.end] == w.text for w in wins)
    assert any(wins[k + 1].start < wins[k].end for k in range(len(wins) - 1))  # windows overlap
    result = tagger.tag(text, LABELS, [])
    check_offsets(result, text)
    ents = by_text(result)
    for name in ("Joe Biden", "Xi Jinping"):
        starts = [m.start for m in ents[name].mentions]
        assert starts == sorted(set(starts))
        assert len(starts) == 12
        assert ents[name].label == "political leader"
    assert len(ents["Peru"].mentions) == 12


def test_title_is_tagged_with_its_own_offsets(tagger):
    title = "Biden meets Xi in Lima"
    text = "U.S. President Joe Biden met Chinese President Xi Jinping in Lima, Peru, on Saturday."
    result = tagger.tag(text, LABELS, [], title=title)
    check_offsets(result, text, title)
    ents = by_text(result)
    fields = [m.field for m in ents["Joe Biden"].mentions]
    assert fields[0] == "title" and "text" in fields


def test_tag_many_matches_tag(tagger):
    docs = [
        Document("Prime Minister Rishi Sunak met King Charles in London on Tuesday."),
        Document("Reuters reported that Apple opened an office in Nairobi, Kenya."),
    ]
    many = tagger.tag_many(docs, LABELS, [])
    for doc, got in zip(docs, many, strict=True):
        one = tagger.tag(doc.text, LABELS, [])
        assert [(e.text, e.label) for e in got.entities] == [(e.text, e.label) for e in one.entities]


def test_no_entity_labels_no_entities(tagger):
    result = tagger.tag("Joe Biden met Xi Jinping.", [], [])
    assert result.entities == []
    assert result.coverage.truncated is False


def test_deadline_in_the_past_raises(tagger):
    with pytest.raises(DeadlineExceeded):
        tagger.tag("Joe Biden met Xi Jinping.", LABELS, [], deadline=time.monotonic() - 1)


def test_model_passed_its_self_test(tagger):
    assert set(tagger.loaded.self_test) == {"Joe Biden", "Xi Jinping", "Peru"}
    assert min(tagger.loaded.self_test.values()) >= 0.3
    assert tagger.info.name and tagger.info.version


def test_fast_span_head_gives_the_stock_spans_and_scores(tagger):
    assert tagger.loaded.fast_span_head is True
    inner = tagger.model.model
    text = "Chancellor Olaf Scholz met Reuters editors in Berlin. The U.S. embassy in Paris stayed closed."
    fast = inner.forward
    try:
        del inner.forward  # the class's own forward again
        stock = tagger.model.inference([text], LABELS, threshold=0.1)[0]
    finally:
        inner.forward = fast
    got = tagger.model.inference([text], LABELS, threshold=0.1)[0]
    assert [(e["start"], e["end"], e["label"]) for e in got] == [
        (e["start"], e["end"], e["label"]) for e in stock
    ]
    assert max(abs(a["score"] - b["score"]) for a, b in zip(got, stock, strict=True)) < 1e-4


def test_invisible_characters_do_not_shift_the_words(tagger):
    splitter = tagger.model.data_processor.words_splitter
    assert list(splitter("Joe\u200b Biden met \u200b Xi")) == [
        ("Joe\u200b", 0, 4),
        ("Biden", 5, 10),
        ("met", 11, 14),
        ("Xi", 17, 19),
    ]
    assert list(splitter("Jose\u0301 Bi\u00adden")) == [("Jose\u0301", 0, 5), ("Bi\u00adden", 6, 12)]
    text = "U.S. President Joe\u200b Biden met Chinese President Xi\u00ad Jinping in Lima, Peru, on Saturday."
    result = tagger.tag(text, LABELS, [])
    check_offsets(result, text)
    assert {"Joe Biden", "Xi Jinping", "Peru"} <= set(by_text(result))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  \n\n  ",
        "\u200b\u200b",
        "Biden" * 600,
        "x" * 5000 + " Joe Biden visited Lima, Peru.",
        " ".join(str(i) for i in range(3000)) + " Joe Biden visited Lima.",
        "😀😀 Peru and 🇺🇸 U.S. President Joe Biden met in Lima 🎉.",
    ],
)
def test_odd_texts_tag_without_truncation(tagger, text):
    result = tagger.tag(text, LABELS, [])
    check_offsets(result, text)
    assert result.coverage.truncated is False
    assert result.coverage.chars == len(text)


# --------------------------------------------------------------------------- places (the gazetteer)


def test_a_local_wire_story_gets_its_implied_country_with_evidence(tagger):
    text = ("DENVER, Colo., May 4 - Police in Denver arrested two men after a shooting downtown. "
            "Tulsa police said a similar case was solved last year.")
    result = tagger.tag(text, LABELS)
    check_offsets(result, text)
    us = [e for e in result.entities if e.label == "country" and e.country and e.country.code == "US"]
    assert len(us) == 1 and us[0].derived and not us[0].mentions
    assert {"dateline", "city"} <= {c.kind for c in us[0].evidence}
    for c in us[0].evidence:
        assert text[c.start : c.end] == c.text
    denver = by_text(result)["Denver"]
    assert denver.label == "location" and denver.ids["geonames"] and denver.country.code == "US"


def test_derivation_off_keeps_named_countries_only(tagger):
    text = "DENVER, Colo., May 4 - Police in Denver said Mexican officials would visit the United States."
    on = tagger.tag(text, LABELS)
    off = tagger.tag(text, LABELS, derive_countries=False)
    assert any(e.derived for e in on.entities)
    assert not any(e.derived for e in off.entities)
    named = [e for e in off.entities if e.label == "country"]
    assert [e.country.code for e in named if e.country] == ["US"] or not named
    assert [e.text for e in off.entities if not e.derived] == [e.text for e in on.entities if not e.derived]


def test_a_state_the_model_calls_a_country_is_corrected(tagger):
    text = "Texas and California sued the administration over the rule on Tuesday."
    result = tagger.tag(text, LABELS, threshold=0.3)
    assert not [e for e in result.entities if e.label == "country" and not e.derived]
    us = [e for e in result.entities if e.derived]
    assert [e.country.code for e in us] == ["US"]


# --------------------------------------------------------------------------- labels (issue 12)

TEN = ["country", "US state", "city", "political leader", "person", "company", "government agency",
       "political party", "drug", "military organization"]


def _entities(result):
    return [(e.text, e.label, e.score, [(m.field, m.start, m.end, m.score) for m in e.mentions])
            for e in result.entities]


def test_the_same_labels_in_any_order_give_the_same_entities(tagger):
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    text = (seeds / "003_090dc6e6d90a93b1.txt").read_text("utf-8")
    forward = tagger.tag(text, TEN)
    backward = tagger.tag(text, list(reversed(TEN)))
    shuffled = tagger.tag(text, TEN[3:] + TEN[:3])
    assert _entities(forward) == _entities(backward) == _entities(shuffled)
    assert forward.entities


def test_the_label_report_counts_entities_per_label_in_request_order(tagger):
    text = "Police in Denver said President Joe Biden would visit Mexico on Friday."
    result = tagger.tag(text, ["person", "country", "drug"])
    report = {r.label: r for r in result.labels}
    assert [r.label for r in result.labels] == ["person", "country", "drug"]
    for name, r in report.items():
        assert r.entities == sum(1 for e in result.entities if e.label == name)
    assert report["drug"].entities == 0


def test_many_long_labels_inside_the_limits_are_read_in_groups(tagger):
    # issue 14: 24 labels of about 97 characters once left no room for text (500); 50 of 100 is the limit
    text = "President Joe Biden met Chinese President Xi Jinping in Lima, Peru, on Saturday."
    long_labels = [f"{w} " + "x" * (96 - len(w)) for w in ("person", "country", "city")]
    padding = [f"label number {i} " + "y" * (97 - len(f"label number {i} ")) for i in range(47)]
    for labels in (long_labels + padding[:21], long_labels + padding):
        assert all(len(lab) <= 100 for lab in labels)
        groups = tagger._label_groups([Label(x) for x in labels])
        assert len(groups) > 1 and all(tagger._budget(g) >= 128 for g in groups)
        result = tagger.tag(text, labels)
        check_offsets_any(result, text, labels)
    plain = tagger.tag(text, LABELS)
    assert len(tagger._label_groups([Label(x) for x in LABELS])) == 1
    assert plain.coverage.chunks == 1


def check_offsets_any(result, text, labels):
    for e in result.entities:
        assert e.label in labels
        for m in e.mentions:
            assert text[m.start : m.end] == m.text


class _OneSpanModel:
    """A stand-in GLiNER that finds one fixed span in every window (for :meth:`Tagger.running_on`)."""

    def inference(self, texts, labels, **kwargs):
        return [[{"start": 0, "end": 6, "text": "Zelwig", "label": "person", "score": 0.9}] for _ in texts]


def test_running_on_swaps_the_model_for_a_while_and_restores_it(tagger):
    text = "Zelwig went home after the meeting on Tuesday."
    loaded = tagger.model
    with tagger.running_on(_OneSpanModel()):
        assert not isinstance(tagger.model, type(loaded))
        swapped = tagger.tag(text, ["person"], [])
    assert [(e.text, e.label, e.score) for e in swapped.entities] == [("Zelwig", "person", 0.9)]
    assert tagger.model is loaded and tagger.loaded.model is loaded
    assert all(e.text != "Zelwig" or e.score != 0.9 for e in tagger.tag(text, ["person"], []).entities)


def test_from_config_builds_the_engine_the_settings_describe(monkeypatch):
    from service.config import defaults
    from service.tagging.engine import Tagger

    seen = {}
    monkeypatch.setattr(Tagger, "__init__", lambda self, model, **kw: seen.update(model=model, **kw))
    config = {**defaults(), "MODEL": "some/model", "TORCH_THREADS": 0, "THRESHOLD": 0.4,
              "PRECISION": "fp32", "TOPIC_DOC_ENCODER": ""}
    Tagger.from_config(config, self_test=False)
    assert seen == {"model": "some/model", "threads": None, "threshold": 0.4, "precision": "fp32",
                    "doc_encoder_path": None, "setting": "TAGGER_MODEL", "self_test": False}
    seen.clear()
    Tagger.from_config({**config, "TORCH_THREADS": 3, "TOPIC_DOC_ENCODER": "/enc"}, precision="bf16")
    assert seen["threads"] == 3 and seen["doc_encoder_path"] == "/enc" and seen["precision"] == "bf16"
