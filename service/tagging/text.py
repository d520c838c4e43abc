"""Word splitting and sentence spans shared by training and inference.

The embedded model is trained on words cut by ``NewsWordSplitter`` and the engine installs the
same splitter into GLiNER at load time: a model sees at inference exactly the word boundaries it
was trained on (GLiNER's default splitter cuts "U.S." into four words that no teacher ever marks).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Order matters: dotted abbreviations ("U.S.", "U.K.", "a.m.") before plain words, so the dots stay
# inside the word; then words with inner hyphens ("Kai-shek", "Indo-Pacific"); then any other
# single non-space character (punctuation, emoji, symbols) as its own word.
_WORD = re.compile(r"(?:[^\W\d_]\.){2,}|\w+(?:[-_]\w+)*|\S")

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace and an
# opening capital/digit/quote, or at a blank line. Abbreviations that usually precede a name do not
# end a sentence.
_SENT_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[\w])|\n\s*\n")
_NO_BREAK_BEFORE = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Gen|Sen|Rep|Gov|Lt|Col|Capt|Sgt|St|Jr|Sr|No|vs|Oct|Nov|Dec|Jan|Feb|Mar|"
    r"Apr|Aug|Sept|Sep)\.|\b[A-Z]\.|(?:[^\W\d_]\.){2,})$"
)


class NewsWordSplitter:
    """GLiNER-compatible word splitter: yields ``(word, start, end)`` with Python str offsets."""

    def __call__(self, text: str) -> Iterator[tuple[str, int, int]]:
        """Split ``text`` into words."""
        for m in _WORD.finditer(text):
            yield m.group(), m.start(), m.end()


def words(text: str) -> list[tuple[str, int, int]]:
    """All words of ``text`` with their offsets."""
    return list(NewsWordSplitter()(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (and lines) of ``text``, whitespace trimmed, in order."""
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text):
        start = block_start
        for m in _SENT_END.finditer(text, block_start, block_end):
            if _NO_BREAK_BEFORE.search(text, start, m.start()):
                continue
            spans.append((start, m.start()))
            start = m.end()
        spans.append((start, block_end))
    return [_trim(text, s, e) for s, e in spans if text[s:e].strip()]


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """Lines of ``text``: news copy puts headlines, bylines and paragraphs on lines of their own."""
    pos = 0
    for line in text.splitlines(keepends=True):
        yield pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
