"""Topic scorer: label borrowing, lexical naming and the calibration (no model), then scoring with the
packaged sentence encoder.

The calibration tests put a stand-in encoder behind the scorer whose vectors are fixed by hand, so
every z-score and score they expect is worked out from the formula in the comments beside it. The
``encoder``-marked tests load the packaged MiniLM sentence encoder (not GLiNER) and assert exact
labels, thresholds and offsets on texts written here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pytest

from service.tagging import topics as topics_module
from service.tagging.labels import CatalogEntry, LabelSet, default_labels
from service.tagging.text import sentence_spans
from service.tagging.topics import (
    TopicScorer,
    _lexical_hits,
    _lexical_keys,
    _same_word,
    _Unit,
    borrowed_description,
    label_lean,
    sentence_z,
)
from service.tagging.types import Label, Topic

SPORT_TEXT = (
    "Manchester United beat Liverpool 2-1 at Old Trafford on Sunday.\n\n"
    "The winning goal came from a header in the final minute of the match.\n\n"
    "The result lifts United to third place in the Premier League table, "
    "and the coach praised his players after the game."
)

TRADE_TEXT = (
    "The government announced new tariffs on imported steel and aluminium on Monday.\n\n"
    "Officials said the duties would protect domestic factories from cheap foreign competition.\n\n"
    "Shares in car makers fell after the announcement.\n\n"
    "A spokesman spoke to reporters in the capital later that day."
)


# ---------------------------------------------------------------------- no model


def test_sentence_z_ignores_each_sentence_scale_and_offset() -> None:
    sims = np.array([[0.35, 0.30, 0.25, 0.25], [0.9, 0.2, 0.2, 0.1]])
    moved = sims * np.array([[3.0], [0.5]]) + np.array([[0.2], [-0.4]])
    assert np.allclose(sentence_z(moved), sentence_z(sims), atol=1e-5)
    assert np.allclose(sentence_z(sims).mean(1), 0.0, atol=1e-6)


def test_lean_counts_sentences_not_cosines() -> None:
    # labels: technology, entertainment, three others; eight sentences lean a little to
    # technology, two are strongly about music
    tech = [0.35, 0.30, 0.25, 0.25, 0.25]
    music = [0.20, 0.90, 0.20, 0.20, 0.20]
    sims = np.array([tech] * 8 + [music] * 2)
    assert int(np.argmax(sims.mean(0))) == 1  # a mean of raw cosines: entertainment
    r = sentence_z(sims).mean(0)
    assert int(np.argmax(r)) == 0  # one vote per sentence: technology
    assert r[0] == pytest.approx((8 * 1.75 - 2 * 0.5) / 10, abs=1e-3)
    # label_lean() is this statistic on unit vectors
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(6, 8))
    labs = rng.normal(size=(4, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labs /= np.linalg.norm(labs, axis=1, keepdims=True)
    assert np.allclose(label_lean(emb, labs), sentence_z(emb @ labs.T).mean(0))


def test_borrowed_description_exact_plural_and_part() -> None:
    by_name = {t.label.name: t.label.description for t in default_labels().topics}
    assert borrowed_description("Taiwan") == by_name["Taiwan"]
    assert borrowed_description("climate change") == by_name["climate change"]
    assert borrowed_description("sports") == by_name["sport"]
    assert borrowed_description("business") == by_name["economy, business and finance"]
    assert borrowed_description("entertainment") == by_name["arts, culture, entertainment and media"]
    assert borrowed_description("technology") == by_name["science and technology"]
    assert borrowed_description("quantum gravity") is None
    assert borrowed_description("") is None


def test_same_word_matches_inflections_only() -> None:
    assert _same_word("diplomacy", "diplomatic")
    assert _same_word("economy", "economic")
    assert _same_word("tariff", "tariff")
    assert not _same_word("war", "warn")
    assert _same_word("ukraine", "ukrainian")
    assert not _same_word("election", "electricity")
    assert not _same_word("human", "humanitarian")


def test_lexical_keys_split_coordinated_names() -> None:
    assert _lexical_keys("trade and tariffs") == [
        (["trade", "tariff"], "TT"),
        (["trade"], None),
        (["tariff"], None),
    ]
    assert _lexical_keys("war in Ukraine") == [(["war", "ukraine"], "WU")]


def test_lexical_hits_need_all_words_in_one_sentence() -> None:
    units = [
        _Unit("text", 0, 22, "The war goes on there."),
        _Unit("text", 23, 45, "Ukraine asks for help."),
        _Unit("text", 46, 80, "Russia's war in Ukraine enters a new year."),
        _Unit("text", 81, 110, "New AI rules; cyber attacks rose."),
    ]
    assert _lexical_hits(_lexical_keys("war in Ukraine"), units) == [2]
    assert _lexical_hits(_lexical_keys("artificial intelligence"), units) == [3]
    assert _lexical_hits(_lexical_keys("cyberattacks"), units) == [3]
    assert _lexical_hits(_lexical_keys("fentanyl"), units) == []


# ---------------------------------------------------------------------- calibration, by hand

# The stand-in encoder: a text's vector is that of the first keyword it contains. Label prompts
# ("This news article is about alpha.") contain the label's name; the article's sentences say
# "stocks", "goals" or "rain" and so lean to a label without naming it.
_AXES = {
    "alpha": (1.0, 0.0, 0.0),
    "stocks": (1.0, 0.0, 0.0),
    "beta": (0.0, 1.0, 0.0),
    "goals": (0.0, 1.0, 0.0),
    "gamma": (0.0, 0.0, 1.0),
    "rain": (0.0, 0.0, 1.0),
}
_WORDS = re.compile(r"[a-z]+")


class _KeywordEncoder:
    """Stands in for the sentence encoder: unit vectors chosen by keyword, so cosines are 0 or 1."""

    dim = 3

    def __init__(self, *_: object, **__: object) -> None:
        pass

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            hits = [w for w in _WORDS.findall(text.lower()) if w in _AXES]
            rows.append(_AXES[hits[0]] if hits else (1.0, 1.0, 1.0))
        out = np.asarray(rows, dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


ALPHA_BETA_GAMMA = [Label("alpha"), Label("beta"), Label("gamma")]


@pytest.fixture
def hand_scorer(monkeypatch: pytest.MonkeyPatch) -> TopicScorer:
    """A scorer whose encoder is ``_KeywordEncoder`` and whose reference taxonomy is alpha, beta, gamma,
    so that the caller's three labels are the reference every label is standardised against."""
    taxonomy = LabelSet("test", (), tuple(CatalogEntry(lab.name, lab) for lab in ALPHA_BETA_GAMMA))
    monkeypatch.setattr(topics_module, "SentenceEncoder", _KeywordEncoder)
    monkeypatch.setattr(topics_module, "default_labels", lambda: taxonomy)
    return TopicScorer()


def _hand(scorer: TopicScorer, sentences: list[str], threshold: float | None = None) -> dict[str, float]:
    text = " ".join(sentences)
    spans, at = [], 0
    for sentence in sentences:
        spans.append((at, at + len(sentence)))
        at += len(sentence) + 1
    return {t.label: t.score for t in scorer.score(text, spans, ALPHA_BETA_GAMMA, threshold=threshold)}


# Worked values. One sentence on axis 1 has cosines (1, 0, 0) to alpha, beta, gamma; standardised
# across the three labels (mean 1/3, std sqrt(2)/3) that is (sqrt 2, -1/sqrt 2, -1/sqrt 2), and the
# mean over sentences standardised again leaves the same z = (1.4142, -0.7071, -0.7071). The
# calibrated score is 1 / (1 + exp(-1.8 (z - 2.06))): 0.2382 for z = 1.4142, 0.0068 for -0.7071.


def test_z_score_lean_and_logistic_by_hand(hand_scorer: TopicScorer) -> None:
    # one sentence, on alpha's axis, naming no label: the logistic alone
    assert _hand(hand_scorer, ["Stocks fell sharply."], threshold=0.0) == {
        "alpha": 0.2382,
        "beta": 0.0068,
        "gamma": 0.0068,
    }
    # two sentences, one vote each: lean (0.3536, 0.3536, -0.7071) standardises (std 0.5) to
    # z = (0.7071, 0.7071, -1.4142): scores 1 / (1 + exp(2.4352)) = 0.0805 and 1 / (1 + exp(6.2536))
    assert _hand(hand_scorer, ["Stocks fell.", "Goals came late."], threshold=0.0) == {
        "alpha": 0.0805,
        "beta": 0.0805,
        "gamma": 0.0019,
    }
    # three sentences on alpha's axis and one on beta's: lean ((3 sqrt 2 - 1/sqrt 2) / 4,
    # (sqrt 2 - 3/sqrt 2) / 4, -1/sqrt 2) = (0.8839, -0.1768, -0.7071), standardised
    # z = (1.3363, -0.2673, -1.0690): the sentence count decides, not one sentence's strength
    sentences = ["Stocks fell.", "Stocks rose.", "Stocks closed.", "Goals came."]
    assert _hand(hand_scorer, sentences, threshold=0.0) == {"alpha": 0.2137, "beta": 0.0149, "gamma": 0.0036}


def test_unnamed_labels_below_the_threshold_are_not_returned(hand_scorer: TopicScorer) -> None:
    # z = 1.4142 is below the calibration centre 2.06: 0.2382 < 0.5, and no label is named
    assert _hand(hand_scorer, ["Stocks fell sharply."]) == {}


def test_a_label_named_in_the_text_is_lifted_just_over_the_threshold(hand_scorer: TopicScorer) -> None:
    # "beta" is named but the sentence leans to alpha: beta's 0.0068 is lifted to 0.5 + 0.0068 / 10 =
    # 0.5007, just over the default threshold of 0.5, so the topic comes back; gamma is not named
    # and stays out. Alpha, the dominant theme (z > 0) when some label is named, gets at least 0.6.
    assert _hand(hand_scorer, ["Stocks fell; beta was named."]) == {"alpha": 0.6, "beta": 0.5007}
    # the lift is not a floor above the threshold: asked at 0.5008, beta is gone
    assert _hand(hand_scorer, ["Stocks fell; beta was named."], threshold=0.5008) == {"alpha": 0.6}


def test_a_named_label_keeps_a_higher_score_of_its_own(hand_scorer: TopicScorer) -> None:
    # alpha named and dominant: max(0.2382, 0.5 + 0.0238, 0.6) = 0.6; a named label whose own
    # score is above its lift keeps it (two alpha sentences and one naming gamma on gamma's axis:
    # lean (0.7071, -0.7071, 0) standardised z = (1.2247, -1.2247, 0): gamma 0.0239 -> 0.5024)
    assert _hand(hand_scorer, ["Alpha rose."]) == {"alpha": 0.6}
    assert _hand(hand_scorer, ["Stocks fell.", "Stocks rose.", "Rain fell on gamma."], threshold=0.0) == {
        "alpha": 0.6,
        "gamma": 0.5024,
        "beta": 0.0027,
    }


# ---------------------------------------------------------------------- with the packaged encoder


@pytest.fixture(scope="module")
def scorer() -> TopicScorer:
    return TopicScorer(threads=1)


def _score(
    scorer: TopicScorer, text: str, labels: list[Label], threshold: float | None = None
) -> list[Topic]:
    return scorer.score(text, sentence_spans(text), labels, threshold=threshold)


@pytest.mark.encoder
def test_related_label_returned_unrelated_not(scorer: TopicScorer) -> None:
    labels = [Label("sports"), Label("climate change"), Label("fentanyl"), Label("elections")]
    topics = _score(scorer, SPORT_TEXT, labels)
    assert [t.label for t in topics] == ["sports"]
    assert 0.5 <= topics[0].score <= 1.0


@pytest.mark.encoder
def test_a_topic_named_once_comes_back_just_over_the_threshold(scorer: TopicScorer) -> None:
    """News copy that names a topic once, in a story about something else: the topic comes back,
    scored by the lift (0.5 + its own score / 10), below the story's theme; unnamed ones do not."""
    aside = "Before the match the club's captain spoke briefly about climate change."
    text = f"{SPORT_TEXT}\n\n{aside}"
    labels = [Label("sports"), Label("climate change"), Label("elections")]
    spans = sentence_spans(text)
    got = {t.label: t for t in _score(scorer, text, labels)}
    assert list(got) == ["sports", "climate change"]
    z = scorer.label_z(scorer.encoder.encode([text[s:e] for s, e in spans]), labels)
    own = 1.0 / (1.0 + np.exp(-1.8 * (z - 2.06)))  # the calibrated logistic, fitted on BBC News
    assert own[1] < 0.5  # the embeddings alone would not return it
    assert got["climate change"].score == pytest.approx(0.5 + own[1] / 10, abs=1e-4)
    assert got["sports"].score == pytest.approx(max(own[0], 0.6), abs=1e-4) and own[0] > own[1]
    assert got["climate change"].evidence[0].text == aside  # the naming sentence first


@pytest.mark.encoder
def test_caller_labels_come_back_verbatim(scorer: TopicScorer) -> None:
    labels = [Label("Football (soccer)", "association football matches, clubs and players"), Label("Recipes")]
    topics = _score(scorer, SPORT_TEXT, labels)
    assert [t.label for t in topics] == ["Football (soccer)"]


@pytest.mark.encoder
def test_threshold_removes_topic(scorer: TopicScorer) -> None:
    labels = [Label("trade and tariffs"), Label("sports"), Label("immigration")]
    topics = _score(scorer, TRADE_TEXT, labels)
    assert [t.label for t in topics] == ["trade and tariffs"]
    everything = _score(scorer, TRADE_TEXT, labels, threshold=0.0)
    assert everything[0].label == "trade and tariffs"
    assert sorted(t.label for t in everything) == sorted(lab.name for lab in labels)
    assert [t.score for t in everything] == sorted((t.score for t in everything), reverse=True)
    # a topic comes back when its score reaches the threshold, not one step below it (the best
    # score may round to 1.0, so the cut is tried at the second one)
    second = everything[1].score
    assert second < everything[0].score
    assert _score(scorer, TRADE_TEXT, labels, threshold=second) == everything[:2]
    assert _score(scorer, TRADE_TEXT, labels, threshold=second + 0.0001) == everything[:1]


@pytest.mark.encoder
def test_evidence_offsets_exact_and_best_first(scorer: TopicScorer) -> None:
    topics = _score(scorer, TRADE_TEXT, [Label("trade and tariffs")])
    ev = topics[0].evidence
    assert 1 <= len(ev) <= 3
    for e in ev:
        assert e.field == "text"
        assert TRADE_TEXT[e.start : e.end] == e.text
    # the sentence that names the topic comes first
    assert ev[0].text == "The government announced new tariffs on imported steel and aluminium on Monday."
    assert ev[0].start == 0
    assert "spokesman" not in " ".join(e.text for e in ev)


@pytest.mark.encoder
def test_title_evidence_indexes_the_title(scorer: TopicScorer) -> None:
    title = "  Tariffs on steel and aluminium  "
    text = "Officials said the duties would protect domestic factories.\n\nA spokesman spoke to reporters."
    topics = scorer.score(text, sentence_spans(text), [Label("trade and tariffs")], title=title)
    assert [t.label for t in topics] == ["trade and tariffs"]
    first = topics[0].evidence[0]
    assert first.field == "title"
    assert (first.start, first.end, first.text) == (2, 32, "Tariffs on steel and aluminium")
    assert title[first.start : first.end] == first.text
    for e in topics[0].evidence[1:]:
        assert text[e.start : e.end] == e.text


@pytest.mark.encoder
def test_default_taxonomy_on_sport(scorer: TopicScorer) -> None:
    topics = _score(scorer, SPORT_TEXT, default_labels().topic_labels)
    assert topics[0].label == "sport"
    returned = {t.label for t in topics}
    assert not returned & {"climate change", "fentanyl", "war in Ukraine", "elections", "weather", "health"}


@pytest.mark.encoder
def test_empty_inputs(scorer: TopicScorer) -> None:
    assert scorer.score("", [], [Label("sport")]) == []
    assert _score(scorer, SPORT_TEXT, []) == []


@pytest.mark.encoder
def test_label_vectors_are_cached(scorer: TopicScorer, monkeypatch: pytest.MonkeyPatch) -> None:
    labels = [Label("space exploration", "rockets, astronauts and missions to the Moon and Mars")]
    _score(scorer, SPORT_TEXT, labels)
    calls: list[int] = []
    encode = scorer.encoder.encode

    def counting(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        return encode(texts)

    monkeypatch.setattr(scorer.encoder, "encode", counting)
    _score(scorer, SPORT_TEXT, labels)
    sentences = len(sentence_spans(SPORT_TEXT))
    assert calls == [sentences]  # only the article's sentences, once; the label came from the cache


# ---------------------------------------------------------------------- document encoder (optional)


@pytest.fixture(scope="module")
def two_reader_scorer() -> TopicScorer:
    """A scorer with a document encoder. CI has no all-mpnet-base-v2, so the packaged MiniLM
    folder stands in as the second reader: the plumbing and the arithmetic are what is tested."""
    from service.tagging.embedder import default_encoder_path

    return TopicScorer(threads=1, doc_encoder_path=default_encoder_path())


@pytest.mark.encoder
def test_doc_encoder_reads_title_and_text_as_one_vector(
    two_reader_scorer: TopicScorer, scorer: TopicScorer
) -> None:
    title = "Tariffs on steel"
    units = [_Unit("title", 0, len(title), title), _Unit("text", 0, 10, TRADE_TEXT[:10])]
    vec = two_reader_scorer.encode_document(units)
    assert vec is not None and vec.shape == (two_reader_scorer.encoder.dim,)
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4
    expected = two_reader_scorer.encoder.encode([f"{title}\n{TRADE_TEXT[:10]}"])[0]
    assert np.allclose(vec, expected, atol=1e-5)
    assert two_reader_scorer.encode_document([]) is None
    assert scorer.encode_document(units) is None  # no document encoder configured


@pytest.mark.encoder
def test_doc_vector_is_a_second_vote(two_reader_scorer: TopicScorer, scorer: TopicScorer) -> None:
    labels = [Label("sport"), Label("business"), Label("politics")]
    units = [_Unit("text", s, e, SPORT_TEXT[s:e]) for s, e in sentence_spans(SPORT_TEXT)]
    emb = scorer.encoder.encode([u.text for u in units])
    alone = scorer.score_embedded(units, emb, labels, threshold=0.0)
    # without a document vector the two-reader scorer scores exactly as the one-reader scorer
    assert two_reader_scorer.score_embedded(units, emb, labels, threshold=0.0) == alone
    # a document vector that reads "business" lifts business and lowers sport
    business = two_reader_scorer.label_vectors(
        TopicScorer._resolve([Label("business")]), two_reader_scorer.doc_encoder
    )[0]
    both = {
        t.label: t.score
        for t in two_reader_scorer.score_embedded(units, emb, labels, threshold=0.0, doc_vec=business)
    }
    first = {t.label: t.score for t in alone}
    assert both["business"] > first["business"]
    assert both["sport"] < first["sport"]
    # and one that agrees with the sentences keeps sport on top
    agree = two_reader_scorer.encode_document(units)
    ranked = two_reader_scorer.score_embedded(units, emb, labels, threshold=0.0, doc_vec=agree)
    assert ranked[0].label == "sport"
    assert [t.label for t in two_reader_scorer.score(SPORT_TEXT, sentence_spans(SPORT_TEXT), labels)] == [
        "sport"
    ]


@pytest.mark.encoder
def test_doc_encoder_reads_a_long_article_in_weighted_sentence_chunks(
    two_reader_scorer: TopicScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentences = [f"Sentence number {i} says something about the steel tariffs." for i in range(60)]
    units = [_Unit("text", 0, len(t), t) for t in sentences]
    enc = two_reader_scorer.doc_encoder
    assert enc is not None
    per = enc.count_tokens(sentences[:1])[0]
    seen: list[list[str]] = []
    encode = enc.encode

    def recording(texts):
        seen.append(list(texts))
        return encode(texts)

    monkeypatch.setattr(enc, "encode", recording)
    vec = two_reader_scorer.encode_document(units)
    chunks = seen[-1]
    # whole sentences, in order, every one read once, each chunk within the encoder's input
    assert "\n".join(chunks).split("\n") == sentences
    fit = (382) // (per + 1)
    assert [len(c.split("\n")) for c in chunks] == [fit] * (60 // fit) + ([60 % fit] if 60 % fit else [])
    assert all(n <= 382 for n in enc.count_tokens(chunks))
    # the vector is the token-weighted mean of the chunk vectors
    vecs = encode(chunks)
    weights = np.array([len(c.split("\n")) * (per + 1) for c in chunks], dtype=np.float32)
    expected = (vecs * weights[:, None]).sum(0)
    assert vec is not None
    assert np.allclose(vec, expected / np.linalg.norm(expected), atol=1e-5)


@pytest.mark.encoder
def test_doc_encoder_reads_only_when_the_sentences_leave_the_ranking_open(
    two_reader_scorer: TopicScorer, scorer: TopicScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels = [Label("sport"), Label("business"), Label("politics")]
    units = [_Unit("text", s, e, SPORT_TEXT[s:e]) for s, e in sentence_spans(SPORT_TEXT)]
    emb = scorer.encoder.encode([u.text for u in units])
    z = np.sort(scorer.label_z(emb, labels))
    gap = float(z[-1] - z[-2])
    assert gap > 0.5  # the sentences alone say sport, clearly
    assert not scorer.needs_document(emb, labels)  # no document encoder: never
    monkeypatch.setattr(two_reader_scorer, "doc_margin", gap - 0.01)
    assert not two_reader_scorer.needs_document(emb, labels)
    monkeypatch.setattr(two_reader_scorer, "doc_margin", gap + 0.01)
    assert two_reader_scorer.needs_document(emb, labels)
    assert two_reader_scorer.needs_document(emb, labels[:1])  # one label: nothing to rank it against

    # score() reads the document exactly when needs_document says so
    calls: list[int] = []
    enc = two_reader_scorer.doc_encoder
    assert enc is not None
    encode = enc.encode

    def counting(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        return encode(texts)

    monkeypatch.setattr(enc, "encode", counting)
    spans = sentence_spans(SPORT_TEXT)
    two_reader_scorer.score(SPORT_TEXT, spans, labels)
    assert calls == [1]
    monkeypatch.setattr(two_reader_scorer, "doc_margin", gap - 0.01)
    ranked = two_reader_scorer.score(SPORT_TEXT, spans, labels, threshold=0.0)
    assert calls == [1]
    assert ranked == scorer.score(SPORT_TEXT, spans, labels, threshold=0.0)
