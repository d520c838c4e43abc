"""``format: html``: CMS bodies tagged as a reader sees them, every offset into the string the caller sent.

The canned engine finds its names with ``str.find`` in whatever it is given, so a name it finds
inside ``<script>`` or a comment proves the markup reached it; one model test runs the real engine.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.api import schemas
from service.api.html import visible_text

CMS = """<!DOCTYPE html>
<html><head><title>China</title>
<script>window.dataLayer = [{"topic": "Xi Jinping"}];</script>
<style>.lede { font-weight: bold }</style></head>
<body>
<article>
<!-- editor's note: China desk to check this -->
<p class="lede">\U0001f1fa\U0001f1f8 President <a href="/people/joe-biden"><b>Joe</b> Biden</a> met
   officials in Lima&mdash;the capital of Peru&nbsp;&amp; its biggest city.<br>The talks were short.</p>
<figure><img src="lima.jpg" alt="China"><figcaption>Lima, Peru</figcaption></figure>
<p>Biden said little.</p>
</article>
<script type="application/ld+json">{"about": "China"}</script>
</body></html>"""


def utf16_slice(text: str, start: int, end: int) -> str:
    """``text.slice(start, end)`` as JavaScript counts (UTF-16 code units)."""
    units = text.encode("utf-16-le")
    return units[start * 2 : end * 2].decode("utf-16-le")


def spans(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every span of a TagResponse: mentions, place evidence and topic evidence."""
    out = [m for e in body["entities"] for m in e["mentions"] + e.get("evidence", [])]
    return out + [ev for t in body["topics"] for ev in t["evidence"]]


def check_offsets(body: dict[str, Any], sent: dict[str, str]) -> None:
    """Each span indexes the string sent in both units, and ``visible`` is what a reader sees of it."""
    assert spans(body)
    for span in spans(body):
        source = sent[span["field"]]
        assert source[span["start"] : span["end"]] == span["text"], span
        assert utf16_slice(source, span["start_utf16"], span["end_utf16"]) == span["text"], span
        assert visible_text(span["text"]).text == span["visible"], span
        shown = body["visible_text"][span["field"]]
        assert shown[span["visible_start"] : span["visible_end"]] == span["visible"], span
        assert utf16_slice(shown, span["visible_start_utf16"], span["visible_end_utf16"]) == span["visible"]


def test_html_is_tagged_as_a_reader_sees_it(client, engine):
    req = {"text": CMS, "format": "html", "entity_labels": ["political leader", "country", "location"],
           "topic_labels": ["diplomacy"]}
    resp = client.post("/v1/tag", json=req)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert schemas.TagResponse().validate(body) == {}
    # the engine read the visible text: no markup, no script, no comment, no alt text, no <title>
    (doc,) = engine.calls[-1]["documents"]
    assert doc.text == body["visible_text"]["text"] == visible_text(CMS).text
    assert "<" not in doc.text and "Xi Jinping" not in doc.text and "China" not in doc.text
    assert "Lima\u2014the capital of Peru\u00a0& its" in doc.text
    assert "city.\nThe talks" in doc.text  # <br> ends the sentence
    found = {e["text"]: [m["text"] for m in e["mentions"]] for e in body["entities"]}
    assert found == {
        "Joe Biden": ["Joe</b> Biden", "Biden"],  # a name split by inline tags, then a later mention
        "Lima": ["Lima", "Lima"],
        "Peru": ["Peru", "Peru"],
    }
    check_offsets(body, {"text": CMS})
    joe = body["entities"][[e["text"] for e in body["entities"]].index("Joe Biden")]["mentions"][0]
    assert joe["visible"] == "Joe Biden"
    assert joe["start_utf16"] == joe["start"] + 2  # the flag before it is two astral characters
    assert joe["visible_start_utf16"] == joe["visible_start"] + 2
    (evidence,) = body["topics"][0]["evidence"]
    assert evidence["visible"].startswith("\U0001f1fa\U0001f1f8 President Joe Biden met officials")
    assert "<" not in evidence["visible"] and "&" not in evidence["visible"].replace("& its", "")


def test_text_format_is_the_default_and_tags_the_markup(client, engine):
    req = {"text": CMS, "entity_labels": ["political leader", "country"]}
    body = client.post("/v1/tag", json=req).get_json()
    assert engine.calls[-1]["documents"][0].text == CMS
    assert "Xi Jinping" in {e["text"] for e in body["entities"]}  # what format html is for
    assert "visible_text" not in body and all("visible" not in s for s in spans(body))
    explicit = client.post("/v1/tag", json={"text": CMS, "format": "text", "entity_labels": ["country"]})
    assert "China" in {e["text"] for e in explicit.get_json()["entities"]}


def test_html_title_is_read_as_html_too(client):
    title = "<em>Biden</em> &amp; Peru: a <b>short</b> visit"
    body = client.post("/v1/tag", json={"text": "<p>Joe Biden flew to Lima.</p>", "title": title,
                                        "format": "html", "entity_labels": ["political leader", "country"]})
    body = body.get_json()
    assert body["visible_text"] == {"text": "Joe Biden flew to Lima.", "title": "Biden & Peru: a short visit"}
    title_spans = [m for m in spans(body) if m["field"] == "title"]
    assert {m["text"] for m in title_spans} == {"Biden", "Peru"}
    check_offsets(body, {"text": "<p>Joe Biden flew to Lima.</p>", "title": title})


def test_entities_and_comments_do_not_shift_offsets(client):
    html = ("<p>A &lt;draft&gt; &#8220;note&#8221;<!-- Peru? --> &amp;&amp; more&hellip;</p>"
            "<ul><li>Xi&#x20;Jinping</li><li><span>Joe</span><br/>Biden</li></ul>")
    body = client.post("/v1/tag", json={"text": html, "format": "html",
                                        "entity_labels": ["political leader", "country"]}).get_json()
    visible = "A <draft> \u201cnote\u201d && more\u2026\n\nXi Jinping\n\nJoe\nBiden"
    assert body["visible_text"]["text"] == visible
    found = {e["text"]: [m["text"] for m in e["mentions"]] for e in body["entities"]}
    # "Joe\nBiden" across a <br> is not "Joe Biden"; the Peru in the comment is never seen
    assert found == {"Xi Jinping": ["Xi&#x20;Jinping"], "Joe Biden": ["Biden"]}
    check_offsets(body, {"text": html})


def test_html_with_nothing_visible_is_a_422(client, problem):
    for text in ("<script>Joe Biden</script>", "<!-- Peru --><br><p> </p>", "<style>x</style>&nbsp;"):
        resp = client.post("/v1/tag", json={"text": text, "format": "html"})
        body = problem(resp, 422, "invalid-fields", fields=["text"])
        assert "no visible text" in body["errors"]["text"][0]


@pytest.mark.parametrize("fmt", ["markdown", "HTML", 1, True, ["html"], None])
def test_unknown_formats_are_refused(client, problem, fmt):
    problem(client.post("/v1/tag", json={"text": "Peru.", "format": fmt}), 422, "invalid-fields",
            fields=["format"])


def test_no_format_is_text(client, engine):
    assert client.post("/v1/tag", json={"text": "<b>Peru</b>"}).status_code == 200
    assert engine.calls[-1]["documents"][0].text == "<b>Peru</b>"


def test_batch_documents_each_have_their_format(client, engine, problem):
    docs = [
        {"id": "html", "text": CMS, "format": "html"},
        {"id": "plain", "text": "<b>Peru</b> and China."},
        {"id": "empty", "text": "<script>Peru</script>", "format": "html"},
        {"id": "bad", "text": "Peru.", "format": "pdf"},
    ]
    resp = client.post("/v1/tag/batch", json={"documents": docs, "entity_labels": ["country"]})
    assert resp.status_code == 200
    body = resp.get_json()
    assert schemas.BatchResponse().validate(body) == {}
    results = body["results"]
    assert [r["status"] for r in results] == [200, 200, 422, 422]
    check_offsets(results[0]["result"], {"text": CMS})
    assert {e["text"] for e in results[0]["result"]["entities"]} == {"Peru"}
    assert {m["text"] for e in results[1]["result"]["entities"] for m in e["mentions"]} == {"Peru", "China"}
    assert "visible_text" not in results[1]["result"]
    assert "no visible text" in results[2]["error"]["errors"]["text"][0]
    assert results[3]["error"]["errors"] == {"format": ["Must be one of: text, html."]}
    for item in results[2:]:
        assert item["error"]["request_id"] == resp.headers["X-Request-ID"]
    assert len(engine.calls) == 1  # both good documents in one engine call


def test_format_is_part_of_the_etag(client):
    etags = {client.post("/v1/tag", json={"text": "<p>Peru</p>", "format": f}).headers["ETag"]
             for f in ("text", "html")}
    assert len(etags) == 2


@pytest.mark.model
def test_real_model_tags_cms_markup_with_offsets_into_it(real_client):
    html = ("<article><h1>Summit in <em>Lima</em></h1>"
            "<script>var editor = 'Vladimir Putin';</script><!-- Angela Merkel -->"
            "<p>US President <a href='/t/biden'><strong>Joe</strong> Biden</a> met Chinese President "
            "Xi&nbsp;Jinping in Lima, Peru, on Saturday&mdash;their first meeting in a year.<br>"
            "They discussed trade &amp; tariffs.</p></article>")
    resp = real_client.post("/v1/tag", json={"text": html, "format": "html",
                                             "entity_labels": ["person", "country", "city"]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    names = {e["text"] for e in body["entities"]}
    assert not names & {"Vladimir Putin", "Angela Merkel"}
    check_offsets(body, {"text": html})
    visible = {m["visible"] for e in body["entities"] for m in e["mentions"]}
    assert "Joe Biden" in visible or "Biden" in visible, body["entities"]
