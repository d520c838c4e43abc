"""Conditional requests and compression: ETag and If-None-Match (304 without tagging), gzip answers."""

from __future__ import annotations

import gzip
import json

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
