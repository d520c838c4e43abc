"""Throughput and latency: the naive baseline, the engine in-process, and the service over HTTP.

- **naive baseline**: ``GLiNER.predict_entities`` once per window, one window after another, on the
  windows the engine cuts (``Tagger.windows``), the model loaded as the service loads it
  (``service.tagging.loading``: our word splitter installed). No batching, no ``inference_mode``.
- **engine**: ``Tagger.tag`` per article, and ``Tagger.tag_many`` on groups of articles.
- **HTTP**: ``POST /v1/tag`` and ``/v1/tag/batch`` against gunicorn (see :class:`bench.common.Gunicorn`),
  with client threads, each request on a fresh connection (gunicorn's workers take turns at accepting).

Every mode tags entities only (``topic_labels: []``), like the baseline; the default entity labels.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from bench.common import Article, Measurement, percentile

EntitySet = frozenset[tuple[str, str]]
SpanSet = frozenset[tuple[int, int, str]]


# --- in-process ------------------------------------------------------------------------------------


def naive_baseline(
    tagger: Any,
    articles: Sequence[Article],
    *,
    repeats: int = 1,
    name: str = "naive baseline",
    model: Any = None,
) -> tuple[Measurement, dict[str, SpanSet]]:
    """``predict_entities`` per window, sequentially, with ``model`` (default: the tagger's). Returns
    the measurement and, per article, the set of raw spans ``(start, end, label)`` in document offsets."""
    from service.tagging.labels import default_labels
    from service.tagging.names import as_labels

    labels = as_labels(None, default_labels().entity_labels)
    prompts = tagger._plan(labels).prompts
    model = tagger.model if model is None else model
    thr = tagger.threshold
    m = Measurement(name)
    spans: dict[str, SpanSet] = {}
    t_all = time.perf_counter()
    for _ in range(repeats):
        for art in articles:
            t0 = time.perf_counter()
            found = set()
            for w in tagger.windows(art.text):
                for s in model.predict_entities(w.text, prompts, threshold=thr):
                    found.add((w.start + s["start"], w.start + s["end"], s["label"]))
            m.latencies_s.append(time.perf_counter() - t0)
            spans[art.name] = frozenset(found)
            m.articles += 1
            m.words += art.words
    m.wall_s = time.perf_counter() - t_all
    m.notes["load1"] = round(os.getloadavg()[0], 2)
    return m, spans


def engine_raw_spans(tagger: Any, articles: Sequence[Article]) -> dict[str, SpanSet]:
    """The raw spans the engine finds before merging (the overlaps' duplicates collapse in the set)."""
    from service.tagging.labels import default_labels
    from service.tagging.names import as_labels
    from service.tagging.types import Document

    labels = as_labels(None, default_labels().entity_labels)
    out = {}
    for art in articles:
        raw = tagger._entities_raw([Document(art.text)], labels, tagger.threshold, None)[0]
        out[art.name] = frozenset((r.start, r.end, r.label) for r in raw[0])
    return out


def engine_single(
    tagger: Any,
    articles: Sequence[Article],
    *,
    repeats: int = 1,
    name: str = "engine tag()",
    topics: bool = False,
) -> tuple[Measurement, dict[str, EntitySet]]:
    """``Tagger.tag`` per article, sequentially; the (entity text, label) set of each article.
    ``topics=True`` scores the default topics too (the service's default request)."""
    m = Measurement(name)
    ents: dict[str, EntitySet] = {}
    t_all = time.perf_counter()
    for _ in range(repeats):
        for art in articles:
            t0 = time.perf_counter()
            res = tagger.tag(art.text, topic_labels=None if topics else [])
            m.latencies_s.append(time.perf_counter() - t0)
            ents[art.name] = frozenset((e.text, e.label) for e in res.entities)
            m.articles += 1
            m.words += art.words
    m.wall_s = time.perf_counter() - t_all
    m.notes["load1"] = round(os.getloadavg()[0], 2)
    return m, ents


def engine_batch(
    tagger: Any,
    articles: Sequence[Article],
    *,
    batch: int = 8,
    repeats: int = 1,
    name: str = "engine tag_many()",
) -> tuple[Measurement, dict[str, EntitySet]]:
    """``Tagger.tag_many`` on groups of ``batch`` articles; an article's latency is its call's time."""
    from service.tagging.types import Document

    m = Measurement(name, notes={"batch": batch})
    ents: dict[str, EntitySet] = {}
    t_all = time.perf_counter()
    for _ in range(repeats):
        for b in range(0, len(articles), batch):
            group = articles[b : b + batch]
            t0 = time.perf_counter()
            results = tagger.tag_many([Document(a.text) for a in group], topic_labels=[])
            dt = time.perf_counter() - t0
            for art, res in zip(group, results, strict=True):
                m.latencies_s.append(dt)
                ents[art.name] = frozenset((e.text, e.label) for e in res.entities)
                m.articles += 1
                m.words += art.words
    m.wall_s = time.perf_counter() - t_all
    m.notes["load1"] = round(os.getloadavg()[0], 2)
    return m, ents


# --- HTTP ------------------------------------------------------------------------------------------


class _Feed:
    """Work items handed to client threads, one at a time."""

    def __init__(self, items: Sequence[Any]) -> None:
        self._items = list(items)
        self._i = 0
        self._lock = threading.Lock()

    def next(self) -> Any:
        with self._lock:
            if self._i >= len(self._items):
                return None
            item = self._items[self._i]
            self._i += 1
            return item


def _post(url: str, body: dict[str, Any], stats: dict[str, int], timeout: float = 300.0) -> dict[str, Any]:
    """POST on a fresh connection; 503 (overloaded) is retried after a short pause and counted."""
    import requests

    for _ in range(100):
        r = requests.post(url, json=body, timeout=timeout, headers={"Connection": "close"})
        if r.status_code == 503:
            stats["retries_503"] = stats.get("retries_503", 0) + 1
            time.sleep(0.05)
            continue
        r.raise_for_status()
        return r.json()
    raise RuntimeError(f"{url}: still 503 after 100 tries")


def http_tag(
    base: str, articles: Sequence[Article], *, clients: int, repeats: int = 1, name: str
) -> tuple[Measurement, dict[str, EntitySet]]:
    """``POST /v1/tag`` of every article (``repeats`` times) from ``clients`` threads."""
    items = [a for _ in range(repeats) for a in articles]
    feed = _Feed(items)
    m = Measurement(name, notes={"clients": clients})
    ents: dict[str, EntitySet] = {}
    stats: dict[str, int] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def client() -> None:
        try:
            while (art := feed.next()) is not None:
                t0 = time.perf_counter()
                resp = _post(base + "/v1/tag", {"text": art.text, "topic_labels": []}, stats)
                dt = time.perf_counter() - t0
                with lock:
                    m.latencies_s.append(dt)
                    ents[art.name] = frozenset((e["text"], e["label"]) for e in resp["entities"])
                    m.articles += 1
                    m.words += art.words
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    t_all = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m.wall_s = time.perf_counter() - t_all
    m.notes["load1"] = round(os.getloadavg()[0], 2)
    if errors:
        raise errors[0]
    m.notes.update(stats)
    return m, ents


def interleaved_latency(
    tagger: Any, base: str, articles: Sequence[Article], *, repeats: int, name: str
) -> tuple[Measurement, Measurement]:
    """One article at a time, the in-process engine and ``POST /v1/tag`` (one client) in turns:
    article by article, the engine first on even passes and HTTP first on odd ones. Both see the
    machine in the same seconds, so drift in its load (which moved single-article times by up to a
    third between runs minutes apart) cancels out of their ratio. Returns (engine, HTTP)."""
    eng, http = Measurement("engine tag(), interleaved"), Measurement(name, notes={"clients": 1})
    stats: dict[str, int] = {}

    def run_engine(art: Article) -> None:
        t0 = time.perf_counter()
        tagger.tag(art.text, topic_labels=[])
        eng.latencies_s.append(time.perf_counter() - t0)

    def run_http(art: Article) -> None:
        t0 = time.perf_counter()
        _post(base + "/v1/tag", {"text": art.text, "topic_labels": []}, stats)
        http.latencies_s.append(time.perf_counter() - t0)

    for r in range(repeats):
        for art in articles:
            for run in (run_engine, run_http) if r % 2 == 0 else (run_http, run_engine):
                run(art)
            for m in (eng, http):
                m.articles += 1
                m.words += art.words
    for m in (eng, http):
        m.wall_s = sum(m.latencies_s)
        m.notes["load1"] = round(os.getloadavg()[0], 2)
    http.notes.update(stats)
    return eng, http


def http_batch(
    base: str, articles: Sequence[Article], *, batch: int, clients: int, repeats: int = 1, name: str
) -> tuple[Measurement, dict[str, EntitySet]]:
    """``POST /v1/tag/batch`` with groups of ``batch`` articles from ``clients`` threads; an article's
    latency is its request's time."""
    groups = [articles[b : b + batch] for b in range(0, len(articles), batch)]
    feed = _Feed([g for _ in range(repeats) for g in groups])
    m = Measurement(name, notes={"clients": clients, "batch": batch})
    ents: dict[str, EntitySet] = {}
    stats: dict[str, int] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def client() -> None:
        try:
            while (group := feed.next()) is not None:
                body = {"documents": [{"text": a.text} for a in group], "topic_labels": []}
                t0 = time.perf_counter()
                resp = _post(base + "/v1/tag/batch", body, stats)
                dt = time.perf_counter() - t0
                with lock:
                    for art, item in zip(group, resp["results"], strict=True):
                        if item.get("status") != 200:
                            raise RuntimeError(f"batch item {art.name}: {item}")
                        m.latencies_s.append(dt)
                        ents[art.name] = frozenset(
                            (e["text"], e["label"]) for e in item["result"]["entities"]
                        )
                        m.articles += 1
                        m.words += art.words
        except BaseException as exc:
            errors.append(exc)

    t_all = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m.wall_s = time.perf_counter() - t_all
    m.notes["load1"] = round(os.getloadavg()[0], 2)
    if errors:
        raise errors[0]
    m.notes.update(stats)
    return m, ents


# --- comparing outputs ------------------------------------------------------------------------------


def compare_sets(reference: dict[str, frozenset], other: dict[str, frozenset]) -> dict[str, Any]:
    """How far ``other`` agrees with ``reference``, article by article (same keys expected)."""
    same = 0
    only_ref = only_other = inter = union = 0
    diffs: dict[str, dict[str, list]] = {}
    for name, ref in reference.items():
        got = other.get(name, frozenset())
        if got == ref:
            same += 1
        else:
            diffs[name] = {
                "missing": sorted(map(list, ref - got))[:10],
                "extra": sorted(map(list, got - ref))[:10],
            }
        only_ref += len(ref - got)
        only_other += len(got - ref)
        inter += len(ref & got)
        union += len(ref | got)
    return {
        "articles": len(reference),
        "identical_articles": same,
        "equal": same == len(reference),
        "jaccard": round(inter / union, 4) if union else 1.0,
        "only_in_reference": only_ref,
        "only_in_other": only_other,
        "diffs": diffs,
    }


def per_article_p50(m: Measurement, articles: Sequence[Article]) -> dict[str, float]:
    """Median latency (ms) of each article in a sequential measurement (articles in order, repeated)."""
    n = len(articles)
    out = {}
    for i, art in enumerate(articles):
        xs = m.latencies_s[i::n]
        out[art.name] = round(percentile(xs, 50) * 1000, 1)
    return out
