"""The API with the real engine and model (``TAGGER_MODEL`` or the embedded default) on the seed articles.

What the evaluation (``shared/eval/score.py``) counts as contract errors must never happen:
``text[start:end] == mention.text`` for every mention, and only the labels asked for.
"""

from __future__ import annotations

import json

import pytest
from conftest import SEEDS, SHARED

pytestmark = pytest.mark.model

GOLD = SHARED / "eval" / "seeds.gold.json"
ENTITY_LABELS = ["political leader", "person", "country", "organization", "location"]
TOPIC_LABELS = [
    "war in Ukraine",
    "North Korea",
    "Taiwan",
    "South China Sea",
    "fentanyl",
    "diplomacy",
    "military",
    "trade and tariffs",
    "sports",
]


def utf16(text: str, offset: int) -> int:
    return len(text[:offset].encode("utf-16-le")) // 2


def check_contract(
    body: dict, text: str, entity_labels: list[str], topic_labels: list[str], title: str = ""
) -> tuple[int, int]:
    """Assert the response contract; return the numbers of mentions and of evidence spans checked."""
    mentions = evidence = 0
    for ent in body["entities"]:
        assert ent["label"] in entity_labels
        # A derived country is never named: its evidence (the places that imply it) stands in.
        spans = ent.get("evidence") if ent.get("derived") else ent["mentions"]
        assert spans, ent
        for m in spans:
            source = title if m["field"] == "title" else text
            assert source[m["start"] : m["end"]] == m["text"], m
            assert (m["start_utf16"], m["end_utf16"]) == (utf16(source, m["start"]), utf16(source, m["end"]))
            mentions += 1
    for topic in body["topics"]:
        assert topic["label"] in topic_labels
        assert topic["evidence"], topic  # a topic always says which sentences support it
        for ev in topic["evidence"]:
            source = title if ev["field"] == "title" else text
            assert source[ev["start"] : ev["end"]] == ev["text"]
            assert (ev["start_utf16"], ev["end_utf16"]) == (
                utf16(source, ev["start"]),
                utf16(source, ev["end"]),
            )
            evidence += 1
    return mentions, evidence


@pytest.mark.parametrize("seed", sorted(p.name for p in SEEDS.glob("*.txt")))
def test_seed_article_contract(real_client, seed):
    text = (SEEDS / seed).read_text("utf-8")
    resp = real_client.post(
        "/v1/tag",
        json={"id": seed, "text": text, "entity_labels": ENTITY_LABELS, "topic_labels": TOPIC_LABELS},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["id"] == seed
    mentions, evidence = check_contract(body, text, ENTITY_LABELS, TOPIC_LABELS)
    assert mentions > 0 and evidence > 0  # a news article has names and topics to find
    assert body["coverage"]["chars"] == len(text) and not body["coverage"]["truncated"]


def test_seed_articles_with_the_gold_labels(real_client):
    """The same request score.py sends, for all five seeds: zero contract errors."""
    if not GOLD.is_file():
        pytest.skip("shared/eval/seeds.gold.json is not beside the repository")
    gold = json.loads(GOLD.read_text("utf-8"))
    assert gold["documents"]
    for name in gold["documents"]:
        text = (SEEDS / name).read_text("utf-8")
        body = real_client.post(
            "/v1/tag",
            json={"text": text, "entity_labels": gold["entity_labels"], "topic_labels": gold["topic_labels"]},
        ).get_json()
        mentions, evidence = check_contract(body, text, gold["entity_labels"], gold["topic_labels"])
        assert mentions > 0 and evidence > 0, name


def test_custom_labels_and_descriptions_come_back_as_sent(real_client):
    text = (SEEDS / "003_090dc6e6d90a93b1.txt").read_text("utf-8")
    labels = [{"name": "Head of state", "description": "a president or prime minister"}, "Nation"]
    body = real_client.post(
        "/v1/tag", json={"text": text, "entity_labels": labels, "topic_labels": []}
    ).get_json()
    mentions, _ = check_contract(body, text, ["Head of state", "Nation"], [])
    assert mentions > 0  # the article names heads of state and nations
    assert body["topics"] == []


def test_batch_of_the_seeds_in_order(real_client):
    names = sorted(p.name for p in SEEDS.glob("*.txt"))
    docs = [{"id": n, "text": (SEEDS / n).read_text("utf-8")} for n in names]
    docs.insert(2, {"id": "bad", "text": " "})
    body = real_client.post(
        "/v1/tag/batch",
        json={"documents": docs, "entity_labels": ENTITY_LABELS, "topic_labels": TOPIC_LABELS},
    ).get_json()
    assert [r["id"] for r in body["results"]] == [d["id"] for d in docs]
    assert [r["status"] for r in body["results"]] == [200, 200, 422, 200, 200, 200]
    for doc, item in zip(docs, body["results"], strict=True):
        if item["status"] == 200:
            mentions, evidence = check_contract(item["result"], doc["text"], ENTITY_LABELS, TOPIC_LABELS)
            assert mentions > 0 and evidence > 0, doc["id"]


HARD = [
    "👍🏽 U.S. President Joe Biden 🇺🇸 met Chinese President Xi Jinping 🤝 in Lima, Peru 🇵🇪 on Saturday. 😀",
    "Cafe\u0301 diplomacy: Joe Biden and Xi Jinping met in Lima, Peru. Z\u0351\u0363a\u0364l\u0307g\u0308o.",
    "قال الرئيس Joe Biden في ليما إن China مهمة. שלום Xi Jinping met Biden in Peru.",
    "\x00\x07Joe Biden\tmet\x0bXi Jinping\r\nin Lima,\x1fPeru.\u200b\u200eChina\ufeff said.",
    "Joe Biden met Xi Jinping in Lima, Peru. " * 300,  # a very long line: many windows, no newline
    "𝐉𝐨𝐞 𝐁𝐢𝐝𝐞𝐧 met Xi Jinping in Peru; 𠜎𠜱 China and the United States.",
    "\u00a0\u2003 … — ¶ §",  # no words at all
]


@pytest.mark.parametrize(
    "text", HARD, ids=["emoji", "combining", "rtl", "control", "long-line", "astral", "symbols"]
)
def test_hard_text_offsets_are_exact(real_client, text):
    resp = real_client.post(
        "/v1/tag", json={"text": text, "title": text[:200], "entity_labels": ENTITY_LABELS}
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    mentions, _ = check_contract(
        body, text, ENTITY_LABELS, [lab.name for lab in _default_topics()], title=text[:200]
    )
    if any(ch.isalpha() for ch in text):
        assert mentions > 0  # every text with words names Biden, Xi, Peru or China
    else:
        assert body["entities"] == []


def _default_topics():
    from service.tagging.labels import default_labels

    return default_labels().topic_labels
