"""Every request limit at its edge: exactly at the limit is accepted, one past it is refused.

The limits are read from the running app's settings (``service/config.py`` defaults, what the spec
also publishes) and the request schema, never copied here, so a changed default moves the edges
with it. The test double engine stands behind the API: these are HTTP-contract tests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.api.mapping import Utf16
from service.api.schemas import TagRequest
from service.config import BY_NAME

NAME = "Peru"  # the test double finds this name wherever it occurs


def limit(app: Flask, setting: str) -> int:
    """The app's value of a limit, checked to be the documented default (no test override)."""
    value = app.config[setting]
    assert value == BY_NAME[setting].default
    return int(value)


def _text_of(length: int) -> str:
    """A text of exactly ``length`` characters that ends with the name the test double finds."""
    return "x" * (length - len(NAME) - 1) + " " + NAME


def _ok(resp: Any) -> dict:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


# ---------------------------------------------------------------------- text, title, id


def test_text_at_the_limit_is_accepted_one_over_refused(app, client, problem):
    most = limit(app, "MAX_TEXT_CHARS")
    text = _text_of(most)
    body = _ok(client.post("/v1/tag", json={"text": text}))
    assert body["coverage"]["chars"] == most
    assert [m["start"] for e in body["entities"] for m in e["mentions"]] == [most - len(NAME)]
    refused = problem(
        client.post("/v1/tag", json={"text": text + "x"}), 422, "invalid-fields", fields=["text"]
    )
    assert f"has {most + 1} characters; at most {most}" in refused["errors"]["text"][0]


def test_text_limit_counts_code_points_not_utf16_units(app, client, problem):
    """An emoji is one character and two UTF-16 code units: the limit counts characters, and a name
    after a text-long run of emoji gets UTF-16 offsets twice as far in as the emoji are many."""
    most = limit(app, "MAX_TEXT_CHARS")
    emoji = most - len(NAME) - 1
    text = "\U0001f600" * emoji + " " + NAME
    assert len(text) == most and len(text.encode("utf-16-le")) // 2 == most + emoji
    body = _ok(client.post("/v1/tag", json={"text": text}))
    (mention,) = [m for e in body["entities"] for m in e["mentions"]]
    assert (mention["start"], mention["end"]) == (emoji + 1, most)
    assert (mention["start_utf16"], mention["end_utf16"]) == (2 * emoji + 1, most + emoji)
    problem(
        client.post("/v1/tag", json={"text": text + "\U0001f600"}), 422, "invalid-fields", fields=["text"]
    )


def test_title_at_the_limit_is_accepted_one_over_refused(app, client, problem):
    most = limit(app, "MAX_TITLE_CHARS")
    title = _text_of(most)
    body = _ok(client.post("/v1/tag", json={"text": "In Lima.", "title": title}))
    titled = [m for e in body["entities"] for m in e["mentions"] if m["field"] == "title"]
    assert [(m["start"], m["end"]) for m in titled] == [(most - len(NAME), most)]
    refused = problem(
        client.post("/v1/tag", json={"text": "In Lima.", "title": title + "x"}),
        422,
        "invalid-fields",
        fields=["title"],
    )
    assert f"at most {most}" in refused["errors"]["title"][0]


def test_id_at_the_limit_is_echoed_one_over_refused(client, problem):
    (length,) = [v for v in TagRequest().fields["id"].validators if hasattr(v, "max")]
    most = length.max
    assert _ok(client.post("/v1/tag", json={"text": NAME, "id": "i" * most}))["id"] == "i" * most
    problem(
        client.post("/v1/tag", json={"text": NAME, "id": "i" * (most + 1)}),
        422,
        "invalid-fields",
        fields=["id"],
    )


# ---------------------------------------------------------------------- labels


@pytest.mark.parametrize("field", ["entity_labels", "topic_labels"])
def test_label_count_at_the_limit_is_accepted_one_over_refused(app, client, engine, problem, field):
    most = limit(app, "MAX_LABELS")
    labels = [f"label {i}" for i in range(most)]
    _ok(client.post("/v1/tag", json={"text": NAME, field: labels}))
    assert [lab.name for lab in engine.calls[-1][field]] == labels  # all of them reach the engine
    refused = problem(
        client.post("/v1/tag", json={"text": NAME, field: [*labels, "one more"]}),
        422,
        "invalid-fields",
        fields=[field],
    )
    assert f"{most + 1} " in refused["errors"][field][0] and f"at most {most}" in refused["errors"][field][0]


@pytest.mark.parametrize("field", ["entity_labels", "topic_labels"])
def test_label_name_at_the_limit_is_accepted_one_over_refused(app, client, engine, problem, field):
    most = limit(app, "MAX_LABEL_CHARS")
    name = "n" * most
    _ok(client.post("/v1/tag", json={"text": NAME, field: [name]}))
    assert [lab.name for lab in engine.calls[-1][field]] == [name]
    problem(
        client.post("/v1/tag", json={"text": NAME, field: [name + "n"]}),
        422,
        "invalid-fields",
        fields=[field],
    )
    # the same limit holds for a name sent as an object
    _ok(client.post("/v1/tag", json={"text": NAME, field: [{"name": name}]}))
    problem(
        client.post("/v1/tag", json={"text": NAME, field: [{"name": name + "n"}]}),
        422,
        "invalid-fields",
        fields=[field],
    )


@pytest.mark.parametrize("field", ["entity_labels", "topic_labels"])
def test_label_description_at_the_limit_is_accepted_one_over_refused(app, client, engine, problem, field):
    most = limit(app, "MAX_DESCRIPTION_CHARS")
    description = "d" * most
    _ok(client.post("/v1/tag", json={"text": NAME, field: [{"name": "place", "description": description}]}))
    assert engine.calls[-1][field][0].description == description
    problem(
        client.post(
            "/v1/tag", json={"text": NAME, field: [{"name": "place", "description": description + "d"}]}
        ),
        422,
        "invalid-fields",
        fields=[field],
    )


# ---------------------------------------------------------------------- batch and body


def test_batch_at_the_limit_is_accepted_one_over_refused(app, client, problem):
    most = limit(app, "MAX_BATCH")
    docs = [{"id": str(i), "text": NAME} for i in range(most)]
    results = _ok(client.post("/v1/tag/batch", json={"documents": docs}))["results"]
    assert [r["id"] for r in results] == [d["id"] for d in docs]
    assert all(r["status"] == 200 and r["result"]["entities"] for r in results)
    refused = problem(
        client.post("/v1/tag/batch", json={"documents": [*docs, {"text": NAME}]}),
        422,
        "invalid-fields",
        fields=["documents"],
    )
    assert f"{most + 1} documents sent; at most {most}" in refused["errors"]["documents"][0]


def _body_of(size: int) -> bytes:
    """A valid request body of exactly ``size`` bytes: JSON whitespace pads it."""
    head = json.dumps({"text": f"Lima, {NAME}."})[:-1].encode()
    pad = size - len(head) - 1
    assert pad >= 0
    return head + b" " * pad + b"}"


def test_body_at_the_limit_is_accepted_one_byte_over_refused(app, client: FlaskClient, problem):
    most = limit(app, "MAX_BODY_BYTES")
    at = _body_of(most)
    assert len(at) == most
    body = _ok(client.post("/v1/tag", data=at, content_type="application/json"))
    assert body["entities"]
    over = _body_of(most + 1)
    refused = problem(
        client.post("/v1/tag", data=over, content_type="application/json"), 413, "body-too-large"
    )
    assert f"limit of {most} bytes" in refused["detail"]


# ---------------------------------------------------------------------- UTF-16 offsets by example


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [0]),
        ("abc", [0, 1, 2, 3]),
        # an astral character adds one unit to every offset after it, none at or before it
        ("a\U0001f600b", [0, 1, 3, 4]),
        ("\U0001f600", [0, 2]),
        ("\U0001f600\U0001f600", [0, 2, 4]),
        # BMP characters outside ASCII (accents, CJK, right-to-left, zero-width) are one unit each
        ("é中ש\u200b", [0, 1, 2, 3, 4]),
        # an emoji with a skin-tone modifier is two astral code points: four units
        ("\U0001f44d\U0001f3fdx", [0, 2, 4, 5]),
    ],
)
def test_utf16_offsets_by_example(text, expected):
    conv = Utf16(text)
    assert [conv(i) for i in range(len(text) + 1)] == expected
    assert conv(len(text)) == len(text.encode("utf-16-le")) // 2


def test_name_between_emoji_has_both_offsets(client):
    text = "\U0001f600Peru\U0001f600 Peru"
    body = _ok(client.post("/v1/tag", json={"text": text}))
    spans = [
        (m["start"], m["end"], m["start_utf16"], m["end_utf16"])
        for e in body["entities"]
        for m in e["mentions"]
    ]
    assert spans == [(1, 5, 2, 6), (7, 11, 9, 13)]
