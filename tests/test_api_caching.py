"""Conditional requests and compression: ETag and If-None-Match (304 without tagging), gzip answers."""

from __future__ import annotations

import gzip
import json
import threading

import pytest
from engine_double import CannedEngine

from service.tagging.types import ModelInfo

TEXT = "Joe Biden met Xi Jinping in Lima, Peru. " * 5


def test_a_repeated_tag_request_is_answered_304_without_tagging(client, engine):
    body = {"id": "a1", "text": TEXT, "entity_labels": ["person", "country"]}
    first = client.post("/v1/tag", json=body)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    calls = len(engine.calls)
    again = client.post("/v1/tag", json=body, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    assert len(engine.calls) == calls  # the model did not run
    # a list of tags, one of them ours
    assert client.post("/v1/tag", json=body, headers={"If-None-Match": f'"x", {etag}'}).status_code == 304


@pytest.mark.parametrize(
    "change",
    [
        {"text": TEXT + " More."},
        {"id": "a2"},
        {"entity_labels": ["person"]},
        {"entity_labels": ["person", {"name": "country", "description": "a nation"}]},
        {"threshold": 0.7},
        {"title": "Summit"},
    ],
)
def test_a_changed_request_gets_a_new_etag_and_is_tagged(client, engine, change):
    body = {"id": "a1", "text": TEXT, "entity_labels": ["person", "country"]}
    etag = client.post("/v1/tag", json=body).headers["ETag"]
    calls = len(engine.calls)
    resp = client.post("/v1/tag", json=body | change, headers={"If-None-Match": etag})
    assert resp.status_code == 200 and resp.headers["ETag"] != etag
    assert len(engine.calls) == calls + 1


def test_the_etag_follows_the_model_and_the_settings(make_app):
    body = {"text": TEXT}
    etags = {make_app().test_client().post("/v1/tag", json=body).headers["ETag"] for _ in range(2)}
    assert len(etags) == 1  # the same in a fresh app (another worker)
    assert make_app(THRESHOLD=0.3).test_client().post("/v1/tag", json=body).headers["ETag"] not in etags
    other = CannedEngine()
    other.info = ModelInfo("canned-test-engine", "1")  # the next version of the model
    assert make_app(ENGINE=other).test_client().post("/v1/tag", json=body).headers["ETag"] not in etags


def test_star_and_errors_are_not_304(client, problem):
    assert client.post("/v1/tag", json={"text": TEXT}, headers={"If-None-Match": "*"}).status_code == 200
    resp = client.post("/v1/tag", json={"text": ""}, headers={"If-None-Match": "*"})
    problem(resp, 422, "invalid-fields")
    assert "ETag" not in resp.headers


def test_batch_etag_and_304(client, engine):
    body = {"documents": [{"text": TEXT}, {"text": ""}], "topic_labels": ["diplomacy"]}
    etag = client.post("/v1/tag/batch", json=body).headers["ETag"]
    calls = len(engine.calls)
    assert client.post("/v1/tag/batch", json=body, headers={"If-None-Match": etag}).status_code == 304
    assert len(engine.calls) == calls


def test_get_answers_have_etags_and_304(client):
    for path in ("/v1/labels", "/openapi.yaml"):
        first = client.get(path)
        assert first.status_code == 200 and first.headers["ETag"].startswith('W/"'), path
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b"", path
    for path in ("/healthz", "/readyz", "/metrics"):
        assert "ETag" not in client.get(path).headers, path


@pytest.mark.parametrize("path", ["/v1/labels", "/openapi.yaml", "/metrics"])
def test_gzip_when_the_client_accepts_it(client, path):
    plain = client.get(path)
    zipped = client.get(path, headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert int(zipped.headers["Content-Length"]) < len(plain.get_data()) / 2
    if path != "/metrics":  # its latency figures move between two scrapes
        assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert "Content-Encoding" not in plain.headers
    refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_tag_answer_gzipped_and_small_answers_left_alone(client):
    resp = client.post("/v1/tag", json={"text": TEXT}, headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(resp.get_data()))["entities"]
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers and small.get_json() == {"status": "ok"}


# --- the result cache (service/api/cache.py) --------------------------------------------------------


def _tag(client, text: str, **extra):
    return client.post("/v1/tag", json={"text": text, "entity_labels": ["country"], **extra})


def test_the_same_article_again_comes_from_the_cache_without_the_model(client, engine):
    first = _tag(client, TEXT, id="a1")
    assert first.headers["X-Cache"] == "miss" and len(engine.calls) == 1
    again = _tag(client, TEXT, id="a1")  # no If-None-Match: a CMS saving the same article again
    assert again.status_code == 200 and again.headers["X-Cache"] == "hit"
    assert len(engine.calls) == 1  # the model did not run
    one, two = first.get_json(), again.get_json()
    assert set(one["timings_ms"]) > {"request", "queue"} and set(two["timings_ms"]) == {"request", "queue"}
    one.pop("timings_ms")
    two.pop("timings_ms")
    assert one == two
    assert again.headers["ETag"] == first.headers["ETag"]
    third = _tag(client, TEXT, id="a1").get_json()
    assert set(third["timings_ms"]) == {"request", "queue"}  # a hit never keeps another request's times
    assert _tag(client, TEXT, id="a2").headers["X-Cache"] == "miss"  # the id is echoed: another answer
    assert len(engine.calls) == 2


def test_the_cache_keeps_the_most_recently_used_up_to_its_cap(make_app):
    engine = CannedEngine()
    client = make_app(ENGINE=engine, RESULT_CACHE_SIZE=2).test_client()
    for text in ("Peru.", "China.", "Peru."):  # Peru is used again: China is now the oldest
        _tag(client, text)
    _tag(client, "Peru and China.")  # over the cap: China goes
    assert len(engine.calls) == 3
    assert _tag(client, "Peru.").headers["X-Cache"] == "hit"
    assert _tag(client, "China.").headers["X-Cache"] == "miss"
    assert len(engine.calls) == 4


def test_the_cache_can_be_turned_off(make_app):
    engine = CannedEngine()
    client = make_app(ENGINE=engine, RESULT_CACHE_SIZE=0).test_client()
    for _ in range(2):
        assert "X-Cache" not in _tag(client, TEXT).headers
    assert len(engine.calls) == 2


@pytest.mark.parametrize("bad", [-1, "many"])
def test_a_bad_cache_size_stops_start_up(make_app, bad):
    from service.config import ConfigError

    with pytest.raises(ConfigError, match="TAGGER_RESULT_CACHE_SIZE"):
        make_app(RESULT_CACHE_SIZE=bad)


def test_batch_documents_share_the_cache_with_single_requests(client, engine):
    _tag(client, "Peru.")
    calls = len(engine.calls)
    body = {"documents": [{"text": "Peru."}, {"text": "China."}], "entity_labels": ["country"]}
    resp = client.post("/v1/tag/batch", json=body)
    assert resp.headers["X-Cache"] == "partial"
    assert [d.text for d in engine.calls[calls]["documents"]] == ["China."]  # only the new one tagged
    results = resp.get_json()["results"]
    assert [r["result"]["entities"][0]["text"] for r in results] == ["Peru", "China"]
    assert set(results[0]["result"]["timings_ms"]) == {"request", "queue"}
    again = client.post("/v1/tag/batch", json=body)
    assert again.headers["X-Cache"] == "hit" and len(engine.calls) == calls + 1
    assert again.get_json()["timings_ms"]["model"] == 0.0


def test_a_cached_answer_needs_no_tagging_slot(make_app):
    gate = threading.Event()
    engine = CannedEngine()
    app = make_app(ENGINE=engine, MAX_CONCURRENCY=1, MAX_QUEUE=0)
    client = app.test_client()
    _tag(client, "Peru.")  # cached
    engine.gate = gate
    engine.entered.clear()  # set by the first call: wait for the busy request's own
    busy = threading.Thread(target=lambda: _tag(app.test_client(), "China."))
    busy.start()
    try:
        assert engine.entered.wait(5)
        assert _tag(client, "Lima, Peru.").status_code == 503  # the only slot is taken, no queue
        hit = _tag(client, "Peru.")
        assert hit.status_code == 200 and hit.headers["X-Cache"] == "hit"
    finally:
        gate.set()
        busy.join(10)


def test_answers_cut_short_are_not_cached(make_app, problem):
    engine = CannedEngine(delay_s=0.5)
    client = make_app(ENGINE=engine, TIME_BUDGET_S=0.1).test_client()
    for _ in range(2):
        problem(_tag(client, "Peru."), 504, "time-budget-exceeded")
    assert len(engine.calls) == 2


def test_cache_entries_are_not_changed_by_the_answers_made_from_them(app, client):
    from service.api.cache import EXTENSION

    _tag(client, "Peru.")
    _tag(client, "Peru.")
    (entry,) = app.extensions[EXTENSION]._data.values()
    assert set(entry["timings_ms"]) == {"model"}  # the engine's own stages only
