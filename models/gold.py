"""The news gold set (``models/data/news_gold.jsonl``): loading, checking and exact-span scoring.

Each line is one hand-written news sentence with the labels asked for it (4-15, some absent from the
sentence as hard negatives) and every span of every asked label, in Python code-point offsets::

    {"id": "pol-001", "text": "...", "labels": ["politician", ...],
     "spans": [{"start": 8, "end": 21, "label": "politician"}, ...]}

A model is asked each sentence with exactly that sentence's labels (GLiNER ``predict_entities``) and
scored on exact spans: micro precision, recall and F1 overall, on the concepts the recipe trains on,
on the concepts it never shows the model (``NEVER_TRAINED``), and per label.

    python -m models.evaluate --sections gold --model models/embedded
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GOLD_PATH = Path(__file__).resolve().parent / "data" / "news_gold.jsonl"

# Concepts the recipe trains on (under these names or other wordings of them).
TRAINED: tuple[str, ...] = (
    "person", "politician", "head of state", "athlete", "business executive", "music artist", "actor",
    "writer", "organization", "company", "government agency", "political party", "sports team",
    "news outlet", "international organization", "location", "country", "city", "state or province",
    "region", "building or facility", "event", "election", "war", "sports event", "law", "product",
    "movie", "TV show", "song", "book", "nationality", "religious group", "date", "money", "drug",
    "vehicle", "food", "sport", "occupation",
)  # fmt: skip
# Whole concepts held out of training, names and all: they measure whether the model reads a label.
NEVER_TRAINED: tuple[str, ...] = (
    "journalist", "judge", "university", "bank", "court", "treaty", "protest", "disease", "weapon",
    "currency", "body of water", "armed group",
)  # fmt: skip

MIN_LABELS, MAX_LABELS = 4, 15

Span = tuple[int, int, str]


@dataclass(frozen=True)
class GoldSentence:
    """One gold sentence: its text, the labels asked for it and its gold spans."""

    id: str
    text: str
    labels: tuple[str, ...]
    spans: frozenset[Span]


def load_gold(path: Path = GOLD_PATH) -> list[GoldSentence]:
    """Read the gold JSONL file (one sentence per line)."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            spans = frozenset((int(s["start"]), int(s["end"]), str(s["label"])) for s in rec["spans"])
            out.append(GoldSentence(str(rec["id"]), str(rec["text"]), tuple(rec["labels"]), spans))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a gold record ({exc})") from exc
    return out


def problems(sentences: Sequence[GoldSentence]) -> list[str]:
    """Everything wrong with the gold set's records, one message each (empty when well-formed)."""
    known = set(TRAINED) | set(NEVER_TRAINED)
    out: list[str] = []
    ids = Counter(s.id for s in sentences)
    out += [f"{i}: id used {n} times" for i, n in ids.items() if n > 1]
    for s in sentences:
        if not MIN_LABELS <= len(s.labels) <= MAX_LABELS:
            out.append(f"{s.id}: {len(s.labels)} labels asked, want {MIN_LABELS}-{MAX_LABELS}")
        if len(set(s.labels)) != len(s.labels):
            out.append(f"{s.id}: a label is asked twice")
        out += [f"{s.id}: unknown label {lab!r}" for lab in s.labels if lab not in known]
        used = [0] * (len(s.text) + 1)
        for start, end, label in sorted(s.spans):
            piece = s.text[start:end] if 0 <= start < end <= len(s.text) else ""
            if not piece:
                out.append(f"{s.id}: span {start}-{end} is outside the text")
                continue
            if piece != piece.strip():
                out.append(f"{s.id}: span {piece!r} has surrounding spaces")
            if label not in s.labels:
                out.append(f"{s.id}: span {piece!r} has label {label!r}, which was not asked")
            if any(used[start:end]):
                out.append(f"{s.id}: span {piece!r} overlaps another span")
            used[start:end] = [1] * (end - start)
    return out


def counts(sentences: Sequence[GoldSentence]) -> dict[str, Any]:
    """Sizes of the gold set: sentences, labels, gold spans per label."""
    per_label = Counter(label for s in sentences for _, _, label in s.spans)
    return {
        "sentences": len(sentences),
        "spans": sum(per_label.values()),
        "labels": len(per_label),
        "trained_labels": sum(1 for lab in per_label if lab in TRAINED),
        "never_trained_labels": sum(1 for lab in per_label if lab in NEVER_TRAINED),
        "spans_by_label": dict(sorted(per_label.items())),
    }


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 3), "r": round(r, 3), "f1": round(f1, 3), "tp": tp, "fp": fp, "fn": fn}


def score(gold: Sequence[GoldSentence], predicted: Sequence[Iterable[Span]]) -> dict[str, Any]:
    """Exact-span micro P/R/F1 overall, on trained and never-trained labels, and per label.

    A predicted span counts against the group of the label it was given, a missed gold span against
    the group of its gold label; a right span with the wrong label is one false positive and one miss.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predictions")
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, pred in zip(gold, predicted, strict=True):
        p = set(pred)
        for span in p:
            (tp if span in g.spans else fp)[span[2]] += 1
        for span in g.spans - p:
            fn[span[2]] += 1

    def group(labels: Iterable[str]) -> dict[str, float | int]:
        labs = list(labels)
        return _prf(sum(tp[x] for x in labs), sum(fp[x] for x in labs), sum(fn[x] for x in labs))

    asked = {lab for s in gold for lab in s.labels}
    seen = asked | set(tp) | set(fp) | set(fn)
    return {
        "overall": group(seen),
        "trained": group(x for x in seen if x not in NEVER_TRAINED),
        "never_trained": group(x for x in seen if x in NEVER_TRAINED),
        "by_label": {lab: group([lab]) for lab in sorted(seen)},
    }


Predict = Callable[[str, Sequence[str]], Iterable[Span]]


def load_gliner(model_dir: str) -> Any:
    """A GLiNER model from a folder (or hub id) in fp32 eval mode, with the service's word splitter."""
    from gliner import GLiNER

    from service.tagging.text import NewsWordSplitter

    model = GLiNER.from_pretrained(model_dir, local_files_only=Path(model_dir).exists()).float().eval()
    # the model was trained on these word boundaries; GLiNER's default splitter cuts "U.S." in four
    model.data_processor.words_splitter = NewsWordSplitter()
    return model


def gliner_sentence_predictor(model_dir: str, threshold: float = 0.5) -> Predict:
    """A function (text, labels) -> spans: GLiNER ``predict_entities`` with exactly those labels."""
    import torch

    model = load_gliner(model_dir)

    def predict(text: str, labels: Sequence[str]) -> list[Span]:
        with torch.inference_mode():
            ents = model.predict_entities(text, list(labels), threshold=threshold)
        return [(int(e["start"]), int(e["end"]), str(e["label"])) for e in ents]

    return predict


def evaluate_gold(predict: Predict, sentences: Sequence[GoldSentence]) -> dict[str, Any]:
    """Ask ``predict`` every sentence with its own labels and score the answers."""
    predicted = [list(predict(s.text, s.labels)) for s in sentences]
    report = score(sentences, predicted)
    report["sentences"] = len(sentences)
    return report
