"""What the result cache and the ETag save: one seed article tagged, answered from the cache, and 304.

    python -m bench.cache [--seed NAME] [--repeats 5] [--model models/embedded] [--out FILE]

The app runs in-process with the real model behind Flask's test client (no sockets: the figures are
the service's own work, not the network's). Per round, in this order, the same article (default
labels, as a CMS sends it) is posted

- *uncached*: the worker's result cache emptied first, so the model runs (``X-Cache: miss``);
- *cached*: the same body again (``X-Cache: hit``: no tagging slot, no model), byte for byte the
  uncached answer (its ETag is strong: timings are in ``Server-Timing``, not the body);
- *304*: again with ``If-None-Match`` set to the answer's ETag (no body comes back);
- *uncached, HTML*: the article as CMS markup (``<p>`` per paragraph, ``&amp;``, a script and a
  comment), ``format: html``, cache emptied: the cost of reading the HTML on top of the model;
- *HTML read*: :func:`service.api.html.visible_text` alone on that markup, the part of the HTML
  path the model does not dominate (the two uncached rows differ by less than the machine's noise).

The rounds interleave the four, so background load on the machine falls on all of them alike, and
the figures that matter are the ratios of their medians, measured in the same run.

Then (unless ``--no-batch-check``) every seed article is tagged alone and all of them in one
``/v1/tag/batch``, the cache emptied before each call: how many documents' answers differ from
their answer alone, and by how much at most. This is why batch answers have a weak ETag and why
the cache keeps answers tagged beside other documents apart (:mod:`service.api.jobs`). Writes
``.cache/bench/cache.json`` (``--out``: another file).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE_DIR, REPO, seed_articles


def as_cms_html(text: str) -> str:
    """``text`` as a CMS would store it: paragraphs, escaped entities, a tracking script and a comment."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    body = "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)
    return ("<article><!-- cms:revision 7 -->\n<script>window.dataLayer=[{'author':'Jane Roe'}];</script>\n"
            f"{body}\n</article>")


def _differences(a: Any, b: Any) -> tuple[int, float]:
    """How many leaves of two JSON values differ, and the largest difference of two numbers there."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        parts = [_differences(a[k], b[k]) for k in a]
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        parts = [_differences(x, y) for x, y in zip(a, b, strict=True)]
    elif a == b:
        return 0, 0.0
    elif isinstance(a, float) and isinstance(b, float):
        return 1, abs(a - b)
    else:  # another shape: an entity or mention more or less
        return 1, 0.0
    return sum(n for n, _ in parts), max((d for _, d in parts), default=0.0)


def batched_vs_alone(client: Any, clear: Any, articles: list[Any]) -> dict[str, Any]:
    """Each article tagged alone and all in one batch, the cache emptied first: what differs."""
    alone = {}
    for art in articles:
        clear()
        resp = client.post("/v1/tag", json={"id": art.name, "text": art.text})
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        alone[art.name] = resp.get_json()
    clear()
    docs = [{"id": a.name, "text": a.text} for a in articles]
    resp = client.post("/v1/tag/batch", json={"documents": docs})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    items = resp.get_json()["results"]
    per_doc = {item["id"]: _differences(alone[item["id"]], item["result"]) for item in items}
    return {"documents": len(articles), "differing": sum(1 for n, _ in per_doc.values() if n),
            "values_differing": sum(n for n, _ in per_doc.values()),
            "largest_difference": round(max(d for _, d in per_doc.values()), 4),
            "batch_etag_weak": resp.headers["ETag"].startswith("W/")}


def main(argv: list[str] | None = None) -> int:
    """Measure, print a table and write the JSON."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "embedded"))
    ap.add_argument("--seed", default=None, help="seed file name (default: the first)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=CACHE_DIR / "cache.json", help="JSON results file")
    ap.add_argument("--no-batch-check", action="store_true",
                    help="skip tagging the seeds alone and in one batch (what differs between the two)")
    args = ap.parse_args(argv)

    from service import create_app
    from service.api.cache import EXTENSION
    from service.api.html import visible_text

    seeds = seed_articles()
    art = next(a for a in seeds if a.name == args.seed) if args.seed else seeds[0]
    app = create_app({"MODEL": args.model, "LOAD_IN_BACKGROUND": False, "ACCESS_LOG": False,
                      "TIME_BUDGET_S": 600.0})
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    body = {"id": art.name, "text": art.text}
    html_body = {"id": art.name, "text": as_cms_html(art.text), "format": "html"}

    def post(payload: dict[str, Any], expect: int, cache: str | None, **headers: str) -> tuple[float, Any]:
        t0 = time.perf_counter()
        resp = client.post("/v1/tag", json=payload, headers=headers)
        ms = (time.perf_counter() - t0) * 1000
        assert resp.status_code == expect, resp.get_data(as_text=True)[:500]
        assert resp.headers.get("X-Cache") == cache, resp.headers
        return ms, resp

    def clear() -> None:
        cache = app.extensions.get(EXTENSION)  # made on the first tagging request
        if cache is not None:
            cache.clear()

    def uncached(payload: dict[str, Any]) -> tuple[float, Any]:
        clear()
        return post(payload, 200, "miss")

    uncached(body)  # warm-up: first-call costs (allocator, caches) belong to no variant
    times: dict[str, list[float]] = {"uncached": [], "cached": [], "304": [], "uncached_html": [],
                                     "html_read": []}
    same_answer = True  # the cached answer's bytes are the uncached answer's
    bodies: set[bytes] = set()  # the uncached answer's bytes, round after round (the model reruns)
    etags: set[str] = set()
    for _ in range(args.repeats):
        ms, first = uncached(body)
        times["uncached"].append(ms)
        bodies.add(first.get_data())
        etags.add(first.headers["ETag"])
        ms, again = post(body, 200, "hit")
        times["cached"].append(ms)
        same_answer &= first.get_data() == again.get_data() and first.headers["ETag"] == again.headers["ETag"]
        ms, _ = post(body, 304, None, **{"If-None-Match": first.headers["ETag"]})
        times["304"].append(ms)
        ms, _ = uncached(html_body)
        times["uncached_html"].append(ms)
        t0 = time.perf_counter()
        visible_text(html_body["text"])
        times["html_read"].append((time.perf_counter() - t0) * 1000)

    p50 = {k: statistics.median(v) for k, v in times.items()}
    base = p50["uncached"]
    rows = {k: {"p50_ms": round(v, 2), "min_ms": round(min(times[k]), 2), "max_ms": round(max(times[k]), 2),
                "share_of_uncached": round(v / base, 5)} for k, v in p50.items()}
    out = {
        "what": "POST /v1/tag of one seed article through Flask's test client, real model, default labels",
        "seed": art.name, "chars": len(art.text), "html_chars": len(html_body["text"]),
        "repeats": args.repeats, "cpus": os.cpu_count(), "machine": platform.machine(),
        "cached_answer_equals_uncached": same_answer,
        "uncached_answers_identical": len(bodies) == 1,
        "etag_strong": all(not e.startswith("W/") for e in etags) and len(etags) == 1,
        "speedup_cached": round(base / p50["cached"], 1),
        "speedup_304": round(base / p50["304"], 1),
        "html_over_text": round(p50["uncached_html"] / base, 3),
        "rows": rows,
        "batched_vs_alone": None if args.no_batch_check else batched_vs_alone(client, clear, seeds),
    }
    print(f"{art.name}: {len(art.text)} characters, {args.repeats} rounds, medians")
    print(f"{'variant':<15} {'p50 ms':>10} {'min ms':>10} {'max ms':>10} {'of uncached':>12}")
    for name, row in rows.items():
        print(f"{name:<15} {row['p50_ms']:>10.2f} {row['min_ms']:>10.2f} {row['max_ms']:>10.2f} "
              f"{row['share_of_uncached']:>12.5f}")
    print(f"cached answer byte-identical to uncached: {same_answer}; uncached answers byte-identical round "
          f"to round: {out['uncached_answers_identical']}; one strong ETag: {out['etag_strong']}")
    print(f"cached {out['speedup_cached']}x, "
          f"304 {out['speedup_304']}x faster; HTML {out['html_over_text']}x the plain text")
    if (check := out["batched_vs_alone"]) is not None:
        print(f"seeds tagged in one batch: {check['differing']} of {check['documents']} answers differ from "
              f"the answer alone ({check['values_differing']} values, largest difference "
              f"{check['largest_difference']}); batch ETag weak: {check['batch_etag_weak']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
