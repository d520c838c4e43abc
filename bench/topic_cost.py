"""What the optional document encoder costs: topic scoring time per article and memory.

    python -m bench.topic_cost [--doc-encoder .cache/encoders/all-mpnet-base-v2] [--repeats 3] [--bbc 40]

Loads the topic scorer without and with the document encoder (``make doc-encoder``) in this process,
reports the resident memory each adds, and the p50 and mean time of scoring, in-process with 2 torch
threads: the default topic taxonomy on the five seed articles, and the five BBC labels on ``--bbc``
BBC News articles (round-robin over the classes). With the document encoder it measures the
scorer as shipped (the encoder reads only where the sentence encoder is unsure) and the encoder
reading every article, and reports the share of articles it read.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import psutil

from bench.common import REPO, RESULTS_DIR, bbc_articles, seed_articles


def main(argv: list[str] | None = None) -> int:
    """Measure and print one JSON line; write it to bench/results/topic_cost.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--doc-encoder", default=str(REPO / ".cache" / "encoders" / "all-mpnet-base-v2"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bbc", type=int, default=40, help="BBC articles to time (round-robin over classes)")
    args = ap.parse_args(argv)

    from service.tagging.labels import default_labels
    from service.tagging.text import sentence_spans
    from service.tagging.topics import TopicScorer, _units
    from service.tagging.types import Label

    proc = psutil.Process()
    rss = [proc.memory_info().rss]
    one = TopicScorer(threads=args.threads)
    rss.append(proc.memory_info().rss)
    two = TopicScorer(threads=args.threads, doc_encoder_path=args.doc_encoder)
    rss.append(proc.memory_info().rss)
    texts: dict[str, tuple[list[str], list[Label]]] = {
        "seeds, default taxonomy": ([a.text for a in seed_articles()], default_labels().topic_labels),
        f"{args.bbc} BBC articles, 5 labels": (
            [a.text for a in bbc_articles(args.bbc)],
            [Label(n) for n in ("business", "entertainment", "politics", "sport", "technology")],
        ),
    }
    runs = (
        ("sentence encoder only", one, 0.0),
        ("with the document encoder (as shipped)", two, two.doc_margin),
        ("document encoder on every article", two, math.inf),
    )
    p50: dict[str, dict[str, int]] = {}
    mean: dict[str, dict[str, int]] = {}
    read_share: dict[str, float] = {}
    shipped_margin = two.doc_margin
    for corpus, (docs, labels) in texts.items():
        p50[corpus], mean[corpus] = {}, {}
        for name, scorer, margin in runs:
            scorer.doc_margin = margin
            times = []
            for _ in range(args.repeats):
                for text in docs:
                    t0 = time.perf_counter()
                    scorer.score(text, sentence_spans(text), labels)
                    times.append(time.perf_counter() - t0)
            p50[corpus][name] = round(statistics.median(times) * 1000)
            mean[corpus][name] = round(statistics.fmean(times) * 1000)
        two.doc_margin = shipped_margin
        read = []
        for text in docs:
            spans = sentence_spans(text)
            emb = two.encoder.encode([u.text for u in _units(text, spans, None)])
            read.append(two.needs_document(emb, labels))
        read_share[corpus] = round(sum(read) / len(read), 3)
    out = {
        "p50_ms_per_article": p50,
        "mean_ms_per_article": mean,
        "document_encoder_read_share": read_share,
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
