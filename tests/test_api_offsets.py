"""Offsets in both units: code points (Python) and UTF-16 code units (JavaScript), on hard text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.api.mapping import Utf16


def utf16(text: str, offset: int) -> int:
    """The reference: how many UTF-16 code units the first ``offset`` code points take."""
    return len(text[:offset].encode("utf-16-le")) // 2


HARD = {
    "emoji": "👍🏽 Joe Biden 🇺🇸 met Xi Jinping 🤝 in Lima, Peru 🇵🇪. Biden smiled 😀.",
    "astral-cjk": "𠜎𠜱𠝹 Peru and 𝒳𝒴 China; Biden.",
    "combining": "Cafe\u0301 talk: Biden and Xi Jinping in Lima, Peru. "
    "Z\u0351\u0363a\u0364l\u0307g\u0308o Peru.",
    "rtl": "قال الرئيس Joe Biden في ليما، Peru، إن China مهمة. שלום Xi Jinping.",
    "control": "\x00\x07Joe Biden\tmet\x0bXi Jinping\r\nin Lima,\x1fPeru.\u200b\u200eChina\ufeff.",
    "long-line": "word " * 12000 + "Joe Biden met Xi Jinping in Lima, Peru. " + "🙂" * 3000 + " China",
}


@pytest.mark.parametrize("name", list(HARD))
def test_offsets_are_exact_in_both_units(client, name):
    text = HARD[name]
    resp = client.post("/v1/tag", json={"text": text, "topic_labels": ["diplomacy"]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    mentions = [m for e in body["entities"] for m in e["mentions"]]
    assert mentions, "the test double finds the names in every text"
    units = text.encode("utf-16-le")
    for m in mentions:
        assert text[m["start"] : m["end"]] == m["text"]
        assert m["start_utf16"] == utf16(text, m["start"]) and m["end_utf16"] == utf16(text, m["end"])
        # what a JavaScript client does: slice the UTF-16 code units
        assert units[2 * m["start_utf16"] : 2 * m["end_utf16"]].decode("utf-16-le") == m["text"]
    # the test double reads "diplomacy" where the text says "met", with the whole text as evidence
    assert [t["label"] for t in body["topics"]] == (["diplomacy"] if "met" in text else [])
    evidence = [ev for t in body["topics"] for ev in t["evidence"]]
    assert len(evidence) == len(body["topics"])
    for ev in evidence:
        assert text[ev["start"] : ev["end"]] == ev["text"]
        assert (ev["start_utf16"], ev["end_utf16"]) == (utf16(text, ev["start"]), utf16(text, ev["end"]))
        assert units[2 * ev["start_utf16"] : 2 * ev["end_utf16"]].decode("utf-16-le") == ev["text"]


def test_emoji_shift_utf16_offsets_by_one_each(client):
    text = "😀😀 Peru"
    m = client.post("/v1/tag", json={"text": text}).get_json()["entities"][0]["mentions"][0]
    assert (m["start"], m["end"]) == (3, 7)
    assert (m["start_utf16"], m["end_utf16"]) == (5, 9)


def test_title_offsets_use_the_title(client):
    title = "🗳️ Biden in Peru"
    text = "Peru."
    body = client.post("/v1/tag", json={"text": text, "title": title}).get_json()
    in_title = [m for e in body["entities"] for m in e["mentions"] if m["field"] == "title"]
    assert sorted(m["text"] for m in in_title) == ["Biden", "Peru"]
    for m in in_title:
        assert title[m["start"] : m["end"]] == m["text"]
        # the ballot box emoji is one astral code point (two UTF-16 units) plus a variation selector
        assert m["start_utf16"] == utf16(title, m["start"]) == m["start"] + 1
        assert m["end_utf16"] == utf16(title, m["end"]) == m["end"] + 1


@given(st.text(max_size=60), st.data())
def test_utf16_conversion_matches_the_encoder(text, data):
    conv = Utf16(text)
    offset = data.draw(st.integers(min_value=0, max_value=len(text)))
    assert conv(offset) == utf16(text, offset)


def test_spans_the_engine_gets_wrong_are_dropped_not_sent(make_app, service_logs):
    from service.tagging.types import Coverage, Entity, Mention, ModelInfo, TagResult

    class _OffByOne:
        info = ModelInfo("off-by-one", "0")

        def tag_many(self, docs, *a, **k):
            text = docs[0].text
            i = text.index("Peru")
            good = Mention(i, i + 4, "Peru", 0.9)
            bad = Mention(i + 1, i + 5, "Peru", 0.9)
            return [
                TagResult(
                    [
                        Entity("Peru", "country", 0.9, 0.5, [good, bad]),
                        Entity("Lima", "country", 0.9, 0.5, [Mention(0, 4, "Lima", 0.9)]),
                        Entity("Xi", "not asked", 0.9, 0.5, [Mention(0, 2, "Li", 0.9)]),
                    ],
                    [],
                    Coverage(len(text), 3, 1),
                )
            ]

    text = "In Peru."
    body = (
        make_app(ENGINE=_OffByOne())
        .test_client()
        .post("/v1/tag", json={"text": text, "entity_labels": ["country"]})
        .get_json()
    )
    assert [(e["text"], len(e["mentions"])) for e in body["entities"]] == [("Peru", 1)]
    assert sum(r.levelname == "ERROR" for r in service_logs) == 3
