"""What each entity label costs: speed and precision of the model with and without it.

    python -m bench.label_cost [--articles 40] [--out FILE]   (default .cache/bench/label_cost.json)

On held-out BBC News windows (articles the model recipe never trained on) with the spaCy teachers'
silver spans (``models.evaluate``; needs the ``train`` and ``eval`` extras), the embedded model is run
with the default five labels, with each one left out, and with candidate extra labels added. For
each label set: seconds per 100 windows (the label prompt is part of every window's input) and
exact-span precision, recall and F1 of the five default labels. Leaving a label out shows what it
costs and what it buys; adding one shows whether it takes spans from the default ones.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.common import CACHE_DIR, REPO

CORE = ["political leader", "person", "country", "organization", "location"]
EXTRAS = ["nationality", "event", "date", "money", "product", "law"]


def label_sets() -> dict[str, list[str]]:
    """The label sets measured, by name."""
    sets = {"default five": CORE}
    for lab in CORE:
        sets[f"without {lab}"] = [x for x in CORE if x != lab]
    for lab in EXTRAS:
        sets[f"+ {lab}"] = [*CORE, lab]
    sets["+ all six extras"] = [*CORE, *EXTRAS]
    return sets


def micro(per_label: dict[str, dict[str, float]], labels: list[str]) -> dict[str, float]:
    """Support-weighted precision and recall over ``labels`` (from per-label figures), and F1."""
    tp = fp = fn = 0.0
    for lab in labels:
        m = per_label[lab]
        t = m["r"] * m["support"]
        tp += t
        fn += m["support"] - t
        fp += t / m["p"] - t if m["p"] else 0.0
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"p": round(p, 3), "r": round(r, 3), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 3)}


def main(argv: list[str] | None = None) -> int:
    """Measure every label set and print a table; write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "embedded"))
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=CACHE_DIR / "label_cost.json", help="JSON results file")
    args = ap.parse_args(argv)

    import torch

    from models.evaluate import bbc_heldout_windows, gliner_predictor, prf

    torch.set_num_threads(args.threads)
    windows = bbc_heldout_windows(args.articles)
    texts, gold = [t for t, _ in windows], [g for _, g in windows]
    predict = gliner_predictor(args.model, args.threshold)
    predict(texts[:8], {lab: lab for lab in CORE})  # warm-up
    rows = []
    for name, labels in label_sets().items():
        t0 = time.perf_counter()
        pred = predict(texts, {lab: lab for lab in labels})
        secs = time.perf_counter() - t0
        # score the default labels only: extra labels have no silver spans of their own
        kept = [{s for s in p if s[2] in CORE} for p in pred]
        per = prf(gold, kept, CORE)
        present = [lab for lab in CORE if lab in labels]
        rows.append({"labels": name, "n_labels": len(labels),
                     "s_per_100_windows": round(100 * secs / len(texts), 2),
                     "default_labels_asked": micro(per, present), "per_label": per})  # fmt: skip
    base = rows[0]["s_per_100_windows"]
    print(f"{len(texts)} held-out BBC windows from {args.articles} articles, threshold {args.threshold};"
          " P/R/F1 over the default labels asked")
    print(f"{'labels':28s} {'n':>2s} {'s/100 win':>9s} {'x time':>6s}  P      R      F1")
    for r in rows:
        m = r["default_labels_asked"]
        print(f"{r['labels']:28s} {r['n_labels']:2d} {r['s_per_100_windows']:9.2f} "
              f"{r['s_per_100_windows'] / base:6.2f}  {m['p']:.3f}  {m['r']:.3f}  {m['f1']:.3f}")  # fmt: skip
    out = {"windows": len(texts), "articles": args.articles, "threshold": args.threshold,
           "model": args.model, "rows": rows}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
