"""From the model's raw spans to one entity per real-world thing, labelled, scored and ranked.

The steps, each a function below so tests can feed hand-made spans without a model:

1. :func:`clean` trims what is not part of a name from each span (possessive "'s", surrounding
   punctuation and quotes, a leading lower-case "the", a compound adjective's tail: "Russia-linked",
   "St. Louis-based") and drops junk: spans without a letter, or
   made only of stopwords and title words ("President", "the Prime Minister").
2. :func:`dedupe` merges what overlapping windows found twice: the same span keeps its best score;
   of overlapping different spans the best-scoring one stays (flat NER over the whole document).
3. :func:`group` puts mentions of one thing together:

   - the same name after normalisation (case, punctuation, possessive, leading titles:
     "President Joe Biden" and "Joe Biden" share the key "joe biden");
   - a curated alias table of very common country short forms (:data:`COUNTRY_ALIASES`, in
     ``data/name_words.json``: "U.S.", "US", "USA", "America" -> "United States"); it is
     deliberately small, a gazetteer of news shorthand, not a knowledge base;
   - a shorter person name that is the last word (surname) or first word (Chinese family name:
     "Xi") of a longer person name in the same article joins it; with several candidates, the one
     named most recently before the short mention (else the first after it). A one-word name the
     model typed otherwise ("Campbell" as an organisation) joins only when it follows the full name
     and stands beside a verb of speech ("Campbell said"), and then takes the person's label;
   - a shorter name of two or more words that ends a longer one ("Homeland Security" in
     "Department of Homeland Security");
   - an acronym joins its long form when the article links them: written "Long Form (LF)", or the
     acronym equals the initials of the long form's capitalised words ("DHS").

   A compound like "Biden-Xi" whose hyphenated parts each name an entity of the article is split
   into one mention per part (offsets exact).
4. :func:`label_of` picks the group's label by summed mention scores; a person-like group becomes
   "political leader" (when that label was asked for) if any mention is introduced by a leader title
   ("President", "Prime Minister", "Chancellor", "leader", "Secretary of State", "minister" ...) or
   followed by one in apposition ("Xi, China's president").
5. The entity score is a damped noisy-OR of its three best mention scores,
   ``1 - (1 - s1)(1 - s2/2)(1 - s3/2)``: one confident mention gives its score, repetition adds a
   little, and it never reaches 1 from many weak mentions. A caller's threshold applies to this
   score (the engine collects mentions from half the threshold): one mention at 0.4 is not an
   entity at threshold 0.5, two are (0.52).
6. Relevance in [0, 1], an entity's ``relevance`` on the wire: how central the entity is to the
   article (how sure the model is, is the score).
   ``0.35 * frequency + 0.25 * earliness + 0.2 * prominence + 0.2 * score`` where frequency is
   ``log(1 + n) / log(11)`` capped at 1 (ten mentions saturate), earliness is
   ``1 - first_offset / len(text)``, prominence is 1 for a title mention, 0.5 for a mention in the
   lead (first 400 characters) and 0 otherwise. Entities are sorted by relevance, then first position.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from service.tagging.names import WORDS, acronym_in
from service.tagging.text import sentence_spans
from service.tagging.types import Entity, Mention

LEADER_LABEL = "political leader"
COUNTRY_LABEL = "country"

# The word tables (data/name_words.json, read once by service.tagging.names; each table's "why"
# there says what it is for).
PERSON_TITLES = WORDS.person_titles
LEADER_TITLES = WORDS.leader_titles
STOPWORDS = WORDS.stopwords
COUNTRY_ALIASES = WORDS.country_aliases
_PERSON_WORDS = WORDS.person_words
_NAME_KIND_WORDS = WORDS.name_kind_words
_CONNECTORS = WORDS.connectors
_TITLE_WORDS = frozenset(w for t in (*PERSON_TITLES, *LEADER_TITLES) for w in re.findall(r"[a-z]+", t))
LEAD_CHARS = 400

# Up to three qualifier words may precede a title ("U.S.", "Chinese", "Bank of England", "former"),
# and several titles may follow each other ("Vice President"). Longest alternatives first, so a
# multi-word title wins over its first word.
_TITLE_ALT = "|".join(sorted((re.escape(t) for t in PERSON_TITLES), key=len, reverse=True))
_TITLE_PREFIX = re.compile(
    r"^(?:(?:former|then|acting|late|the|ex-)\s+)*(?:\S+\s+){0,3}?(?i:" + _TITLE_ALT + r")"
    r"(?:\s+(?:(?:of|for)\s+\S+\s+)?(?i:" + _TITLE_ALT + r"))*\s+(?=\S)",
    re.IGNORECASE,
)
# A leader title before the name, or after it in apposition ("Olaf Scholz, Germany's chancellor").
_LEADER_ALT = "|".join(sorted((re.escape(t) for t in LEADER_TITLES), key=len, reverse=True))
_LEADER_BEFORE = re.compile(r"(?i:\b(?:" + _LEADER_ALT + r"))\s*$")
_LEADER_AFTER = re.compile(
    r"^\s*,\s+(?:(?:the|a|former|then|its|his|her|their)\s+|[A-Z][\w.-]*(?:'s|\u2019s)?\s+){0,3}"
    r"(?i:" + _LEADER_ALT + r")\b"
)
# What follows a leader's name in news copy: "Trump takes office", "the Biden administration".
_LEADER_CONTEXT_AFTER = re.compile(
    r"^(?:(?:'s|\u2019s)?\s+(?:administration|government|cabinet|presidency)\b"
    r"|\s+(?:will\s+|is\s+to\s+)?(?:takes?|took|taking|assumes?|assumed|assuming)\s+office\b"
    r"|\s+(?:was|is|will\s+be)\s+sworn\s+in\b)"
)


@dataclass(frozen=True)
class RawMention:
    """A span as the model returned it, with document offsets: ``fields[field][start:end] == text``.

    ``probs`` optionally holds the model's score for each label of the span (GLiNER's class
    probabilities); without it, ``score`` counts for ``label`` only.
    """

    start: int
    end: int
    text: str
    label: str
    score: float
    field: str = "text"
    probs: tuple[tuple[str, float], ...] = ()

    def label_scores(self) -> dict[str, float]:
        """Score of each label for this span."""
        out = dict(self.probs)
        out[self.label] = max(out.get(self.label, 0.0), self.score)
        return out


@dataclass
class _Group:
    mentions: list[RawMention] = field(default_factory=list)
    canonical: str | None = None  # forced canonical name (alias table)

    @property
    def first(self) -> RawMention:
        return min(self.mentions, key=_position)


def _position(m: RawMention) -> tuple[int, int]:
    # Title mentions come first in reading order.
    return (0 if m.field == "title" else 1, m.start)


# --------------------------------------------------------------------------- normalisation


@lru_cache(maxsize=65536)
def norm(s: str) -> str:
    """Lower case, typographic apostrophes unified, possessive dropped, punctuation as spaces,
    invisible format characters (soft hyphen, zero-width space) dropped."""
    s = "".join(c for c in s if unicodedata.category(c) != "Cf").lower().replace("\u2019", "'")
    s = re.sub(r"'s\b", "", s)
    s = re.sub(r"[^\w\s-]|_", " ", s)
    s = re.sub(r"(?<!\w)-|-(?!\w)", " ", s)
    return re.sub(r"\s+", " ", s).strip()


@lru_cache(maxsize=65536)
def strip_titles(name: str) -> str:
    """A person's ``name`` without leading titles, honorifics and their qualifiers.

    "U.S. Secretary of State Antony Blinken" -> "Antony Blinken"; "Chinese President Xi Jinping" ->
    "Xi Jinping"; a name that is only titles comes back unchanged.
    """
    m = _TITLE_PREFIX.match(name)
    rest = name[m.end() :] if m else ""
    return rest if rest[:1].isupper() else name


@lru_cache(maxsize=65536)
def key_of(name: str, person: bool = False) -> str:
    """Grouping key: normalised name without a leading "the" (and, for people, titles)."""
    k = norm(strip_titles(name) if person else name)
    if k.startswith("the ") and len(k) > 4:
        k = k[4:]
    return k


@lru_cache(maxsize=65536)
def is_person_label(label: str) -> bool:
    """Whether a label (the caller's wording) names people."""
    return bool(_PERSON_WORDS.intersection(norm(label).split()))


# --------------------------------------------------------------------------- 1. clean

_TRIM_LEFT = re.compile(r"^(?:[^\w(]+|the\s+)", re.UNICODE)
_POSSESSIVE = re.compile(r"(?:'s|\u2019s|'|\u2019)$")
# A compound adjective's tail is not part of the name: "Russia-linked" -> "Russia", "St. Louis-based".
_ADJECTIVE_TAIL = re.compile(
    r"[-\u2010\u2011](?:based|linked|backed|born|led|owned|made|allied|aligned|funded|controlled|"
    r"occupied|run|bound|headquartered|registered|listed)$",
    re.IGNORECASE,
)
# Text pasted from HTML or a feed often keeps its character references ("Kahlua &lt;3", "Shane &amp;
# Gwen"); the word splitter cuts "&amp;" into "&", "amp", ";", so a span may take "&amp" at an edge.
_REF = r"(?:#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos|nbsp|ndash|mdash|[lr]squo|[lr]dquo|hellip)"
_REF_LEFT = re.compile(r"^(?:&" + _REF + r";?|" + _REF + r";)\s*", re.IGNORECASE)
_REF_RIGHT = re.compile(r"\s*&" + _REF + r";?$", re.IGNORECASE)
# "Abby tonite", "Wembley tonight": a lower-case word of time or chat ends a phrase, never a name.
_TIME_TAIL = re.compile(r"\s+(?:" + "|".join(sorted(map(re.escape, WORDS.time_tails))) + r")$")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Narrow ``text[start:end]`` to the name in it."""
    changed = True
    while changed and start < end:
        changed = False
        s = text[start:end]
        m = _REF_LEFT.match(s) or _TRIM_LEFT.match(s)
        if m and m.end() < len(s):
            start += m.end()
            changed = True
            continue
        m = _REF_RIGHT.search(s) or _TIME_TAIL.search(s) or _ADJECTIVE_TAIL.search(s) or _POSSESSIVE.search(s)
        if m and m.start() > 0:
            end = start + m.start()
            changed = True
            continue
        last = s[-1]
        if not last.isalnum() and last != ")" and not unicodedata.category(last).startswith("M"):
            # keep the final dot of an abbreviation ("U.S.", "Corp.")
            if last == "." and (
                re.search(r"(?:^|[^\w])\w\.\w\.$", s) or re.search(r"\b[A-Z][a-z]{1,3}\.$", s)
            ):
                break
            end -= 1
            changed = True
        elif last == ")" and "(" not in s:
            end -= 1
            changed = True
    return start, end


def is_junk(text: str) -> bool:
    """A span that names nothing: no letter, or only stopwords and title words, or one character."""
    if len(text) < 2 or not any(c.isalpha() for c in text):
        return True
    words = norm(text).split()
    return not words or all(w in STOPWORDS or w in _TITLE_WORDS for w in words)


_LETTER_WORD = re.compile(r"[^\W\d_][\w'\u2019.-]*")


def is_fragment(text: str, cased: bool = True) -> bool:
    """A phrase rather than a name: a lower-case word that is not a name connector ("China's support
    for Russia"), a comma, or an unclosed bracket ("Russia, the problems in the (Taiwan").

    In text that does not follow case conventions (``cased`` false) a lower-case word says nothing.
    """
    if "," in text or text.count("(") != text.count(")"):
        return True
    return cased and any(w.islower() and w not in _CONNECTORS for w in _LETTER_WORD.findall(text))


def is_cased(text: str) -> bool:
    """Whether ``text`` follows case conventions: most sentences open with a capital, and some words do.

    Posts and chat typed in lower case do not, and there a lower-case span may be a name ("ray rice",
    "walmart"); news copy, headlines and bylines do.
    """
    words = _LETTER_WORD.findall(text)
    if not words:
        return True
    if sum(w[0].isupper() for w in words) < 0.05 * len(words):
        return False
    firsts = [m.group() for s, e in sentence_spans(text) if (m := _LETTER_WORD.search(text, s, e))]
    return sum(w[0].islower() for w in firsts) * 2 <= len(firsts)


@lru_cache(maxsize=65536)
def is_name_label(label: str) -> bool:
    """Whether a label (the caller's wording) asks for proper names: people, places, bodies."""
    return bool((_PERSON_WORDS | _NAME_KIND_WORDS).intersection(norm(label).split()))


def clean(raw: Iterable[RawMention], fields: dict[str, str]) -> list[RawMention]:
    """Trim each span to its name and drop junk; offsets stay exact in ``fields[m.field]``.

    For labels that ask for proper names (:func:`is_name_label`), a span that reads as a phrase
    (:func:`is_fragment`) is junk too; other labels ("date", "product", "disease") keep theirs.
    """
    out = []
    name_label: dict[str, bool] = {}
    cased = {f: is_cased(text) for f, text in fields.items()}
    for m in raw:
        src = fields[m.field]
        start, end = _trim(src, m.start, m.end)
        if start >= end:
            continue
        text = src[start:end]
        if is_junk(text):
            continue
        if m.label not in name_label:
            name_label[m.label] = is_name_label(m.label)
        if name_label[m.label] and is_fragment(text, cased[m.field]):
            continue
        out.append(replace(m, start=start, end=end, text=text))
    return out


# --------------------------------------------------------------------------- 2. dedupe


def dedupe(raw: Iterable[RawMention]) -> list[RawMention]:
    """One mention per span (best score, label probabilities merged); no two mentions overlap."""
    best: dict[tuple[str, int, int], RawMention] = {}
    for m in raw:
        k = (m.field, m.start, m.end)
        old = best.get(k)
        if old is None:
            best[k] = m
            continue
        probs = old.label_scores()
        for lab, s in m.label_scores().items():
            probs[lab] = max(probs.get(lab, 0.0), s)
        top = m if m.score > old.score else old
        best[k] = replace(top, probs=tuple(sorted(probs.items())))
    kept: list[RawMention] = []
    taken: dict[str, set[int]] = defaultdict(set)  # character positions already in a kept span
    for m in sorted(best.values(), key=lambda m: (-m.score, m.start)):
        used = taken[m.field]
        if any(i in used for i in range(m.start, m.end)):
            continue
        used.update(range(m.start, m.end))
        kept.append(m)
    return sorted(kept, key=_position)


# --------------------------------------------------------------------------- 3. group


def _initials(name: str) -> set[str]:
    """Acronyms a name may go by: initials of its capitalised words, and of all its words but "the"
    and "and" ("VOA" for "Voice of America"); a leading "U.S."/"UK"-like qualifier may be left out."""
    words = [w for w in re.split(r"[\s-]+", name) if w and w[0].isalnum()]
    variants = [words]
    if len(words) > 2 and ("." in words[0] or norm(words[0]) in COUNTRY_ALIASES):
        variants.append(words[1:])
    out = set()
    for ws in variants:
        out.add("".join(w[0] for w in ws if w[0].isupper()))
        out.add("".join(w[0] for w in ws if w.lower() not in {"the", "and"}).upper())
    return {a for a in out if len(a) >= 2}


_DEFINITION = re.compile(r"\(\s*((?:[A-Z]\.?){2,6})\s*\)")


def _acronym_definitions(text: str) -> dict[str, list[str]]:
    """Acronym -> the text just before each "(ACR)" in ``text`` (where a long form defines it)."""
    out: dict[str, list[str]] = defaultdict(list)
    for m in _DEFINITION.finditer(text):
        out[m.group(1).replace(".", "")].append(text[max(0, m.start() - 120) : m.start()].rstrip())
    return out


def _split_compounds(mentions: list[RawMention], keys: set[str]) -> list[RawMention]:
    """Split "Biden-Xi" into "Biden" and "Xi" when every part names something in the article."""
    out: list[RawMention] = []
    for m in mentions:
        parts = list(re.finditer(r"[^\s-]+", m.text))
        if "-" in m.text and len(parts) > 1 and " " not in m.text:
            part_keys = [key_of(p.group()) for p in parts]
            if all(k in keys or _matches_surname(k, keys) for k in part_keys):
                out.extend(
                    replace(m, start=m.start + p.start(), end=m.start + p.end(), text=p.group())
                    for p in parts
                )
                continue
        out.append(m)
    return out


def _matches_surname(k: str, keys: set[str]) -> bool:
    return " " not in k and any(len(o.split()) > 1 and k in (o.split()[0], o.split()[-1]) for o in keys)


def _key(m: RawMention) -> str:
    return key_of(m.text, is_person_label(m.label))


def group(mentions: Sequence[RawMention], fields: dict[str, str]) -> list[_Group]:
    """Group mentions of the same real-world thing (see the module docstring for the rules)."""
    text = fields.get("text", "")
    keys = {_key(m) for m in mentions}
    mentions = _split_compounds(list(mentions), keys)

    # 1. exact key, with country aliases folded in
    by_key: dict[str, _Group] = {}
    for m in mentions:
        k = _key(m)
        alias = COUNTRY_ALIASES.get(k) or COUNTRY_ALIASES.get(norm(m.text))
        if alias:
            k = "alias:" + alias
        g = by_key.setdefault(k, _Group(canonical=alias))
        g.mentions.append(m)

    groups = list(by_key.items())
    person = {k: _is_person_group(g) for k, g in groups}
    parent: dict[str, str] = {}
    name_part: set[str] = set()  # one-word names the model typed otherwise, joined to a person

    def root(k: str) -> str:
        while k in parent:
            k = parent[k]
        return k

    # 2. short names into longer ones (indexes keep this linear in the number of names)
    name_parts: dict[str, list[str]] = defaultdict(list)  # first/last word -> person names
    suffixes: dict[tuple[str, ...], list[str]] = defaultdict(list)  # last words -> longer names
    for k, _ in groups:
        if k.startswith("alias:"):
            continue
        toks = k.split()
        if len(toks) >= 2 and person[k]:
            for part in {toks[0], toks[-1]}:
                name_parts[part].append(k)
        for n in range(2, len(toks)):
            suffixes[tuple(toks[-n:])].append(k)
    for k, g in groups:
        if k.startswith("alias:"):
            continue
        toks = k.split()
        if len(toks) == 1:
            candidates = [o for o in name_parts.get(toks[0], ()) if o != k]
            if not (person[k] or _person_ish(g)):
                candidates = [o for o in candidates if _quoted_by_surname(g, by_key[o], fields)]
        else:
            candidates = [o for o in suffixes.get(tuple(toks), ()) if person[o] == person[k]]
        if candidates:
            parent[k] = _closest(g, [(c, by_key[c]) for c in candidates])
            if len(toks) == 1 and not person[k]:
                name_part.add(k)

    # 3. acronyms
    linked_before = _acronym_definitions(text)
    for k, g in groups:
        acr = acronym_in(g.mentions[0].text)
        if not acr or k in parent or person[k] or k.startswith("alias:"):
            continue
        for other, og in groups:
            if other == k or person[other] or other.startswith("alias:"):
                continue
            long_text = og.mentions[0].text
            linked = any(before.endswith(long_text) for before in linked_before.get(acr, ()))
            if linked or acr in _initials(long_text):
                parent[k] = other
                break

    merged: dict[str, _Group] = {}
    for k, g in groups:
        r = root(k)
        tgt = merged.setdefault(r, _Group(canonical=by_key[r].canonical))
        if k in name_part:
            # "Xi" read as an organisation beside "Xi Jinping": it is the person, labelled as such
            label = _majority_label(by_key[r])
            tgt.mentions.extend(replace(m, label=label, probs=()) for m in g.mentions)
        else:
            tgt.mentions.extend(g.mentions)
    for g in merged.values():
        g.mentions.sort(key=_position)
    return sorted(merged.values(), key=lambda g: _position(g.first))


_REPORTING = "|".join(sorted(WORDS.reporting_verbs, key=len, reverse=True))
_SPEECH_AFTER = re.compile(r"^\s*,?\s*(?:" + _REPORTING + r")\b", re.IGNORECASE)
_SPEECH_BEFORE = re.compile(r"\b(?:" + _REPORTING + r")\s*,?\s*$", re.IGNORECASE)


def _quoted_by_surname(short: _Group, full: _Group, fields: dict[str, str]) -> bool:
    """Whether a one-word name the model did not read as a person is the surname of ``full``.

    News style names a person in full, then by surname: "Kurt Campbell said ...", later "Campbell
    said". Every mention of the short name follows the full name, and one stands beside a verb of
    speech; a country or company does not "say" after a person of that surname was introduced.
    """
    if _position(short.first) <= _position(full.first):
        return False
    for m in short.mentions:
        text = fields[m.field]
        after, before = text[m.end : m.end + 40], text[max(0, m.start - 40) : m.start]
        if _SPEECH_AFTER.match(after) or _SPEECH_BEFORE.search(before):
            return True
    return False


def _majority_label(g: _Group) -> str:
    totals: dict[str, float] = defaultdict(float)
    for m in g.mentions:
        totals[m.label] += m.score
    return max(totals, key=lambda lab: totals[lab])


def _is_person_group(g: _Group) -> bool:
    return is_person_label(_majority_label(g))


def _person_ish(g: _Group, floor: float = 0.15) -> bool:
    """Whether the model gave any mention of the group some score as a person."""
    return any(s >= floor for m in g.mentions for lab, s in m.label_scores().items() if is_person_label(lab))


def _closest(short: _Group, candidates: list[tuple[str, _Group]]) -> str:
    """The candidate named most recently before the short name's first mention, else the first after."""
    if len(candidates) == 1:
        return candidates[0][0]
    pos = _position(short.first)
    before = [
        (max(_position(m) for m in g.mentions if _position(m) <= pos), k)
        for k, g in candidates
        if any(_position(m) <= pos for m in g.mentions)
    ]
    if before:
        return max(before)[1]
    return min((_position(g.first), k) for k, g in candidates)[1]


# --------------------------------------------------------------------------- 4. label


def has_leader_title(m: RawMention, fields: dict[str, str]) -> bool:
    """Whether a leader title introduces the mention (inside or just before it) or follows it."""
    src = fields[m.field]
    inside = strip_titles(m.text)
    prefix = m.text[: len(m.text) - len(inside)] if inside != m.text and m.text.endswith(inside) else ""
    before = src[max(0, m.start - 60) : m.start] + prefix
    if prefix and _LEADER_BEFORE.search(prefix.strip() + " "):
        return True
    if _LEADER_BEFORE.search(before):
        return True
    after = src[m.end : m.end + 60]
    return bool(_LEADER_AFTER.match(after) or _LEADER_CONTEXT_AFTER.match(after))


def label_of(g: _Group, labels: Sequence[str], fields: dict[str, str]) -> tuple[str, float]:
    """The group's label (one of ``labels``) and its summed score."""
    totals: dict[str, float] = defaultdict(float)
    for m in g.mentions:
        for lab, s in m.label_scores().items():
            if lab in labels:
                totals[lab] += s
    if not totals:
        return "", 0.0
    label = max(totals, key=lambda lab: (totals[lab], -labels.index(lab)))
    if g.canonical and COUNTRY_LABEL in labels:
        # the alias table holds countries only
        label = COUNTRY_LABEL
        totals[label] = max(totals.get(label, 0.0), max(m.score for m in g.mentions))
    if (
        LEADER_LABEL in labels
        and label != LEADER_LABEL
        and is_person_label(label)
        and any(has_leader_title(m, fields) for m in g.mentions)
    ):
        label = LEADER_LABEL
    return label, totals[label]


def _display(name: str) -> str:
    """A name as shown: invisible format characters (soft hyphen, zero-width space) dropped, runs of
    whitespace (a line break inside a name) as one space."""
    return " ".join("".join(c for c in name if unicodedata.category(c) != "Cf").split())


def canonical_name(g: _Group, person: bool) -> str:
    """The entity's name: alias table's, else the most frequent full form (titles stripped)."""
    if g.canonical:
        return g.canonical
    counts: dict[str, list] = {}
    for m in g.mentions:
        name = _display(strip_titles(m.text) if person else m.text)
        if name[:4].lower() == "the " and not name.startswith("The "):
            name = name[4:]
        c = counts.setdefault(name, [0, _position(m)])
        c[0] += 1
    forms = list(counts)
    if person:
        longest = max(len(f.split()) for f in forms)
        forms = [f for f in forms if len(f.split()) == longest]
    else:
        full = [f for f in forms if not acronym_in(f)]
        forms = full or forms
    return min(forms, key=lambda f: (-counts[f][0], -len(f), counts[f][1]))


# --------------------------------------------------------------------------- 5-6. score, rank


def entity_score(scores: Iterable[float]) -> float:
    """Damped noisy-OR of the three best mention scores (see module docstring)."""
    top = sorted(scores, reverse=True)[:3]
    if not top:
        return 0.0
    miss = 1.0 - top[0]
    for s in top[1:]:
        miss *= 1.0 - s / 2
    return min(1.0 - miss, 0.999)


def relevance(mentions: Sequence[Mention], score: float, text_len: int) -> float:
    """How central an entity is to its article, in [0, 1] (an entity's ``relevance`` in responses),
    from mention count, first position, title/lead presence and score (module docstring, step 6).

    Topics have no relevance: their one figure is ``score``; what the topic scorer averages over
    sentences is a label's *lean* (:func:`service.tagging.topics.label_lean`)."""
    n = len(mentions)
    freq = min(1.0, math.log1p(n) / math.log(11))
    body = [m.start for m in mentions if m.field == "text"]
    early = 1.0 - min(body) / max(text_len, 1) if body else 0.0
    if any(m.field == "title" for m in mentions):
        prominence = 1.0
        early = max(early, 1.0)
    elif body and min(body) < LEAD_CHARS:
        prominence = 0.5
    else:
        prominence = 0.0
    return round(min(1.0, 0.35 * freq + 0.25 * early + 0.2 * prominence + 0.2 * score), 4)


def build_entities(
    raw: Iterable[RawMention],
    labels: Sequence[str],
    text: str,
    title: str | None = None,
    *,
    threshold: float | None = None,
) -> list[Entity]:
    """The whole pipeline: clean, dedupe, group, label, score, rank. Only ``labels`` come back, and
    with ``threshold`` only entities whose aggregated score reaches it."""
    fields = {"text": text}
    if title is not None:
        fields["title"] = title
    labels = list(labels)
    mentions = dedupe(clean((m for m in raw if m.label in labels or m.probs), fields))
    out: list[Entity] = []
    for g in group(mentions, fields):
        label, _ = label_of(g, labels, fields)
        if not label:
            continue
        if g.canonical:  # a country of the alias table, whatever the model typed it as
            label_scores = [max(m.label_scores().values()) for m in g.mentions]
        elif label == LEADER_LABEL:  # maybe promoted by a title: the person scores count
            label_scores = [
                max((v for k, v in m.label_scores().items() if k == label or is_person_label(k)), default=0.0)
                for m in g.mentions
            ]
        else:
            label_scores = [m.label_scores().get(label, 0.0) for m in g.mentions]
        score = round(entity_score(label_scores), 4)
        if threshold is not None and score < threshold:
            continue
        ments = [Mention(m.start, m.end, m.text, round(m.score, 4), m.field) for m in g.mentions]
        out.append(
            Entity(
                text=canonical_name(g, is_person_label(label)),
                label=label,
                score=score,
                relevance=relevance(ments, score, len(text)),
                mentions=ments,
            )
        )
    firsts = {id(e): min((0 if m.field == "title" else 1, m.start) for m in e.mentions) for e in out}
    out.sort(key=lambda e: (-e.relevance, firsts[id(e)]))
    return out
