"""Open-vocabulary labels mined from the text itself: what news copy calls a name it mentions.

The 62 concepts teach a fixed inventory; a model that only ever sees those label strings learns a
classifier keyed on them, not label reading. GLiNER reads unseen labels because its training data
names thousands of types. Here the types come from the articles: the noun written before a name
("the chipmaker Nvidia", "striker Thierry Henry"), the head of an apposition ("Ryanair, the budget
airline,") and WordNet's instance hypernyms ("Thames" is a river). Each descriptor must be a WordNet
noun whose first sense is an entity-like kind, and never one of the held-out concepts or below one.
"""

from __future__ import annotations

import re

from models.concepts import HELD_OUT
from models.wordnet import WordNet

# WordNet lexicographer files whose nouns can type a name: person, group, location, artifact, event,
# act, substance, communication, food, animal, object.
ENTITY_LEXNAMES = {18: "person", 14: "group", 15: "location", 6: "artifact", 11: "event", 4: "act",
                   27: "substance", 10: "communication", 13: "food", 5: "animal", 17: "object"}
# Nouns that stand before names without typing them ("rivals Arsenal" is fine, "week Monday" is not).
STOP = {"year", "years", "week", "weeks", "day", "days", "month", "months", "time", "times", "number",
        "part", "way", "end", "move", "deal", "rest", "side", "lot", "top", "mr", "mrs", "ms", "dr", "sir",
        "st", "said", "says", "told", "new", "former", "late", "fellow", "then", "now", "also", "both",
        "including", "like", "as", "while", "when", "after", "before", "with", "from", "by", "for", "to",
        "of", "in", "on", "at", "and", "or", "but", "the", "a", "an", "this", "that", "its", "his", "her",
        "their", "our", "giant", "star", "name", "member", "members", "head", "chief", "boss", "man",
        "woman", "men", "women", "people", "person", "group", "thing", "things", "one", "ones", "home",
        "news", "report", "reports", "spokesman", "spokeswoman", "source", "sources", "friend", "son",
        "daughter", "wife", "husband", "father", "mother", "brother", "sister", "family", "case", "kind",
        "version", "edition", "round", "game", "win", "defeat", "victory", "loss", "match", "title",
        "final", "season", "show", "hit", "release", "issue", "plan", "plans"}
# Strings that name or sit under a held-out concept, whatever WordNet's first sense says.
HELD_WORDS = {"court", "judge", "justice", "magistrate", "journalist", "reporter", "correspondent",
              "editor", "columnist", "agreement", "university", "college", "bank", "banker", "lender",
              "treaty", "pact", "accord", "convention", "protest", "protester", "demonstration", "rally",
              "march", "strike", "disease", "illness", "virus", "weapon", "gun", "missile", "bomb",
              "rifle", "currency", "dollar", "euro", "pound", "yen", "river", "lake", "sea", "ocean",
              "bay", "gulf", "channel", "strait", "rebel", "rebels", "militia", "insurgent",
              "insurgents", "guerrilla", "militant", "militants", "armed", "army", "troops"}
# WordNet lemmas of the held-out concepts (first sense unless given): their hyponyms are held out too.
HELD_SYNSETS = [("journalist", 1), ("judge", 1), ("university", 1), ("university", 2), ("bank", 2),
                ("court", 1), ("court", 2), ("treaty", 1), ("protest", 1), ("protest", 2), ("disease", 1),
                ("weapon", 1), ("currency", 1), ("body of water", 1), ("military unit", 1),
                ("paramilitary", 1), ("militia", 1), ("militia", 2), ("rebel", 2), ("guerrilla", 1)]

_WORD = r"[a-z][a-z-]+"
_BEFORE = re.compile(rf"(?:^|[\s(\"'])({_WORD})(?:\s+({_WORD}))?\s+$")
_AFTER = re.compile(rf"^,\s+(?:the|a|an)\s+((?:[\w-]+\s+){{0,3}}?)({_WORD})"
                    r"(?=\s*(?:,|\.|;|\)|\s(?:of|in|at|for|from|who|which|whose|that|and|on|to|with|based)\b))")


class Describer:
    """Finds descriptor labels for name spans; one WordNet reader per process."""

    def __init__(self, wn: WordNet) -> None:
        self.wn = wn
        self.held = set()
        for lemma, k in HELD_SYNSETS:
            senses = wn.lemma_senses(lemma)
            if len(senses) >= k:
                self.held.add(senses[k - 1])
        for concept in HELD_OUT:
            self.held.update(wn.lemma_senses(concept)[:1])
        self._cache: dict[str, tuple[str, int] | None] = {}

    def kind(self, word: str) -> tuple[str, int] | None:
        """(label, lexname) for a noun that can type a name, else None."""
        if word in self._cache:
            return self._cache[word]
        out = None
        if word not in STOP and len(word) > 2 and not any(h in word.split() for h in HELD_WORDS):
            senses, label = self.wn.lemma_senses(word), word
            if not senses and word.endswith("s") and not word.endswith(("ss", "us", "is", "as")):
                for cut in (word[:-1], word[:-2] if word.endswith("es") else None):
                    if cut and (senses := self.wn.lemma_senses(cut)):
                        label = cut
                        break
            if senses and label not in STOP and label not in HELD_WORDS:
                first = senses[0]
                lex = self.wn.lexname.get(first)
                if lex in ENTITY_LEXNAMES and not self.wn.is_a(first, self.held):
                    out = (label, lex)
        self._cache[word] = out
        return out

    def instance_label(self, name: str) -> tuple[str, int] | None:
        """WordNet's type for a named instance ("Thames" -> "river"), when it is not held out."""
        for off in self.wn.lemma_senses(name)[:1]:
            if off not in self.wn.instance:
                continue
            for parent in self.wn.parents.get(off, []):
                label = self.wn.head.get(parent, "")
                lex = self.wn.lexname.get(parent)
                if (label and lex in ENTITY_LEXNAMES and not self.wn.is_a(parent, self.held)
                        and not any(h in label.split() for h in HELD_WORDS)):
                    return label, lex
        return None

    def describe(self, text: str, start: int, end: int, person: bool = False,
                 nouns: set[int] | None = None) -> tuple[str, int] | None:
        """The descriptor the text itself gives the name at [start, end), if any.

        ``nouns`` holds the start offsets of the tokens a tagger calls common nouns: "beat Arsenal"
        and "best Henry" must not make "beat" or "best" a type.
        """
        def noun_at(pos: int) -> bool:
            return nouns is None or pos in nouns

        m = _BEFORE.search(text[max(0, start - 40):start])
        if m and any(w in HELD_WORDS for w in m.groups() if w):
            return None  # "reporter John Smith": a held-out kind, so no label at all
        if m:
            first, second = m.group(1), m.group(2)
            last = second or first
            at = start - len(last) - 1
            if text[at:start - 1] == last and noun_at(at):
                compound = f"{first} {second}"
                if second and self.wn.lemma_senses(compound) and (k := self.kind(compound)):
                    return k
                if k := self.kind(last):
                    return k
        m = _AFTER.search(text[end:end + 80])
        if m and noun_at(end + m.start(2)):
            mods, head = m.group(1).split(), m.group(2)
            if mods and self.wn.lemma_senses(f"{mods[-1].lower()} {head}") and \
                    (k := self.kind(f"{mods[-1].lower()} {head}")):
                return k
            if k := self.kind(head):
                return k
        if person:
            return None  # common names are WordNet instances of someone else (John Smith, explorer)
        k = self.instance_label(text[start:end])
        return k if k and k[1] in (15, 17) else None  # places only: "the Pentagon" in news is not a building


def article_descriptors(describer: Describer, text: str, spans: list, name_kinds: set[str],
                        nouns: set[int] | None = None) -> dict[int, str]:
    """Descriptor label per span index; a descriptor found once holds for the same name (or surname)."""
    found: dict[int, str] = {}
    by_name: dict[str, str] = {}
    for i, s in enumerate(spans):
        if s.kind not in name_kinds:
            continue
        k = describer.describe(text, s.start, s.end, s.kind == "PERSON", nouns)
        if k:
            found[i] = k[0]
            surface = text[s.start:s.end]
            by_name.setdefault(surface, k[0])
            if s.kind == "PERSON":
                by_name.setdefault(surface.split()[-1], k[0])
    for i, s in enumerate(spans):
        if i in found or s.kind not in name_kinds:
            continue
        surface = text[s.start:s.end]
        label = by_name.get(surface) or (by_name.get(surface.split()[-1]) if s.kind == "PERSON" else None)
        if label:
            found[i] = label
    return found


def lexname_of(describer: Describer, label: str) -> int | None:
    """Lexicographer file of a label's first noun sense (None when WordNet does not know it)."""
    k = describer.kind(label)
    return k[1] if k else None
