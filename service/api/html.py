"""HTML to the text a reader sees, with a map from every character back to the caller's string.

CMS bodies are HTML. Tagging the markup as text finds names inside ``<script>``, puts tags into
evidence sentences and leaves ``&mdash;`` undecoded. :func:`visible_text` keeps what a browser
shows: scripts, styles, templates, comments, the head and elements marked ``hidden`` are dropped,
character references are decoded, runs of whitespace collapse to one space as in normal flow
(except inside ``<pre>``), ``<br>`` becomes a line break and block elements (paragraphs,
headings, list items, table cells ...) become paragraph breaks, so that sentences never run
across them. Every character of the result remembers the span of the HTML it came from, so a span
found in the visible text maps back to offsets in the string the caller sent
(:meth:`VisibleText.to_source`).

Pure Python on the standard library's tolerant ``html.parser``: no network, no Flask, and broken
markup (unclosed tags, stray end tags) still gives text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

# Elements whose content a reader never sees.
HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "iframe", "object", "svg", "math"})
# Elements that end a paragraph: their content never joins the text around them into one sentence.
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul",
})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                  "track", "wbr"})
PARAGRAPH_BREAK = "\n\n"
_SPACE = re.compile(r"[ \t\n\r\f]+")  # HTML's ASCII whitespace; a no-break space is text


@dataclass(frozen=True)
class VisibleText:
    """The visible text of an HTML string and, per character, the HTML span it came from.

    ``starts[i]:ends[i]`` is the span of the source behind ``text[i]``: one character for plain
    text, the whole reference for ``&mdash;``, an empty span (at the tag) for a break or space the
    markup implied.
    """

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """The source span behind ``text[start:end]`` (``start < end``), from its first to last character."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span {start}:{end} is outside the visible text ({len(self.text)} characters)")
        return self.starts[start], self.ends[end - 1]


class _Collector(HTMLParser):
    """Visible characters and their source spans, in document order."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)  # references one by one: each maps to its own span
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.literal: list[bool] = []  # inside <pre>: whitespace kept as is
        self.skipping: list[str] = []  # open elements inside a hidden one (to find its end)
        self.pre = 0

    def position(self) -> int:
        """Where in the source the construct being handled starts."""
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def emit(self, text: str, start: int, end: int, literal: bool = False) -> None:
        for ch in text:
            self.chars.append(ch)
            self.starts.append(start)
            self.ends.append(end)
            self.literal.append(literal)

    def emit_text(self, data: str, at: int) -> None:
        """Raw text from the source at ``at``: whitespace runs collapse to one space (not in <pre>)."""
        if self.skipping:
            return
        if self.pre:
            for i, ch in enumerate(data):
                self.emit(ch, at + i, at + i + 1, literal=True)
            return
        pos = 0
        for match in _SPACE.finditer(data):
            for i in range(pos, match.start()):
                self.emit(data[i], at + i, at + i + 1)
            self.emit(" ", at + match.start(), at + match.end())
            pos = match.end()
        for i in range(pos, len(data)):
            self.emit(data[i], at + i, at + i + 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element: maybe hidden, maybe a break."""
        at = self.position()
        if self.skipping:
            if tag not in VOID:
                self.skipping.append(tag)
            return
        if tag in HIDDEN or any(name == "hidden" for name, _ in attrs):
            if tag not in VOID:
                self.skipping.append(tag)
            return
        if tag == "br":
            self.emit("\n", at, at)
        elif tag in BLOCKS:
            self.emit(PARAGRAPH_BREAK, at, at)
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """``<br/>`` and friends: a start tag with nothing inside."""
        if tag in VOID:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        """Close an element: end a hidden stretch, or break after a block."""
        at = self.position()
        if self.skipping:
            if tag in self.skipping:  # tolerate unclosed children: close back to the matching one
                while self.skipping.pop() != tag:
                    pass
            return
        if tag in BLOCKS:
            self.emit(PARAGRAPH_BREAK, at, at)
        if tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data: str) -> None:
        """Text, exactly as in the source."""
        self.emit_text(data, self.position())

    def handle_entityref(self, name: str) -> None:
        """``&name;``: decoded, mapped to the whole reference."""
        self._reference(f"&{name}")

    def handle_charref(self, name: str) -> None:
        """``&#nnn;`` or ``&#xhh;``: decoded, mapped to the whole reference."""
        self._reference(f"&#{name}")

    def _reference(self, raw: str) -> None:
        if self.skipping:
            return
        at = self.position()
        end = at + len(raw)
        if self.source.startswith(";", end):
            end += 1
        decoded = unescape(self.source[at:end])
        if decoded == self.source[at:end]:  # not a known reference: it is text
            self.emit_text(decoded, at)
            return
        for ch in decoded:
            self.emit(ch, at, end)


def _tidy(chars: list[str], starts: list[int], ends: list[int], literal: list[bool]) -> VisibleText:
    """Separators merged: a run of spaces and breaks becomes its widest break ("\n\n" over "\n"),
    or one space; none at either end. Characters inside ``<pre>`` (``literal``) are kept as they are."""
    out: list[tuple[str, int, int]] = []
    i, n = 0, len(chars)
    while i < n:
        if literal[i] or chars[i] not in " \n":
            out.append((chars[i], starts[i], ends[i]))
            i += 1
            continue
        j = i
        while j < n and not literal[j] and chars[j] in " \n":
            j += 1
        run = "".join(chars[i:j]).replace(" ", "")
        if run:
            first = i + chars[i:j].index("\n")
            out.extend([("\n", starts[first], ends[first])] * (2 if "\n\n" in run else 1))
        else:
            out.append((" ", starts[i], ends[j - 1]))
        i = j
    while out and out[0][0] in " \n":
        out.pop(0)
    while out and out[-1][0] in " \n":
        out.pop()
    text = "".join(c for c, _, _ in out)
    return VisibleText(text, tuple(s for _, s, _ in out), tuple(e for _, _, e in out))


def visible_text(source: str) -> VisibleText:
    """The text a reader sees in the HTML ``source``, with the map back into ``source``."""
    collector = _Collector(source)
    collector.feed(source)
    collector.close()
    return _tidy(collector.chars, collector.starts, collector.ends, collector.literal)
