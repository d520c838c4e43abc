"""Windows: sentence-aligned, overlapping, within the model's limits, with exact offsets."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from service.tagging.text import words
from service.tagging.windows import MAX_WORDS, split_windows, word_count


def _sentence(i: int, n: int) -> str:
    """A sentence of exactly ``n`` words (n >= 2) ending in a full stop, tagged with its number."""
    return "S" + str(i) + " " + " ".join(["word"] * (n - 2)) + " end."


def test_short_text_is_one_window_of_all_of_it():
    text = "Joe Biden met Xi Jinping in Lima. They talked for two hours."
    (w,) = split_windows(text, window_words=100)
    assert (w.start, w.end, w.text, w.words) == (0, len(text), text, 14)


def test_windows_follow_sentences_and_overlap_by_one_sentence():
    # five sentences of 10 words (the full stop is a word of its own): 11 model words each
    sents = [_sentence(i, 10) for i in range(5)]
    text = " ".join(sents)
    wins = split_windows(text, window_words=25, overlap=1)
    assert [w.text for w in wins] == [
        " ".join(sents[0:2]),
        " ".join(sents[1:3]),
        " ".join(sents[2:4]),
        " ".join(sents[3:5]),
    ]
    assert all(w.words == 22 for w in wins)
    for w in wins:
        assert text[w.start : w.end] == w.text


def test_no_overlap_when_asked():
    sents = [_sentence(i, 10) for i in range(4)]
    text = " ".join(sents)
    wins = split_windows(text, window_words=25, overlap=0)
    assert [w.text for w in wins] == [" ".join(sents[0:2]), " ".join(sents[2:4])]


def test_overlap_never_fills_more_than_half_a_window():
    # a 20-word sentence between two short ones: repeating it would re-read most of the next window
    text = _sentence(0, 5) + " " + _sentence(1, 20) + " " + _sentence(2, 5)
    wins = split_windows(text, window_words=28, overlap=1)
    assert [w.words for w in wins] == [27, 6]
    assert wins[1].text == _sentence(2, 5)


def test_sentence_longer_than_a_window_is_cut_at_word_boundaries():
    long = " ".join(f"w{i}" for i in range(250)) + "."
    wins = split_windows(long, window_words=100, overlap=1)
    assert [w.words for w in wins] == [100, 100, 51]
    assert wins[0].text == " ".join(f"w{i}" for i in range(100))
    assert wins[2].text.endswith("w249.")
    assert all(long[w.start : w.end] == w.text for w in wins)


def test_window_never_exceeds_the_model_max_len():
    long = " ".join("x" for _ in range(1000))
    wins = split_windows(long, window_words=10_000)
    assert max(w.words for w in wins) == MAX_WORDS
    assert sum(w.words for w in wins) == 1000


def test_subword_budget_cuts_windows_too():
    text = "alpha beta gamma. delta epsilon zeta eta theta iota."
    # every word costs 3 sub-word tokens: 12 tokens fit 4 words; the long sentence is cut
    wins = split_windows(text, window_words=100, overlap=0, word_cost=lambda w: 3, max_cost=12)
    assert [w.text for w in wins] == ["alpha beta gamma.", "delta epsilon zeta eta", "theta iota."]


def test_text_without_words_has_no_windows():
    assert split_windows("", 100) == []
    assert split_windows("  \n\n\t ", 100) == []


def test_punctuation_between_sentences_stays_in_a_window():
    # The sentence splitter leaves the ")" after "!" out of both sentences; it is still a word.
    wins = split_windows("Stop!) Go on now.", window_words=4, overlap=0)
    assert [w.text for w in wins] == ["Stop!)", "Go on now."]
    assert sum(w.words for w in wins) == word_count("Stop!) Go on now.")


def test_word_count_counts_model_words():
    assert word_count("U.S. President Joe Biden's visit.") == 8  # U.S. President Joe Biden ' s visit .


_alphabet = string.ascii_letters + string.digits + "  \n.,!?'\"-()’“”\u00e9\u4e2d"


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=_alphabet, max_size=600),
    window_words=st.integers(min_value=1, max_value=40),
    overlap=st.integers(min_value=0, max_value=3),
)
def test_windows_cover_every_word_with_exact_offsets(text, window_words, overlap):
    wins = split_windows(text, window_words=window_words, overlap=overlap)
    all_words = words(text)
    covered = set()
    prev_start = -1
    for w in wins:
        assert text[w.start : w.end] == w.text
        assert w.start > prev_start  # always moves forward
        prev_start = w.start
        inner = words(w.text)
        assert len(inner) == w.words <= max(window_words, 1)
        # the window's words are exactly the document's words in that range, shifted
        doc_words = [(t, s - w.start, e - w.start) for t, s, e in all_words if w.start <= s and e <= w.end]
        assert inner == doc_words
        covered.update(s for _, s, e in all_words if w.start <= s and e <= w.end)
    assert covered == {s for _, s, _ in all_words}
