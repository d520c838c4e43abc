"""Conditional requests and compression: ETag and If-None-Match (304 without tagging), gzip answers,
Server-Timing, and the strong ETag's promise (the same bytes) with the real model."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import pytest
from engine_double import CannedEngine

from service.client import server_timings
from service.tagging.types import ModelInfo

TEXT = "Joe Biden met Xi Jinping in Lima, Peru. " * 5


def test_a_repeated_tag_request_is_answered_304_without_tagging(client, engine):
    body = {"id": "a1", "text": TEXT, "entity_labels": ["person", "country"]}
    first = client.post("/v1/tag", json=body)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and etag.endswith('"')  # strong: no W/
    calls = len(engine.calls)
    again = client.post("/v1/tag", json=body, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    assert len(engine.calls) == calls  # the model did not run
    # a list of tags, one of them ours; and ours marked weak (weak comparison, RFC 9110 13.1.2)
    assert client.post("/v1/tag", json=body, headers={"If-None-Match": f'"x", {etag}'}).status_code == 304
    assert client.post("/v1/tag", json=body, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.post("/v1/tag", json=body, headers={"If-None-Match": '"x", W/"y"'}).status_code == 200


def test_the_default_answer_is_the_same_bytes_every_time(make_app):
    client = make_app(ENGINE=CannedEngine(), RESULT_CACHE_SIZE=0).test_client()
    body = {"id": "a1", "text": TEXT, "title": "Summit", "topic_labels": ["diplomacy"]}
    one, two = (client.post("/v1/tag", json=body) for _ in range(2))
    assert one.status_code == two.status_code == 200
    assert one.get_data() == two.get_data() and one.headers["ETag"] == two.headers["ETag"]
    assert "timings_ms" not in one.get_json()
    assert server_timings(one.headers["Server-Timing"]) != {}  # the timings went to the header


def test_server_timing_has_the_engine_stages_and_says_when_the_cache_answered(client):
    miss = client.post("/v1/tag", json={"text": TEXT})
    assert miss.headers["Server-Timing"].startswith('cache;desc="miss", ')
    stages = server_timings(miss.headers["Server-Timing"])
    assert set(stages) == {"model", "queue", "request"}  # the canned engine reports only "model"
    assert stages["request"] >= stages["queue"] >= 0 and stages["model"] == 1.0
    hit = client.post("/v1/tag", json={"text": TEXT})
    assert hit.headers["Server-Timing"].startswith('cache;desc="hit", ')
    assert set(server_timings(hit.headers["Server-Timing"])) == {"queue", "request"}  # no engine stage ran
    assert hit.get_data() == miss.get_data() and hit.headers["ETag"] == miss.headers["ETag"]


def test_server_timing_without_the_cache_has_no_cache_entry(make_app):
    client = make_app(ENGINE=CannedEngine(), RESULT_CACHE_SIZE=0).test_client()
    header = client.post("/v1/tag", json={"text": TEXT}).headers["Server-Timing"]
    assert "cache" not in header and set(server_timings(header)) == {"model", "queue", "request"}


@pytest.mark.parametrize("path", ["/v1/tag", "/v1/tag/batch"])
def test_timings_in_the_body_when_asked_and_the_etag_is_then_weak(client, path):
    body = {"text": TEXT} if path == "/v1/tag" else {"documents": [{"text": TEXT}]}
    plain = client.post(path, json=body)
    timed = client.post(f"{path}?timings=true", json=body)
    tag = plain.headers["ETag"].removeprefix("W/")
    assert timed.status_code == 200 and timed.headers["ETag"] == f"W/{tag}"
    answer = timed.get_json()
    if path == "/v1/tag":
        assert plain.headers["ETag"].startswith('"') and "timings_ms" not in plain.get_json()
        assert set(answer["timings_ms"]) == {"queue", "request"}  # a cache hit: this request's times
        assert {"queue", "request"} <= set(server_timings(timed.headers["Server-Timing"]))
    else:
        assert "timings_ms" not in plain.get_json()
        assert all("timings_ms" not in r["result"] for r in plain.get_json()["results"])
        assert set(answer["timings_ms"]) == {"queue", "model", "request"}
        assert set(answer["results"][0]["result"]["timings_ms"]) == {"queue", "request"}
    # the timed answer's tag revalidates the plain request and the other way round: same tags
    assert client.post(path, json=body, headers={"If-None-Match": timed.headers["ETag"]}).status_code == 304
    resp = client.post(f"{path}?timings=1", json=body, headers={"If-None-Match": plain.headers["ETag"]})
    assert resp.status_code == 304 and resp.headers["ETag"] == timed.headers["ETag"]
    assert "timings_ms" not in client.post(f"{path}?timings=false", json=body).get_json()


def test_a_bad_timings_switch_is_422(client, problem):
    resp = client.post("/v1/tag?timings=maybe", json={"text": TEXT})
    problem(resp, 422, "invalid-fields")
    assert "timings" in resp.get_json()["errors"]


def test_the_gzip_answer_has_its_own_strong_etag_and_either_gets_its_304(client, engine):
    body = {"id": "a1", "text": TEXT}
    plain = client.post("/v1/tag", json=body)
    zipped = client.post("/v1/tag", json=body, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    tag = plain.headers["ETag"]
    assert zipped.headers["ETag"] == tag[:-1] + '-gzip"'  # other bytes, another strong tag (RFC 9110 8.8.3)
    calls = len(engine.calls)
    for held, accept in ((zipped.headers["ETag"], "gzip"), (tag, "identity")):
        resp = client.post("/v1/tag", json=body, headers={"If-None-Match": held, "Accept-Encoding": accept})
        assert resp.status_code == 304 and resp.headers["ETag"] == held, held
        assert "Accept-Encoding" in resp.headers["Vary"]
    assert len(engine.calls) == calls
    # a gzip answer's tag is this request's, not any other's
    held = {"If-None-Match": zipped.headers["ETag"]}
    assert client.post("/v1/tag", json=body | {"id": "a2"}, headers=held).status_code == 200


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
    first = client.post("/v1/tag/batch", json=body)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')  # weak: see routes._with_cache_headers
    assert set(server_timings(first.headers["Server-Timing"])) == {"queue", "model", "request"}
    calls = len(engine.calls)
    again = client.post("/v1/tag/batch", json=body, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag
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
    one, two = (server_timings(r.headers["Server-Timing"]) for r in (first, again))
    assert set(one) > {"request", "queue"} and set(two) == {"request", "queue"}
    assert again.get_data() == first.get_data() and again.headers["ETag"] == first.headers["ETag"]
    third = client.post("/v1/tag?timings=true", json={"text": TEXT, "entity_labels": ["country"], "id": "a1"})
    assert set(third.get_json()["timings_ms"]) == {"request", "queue"}  # a hit never keeps another's times
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
    timed = client.post("/v1/tag/batch?timings=true", json=body).get_json()
    assert set(timed["results"][0]["result"]["timings_ms"]) == {"request", "queue"}
    again = client.post("/v1/tag/batch", json=body)
    assert again.headers["X-Cache"] == "hit" and len(engine.calls) == calls + 1
    assert server_timings(again.headers["Server-Timing"])["model"] == 0.0
    assert again.get_data() == resp.get_data()


def test_answers_tagged_beside_others_do_not_answer_a_single_request(client, engine):
    """Batched windows share padding with other documents' (scores move in the last digits): such an
    answer is not the bytes the strong ETag of /v1/tag promises, so only batches reuse it."""
    body = {"documents": [{"text": "Peru."}, {"text": "China."}], "entity_labels": ["country"]}
    assert client.post("/v1/tag/batch", json=body).headers["X-Cache"] == "miss"
    assert len(engine.calls) == 1 and len(engine.calls[0]["documents"]) == 2  # one engine call, together
    assert _tag(client, "Peru.").headers["X-Cache"] == "miss" and len(engine.calls) == 2  # tagged alone
    assert _tag(client, "Peru.").headers["X-Cache"] == "hit"
    assert client.post("/v1/tag/batch", json=body).headers["X-Cache"] == "hit" and len(engine.calls) == 2
    alone = {"documents": [{"text": "Lima."}], "entity_labels": ["country"]}  # the only document of its call
    client.post("/v1/tag/batch", json=alone)
    assert _tag(client, "Lima.").headers["X-Cache"] == "hit" and len(engine.calls) == 3


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


# --- the strong ETag's promise with the real model ----------------------------------------------------

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _seed(name: str) -> str:
    return (SEEDS / name).read_text("utf-8")


@pytest.mark.model
def test_the_real_model_answers_the_same_bytes_twice_under_one_strong_etag(real_app, real_client,
                                                                           monkeypatch):
    monkeypatch.setitem(real_app.config, "RESULT_CACHE_SIZE", 0)  # both answers from the model
    body = {"id": "strong-etag-1", "text": _seed("000_7f8ba91ebebcbb5c.txt"), "title": "Summit",
            "topic_labels": ["diplomacy", "trade and tariffs", "elections"]}
    one, two = (real_client.post("/v1/tag", json=body) for _ in range(2))
    assert one.status_code == two.status_code == 200
    assert "X-Cache" not in one.headers and one.get_json()["coverage"]["chunks"] > 1  # several windows
    assert one.get_data() == two.get_data()
    assert one.headers["ETag"] == two.headers["ETag"] and not one.headers["ETag"].startswith("W/")
    again = real_client.post("/v1/tag", json=body, headers={"If-None-Match": one.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == one.headers["ETag"]


@pytest.mark.model
def test_the_real_model_single_answer_is_the_alone_answer_after_a_batch(real_app, real_client, monkeypatch):
    paragraphs = [p for p in _seed("003_090dc6e6d90a93b1.txt").split("\n\n") if p.strip()]
    docs = [{"id": "strong-etag-2a", "text": paragraphs[0]}, {"id": "strong-etag-2b", "text": paragraphs[3]}]
    batch = real_client.post("/v1/tag/batch", json={"documents": docs})  # cached as tagged together
    assert batch.status_code == 200 and batch.headers["ETag"].startswith("W/")
    after = real_client.post("/v1/tag", json=docs[0])
    assert after.headers["X-Cache"] == "miss"  # not the batched answer
    monkeypatch.setitem(real_app.config, "RESULT_CACHE_SIZE", 0)
    alone = real_client.post("/v1/tag", json=docs[0])
    assert after.get_data() == alone.get_data() and after.headers["ETag"] == alone.headers["ETag"]
