"""Label prompts for training: which labels an example asks for, in which wording and order.

Following GLiNER's training practice (many label types per example, negatives sampled per example,
types shuffled), each window asks for 5-25 labels: a level of each present concept's chain ("athlete"
or "person"), hard negatives (absent siblings such as "political party" beside a "company"), other
absent concepts, and now and then a label that never occurs in news. Every span then takes the most
specific asked concept of its chain, or no label, so the answer depends on the labels asked and never
on their order.

A window's descriptor labels (models/descriptors.py: "striker", "budget airline") are asked too, in
a share of the windows, so the model meets thousands of label strings rather than 62 concepts'
wordings; absent descriptors of another WordNet kind serve as negatives.
"""

from __future__ import annotations

import random
import re

from models.concepts import CONCEPTS, NEGATIVES, chain, children
from models.kinds import Kinds

# WordNet lexicographer files a concept's spans may belong to (18 person, 14 group, 15 location,
# 17 object, 6 artifact, 11 event, 4 act, 10 communication, 27 substance, 13 food, 5 animal): an absent
# descriptor is a safe negative only when no span in the window is of its kind.
ROOT_LEXNAMES = {"person": {18}, "organization": {14}, "location": {15, 17, 6}, "event": {11, 4},
                 "creative work": {10, 6}, "law": {10, 4}, "product": {6}, "award": {10, 6},
                 "language": {10}, "nationality": {18, 14}, "religious group": {14, 18}, "drug": {6, 27},
                 "vehicle": {6}, "food": {13}, "animal": {5}, "sport": {4}, "crime": {4}, "occupation": {18}}

# Hashtags that are not names: added to social posts, never labelled.
SOCIAL_TAGS = ["news", "breaking", "fail", "tbt", "love", "mondaymotivation", "politics", "win", "lol",
               "business", "sport", "tech", "update", "live", "omg", "fact", "quote", "weekend"]


def _named_lexnames(concept: str) -> set[int]:
    """WordNet kinds a named span of ``concept`` may belong to: a kind label of those is not asked."""
    levels = chain(concept)
    if "building or facility" in levels:
        return {6, 15}
    return {15, 17} if levels[-1] == "location" else ROOT_LEXNAMES.get(levels[-1], set())


DEFAULT_LABELS = {"political leader": "politician", "person": "person", "country": "country",
                  "organization": "organization", "location": "location"}


def _ask(present: set[str], rng: random.Random, n_target: int) -> set[str]:
    asked: set[str] = set()
    for c in present:
        if rng.random() < 0.1:
            continue  # a present concept left out: its spans must not take a sibling's label
        levels = chain(c)
        asked.add(levels[0] if rng.random() < 0.55 or len(levels) == 1 else rng.choice(levels[1:]))
        if len(levels) > 1 and rng.random() < 0.3:
            asked.add(rng.choice(levels))
    covered = {x for c in present for x in chain(c)}
    hard = {s for c in present for p in chain(c)[1:] for s in children(p)} | \
           {k for a in asked for k in children(a)}
    hard -= covered
    pool_hard = sorted(hard)
    rng.shuffle(pool_hard)
    pool_rest = sorted(set(CONCEPTS) - covered - hard)
    rng.shuffle(pool_rest)
    for cand in pool_hard + pool_rest:
        if len(asked) >= n_target:
            break
        asked.add(cand)
    return asked


def _ask_descriptors(spans: list[tuple[int, int, str]], open_spans: list[tuple[int, int, str]],
                     rng: random.Random, taken: set[str]) -> dict[tuple[int, int], str]:
    """Descriptor labels to ask, by span; one is asked only if every same-concept span carries it."""
    concept_of = {(a, b): c for a, b, c in spans}
    by_label: dict[str, set[tuple[int, int]]] = {}
    for a, b, label in open_spans:
        by_label.setdefault(label, set()).add((a, b))
    fit = []
    for label, locs in sorted(by_label.items()):
        kinds = {concept_of.get(loc) for loc in locs}
        if label.lower() in taken or any(c in kinds and (a, b) not in locs for a, b, c in spans):
            continue  # "striker" on Henry but not on Pires, both athletes: asking it would mislabel Pires
        fit.append(label)
    chosen = rng.sample(fit, rng.randint(1, len(fit))) if fit else []
    return {loc: label for label in chosen for loc in by_label[label]}


def _ask_kinds(kinds: Kinds, kind_spans: list[tuple[int, int, int]], blocked: set[int], taken: set[str],
               rng: random.Random) -> dict[tuple[int, int], str]:
    """Kind labels to ask (models/kinds.py), by span: every noun under an asked category takes it."""
    held = [off for _, _, off in kind_spans if off < 0]
    found = [(a, b, off) for a, b, off in kind_spans if off > 0]
    cands = sorted({c for _, _, off in found for c in kinds.labels(off)
                    if kinds.wn.lexname.get(c) not in blocked and kinds.name(c) not in taken
                    and not any(kinds.covers(c, h) for h in held)})
    if not cands:
        return {}
    chosen = rng.sample(cands, min(len(cands), rng.randint(1, 3)))
    names: dict[str, int] = {}
    for c in chosen:
        names.setdefault(kinds.name(c), c)  # two synsets may share a first lemma: ask it once
    out: dict[tuple[int, int], str] = {}
    for a, b, off in found:
        under = [c for c in names.values() if kinds.covers(c, off)]
        if under:
            out[(a, b)] = kinds.name(max(under, key=kinds.depth))  # the most specific asked category
    return out


def socialize(tokens: list[str], ner: list[list], rng: random.Random) -> tuple[list[str], list[list]]:
    """The window as a post on social media: @handles, "RT", links and hashtags, none of them a mention.

    A handle is often a name run together ("@BarackObama"); it is an account, not a mention to tag.
    """
    names = ["".join(tokens[a:b + 1]) for a, b, _ in ner if b > a or tokens[a][:1].isupper()]
    def handle() -> list[str]:
        base = rng.choice(names) if names and rng.random() < 0.6 else rng.choice(tokens).strip(".,")
        base = base or "news"
        base = rng.choice([base, base.lower(), f"{base}_", f"{base}{rng.randint(1, 99)}", f"the{base}"])
        return ["@", re.sub(r"[^\w]", "", base) or "news"]
    out = list(tokens)
    shift = [0] * (len(tokens) + 1)
    inserts: list[tuple[int, list[str]]] = []
    if rng.random() < 0.5:
        retweet = ["RT"] if rng.random() < 0.5 else []
        inserts.append((0, retweet + handle() + ([":"] if rng.random() < 0.5 else [])))
    for _ in range(rng.randint(0, 2)):
        at = rng.randint(0, len(tokens))
        if not any(a < at <= b for a, b, _ in ner):
            inserts.append((at, handle()))
    if rng.random() < 0.5:
        inserts.append((len(tokens), ["http", ":", "/", "/", "t", ".", "co", "/",
                                      "".join(rng.choice("abcdefXYZ0123456789") for _ in range(8))]))
    if rng.random() < 0.4:
        inserts.append((len(tokens), ["#", rng.choice(SOCIAL_TAGS)]))
    for at, words in sorted(inserts, key=lambda x: x[0], reverse=True):
        out[at:at] = words
        for k in range(at, len(shift)):
            shift[k] += len(words)
    # A span starting at an insertion point moves right of it; its end moves with its last word.
    return out, [[a + shift[a], b + shift[b], label] for a, b, label in ner]


def crop(tokens: list[str], spans: list[tuple], others: list[list[tuple]], rng: random.Random,
         lo: int = 3, hi: int = 14) -> tuple[list[str], list[tuple], list[list[tuple]]]:
    """A short stretch of the window around one of its spans, as a headline or a caption reads.

    Windows are 20-80 words, so the model never met a name with only a few words around it and lost
    names in titles. The cut never falls inside a span (of any list): it widens to take the span whole.
    """
    if not spans:
        return tokens, spans, others
    every = [(a, b) for a, b, _ in spans] + [(a, b) for group in others for a, b, _ in group]
    anchor = rng.choice(spans)
    size = rng.randint(lo, hi)
    start = max(0, anchor[0] - rng.randint(0, size // 2))
    end = min(len(tokens) - 1, max(anchor[1], start + size - 1))
    moved = True
    while moved:  # widen until no span crosses either cut
        moved = False
        for a, b in every:
            if a < start <= b:
                start, moved = a, True
            if a <= end < b:
                end, moved = b, True

    def inside(group: list[tuple]) -> list[tuple]:
        return [(a - start, b - start, x) for a, b, x in group if start <= a and b <= end]
    return tokens[start:end + 1], inside(spans), [inside(group) for group in others]


def example(tokens: list[str], spans: list[tuple[int, int, str]], rng: random.Random,
            open_spans: list[tuple[int, int, str]] | None = None,
            open_pool: list[tuple[str, int]] | None = None, p_open: float = 0.4,
            p_open_negative: float = 0.4, p_default: float = 0.2, p_negative: float = 0.3,
            p_lower: float = 0.15, p_upper: float = 0.03, kinds: Kinds | None = None,
            kind_spans: list[tuple[int, int, int]] | None = None, p_kind: float = 0.0,
            p_social: float = 0.0, p_short: float = 0.0, p_few: float = 0.0) -> dict:
    """A GLiNER training example: tokens, the asked labels (shuffled) and the spans they label.

    ``p_short`` of the windows are cut to a few words around a span (``crop``); ``p_few`` of the
    prompts ask only 1-4 labels, as callers with one question do.
    """
    if rng.random() < p_short:
        tokens, spans, (cut_open, cut_kinds) = crop(tokens, spans, [open_spans or [], kind_spans or []], rng)
        open_spans, kind_spans = cut_open or None, cut_kinds or None
    present = {c for _, _, c in spans if c in CONCEPTS}
    if rng.random() < p_default:
        # The service's default labels, worded as the service sends them, plus a few negatives.
        labels_by_concept = {c: w for w, c in DEFAULT_LABELS.items()}
        extra = rng.sample(sorted(set(CONCEPTS) - set(labels_by_concept) - present), rng.randint(0, 4))
        for c in extra:
            labels_by_concept[c] = rng.choice(CONCEPTS[c][1])
    else:
        asked = _ask(present, rng, rng.randint(1, 4) if rng.random() < p_few else rng.randint(5, 25))
        labels_by_concept = {c: (CONCEPTS[c][1][0] if rng.random() < 0.5 else rng.choice(CONCEPTS[c][1]))
                             for c in asked}
    # Two concepts must never share a wording in one prompt.
    seen: dict[str, str] = {}
    for c in sorted(labels_by_concept):
        w = labels_by_concept[c]
        if w.lower() in seen:
            labels_by_concept[c] = c if c.lower() not in seen else f"{c} name"
        seen[labels_by_concept[c].lower()] = c
    ner = []
    for a, b, c in spans:
        if c not in CONCEPTS:
            continue
        for level in chain(c):
            if level in labels_by_concept:
                ner.append([a, b, labels_by_concept[level]])
                break
    labels = list(labels_by_concept.values())
    taken = {w.lower() for w in labels}
    if open_spans and rng.random() < p_open:
        described = _ask_descriptors(spans, open_spans, rng, taken)
        ner = [x for x in ner if (x[0], x[1]) not in described]
        ner += [[a, b, label] for (a, b), label in sorted(described.items())]
        labels += sorted(set(described.values()))
        taken |= {w.lower() for w in described.values()}
    if kinds and kind_spans and rng.random() < p_kind:
        named = {(a, b) for a, b, _ in spans} - {(a, b) for a, b, off in kind_spans}
        blocked = {lex for a, b, c in spans if (a, b) in named and c in CONCEPTS
                   for lex in _named_lexnames(c)}
        asked_kinds = _ask_kinds(kinds, kind_spans, blocked, taken, rng)
        ner = [x for x in ner if (x[0], x[1]) not in asked_kinds]
        ner += [[a, b, label] for (a, b), label in sorted(asked_kinds.items())]
        labels += sorted(set(asked_kinds.values()) - set(labels))
        taken |= {w.lower() for w in asked_kinds.values()}
    if open_pool and rng.random() < p_open_negative:
        lexes = {lex for c in present for lex in ROOT_LEXNAMES.get(chain(c)[-1], set())}
        lexes |= {lex for label, lex in open_pool if any(label == o for _, _, o in open_spans or ())}
        for _ in range(rng.randint(1, 3)):
            label, lex = rng.choice(open_pool)
            if lex not in lexes and label.lower() not in taken:
                labels.append(label)
                taken.add(label.lower())
    if rng.random() < p_negative:
        labels.append(rng.choice(NEGATIVES))
    rng.shuffle(labels)
    r = rng.random()
    if rng.random() < p_social:
        tokens, ner = socialize(tokens, ner, rng)
        r = r / 3  # social posts are lower-cased three times as often
    if r < p_lower:
        tokens = [t.lower() for t in tokens]
    elif r < p_lower + p_upper:
        tokens = [t.upper() for t in tokens]
    return {"tokenized_text": tokens, "ner": ner, "ner_labels": labels}
