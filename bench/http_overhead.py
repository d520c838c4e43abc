"""What the HTTP layer adds to one article: client latency against the engine time the worker reports.

    python -m bench.http_overhead [--repeats 7] [--workers 1] [--out FILE]

Starts the service under gunicorn (the project's gunicorn.conf.py, the embedded model) on a free
loopback port, posts each seed article ``--repeats`` times from one client (entities only, a fresh
connection per request, as ``bench.run`` does), and compares, per article, the client's p50 latency
with the p50 of the engine's own time inside the worker (``model`` + ``entities`` of the same
responses' ``Server-Timing``) and of the view's time (its ``request``). Both sides come from the same
requests, so nothing else running on the machine between two measurements can tilt the ratio.
Writes ``.cache/bench/http_overhead.json`` (``--out``: another file, e.g. under ``bench/results/``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import requests

from bench.common import CACHE_DIR, Gunicorn, seed_articles
from service.client import server_timings


def main(argv: list[str] | None = None) -> int:
    """Measure, print a table and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/embedded")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=CACHE_DIR / "http_overhead.json", help="JSON results file")
    args = ap.parse_args(argv)

    rows: dict[str, dict[str, Any]] = {}
    with Gunicorn(args.model, args.workers) as srv:
        srv.wait_ready(timeout=300)
        url = srv.url + "/v1/tag"
        for art in seed_articles():
            client, engine, view = [], [], []
            body = {"text": art.text, "topic_labels": []}
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                r = requests.post(url, json=body, headers={"Connection": "close"}, timeout=300)
                client.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
                t = server_timings(r.headers.get("Server-Timing"))
                engine.append(t["model"] + t["entities"])
                view.append(t["request"])
            c, e, v = statistics.median(client), statistics.median(engine), statistics.median(view)
            rows[art.name] = {
                "client_p50_ms": round(c, 1),
                "engine_p50_ms": round(e, 1),
                "view_p50_ms": round(v, 1),
                "ratio_client_to_engine": round(c / e, 3),
            }
    ratios = [r["ratio_client_to_engine"] for r in rows.values()]
    out = {
        "articles": rows,
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_worst": round(max(ratios), 3),
        "repeats": args.repeats,
        "workers": args.workers,
    }
    print(f"{'article':26} {'client p50':>10} {'engine p50':>10} {'view p50':>9} {'ratio':>6}")
    for name, row in rows.items():
        print(f"{name:26} {row['client_p50_ms']:>10} {row['engine_p50_ms']:>10} {row['view_p50_ms']:>9} "
              f"{row['ratio_client_to_engine']:>6}")
    print(f"ratio median {out['ratio_median']}, worst {out['ratio_worst']} (target <= 1.3)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
