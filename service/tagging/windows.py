"""Sentence-aligned, overlapping windows over a whole document, with exact character offsets.

GLiNER reads at most ``max_len`` words (384 for the models we ship or name) and drops the rest with
only a warning; the embedded model was also trained on passages of 20-80 words and tags best on
windows of about that length. So the engine never hands the model a whole article: it cuts the
text into windows of about ``window_words`` words that start and end on sentence boundaries and
overlap by ``overlap`` sentences (an entity at a window's edge is seen whole, with context, by the
next window). A sentence longer than a window is cut at word boundaries.

Every window is a slice of the document: ``text[w.start:w.end] == w.text``, so a mention found at
``(s, e)`` inside a window sits at ``(w.start + s, w.start + e)`` in the document.

Words are counted with :class:`service.tagging.text.NewsWordSplitter`, the splitter the engine
installs into GLiNER, so a window's word count is exactly what the model sees. An optional
``word_cost`` (the number of sub-word tokens of a word) bounds the encoder input as well: GLiNER's
transformer truncates past 512 sub-word tokens silently, and a window of 100 odd "words" (URLs,
long numbers) can get there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.tagging.text import sentence_spans, words

# GLiNER's max_len for every model we ship or name; a window must never exceed it.
MAX_WORDS = 384


@dataclass(frozen=True)
class Window:
    """A slice of the document fed to the model as one input: ``doc[start:end] == text``."""

    start: int
    end: int
    text: str
    words: int
    cost: int = 0  # summed ``word_cost`` (sub-word tokens) when one was given


@dataclass(frozen=True)
class _Unit:
    """A sentence, or a piece of an over-long sentence: the smallest thing a window holds."""

    start: int
    end: int
    words: int
    cost: int


def _units(
    text: str, max_words: int, word_cost: Callable[[str], int] | None, max_cost: int | None
) -> list[_Unit]:
    """Sentences of ``text`` as units; a sentence over ``max_words`` (or ``max_cost``) is cut."""
    all_words = words(text)
    units: list[_Unit] = []
    wi = 0
    spans = sentence_spans(text)
    # Sentence spans are in order but may leave out stray punctuation between sentences ("!) 0": the
    # ")"); such words go with the sentence before them (the first takes any before it), so every
    # word is in a unit. A sentence's words are those starting before the next sentence.
    for limit in [start for start, _ in spans[1:]] + [len(text) + 1]:
        sent = []
        while wi < len(all_words) and all_words[wi][1] < limit:
            sent.append(all_words[wi])
            wi += 1
        if not sent:
            continue
        piece_start = 0
        n = 0
        cost = 0
        for k, (w, _, _) in enumerate(sent):
            c = word_cost(w) if word_cost else 1
            if n and (n + 1 > max_words or (max_cost is not None and cost + c > max_cost)):
                units.append(_Unit(sent[piece_start][1], sent[k - 1][2], n, cost))
                piece_start, n, cost = k, 0, 0
            n += 1
            cost += c
        units.append(_Unit(sent[piece_start][1], sent[-1][2], n, cost))
    return units


def split_windows(
    text: str,
    window_words: int = 100,
    overlap: int = 1,
    *,
    word_cost: Callable[[str], int] | None = None,
    max_cost: int | None = None,
) -> list[Window]:
    """Cut ``text`` into sentence-aligned windows of at most ``window_words`` words.

    Consecutive windows share their last/first ``overlap`` sentences (fewer when those would fill
    more than half a window, or make no progress). ``word_cost``/``max_cost`` optionally bound the
    summed cost (sub-word tokens) of a window too. Text without words gives no windows.
    """
    if window_words < 1:
        raise ValueError("window_words must be at least 1")
    if overlap < 0:
        raise ValueError("overlap must be >= 0")
    window_words = min(window_words, MAX_WORDS)
    units = _units(text, window_words, word_cost, max_cost)
    out: list[Window] = []
    i = 0
    while i < len(units):
        j = i
        n = cost = 0
        while j < len(units):
            u = units[j]
            if j > i and (n + u.words > window_words or (max_cost is not None and cost + u.cost > max_cost)):
                break
            n += u.words
            cost += u.cost
            j += 1
        start, end = units[i].start, units[j - 1].end
        out.append(Window(start, end, text[start:end], n, cost))
        if j >= len(units):
            break
        # The next window starts up to ``overlap`` units back, while those units fill at most half
        # a window (long overlaps would re-read most of the text), and always moves forward.
        back, shared = 0, 0
        while back < overlap and j - back - 1 > i and shared + units[j - back - 1].words <= window_words // 2:
            back += 1
            shared += units[j - back].words
        i = j - back
    return out


def word_count(text: str) -> int:
    """Words in ``text`` as the model counts them."""
    return len(words(text))
