"""service/api/html.py: the visible text of CMS-like HTML, and every span mapped back to the source."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.api.html import visible_text

CMS = """<!DOCTYPE html>
<html><head><title>Ignore me</title>
<script type="text/javascript">var tracked = "Vladimir Putin"; // a name no reader sees</script>
<style>.byline { color: grey }</style></head>
<body>
<h1 class="headline">Biden &amp; Xi meet in Peru</h1>
<!-- editor: check Xi Jinping's title -->
<p class="byline">By <span>Jane Roe</span></p>
<p>US President <a href="/topics/joe-biden"><strong>Joe</strong> <em>Bi</em>den</a> met
   Chinese President Xi&nbsp;Jinping in Lima&mdash;the capital of Peru.<br>They spoke for two hours.</p>
<div hidden><p>Donald Trump draft paragraph</p></div>
<ul><li>Ukraine</li><li>North&nbsp;Korea</li></ul>
<figure><img src="x.jpg" alt="Kim Jong Un"><figcaption>Leaders at the summit</figcaption></figure>
<p>It&#8217;s the <i>last</i> meeting&#x2026; before the handover.</p>
<noscript>Enable JavaScript, Emmanuel Macron</noscript>
</body></html>"""


@pytest.fixture(scope="module")
def cms():
    return visible_text(CMS)


def test_what_a_reader_sees(cms):
    assert cms.text == (
        "Biden & Xi meet in Peru\n\n"
        "By Jane Roe\n\n"
        "US President Joe Biden met Chinese President Xi\u00a0Jinping in Lima\u2014the capital of Peru.\n"
        "They spoke for two hours.\n\n"
        "Ukraine\n\nNorth\u00a0Korea\n\n"
        "Leaders at the summit\n\n"
        "It\u2019s the last meeting\u2026 before the handover."
    )


@pytest.mark.parametrize(
    "unseen", ["Ignore me", "Vladimir Putin", "color", "editor: check", "Donald Trump", "Kim Jong Un",
               "Emmanuel Macron", "<", "&mdash;", "href"]
)
def test_nothing_hidden_or_markup_gets_through(cms, unseen):
    assert unseen not in cms.text


@pytest.mark.parametrize(
    ("visible", "source"),
    [
        ("Joe Biden", "Joe</strong> <em>Bi</em>den"),  # a name split by inline tags
        ("Xi\u00a0Jinping", "Xi&nbsp;Jinping"),
        ("Lima\u2014the", "Lima&mdash;the"),
        ("Biden & Xi", "Biden &amp; Xi"),
        ("It\u2019s", "It&#8217;s"),
        ("meeting\u2026", "meeting&#x2026;"),
        ("North\u00a0Korea", "North&nbsp;Korea"),
        ("Jane Roe", "Jane Roe"),
    ],
)
def test_spans_map_back_to_the_callers_string(cms, visible, source):
    start = cms.text.index(visible)
    s, e = cms.to_source(start, start + len(visible))
    assert CMS[s:e] == source
    assert visible_text(CMS[s:e]).text == visible  # the source span shows exactly the span


def test_sentences_never_run_across_blocks_or_breaks(cms):
    assert "Roe\n\nUS President" in cms.text and "Peru.\nThey" in cms.text
    assert "Ukraine\n\nNorth" in cms.text


def test_whitespace_collapses_except_in_pre():
    source = "<p>a \n\t  b</p><pre>  x\n   y  </pre><p> c </p>"
    v = visible_text(source)
    assert v.text == "a b\n\n  x\n   y  \n\nc"
    assert v.to_source(v.text.index("x"), v.text.index("y") + 1) == (source.index("x"), source.index("y") + 1)


def test_broken_markup_still_gives_text():
    broken = visible_text("<p>Open <b>bold <i>never closed</p> tail</div></span>")
    assert broken.text == "Open bold never closed\n\ntail"
    assert visible_text("<div hidden><p>x<p>y</div>after").text == "after"
    assert visible_text("a &bogus; b &amp c").text == "a &bogus; b & c"
    assert visible_text("").text == "" and visible_text("<br><p></p>").text == ""


def test_to_source_refuses_spans_outside_the_text():
    v = visible_text("<p>abc</p>")
    with pytest.raises(ValueError, match="outside"):
        v.to_source(2, 5)
    with pytest.raises(ValueError, match="outside"):
        v.to_source(1, 1)


PIECES = ["Joe", " ", "Biden", "<b>", "</b>", "<p>", "</p>", "&amp;", "&mdash;", "<br>", "\n", "&#8217;",
          "<!-- c -->", "<script>x</script>", "é", "😀"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_every_visible_character_comes_from_its_source_span(parts):
    source = "".join(parts)
    v = visible_text(source)
    assert len(v.starts) == len(v.ends) == len(v.text)
    assert list(v.starts) == sorted(v.starts)  # in document order
    for i, ch in enumerate(v.text):
        s, e = v.starts[i], v.ends[i]
        assert 0 <= s <= e <= len(source)
        if s < e and ch not in " \n":
            assert visible_text(source[s:e]).text == ch  # the span alone shows that character
