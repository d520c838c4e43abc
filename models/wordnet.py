"""A minimal reader of the WordNet 3.0 noun database (Debian's wordnet-base) for concept typing.

NLTK's reader wants files the Debian package does not ship; the two files used here (index.noun and
data.noun) are all that noun typing needs: lemmas, their senses in frequency order, and hypernym and
instance-hypernym pointers.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

DICT = Path("/usr/share/wordnet")


class WordNet:
    """Noun senses and hypernym closures."""

    def __init__(self, root: Path = DICT) -> None:
        if not (root / "data.noun").exists():
            raise RuntimeError(f"WordNet not found at {root}: "
                               "apt-get install wordnet-base wordnet-sense-index")
        self.senses: dict[str, list[int]] = {}
        for line in (root / "index.noun").read_text(encoding="latin-1").splitlines():
            if line.startswith(" "):
                continue
            f = line.split()
            p_cnt = int(f[3])
            synset_cnt = int(f[2])
            offsets = f[4 + p_cnt + 2:]
            self.senses[f[0]] = [int(o) for o in offsets[:synset_cnt]]
        self.parents: dict[int, list[int]] = {}
        self.instance: set[int] = set()
        self.lexname: dict[int, int] = {}  # lexicographer file number: 18 noun.person, 14 noun.group, ...
        self.head: dict[int, str] = {}  # the synset's first lemma, spaces for underscores
        for line in (root / "data.noun").read_text(encoding="latin-1").splitlines():
            if line.startswith(" "):
                continue
            f = line.split(" | ")[0].split()
            off, w_cnt = int(f[0]), int(f[3], 16)
            self.lexname[off] = int(f[1])
            self.head[off] = f[4].replace("_", " ")
            i = 4 + 2 * w_cnt
            p_cnt = int(f[i])
            ptrs = f[i + 1:i + 1 + 4 * p_cnt]
            par = []
            for k in range(0, len(ptrs), 4):
                if ptrs[k] in ("@", "@i") and ptrs[k + 2] == "n":
                    par.append(int(ptrs[k + 1]))
                    if ptrs[k] == "@i":
                        self.instance.add(off)
            self.parents[off] = par

    @cache  # noqa: B019 - one reader per process, lives as long as the process
    def closure(self, off: int) -> frozenset[int]:
        """All hypernyms (instance hypernyms included) of a synset."""
        out: set[int] = set()
        stack = list(self.parents.get(off, []))
        while stack:
            p = stack.pop()
            if p not in out:
                out.add(p)
                stack.extend(self.parents.get(p, []))
        return frozenset(out)

    def synset(self, lemma: str, sense: int = 1) -> int:
        """Offset of ``lemma``'s n-th noun sense (1-based)."""
        return self.senses[lemma.lower().replace(" ", "_")][sense - 1]

    def lemma_senses(self, lemma: str) -> list[int]:
        """A lemma's noun senses, most frequent first ([] when unknown)."""
        return self.senses.get(lemma.lower().replace(" ", "_"), [])

    def is_a(self, off: int, targets: set[int]) -> bool:
        """Whether the synset is one of ``targets`` or below one of them."""
        return off in targets or bool(self.closure(off) & targets)
