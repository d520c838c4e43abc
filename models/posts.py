"""Synthetic social posts: curated names of films, shows, artists, products and venues in casual text.

BBC prose has few films, shows, products and venues, and none of the writing of social media, so
the model rarely proposed a title or a brand in a tweet at all. A template from
``models/data/posts.json`` ("watching {movie} at {building or facility} lol") filled with names from
the same file's lists gives short, informal text whose spans are known by construction. The lists are
curated for this recipe from general knowledge; no labelled evaluation set was read to write them.

The same machinery, with ``news=True``, reads ``models/data/news_events.json``: news sentences about
named events (summits, scandals, disasters, wars, elections, tournaments) and the politicians around
them, which BBC 2004-05 and its teachers hardly label (52 spans of "event" in 2,002 articles), and
about government agencies beside companies, drugs and crimes, which they label as rarely. There a
name keeps its listed case and a leading "the" stays outside the span, as news copy and its readers
treat it ("the Cold War": "Cold War"); names that occur in the news gold set or the seed articles were
left out of the lists.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from models.concepts import CONCEPTS
from service.tagging.text import NewsWordSplitter

DATA = Path(__file__).resolve().parent / "data" / "posts.json"
NEWS_EVENTS = DATA.with_name("news_events.json")
ARTICLE = re.compile(r"^(?:the|The) ")
SLOT = re.compile(r"\{([^{}]+)\}")


class Posts:
    """Templates and name lists of ``posts.json``; ``window`` draws one filled-in post."""

    def __init__(self, path: Path = DATA, news: bool = False) -> None:
        data = json.loads(path.read_text())
        self.news = news
        self.names: dict[str, list[str]] = {c: sorted(set(v)) for c, v in data["entities"].items()}
        self.templates: list[str] = list(data["templates"])
        unknown = {c for c in self.names if c not in CONCEPTS}
        unknown |= {s for t in self.templates for s in SLOT.findall(t) if s not in self.names}
        if unknown:
            raise ValueError(f"posts.json names slots that are not concepts with a list: {sorted(unknown)}")
        self.split = NewsWordSplitter()

    def stats(self) -> dict:
        """Counts for the model card: templates and names per concept."""
        return {"templates": len(self.templates), "names": {c: len(v) for c, v in sorted(self.names.items())}}

    def window(self, rng: random.Random) -> dict:
        """One post as a training window: words and (first, last, concept) spans of the filled slots."""
        while True:
            out = self._fill(rng.choice(self.templates), rng)
            if out is not None:
                return out

    def _fill(self, template: str, rng: random.Random) -> dict | None:
        parts: list[str] = []
        filled: list[tuple[int, int, str]] = []
        pos = 0
        length = 0
        for m in SLOT.finditer(template):
            parts.append(template[pos:m.start()])
            length += m.start() - pos
            name = rng.choice(self.names[m.group(1)])
            skip = 0
            if self.news:
                # News copy keeps the listed case, capitalises a sentence's first word, and leaves a
                # leading "the" outside the name.
                if m.start() == 0:
                    name = name[:1].upper() + name[1:]
                article = ARTICLE.match(name)
                skip = article.end() if article else 0
            else:
                name = _cased(name, rng)
            filled.append((length + skip, length + len(name), m.group(1)))
            parts.append(name)
            length += len(name)
            pos = m.end()
        parts.append(template[pos:])
        text = "".join(parts)
        ws = list(self.split(text))
        by_start = {s: k for k, (_, s, _) in enumerate(ws)}
        by_end = {e: k for k, (_, _, e) in enumerate(ws)}
        spans = []
        for s, e, concept in filled:
            a, b = by_start.get(s), by_end.get(e)
            if a is None or b is None:
                return None  # a name run into the template's next word ("{movie}s"): draw another
            spans.append((a, b, concept))
        return {"tokens": [w for w, _, _ in ws], "spans": spans}


def _cased(name: str, rng: random.Random) -> str:
    """A name as posts write it: mostly as listed, sometimes all lower case, now and then upper case."""
    r = rng.random()
    if r < 0.2:
        return name.lower()
    if r < 0.25:
        return name.upper()
    return name
