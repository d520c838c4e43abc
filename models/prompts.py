"""Label prompts for training: which labels an example asks for, in which wording and order.

Following GLiNER's training practice (many label types per example, negatives sampled per example,
types shuffled), each window asks for 5-25 labels: a level of each present concept's chain ("athlete"
or "person"), hard negatives (absent siblings such as "political party" beside a "company"), other
absent concepts, and now and then a label that never occurs in news. Every span then takes the most
specific asked concept of its chain, or no label, so the answer depends on the labels asked and never
on their order.
"""

from __future__ import annotations

import random

from models.concepts import CONCEPTS, NEGATIVES, chain, children

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


def example(tokens: list[str], spans: list[tuple[int, int, str]], rng: random.Random,
            p_default: float = 0.2, p_negative: float = 0.3, p_lower: float = 0.15,
            p_upper: float = 0.03) -> dict:
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
    if rng.random() < p_negative:
        labels.append(rng.choice(NEGATIVES))
    rng.shuffle(labels)
    r = rng.random()
    if r < p_lower:
        tokens = [t.lower() for t in tokens]
    elif r < p_lower + p_upper:
        tokens = [t.upper() for t in tokens]
    return {"tokenized_text": tokens, "ner": ner, "ner_labels": labels}
