"""fp32 against bf16 autocast for the entity model: speed, F1 on the seeds, and how far the entities
move on BBC News articles (no gold there: agreement with fp32 is what is measured).

    .venv/bin/python -m bench.precision                 # seeds + 200 BBC articles, a few minutes
    .venv/bin/python -m bench.precision --bbc 50 --repeats 2

Both engines live in this one process and take turns pass by pass (fp32, bf16, fp32, ...), so a
change of load on the machine hits both alike; the speed figure is the ratio of their summed times.
Writes ``.cache/bench/precision.json`` (``--out``: another file). bf16 pays only on CPUs that
multiply it natively (AVX512-BF16 or AMX); elsewhere torch emulates it and it is slower, which this
script also shows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE_DIR, REPO, Article, bbc_articles, machine, seed_articles
from bench.throughput import compare_sets
from bench.variants import entity_f1


def _tag_all(tagger: Any, articles: list[Article]) -> tuple[float, dict[str, dict[tuple[str, str], float]]]:
    """Seconds to tag ``articles`` one by one (entities only), and each article's entity scores."""
    out: dict[str, dict[tuple[str, str], float]] = {}
    t0 = time.perf_counter()
    for a in articles:
        res = tagger.tag(a.text, topic_labels=[])
        out[a.name] = {(e.text, e.label): e.score for e in res.entities}
    return time.perf_counter() - t0, out


def _agreement(
    ref: dict[str, dict[tuple[str, str], float]],
    got: dict[str, dict[tuple[str, str], float]],
    threshold: float,
) -> dict[str, Any]:
    """Entity-set agreement and score drift of ``got`` against ``ref``."""
    cmp = compare_sets({k: frozenset(v) for k, v in ref.items()}, {k: frozenset(v) for k, v in got.items()})
    deltas = [abs(ref[n][k] - got[n][k]) for n in ref for k in ref[n].keys() & got.get(n, {}).keys()]
    # An entity that only one precision keeps: how far was its score from the threshold?
    margins = [
        abs(side[n][k] - threshold)
        for side, other in ((ref, got), (got, ref))
        for n in side
        for k in side[n].keys() - other.get(n, {}).keys()
    ]
    deltas.sort()
    return {
        **{k: v for k, v in cmp.items() if k != "diffs"},
        "entities_reference": sum(len(v) for v in ref.values()),
        "score_delta_median": round(deltas[len(deltas) // 2], 4) if deltas else None,
        "score_delta_p99": round(deltas[int(len(deltas) * 0.99)], 4) if deltas else None,
        "score_delta_max": round(deltas[-1], 4) if deltas else None,
        "changed_entities_max_distance_from_threshold": round(max(margins), 4) if margins else None,
        "examples": dict(list(cmp["diffs"].items())[:5]),
    }


def main(argv: list[str] | None = None) -> int:
    """Time both precisions in turns, compare their entities, print and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "embedded"))
    ap.add_argument("--bbc", type=int, default=200, help="BBC articles compared (default 200)")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes over the seeds per precision")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=str(CACHE_DIR / "precision.json"), help="JSON results file")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from service.tagging.engine import Tagger
    from service.tagging.precision import native_bf16

    taggers = {
        p: Tagger(args.model, topics=False, precision=p, threads=args.threads) for p in ("fp32", "bf16")
    }
    seeds = seed_articles()
    for t in taggers.values():
        t.tag(seeds[0].text, topic_labels=[])  # warm
    secs = {p: 0.0 for p in taggers}
    seed_ents: dict[str, Any] = {}
    for _ in range(args.repeats):
        for p, t in taggers.items():
            dt, seed_ents[p] = _tag_all(t, seeds)
            secs[p] += dt
    words = sum(a.words for a in seeds) * args.repeats
    out: dict[str, Any] = {
        "command": "python -m bench.precision " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "native_bf16": native_bf16(),
        "threads": taggers["fp32"].threads,
        "seeds": {
            "passes": args.repeats,
            "fp32_words_per_s": round(words / secs["fp32"]),
            "bf16_words_per_s": round(words / secs["bf16"]),
            "bf16_speedup": round(secs["fp32"] / secs["bf16"], 3),
            "fp32_entity_f1": entity_f1(taggers["fp32"]),
            "bf16_entity_f1": entity_f1(taggers["bf16"]),
            "agreement": _agreement(seed_ents["fp32"], seed_ents["bf16"], taggers["fp32"].threshold),
        },
    }
    print(json.dumps(out["seeds"], indent=1))
    if args.bbc:
        arts = bbc_articles(args.bbc)
        bbc_secs: dict[str, float] = {}
        ents: dict[str, Any] = {}
        for p, t in taggers.items():
            bbc_secs[p], ents[p] = _tag_all(t, arts)
        out["bbc"] = {
            "articles": len(arts),
            "words": sum(a.words for a in arts),
            "bf16_speedup": round(bbc_secs["fp32"] / bbc_secs["bf16"], 3),
            "agreement": _agreement(ents["fp32"], ents["bf16"], taggers["fp32"].threshold),
        }
        print(json.dumps(out["bbc"], indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1, default=str) + "\n", "utf-8")
    print(f"results: {os.path.relpath(args.out, REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
