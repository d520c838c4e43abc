"""What the optional document encoder costs: topic scoring time per seed article and memory.

    python -m bench.topic_cost [--doc-encoder .cache/encoders/all-mpnet-base-v2] [--repeats 3]

Loads the topic scorer without and with the document encoder (``make doc-encoder``) in this process,
reports the resident memory each adds, and the p50 time of scoring the default topic taxonomy on the
five seed articles (2 torch threads, in-process).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import psutil

from bench.common import REPO, RESULTS_DIR, seed_articles


def main(argv: list[str] | None = None) -> int:
    """Measure and print one JSON line; write it to bench/results/topic_cost.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--doc-encoder", default=str(REPO / ".cache" / "encoders" / "all-mpnet-base-v2"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    from service.tagging.labels import default_labels
    from service.tagging.text import sentence_spans
    from service.tagging.topics import TopicScorer

    proc = psutil.Process()
    rss = [proc.memory_info().rss]
    one = TopicScorer(threads=args.threads)
    rss.append(proc.memory_info().rss)
    two = TopicScorer(threads=args.threads, doc_encoder_path=args.doc_encoder)
    rss.append(proc.memory_info().rss)
    labels = default_labels().topic_labels
    articles = seed_articles()
    p50 = {}
    for name, scorer in (("sentence encoder only", one), ("with the document encoder", two)):
        times = []
        for _ in range(args.repeats):
            for a in articles:
                t0 = time.perf_counter()
                scorer.score(a.text, sentence_spans(a.text), labels)
                times.append(time.perf_counter() - t0)
        p50[name] = round(statistics.median(times) * 1000)
    out = {
        "p50_ms_default_topics_per_seed_article": p50,
        "rss_mib_sentence_encoder_scorer": round((rss[1] - rss[0]) / 2**20),
        "rss_mib_added_by_document_encoder": round((rss[2] - rss[1]) / 2**20),
        "threads": args.threads,
        "repeats": args.repeats,
    }
    print(json.dumps(out))
    (RESULTS_DIR / "topic_cost.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
