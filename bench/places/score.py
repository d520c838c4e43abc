"""Country precision and recall on short local and wire stories, with and without the gazetteer.

    python -m bench.places.score [--model models/embedded] [--out bench/results/places.json] [--seeds]

``bench/places/articles.jsonl`` holds short articles written for this check from real-world patterns
(US, UK, Canadian, Indian, Nigerian and Australian local stories, wire datelines, ambiguous names,
stories that name only a capital or a national body, nationality words), each with the countries an
editor would file it under (ISO 3166-1 alpha-2). Each article is tagged in-process with the default
entity labels and threshold, three ways, by one engine:

- ``model only``: the gazetteer switched off (``Tagger.gazetteer = None``): what the service returned
  before it; a country entity counts as the country its name is (a "country" the gazetteer does not
  know as one, "Texas", is a wrong answer);
- ``no derivation``: the gazetteer on, ``derive_countries=False`` (the request option);
- ``gazetteer``: as served.

Predicted countries are the codes of the ``country`` entities; precision and recall are micro-averaged
over (article, country) pairs. ``--seeds`` also scores the seed articles with the shared scorer's
rules (``../shared/eval/score.py``, imported, in-process) with the gazetteer on and off, so a derived
country the seeds' gold calls wrong shows up. The gazetteer's load time and memory are measured in a
fresh process (RSS before and after :func:`service.tagging.places.gazetteer`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ARTICLES = Path(__file__).resolve().parent / "articles.jsonl"
SHARED_EVAL = REPO.parent / "shared" / "eval"

_MEMORY_PROBE = """
import json, time, psutil
p = psutil.Process()
import service.tagging.places as places
rss0 = p.memory_info().rss
t0 = time.perf_counter()
places.gazetteer()
print(json.dumps({"load_s": time.perf_counter() - t0, "rss_mb": (p.memory_info().rss - rss0) / 2**20}))
"""


def gazetteer_cost(runs: int = 3) -> dict[str, float]:
    """Load time and RSS growth of the gazetteer in fresh processes (median of ``runs``)."""
    got = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_PROBE], cwd=REPO, capture_output=True, text=True, check=True
        )
        got.append(json.loads(out.stdout))
    return {k: round(statistics.median(g[k] for g in got), 3) for k in ("load_s", "rss_mb")}


def countries_of(entities: list[Any], gaz: Any) -> set[str]:
    """Codes of the ``country`` entities; a name the gazetteer does not know as a country stays a name."""
    out = set()
    for e in entities:
        if e.label != "country":
            continue
        if e.country is not None:
            out.add(e.country.code)
            continue
        known = [p for p in gaz.lookup(e.text) if p.kind == "country"]
        out.add(known[0].country if known else f"?{e.text}")
    return out


def prf(rows: list[tuple[set[str], set[str]]]) -> dict[str, float]:
    """Micro precision, recall and F1 over (predicted, gold) pairs of sets."""
    tp = sum(len(p & g) for p, g in rows)
    pred = sum(len(p) for p, _ in rows)
    gold = sum(len(g) for _, g in rows)
    p, r = tp / pred if pred else 0.0, tp / gold if gold else 0.0
    f1 = round(2 * p * r / (p + r), 3) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": f1, "tp": tp, "predicted": pred,
            "gold": gold}


def score_articles(tagger: Any, articles: list[dict]) -> dict[str, Any]:
    """The three ways, side by side, with each way's misses and false countries."""
    from service.tagging.places import gazetteer, resolve_places

    gaz = gazetteer()
    ways: dict[str, list[tuple[set[str], set[str]]]] = {
        "model only": [], "no derivation": [], "gazetteer": []
    }
    detail: dict[str, dict[str, Any]] = {}
    place_ms = []
    labels = None
    for a in articles:
        gold = set(a["countries"])
        tagger.gazetteer = None
        base = tagger.tag(a["text"], topic_labels=[], title=a.get("title"))
        tagger.gazetteer = gaz
        off = tagger.tag(a["text"], topic_labels=[], title=a.get("title"), derive_countries=False)
        full = tagger.tag(a["text"], topic_labels=[], title=a.get("title"))
        if labels is None:
            from service.tagging.labels import default_labels

            labels = [lab.name for lab in default_labels().entity_labels]
        t0 = time.perf_counter()
        resolve_places(base.entities, labels, a["text"], a.get("title"), gaz=gaz)
        place_ms.append((time.perf_counter() - t0) * 1000)
        got = {
            "model only": countries_of(base.entities, gaz),
            "no derivation": countries_of(off.entities, gaz),
            "gazetteer": countries_of(full.entities, gaz),
        }
        for way, pred in got.items():
            ways[way].append((pred, gold))
        detail[a["id"]] = {
            "group": a["group"], "gold": sorted(gold),
            **{way: {"missed": sorted(gold - pred), "false": sorted(pred - gold)}
               for way, pred in got.items()},
        }
    groups = sorted({a["group"] for a in articles})
    by_group = {
        g: {way: prf([row for row, a in zip(rows, articles, strict=True) if a["group"] == g])["recall"]
            for way, rows in ways.items()}
        for g in groups
    }
    return {
        "articles": len(articles),
        "countries": {way: prf(rows) for way, rows in ways.items()},
        "recall_by_group": by_group,
        "places_step_ms": {"median": round(statistics.median(place_ms), 2), "max": round(max(place_ms), 2)},
        "detail": detail,
    }


def score_seeds(tagger: Any) -> dict[str, Any]:
    """The seeds through the shared scorer's rules, in-process, gazetteer on and off."""
    from service.api.mapping import tag_response
    from service.tagging.places import gazetteer

    spec = importlib.util.spec_from_file_location("shared_score", SHARED_EVAL / "score.py")
    assert spec and spec.loader
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    gold = json.loads((SHARED_EVAL / "seeds.gold.json").read_text())
    ent_labels, top_labels = gold["entity_labels"], gold["topic_labels"]
    out = {}
    for way, gaz in (("model only", None), ("gazetteer", gazetteer())):
        tagger.gazetteer = gaz
        per_doc = {}
        for name, g in gold["documents"].items():
            text = (REPO / "seeds" / name).read_text("utf-8")
            result = tagger.tag(text, ent_labels, [])
            resp = tag_response(result, text=text, title=None, doc_id=None, entity_names=ent_labels,
                                topic_names=top_labels, model=tagger.info, labels_version="", timings_ms={})
            per_doc[name] = scorer.score_doc(text, g, resp, ent_labels, top_labels)
        keys = ("ent_tp", "ent_pred", "ent_req", "ent_req_hit")
        tot = {k: sum(d[k] for d in per_doc.values()) for k in keys}
        p = tot["ent_tp"] / tot["ent_pred"] if tot["ent_pred"] else 0.0
        r = tot["ent_req_hit"] / tot["ent_req"] if tot["ent_req"] else 0.0
        out[way] = {
            "entity_precision": round(p, 3), "entity_recall": round(r, 3),
            "entity_f1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
            "false_entities": {n: d["false_entities"] for n, d in per_doc.items() if d["false_entities"]},
            "errors": sum(len(d["errors"]) for d in per_doc.values()),
        }
    tagger.gazetteer = gazetteer()
    return out


def main(argv: list[str] | None = None) -> int:
    """Score the articles (and optionally the seeds) and write the result as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "embedded"))
    ap.add_argument("--articles", type=Path, default=ARTICLES)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seeds", action="store_true",
                    help="also score the seed articles (needs ../shared/eval)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "places.json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from service.tagging.engine import Tagger

    articles = [json.loads(line) for line in args.articles.read_text("utf-8").splitlines() if line.strip()]
    tagger = Tagger(args.model, topics=False, threads=args.threads)
    result: dict[str, Any] = {"model": {"name": tagger.info.name, "version": tagger.info.version,
                                        "precision": tagger.info.precision}}
    result["gazetteer_cost"] = gazetteer_cost()
    result.update(score_articles(tagger, articles))
    if args.seeds:
        result["seeds"] = score_seeds(tagger)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    summary = {k: v for k, v in result.items() if k not in ("detail",)}
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    for aid, d in result["detail"].items():
        g = d["gazetteer"]
        if g["missed"] or g["false"]:
            print(f"{aid}: missed {g['missed']} false {g['false']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
