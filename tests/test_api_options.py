"""Request options reach the engine: derive_countries on single and batch requests."""

from __future__ import annotations

import pytest

from tests.engine_double import CannedEngine


@pytest.mark.parametrize(("sent", "expected"), [(None, True), (True, True), (False, False)])
def test_derive_countries_reaches_the_engine(client, engine: CannedEngine, sent, expected) -> None:
    body = {"text": "Police in Tulsa said the road was closed."}
    if sent is not None:
        body["derive_countries"] = sent
    resp = client.post("/v1/tag", json=body)
    assert resp.status_code == 200, resp.get_json()
    assert engine.calls, "the engine was not called"
    assert engine.calls[-1]["derive_countries"] is expected


def test_batch_option_applies_to_documents_unless_they_set_their_own(client, engine: CannedEngine) -> None:
    body = {"derive_countries": False,
            "documents": [{"text": "A story from Denver."},
                          {"text": "Another from Lima.", "derive_countries": True}]}
    resp = client.post("/v1/tag/batch", json=body)
    assert resp.status_code == 200, resp.get_json()
    seen = sorted(c["derive_countries"] for c in engine.calls)
    assert seen == [False, True]


def test_derive_countries_must_be_a_boolean(client, problem) -> None:
    resp = client.post("/v1/tag", json={"text": "A story.", "derive_countries": "no"})
    problem(resp, 422, "invalid-fields", fields=["derive_countries"])
