"""Topic F1 of the topic scorer alone on the seed articles, with score.py's topic rules.

A check, not a tuning loop: nothing here feeds back into the scorer's parameters.

    python bench/topics_seeds.py [--gold ../shared/eval/seeds.gold.json] [--texts seeds] [--threshold T]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from service.tagging.text import sentence_spans
from service.tagging.topics import TopicScorer
from service.tagging.types import Label

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", default=str(ROOT.parent / "shared" / "eval" / "seeds.gold.json"))
    ap.add_argument("--texts", default=str(ROOT / "seeds"))
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()

    gold = json.loads(Path(args.gold).read_text())
    labels = [Label(n) for n in gold["topic_labels"]]
    scorer = TopicScorer(threads=args.threads)
    pred = fp = req = req_hit = 0
    ms = []
    for name, g in gold["documents"].items():
        text = (Path(args.texts) / name).read_text(encoding="utf-8")
        t0 = time.perf_counter()
        topics = scorer.score(text, sentence_spans(text), labels, threshold=args.threshold)
        ms.append((time.perf_counter() - t0) * 1000)
        got = [t.label for t in topics]
        ok = set(g["topics"]["required"]) | set(g["topics"].get("allowed", []))
        false = [t for t in got if t not in ok]
        missed = [t for t in g["topics"]["required"] if t not in got]
        pred += len(got)
        fp += len(false)
        req += len(g["topics"]["required"])
        req_hit += len(g["topics"]["required"]) - len(missed)
        print(f"== {name}  missed: {missed}  false: {false}")
        if args.verbose:
            for t in topics:
                print(f"   {t.score:.3f} {t.label}: {t.evidence[0].text[:90]!r}")
    p = (pred - fp) / pred if pred else 0.0
    r = req_hit / req if req else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(
        json.dumps(
            {
                "topic_precision": round(p, 3),
                "topic_recall": round(r, 3),
                "topic_f1": round(f1, 3),
                "ms_per_article_median": round(statistics.median(ms), 1),
                "ms_per_article_max": round(max(ms), 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
