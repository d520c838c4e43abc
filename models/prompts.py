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

from models.concepts import CONCEPTS, NEGATIVES, chain, children

# WordNet lexicographer files a concept's spans may belong to (18 person, 14 group, 15 location,
# 17 object, 6 artifact, 11 event, 4 act, 10 communication, 27 substance, 13 food, 5 animal): an absent
# descriptor is a safe negative only when no span in the window is of its kind.
ROOT_LEXNAMES = {"person": {18}, "organization": {14}, "location": {15, 17, 6}, "event": {11, 4},
                 "creative work": {10, 6}, "law": {10, 4}, "product": {6}, "award": {10, 6},
                 "language": {10}, "nationality": {18, 14}, "religious group": {14, 18}, "drug": {6, 27},
                 "vehicle": {6}, "food": {13}, "animal": {5}, "sport": {4}, "crime": {4}, "occupation": {18}}

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


def example(tokens: list[str], spans: list[tuple[int, int, str]], rng: random.Random,
            open_spans: list[tuple[int, int, str]] | None = None,
            open_pool: list[tuple[str, int]] | None = None, p_open: float = 0.4,
            p_open_negative: float = 0.4, p_default: float = 0.2, p_negative: float = 0.3,
            p_lower: float = 0.15, p_upper: float = 0.03) -> dict:
    """A GLiNER training example: tokens, the asked labels (shuffled) and the spans they label."""
    present = {c for _, _, c in spans if c in CONCEPTS}
    if rng.random() < p_default:
        # The service's default labels, worded as the service sends them, plus a few negatives.
        labels_by_concept = {c: w for w, c in DEFAULT_LABELS.items()}
        extra = rng.sample(sorted(set(CONCEPTS) - set(labels_by_concept) - present), rng.randint(0, 4))
        for c in extra:
            labels_by_concept[c] = rng.choice(CONCEPTS[c][1])
    else:
        asked = _ask(present, rng, rng.randint(5, 25))
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
    if open_pool and rng.random() < p_open_negative:
        kinds = {lex for c in present for lex in ROOT_LEXNAMES.get(chain(c)[-1], set())}
        kinds |= {lex for label, lex in open_pool if any(label == o for _, _, o in open_spans or ())}
        for _ in range(rng.randint(1, 3)):
            label, lex = rng.choice(open_pool)
            if lex not in kinds and label.lower() not in taken:
                labels.append(label)
                taken.add(label.lower())
    if rng.random() < p_negative:
        labels.append(rng.choice(NEGATIVES))
    rng.shuffle(labels)
    r = rng.random()
    if r < p_lower:
        tokens = [t.lower() for t in tokens]
    elif r < p_lower + p_upper:
        tokens = [t.upper() for t in tokens]
    return {"tokenized_text": tokens, "ner": ner, "ner_labels": labels}
