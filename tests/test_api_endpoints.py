"""Every endpoint's success path, through the Flask test client and the CannedEngine test double."""

from __future__ import annotations

from typing import Any

from service.api import schemas
from service.client import server_timings
from service.tagging.labels import default_labels

TEXT = "Joe Biden met Xi Jinping in Lima, Peru. Biden and Xi talked about China."


def test_tag_returns_grouped_entities_with_exact_offsets(client):
    resp = client.post(
        "/v1/tag",
        json={
            "id": "a1",
            "text": TEXT,
            "entity_labels": ["political leader", "country"],
            "topic_labels": ["diplomacy"],
        },
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert schemas.TagResponse().validate(body) == {}
    assert body["id"] == "a1"
    by_name = {e["text"]: e for e in body["entities"]}
    assert set(by_name) == {"Joe Biden", "Xi Jinping", "Peru", "China"}
    assert [m["text"] for m in by_name["Joe Biden"]["mentions"]] == ["Joe Biden", "Biden"]
    for ent in body["entities"]:
        assert ent["label"] in {"political leader", "country"}
        for m in ent["mentions"]:
            assert TEXT[m["start"] : m["end"]] == m["text"]
            assert (m["start_utf16"], m["end_utf16"]) == (m["start"], m["end"])  # all BMP
            assert m["field"] == "text"
    assert body["topics"][0]["label"] == "diplomacy"
    assert body["model"] == {"name": "canned-test-engine", "version": "0", "precision": "fp32"}
    assert body["labels_version"] == default_labels().version
    assert body["coverage"] == {
        "chars": len(TEXT),
        "words": len(TEXT.split()),
        "chunks": 1,
        "truncated": False,
    }
    assert "timings_ms" not in body  # in Server-Timing, unless ?timings=true
    assert {"request", "queue"} <= set(server_timings(resp.headers["Server-Timing"]))


def test_tag_without_labels_uses_the_defaults(client, engine):
    resp = client.post("/v1/tag", json={"text": TEXT})
    assert resp.status_code == 200
    call = engine.calls[-1]
    assert call["entity_labels"] is None and call["topic_labels"] is None
    default_names = {lab.name for lab in default_labels().entity_labels}
    assert {e["label"] for e in resp.get_json()["entities"]} <= default_names
    assert "id" not in resp.get_json()


def test_tag_labels_come_back_exactly_as_sent(client, engine):
    labels = [{"name": "political leader", "description": "a head of state"}, "Country"]
    resp = client.post("/v1/tag", json={"text": TEXT, "entity_labels": labels, "topic_labels": []})
    assert resp.status_code == 200
    sent = engine.calls[-1]["entity_labels"]
    assert [(lab.name, lab.description) for lab in sent] == [
        ("political leader", "a head of state"),
        ("Country", None),
    ]
    assert engine.calls[-1]["topic_labels"] == []
    # the double only knows lower-case "country": nothing may come back under a label not asked for
    assert {e["label"] for e in resp.get_json()["entities"]} == {"political leader"}
    assert resp.get_json()["topics"] == []


def test_labels_sharing_a_name_are_one_label_as_the_spec_allows(client, engine):
    # issue 14 item 6: the spec's uniqueItems allows these two items (unique as JSON)
    labels = ["person", {"name": "person", "description": "a human"}, "country"]
    resp = client.post("/v1/tag", json={"text": TEXT, "entity_labels": labels, "topic_labels": []})
    assert resp.status_code == 200
    sent = engine.calls[-1]["entity_labels"]
    assert [(lab.name, lab.description) for lab in sent] == [("person", "a human"), ("country", None)]


def test_the_same_label_item_twice_is_refused_as_the_spec_says(client):
    for labels in (["person", "country", "person"], [{"name": "a", "description": "b"}] * 2):
        resp = client.post("/v1/tag", json={"text": TEXT, "entity_labels": labels})
        assert resp.status_code == 422
        assert "Duplicate entity labels" in resp.get_json()["errors"]["entity_labels"][0]


def test_entities_say_whether_they_are_derived_and_labels_are_reported(client):
    body = client.post("/v1/tag", json={"text": TEXT}).get_json()
    assert body["entities"] and all(e["derived"] is False for e in body["entities"])
    assert isinstance(body["entity_labels"], list)


def test_tag_passes_thresholds_and_deadline_to_the_engine(client, engine):
    resp = client.post(
        "/v1/tag", json={"text": TEXT, "threshold": 0.25, "topic_threshold": 0.7, "language": "en-GB"}
    )
    assert resp.status_code == 200
    call = engine.calls[-1]
    assert call["threshold"] == 0.25 and call["topic_threshold"] == 0.7
    assert call["deadline"] is not None


def test_tag_title_mentions_index_into_the_title(client):
    title = "Peru hosts Biden"
    body = client.post("/v1/tag", json={"text": TEXT, "title": title}).get_json()
    title_mentions = [m for e in body["entities"] for m in e["mentions"] if m["field"] == "title"]
    assert {m["text"] for m in title_mentions} == {"Peru", "Biden"}
    for m in title_mentions:
        assert title[m["start"] : m["end"]] == m["text"]


def test_batch_results_in_request_order(client, engine):
    docs = [{"id": f"d{i}", "text": t} for i, t in enumerate(["Peru.", "China and Peru.", "Nothing here."])]
    resp = client.post("/v1/tag/batch", json={"documents": docs, "entity_labels": ["country"]})
    assert resp.status_code == 200
    body = resp.get_json()
    assert schemas.BatchResponse().validate(body) == {}
    timings = server_timings(resp.headers["Server-Timing"])
    assert set(timings) == {"queue", "model", "request"}  # as the spec promises
    assert timings["request"] >= timings["model"] >= 0
    timed = client.post("/v1/tag/batch?timings=true", json={"documents": docs, "entity_labels": ["country"]})
    assert schemas.BatchResponse().validate(timed.get_json()) == {}
    assert set(timed.get_json()["timings_ms"]) == {"queue", "model", "request"}
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert [r["id"] for r in body["results"]] == ["d0", "d1", "d2"]
    assert [r["status"] for r in body["results"]] == [200, 200, 200]
    assert [sorted(e["text"] for e in r["result"]["entities"]) for r in body["results"]] == [
        ["Peru"],
        ["China", "Peru"],
        [],
    ]
    assert len(engine.calls) == 1  # same labels: one engine call, windows batched together


def test_batch_bad_document_gets_its_own_error(client, problem):
    docs: list[Any] = [
        {"id": "ok", "text": "Peru."},
        {"id": "bad", "text": "   "},
        42,
        {"text": "China.", "colour": "red"},
        {"text": "Lima.", "threshold": 2},
    ]
    resp = client.post("/v1/tag/batch", json={"documents": docs})
    assert resp.status_code == 200
    results = resp.get_json()["results"]
    assert [r["status"] for r in results] == [200, 422, 422, 422, 422]
    assert results[0]["result"]["entities"][0]["text"] == "Peru"
    assert results[1]["id"] == "bad"
    assert results[1]["error"]["errors"] == {"text": ["The text must not be empty or whitespace only."]}
    assert results[1]["error"]["type"] == "urn:newsroom-tagger:problem:invalid-fields"
    assert results[1]["error"]["instance"] == "/v1/tag/batch#/documents/1"
    # each item's problem carries the batch's request id, as the logs do
    assert {r["error"]["request_id"] for r in results[1:]} == {resp.headers["X-Request-ID"]}
    assert "_schema" in results[2]["error"]["errors"]
    assert results[3]["error"]["errors"] == {"colour": ["Unknown field."]}
    assert "threshold" in results[4]["error"]["errors"]


def test_batch_document_options_override_the_shared_ones(client, engine):
    docs = [{"text": "Peru and Lima."}, {"text": "Peru and Lima.", "entity_labels": ["location"]}]
    body = client.post("/v1/tag/batch", json={"documents": docs, "entity_labels": ["country"]}).get_json()
    assert [[e["label"] for e in r["result"]["entities"]] for r in body["results"]] == [
        ["country"],
        ["location"],
    ]
    assert len(engine.calls) == 2


def test_labels_lists_defaults_with_ids_and_version(client):
    resp = client.get("/v1/labels")
    assert resp.status_code == 200
    body = resp.get_json()
    defaults = default_labels()
    assert body["version"] == defaults.version
    assert [e["name"] for e in body["entity_labels"]] == [lab.name for lab in defaults.entity_labels]
    assert [t["id"] for t in body["topic_labels"]] == [t.id for t in defaults.topics]
    assert all(e["description"] for e in body["entity_labels"])


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "ready"
    assert ready.get_json()["model"] == {"name": "canned-test-engine", "version": "0", "precision": "fp32"}


def test_openapi_yaml_is_served(client):
    resp = client.get("/openapi.yaml")
    assert resp.status_code == 200
    assert resp.mimetype == "application/yaml"
    assert "openapi: 3.0.3" in resp.get_data(as_text=True)


def test_docs_page_works_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "/openapi.yaml" in html
    assert "http://" not in html and "https://" not in html  # no CDN: every asset from this service
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/docs/{asset}" in html
        resp = client.get(f"/docs/{asset}")
        try:
            assert resp.status_code == 200 and len(resp.get_data()) > 1000
        finally:
            resp.close()
