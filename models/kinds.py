"""Common-noun kinds: WordNet categories asked as labels over a window's common nouns.

Descriptors give a few hundred label strings; GLiNER reads unseen labels because its training data
names thousands of types. Every common noun of a window has a WordNet sense, and every ancestor of
that sense is a category it belongs to: "tanker" is a ship, a vessel, a craft, a vehicle. Asking one
of those ancestors as a label and marking every noun of the window under it teaches the model to
match a label's meaning to a word's, over thousands of categories and without a teacher's guess.

Held out the same way as descriptors: a noun under a held-out concept ("cholera" is a disease) is
never labelled, and a category that would cover such a noun in the window is not asked there.
"""

from __future__ import annotations

from functools import cache

from models.descriptors import HELD_WORDS, STOP, Describer

# The concept marker of a kind span in silver data: "kind:<synset offset>", negative when held out.
KIND = "kind:"
# Lexicographer files whose nouns name things a reader may tag: act, animal, artifact, body, event,
# food, object, phenomenon, plant, possession, process, state, substance. People, groups and places
# are left to the concepts, which tag names, not "the minister" or "the country".
KIND_LEXNAMES = {4, 5, 6, 8, 11, 13, 17, 19, 20, 21, 22, 26, 27}
# A category needs this many ancestors: "artifact" or "act" cover too much to be worth asking.
MIN_DEPTH = 5
MAX_WORDS = 3
EXTRA_HELD = ["weaponry", "weapon system", "munition", "explosive device", "ailment", "infection", "money",
              "stream", "tribunal", "demonstration"]
# Near-synonyms of held-out concepts that are not below them in WordNet ("ailment" beside "disease"):
# asking them would teach the held-out concept under another name.
NEAR_HELD = {"ailment", "illness", "sickness", "disorder", "infection", "affliction", "epidemic", "pandemic",
             "firearm", "arm", "armament", "munition", "ammunition", "explosive", "money", "cash", "coin",
             "banknote", "waterway", "watercourse", "stream", "tribunal", "demonstrator", "uprising",
             "riot", "covenant", "contract"}


class Kinds:
    """Kind spans of nouns and the categories a noun may be asked under."""

    def __init__(self, describer: Describer, taken_labels: set[str]) -> None:
        self.wn = describer.wn
        # Kinds also hold out what sits beside a held-out concept in WordNet rather than below it.
        self.held = describer.held | {off for lemma in EXTRA_HELD for off in self.wn.lemma_senses(lemma)[:1]}
        self.taken = {w.lower() for w in taken_labels}  # concept wordings: never a kind label
        # A category above a held-out concept ("instrumentality" above weapon) would cover its nouns.
        self.above_held = frozenset().union(*(self.wn.closure(h) for h in self.held))

    def sense(self, words: list[str]) -> int | None:
        """First noun sense of a run of lower-case nouns: the compound if WordNet has it, else its head."""
        for cand in ([" ".join(words[-2:])] if len(words) > 1 else []) + [words[-1]]:
            senses = self.wn.lemma_senses(cand)
            if senses:
                return senses[0]
        return None

    def lemma(self, word: str) -> str:
        """A plural's singular when WordNet knows the word only in the singular ("rifles": "rifle")."""
        if self.wn.lemma_senses(word) or not word.endswith("s") or word.endswith(("ss", "us", "is")):
            return word
        for cut in (word[:-3] + "y" if word.endswith("ies") else "", word[:-2] if word.endswith("es") else "",
                    word[:-1]):
            if cut and self.wn.lemma_senses(cut):
                return cut
        return word

    def span_kind(self, words: list[str]) -> int | None:
        """Offset of a noun run's kind, negative when it is held out, None when it is not a kind."""
        lemma = self.lemma(words[-1])
        off = self.sense([*words[:-1], lemma]) if len(lemma) >= 3 else None
        held = off is not None and self.wn.is_a(off, self.held)
        if held or set([*words, lemma]) & (HELD_WORDS | NEAR_HELD):
            return -off if off else None
        if off is None or lemma in STOP or self.wn.lexname.get(off) not in KIND_LEXNAMES:
            return None
        return off

    @cache  # noqa: B019 - one instance per process
    def labels(self, off: int) -> tuple[int, ...]:
        """Categories a kind may be asked under: itself and its ancestors, deep and not held out."""
        out = []
        for s in (off, *self.wn.closure(off)):
            name = self.name(s)
            if (self.wn.lexname.get(s) in KIND_LEXNAMES and len(self.wn.closure(s)) >= MIN_DEPTH
                    and not self.wn.is_a(s, self.held) and s not in self.above_held
                    and name not in self.taken and not set(name.split()) & (HELD_WORDS | NEAR_HELD)):
                out.append(s)
        return tuple(sorted(out))

    def covers(self, label: int, off: int) -> bool:
        """Whether a noun of kind ``off`` falls under category ``label``."""
        return label == abs(off) or label in self.wn.closure(abs(off))

    def name(self, off: int) -> str:
        """The label string of a category: its first WordNet lemma."""
        return self.wn.head[off].lower()

    def depth(self, off: int) -> int:
        """How many ancestors a category has (more is more specific)."""
        return len(self.wn.closure(off))


Run = tuple[int, int, list[str]]


def noun_runs(doc, named: list[tuple[int, int]], max_words: int = MAX_WORDS) -> list[Run]:
    """Lower-case common-noun runs (spaCy tags NN, NNS) outside named spans: (start, end, words)."""
    out: list[Run] = []
    run: list = []
    for tok in [*doc, None]:
        if tok is not None and tok.tag_ in ("NN", "NNS") and tok.text.islower() and \
                tok.text.replace("-", "").isalpha() and \
                not any(a <= tok.idx < b for a, b in named):
            run.append(tok)
            continue
        if run:
            run = run[-max_words:]
            out.append((run[0].idx, run[-1].idx + len(run[-1].text), [t.text for t in run]))
        run = []
    return out
