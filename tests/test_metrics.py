"""``/metrics``: scraped with Prometheus' own text parser after real traffic, in one process and
under a real gunicorn with two workers (multiprocess mode); and the access log's work fields."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

from engine_double import CannedEngine
from prometheus_client.parser import text_string_to_metric_families

from service.api.logs import JsonFormatter

TEXT = "Joe Biden met Xi Jinping in Lima, Peru."


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by (name, sorted labels)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_move_with_traffic(client):
    before = _samples(client.get("/metrics").get_data(as_text=True))
    assert client.post("/v1/tag", json={"text": TEXT, "title": "Summit"}).status_code == 200
    batch = {"documents": [{"text": "Peru and China."}, {"text": ""}, {"text": "Lima"}]}
    assert client.post("/v1/tag/batch", json=batch).status_code == 200
    assert client.post("/v1/tag", json={"text": ""}).status_code == 422
    assert client.get("/no/such/path/123").status_code == 404
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    after = _samples(resp.get_data(as_text=True))

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("tagger_http_requests_total", route="/v1/tag", method="POST", status="200") == 1
    assert moved("tagger_http_requests_total", route="/v1/tag", method="POST", status="422") == 1
    assert moved("tagger_http_requests_total", route="/v1/tag/batch", method="POST", status="200") == 1
    assert moved("tagger_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert not [k for k in after if "/no/such/path" in str(k)]  # raw paths never become series
    assert moved("tagger_http_request_duration_seconds_count", route="/v1/tag") == 2
    assert moved("tagger_documents_tagged_total") == 3  # the empty batch document was never tagged
    assert moved("tagger_characters_tagged_total") == len(TEXT) + len("Summit") + len("Peru and China.") + 4
    assert moved("tagger_model_duration_seconds_count") == 2  # one per request that reached the engine
    assert moved("tagger_model_duration_seconds_sum") > 0
    assert _value(after, "tagger_tagging_slots_busy") == 0
    assert _value(after, "tagger_tagging_queue_depth") == 0
    info = [k for k in after if k[0] == "tagger_model_info"]
    assert len(info) == 1 and dict(info[0][1])["name"] == "canned-test-engine"
    assert after[info[0]] == 1


def test_refusals_are_counted_by_type(make_app):
    gate = threading.Event()
    engine = CannedEngine(gate=gate)
    client = make_app(ENGINE=engine, MAX_CONCURRENCY=1, MAX_QUEUE=0).test_client()
    holder = threading.Thread(target=lambda: client.post("/v1/tag", json={"text": TEXT}))
    holder.start()
    try:
        assert engine.entered.wait(5)
        samples = _samples(client.get("/metrics").get_data(as_text=True))
        assert _value(samples, "tagger_tagging_slots_busy") == 1  # the held request, seen live
        assert client.post("/v1/tag", json={"text": TEXT}).status_code == 503
    finally:
        gate.set()
        holder.join(10)
    samples = _samples(client.get("/metrics").get_data(as_text=True))
    assert _value(samples, "tagger_refused_requests_total", reason="overloaded") == 1
    assert _value(samples, "tagger_http_requests_total", route="/v1/tag", method="POST", status="503") == 1
    assert _value(samples, "tagger_tagging_slots_busy") == 0


def test_metrics_open_by_default_or_behind_the_key(make_app, problem):
    assert make_app(API_KEYS="k").test_client().get("/metrics").status_code == 200
    closed = make_app(API_KEYS="k", METRICS_OPEN=False).test_client()
    problem(closed.get("/metrics"), 401, "unauthorized")
    assert closed.get("/metrics", headers={"Authorization": "Bearer k"}).status_code == 200


def test_access_log_has_documents_characters_and_model_time(client, service_logs):
    client.post("/v1/tag/batch", json={"documents": [{"text": TEXT}, {"text": "Peru"}]})
    client.get("/healthz")
    lines = [json.loads(JsonFormatter().format(r)) for r in service_logs if r.name == "service.access"]
    tagged, health = lines
    assert tagged["documents"] == 2 and tagged["characters"] == len(TEXT) + 4
    assert isinstance(tagged["model_ms"], float) and tagged["model_ms"] >= 0
    assert not {"documents", "characters", "model_ms"} & set(health)


def test_multiprocess_metrics_sum_every_gunicorn_worker(tmp_path):
    """Two workers, 12 requests spread over new connections: any worker's scrape counts all 12."""
    from test_api_gunicorn import Server, _post

    server = Server(TAGGER_WORKERS="2", TAGGER_THREADS="2", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    try:
        server.wait_ready()
        for i in range(12):
            status, _ = _post(server.url + "/v1/tag", {"text": f"Peru {i}"})
            assert status == 200
        time.sleep(0.2)
        for _ in range(3):  # whichever worker answers the scrape
            with urllib.request.urlopen(server.url + "/metrics", timeout=5) as resp:
                samples = _samples(resp.read().decode())
            assert _value(samples, "tagger_http_requests_total", route="/v1/tag", method="POST",
                          status="200") == 12
            assert _value(samples, "tagger_documents_tagged_total") == 12
        assert len(list(tmp_path.glob("*.db"))) >= 2  # both workers wrote their values
    finally:
        server.stop()


def test_metrics_route_is_get_only(client, problem):
    problem(client.post("/metrics"), 405, "method-not-allowed")


def test_result_cache_lookups_are_counted_and_logged(client, service_logs):
    doc = {"text": f"Peru and Chile signed a deal at {time.monotonic_ns()}."}  # never cached before
    before = _samples(client.get("/metrics").get_data(as_text=True))
    first = client.post("/v1/tag", json=doc)
    second = client.post("/v1/tag", json=doc)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    after = _samples(client.get("/metrics").get_data(as_text=True))
    assert _value(after, "tagger_result_cache_lookups_total", outcome="miss") - \
        _value(before, "tagger_result_cache_lookups_total", outcome="miss") == 1
    assert _value(after, "tagger_result_cache_lookups_total", outcome="hit") - \
        _value(before, "tagger_result_cache_lookups_total", outcome="hit") == 1
    lines = [json.loads(JsonFormatter().format(r)) for r in service_logs if r.name == "service.access"]
    tagged = [x for x in lines if x["path"] == "/v1/tag"]
    assert [x["cache_hits"] for x in tagged] == [0, 1]
