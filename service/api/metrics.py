"""Prometheus metrics: ``GET /metrics`` in the text exposition format, fed by one hook per request.

What a platform team alerts on: requests by route, method and status, their latency, refusals
(503 overloaded or not ready, 504 past the time budget), documents and characters tagged, time in
the engine, tagging slots busy and requests waiting for one, and the model and labels version as
an info-style gauge. Routes are the URL rules (``/v1/tag``), never raw paths, so a scan of unknown
paths cannot blow up the series count (they count as ``unmatched``).

Under gunicorn every worker is a process with its own counters: ``gunicorn.conf.py`` sets
``PROMETHEUS_MULTIPROC_DIR`` before the fork, each worker writes its values there, and a scrape
of any worker sums them all (``prometheus_client``'s multiprocess mode). Without that variable
(tests, ``flask run``) each app keeps its own registry. ``/metrics`` is open like ``/healthz``
unless ``TAGGER_METRICS_OPEN`` is false, then it needs an API key like the API.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from service.api.documented import operation

EXTENSION = "tagger_metrics"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"

# Seconds. Requests span a health check (1 ms) to a long article near the time budget (30 s).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
# The problems that mean "not served for load or readiness", by their type slug.
REFUSALS = ("overloaded", "not-ready", "time-budget-exceeded")


class Metrics:
    """The service's metrics, in a registry of their own (one app, one set)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("tagger_http_requests",
                                "HTTP requests answered, by route, method and status.",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("tagger_http_request_duration_seconds",
                                 "Time from a request's arrival to its response, by route.", ["route"],
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.refused = Counter("tagger_refused_requests",
                               "Requests refused for load or readiness (503) or past their time budget "
                               "(504), by problem type.", ["reason"], registry=r)
        self.documents = Counter("tagger_documents_tagged", "Documents tagged (batch items each count).",
                                 registry=r)
        self.characters = Counter("tagger_characters_tagged", "Characters of text and title tagged.",
                                  registry=r)
        self.cache = Counter("tagger_result_cache_lookups",
                             "Documents looked up in a worker's result cache, by outcome (hit, miss).",
                             ["outcome"], registry=r)
        self.model = Histogram("tagger_model_duration_seconds",
                               "Time a request spent in the tagging engine (the sum: model seconds).",
                               buckets=_LATENCY_BUCKETS, registry=r)
        self.busy = Gauge("tagger_tagging_slots_busy", "Requests tagging now, all workers together.",
                          multiprocess_mode="livesum", registry=r)
        self.waiting = Gauge("tagger_tagging_queue_depth", "Requests waiting for a tagging slot.",
                             multiprocess_mode="livesum", registry=r)
        self.info = Gauge("tagger_model_info", "The model and default labels served (value 1).",
                          ["name", "version", "precision", "labels_version"],
                          multiprocess_mode="max", registry=r)

    def slots_changed(self, busy: int, waiting: int) -> None:
        """Record this worker's tagging slots in use and requests waiting (a ``Slots`` observer)."""
        self.busy.set(busy)
        self.waiting.set(waiting)

    def observe(self, response: Response) -> Response:
        """Count the request ``response`` answers (an ``after_request`` hook)."""
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        self.requests.labels(rule, request.method, str(response.status_code)).inc()
        started = g.get("started")
        if started is not None:
            self.latency.labels(rule).observe(time.monotonic() - started)
        problem = g.get("problem")
        if problem in REFUSALS:
            self.refused.labels(problem).inc()
        for outcome, key in (("hit", "cache_hits"), ("miss", "cache_misses")):
            if n := g.get(key, 0):
                self.cache.labels(outcome).inc(n)
        if "model_s" in g:
            self.model.observe(g.model_s)
            self.documents.inc(g.get("documents", 0))
            self.characters.inc(g.get("characters", 0))
        return response

    def exposition(self) -> bytes:
        """The text format: every worker's values under gunicorn, this app's otherwise."""
        if os.environ.get(MULTIPROCESS_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


@operation("/metrics", "get", lambda d: {
    "operationId": "metrics", "tags": ["operations"],
    "summary": "Prometheus metrics (text exposition format)",
    "description": "Open unless TAGGER_METRICS_OPEN=false, when it needs an API key like the API.",
    "security": d.KEYED,
    "responses": {"200": {"description": "Counters, gauges and histograms of this worker.",
                          "content": {"text/plain": {"schema": {"type": "string"}}}},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "default": {"$ref": "#/components/responses/OtherProblem"}},
})
def scrape() -> Response:
    """``GET /metrics``: the model info brought up to date, then every metric."""
    from service.api.state import EXTENSION as ENGINE
    from service.tagging.labels import default_labels

    metrics: Metrics = current_app.extensions[EXTENSION]
    state = current_app.extensions[ENGINE]
    if state.status == "ready" and state.engine is not None:
        info = state.engine.info
        metrics.info.labels(info.name, info.version, info.precision, default_labels().version).set(1)
    return current_app.response_class(metrics.exposition(), content_type=CONTENT_TYPE_LATEST,
                                      headers={"Cache-Control": "no-store"})


def register(app: Flask) -> Metrics:
    """Make the app's metrics, count every request, serve ``/metrics``."""
    metrics = Metrics()
    app.extensions[EXTENSION] = metrics
    app.after_request(metrics.observe)
    app.add_url_rule(PATH, "metrics", scrape, methods=["GET"])
    return metrics
