"""The editor's page at ``/``: served offline from the package, and driven in a real browser.

The browser test runs headless Chromium through Selenium against a live server (the app with the
engine test double, API keys on) and checks that every highlight in the page is exactly the text of
a mention the API returned, with its label, and that topics and evidence are shown. It skips, with
the reason, where Selenium, Chromium or chromedriver is not installed (Debian:
``apt-get install chromium chromium-driver``; ``pip install selenium``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_double import CannedEngine
from live import served

from service import create_app

EDITOR = Path(__file__).resolve().parent.parent / "service" / "api" / "editor"
STORY = ("😀 Joe Biden met Xi Jinping in Lima, Peru, on Saturday. They met again later.\n\n"
         "Biden said China and Peru would talk about the tariff.")
TITLE = "Biden and Xi meet in Peru"


# --- served from the package ------------------------------------------------------------------------


def test_page_is_served_open_even_with_api_keys(make_app):
    client = make_app(API_KEYS="secret").test_client()
    resp = client.get("/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert 'src="/editor/editor.js"' in html and 'href="/editor/editor.css"' in html
    assert 'data-api="/v1/tag"' in html
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "connect-src 'self'" in csp
    for asset, mimetype in (("editor.js", "text/javascript"), ("editor.css", "text/css")):
        got = client.get(f"/editor/{asset}")
        assert got.status_code == 200 and got.mimetype == mimetype
        got.close()
    assert client.post("/v1/tag", json={"text": STORY}).status_code == 401  # the API itself is not open


def test_page_needs_no_network():
    """No CDN: nothing in the page's files points outside the service."""
    for path in EDITOR.iterdir():
        text = path.read_text("utf-8")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE), path.name
        assert "innerHTML" not in text and "eval(" not in text, path.name


def test_unknown_editor_asset_is_a_problem(client, problem):
    problem(client.get("/editor/nope.js"), 404, "not-found")
    problem(client.get("/editor/../routes.py"), 404, "not-found")


# --- in a browser -----------------------------------------------------------------------------------


def _browser():  # type: ignore[no-untyped-def]
    """A headless Chromium driven by Selenium, or a skip saying what is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install selenium)")
    binary = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip("no Chromium or chromedriver (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,2000"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    """The app (test double engine, API key ``ed-key``) on a free port, in a thread."""
    app = create_app({"ENGINE": CannedEngine(), "API_KEYS": "ed-key", "ACCESS_LOG": False})
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    driver = _browser()
    try:
        yield driver
    finally:
        driver.quit()


def _api(url: str, body: dict) -> dict:
    req = urllib.request.Request(url + "/v1/tag", data=json.dumps(body).encode(), headers={
        "Content-Type": "application/json", "Authorization": "Bearer ed-key"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def _fill_and_tag(browser, url: str, key: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    browser.get(url + "/")
    browser.find_element(By.ID, "title").send_keys(TITLE)
    # send_keys cannot type characters outside the BMP (the emoji): set the value as a paste would
    browser.execute_script("document.getElementById('text').value = arguments[0];", STORY)
    browser.find_element(By.TAG_NAME, "summary").click()
    browser.find_element(By.ID, "entity-labels").send_keys("political leader, country, location")
    browser.find_element(By.ID, "topic-labels").send_keys("diplomacy, trade and tariffs")
    key_input = browser.find_element(By.ID, "api-key")
    key_input.clear()
    key_input.send_keys(key)
    browser.find_element(By.ID, "tag-button").click()


def test_editor_highlights_exactly_the_mentions_the_api_returns(browser, live_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    _fill_and_tag(browser, live_url, "ed-key")
    WebDriverWait(browser, 10).until(ready.visibility_of_element_located((By.ID, "results")))
    expected = _api(live_url, {"text": STORY, "title": TITLE,
                               "entity_labels": ["political leader", "country", "location"],
                               "topic_labels": ["diplomacy", "trade and tariffs"]})

    def mentions(field: str) -> list[tuple[str, str, str]]:
        spans = [(m["start"], m["text"], e["label"], e["text"])
                 for e in expected["entities"] for m in e["mentions"] if m["field"] == field]
        return [s[1:] for s in sorted(spans)]

    for field, box in (("text", "highlighted"), ("title", "highlighted-title")):
        marks = browser.find_elements(By.CSS_SELECTOR, f"#{box} mark")
        shown = [(m.text, m.get_attribute("data-label"), m.get_attribute("data-entity")) for m in marks]
        assert shown and shown == mentions(field), field
    # the text around the highlights is the story itself, emoji and line breaks included
    assert browser.execute_script("return document.getElementById('highlighted').textContent;") == STORY
    colours = {m.get_attribute("data-label"): m.value_of_css_property("background-color")
               for m in browser.find_elements(By.CSS_SELECTOR, "#highlighted mark")}
    assert len(set(colours.values())) == len(colours) >= 2  # one colour per label

    rows = browser.find_elements(By.CSS_SELECTOR, "#entities tbody tr")
    names = [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows]
    assert names == [e["text"] for e in expected["entities"]]
    topics = browser.find_elements(By.CSS_SELECTOR, "#topics li strong")
    assert [t.text for t in topics] == [t["label"] for t in expected["topics"]] and topics
    quotes = browser.find_elements(By.CSS_SELECTOR, "#topics blockquote")
    evidence = [q.get_attribute("textContent") for q in quotes]
    assert evidence == [ev["text"] for t in expected["topics"] for ev in t["evidence"]] and evidence
    raw = json.loads(browser.find_element(By.ID, "raw").text)
    assert raw["entities"] == expected["entities"] and raw["topics"] == expected["topics"]
    assert "entities" in browser.find_element(By.ID, "status").text
    shot = os.environ.get("EDITOR_SCREENSHOT")  # e.g. docs/editor.png, for README
    if shot:
        browser.save_screenshot(shot)


def test_editor_shows_the_problem_for_a_wrong_key(browser, live_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    _fill_and_tag(browser, live_url, "wrong-key")
    WebDriverWait(browser, 10).until(ready.visibility_of_element_located((By.ID, "problem")))
    assert "401 Unauthorized" in browser.find_element(By.ID, "problem").text
    assert "The API key is not valid." in browser.find_element(By.ID, "problem").text


HTML_STORY = ('<p>President <b>Joe</b> Biden met <a href="/xi">Xi Jinping</a> in Lima, Peru&nbsp;&mdash; '
              'again.</p><!-- Biden draft note --><script>var who = "Xi Jinping";</script>'
              '<p>Biden said China<br>and Peru would talk.</p>')


def test_editor_html_mode_highlights_what_a_reader_sees(browser, live_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_url + "/")
    browser.execute_script("document.getElementById('text').value = arguments[0];", HTML_STORY)
    browser.find_element(By.ID, "is-html").click()
    browser.find_element(By.TAG_NAME, "summary").click()  # the key field sits in the options
    key_input = browser.find_element(By.ID, "api-key")
    key_input.clear()
    key_input.send_keys("ed-key")
    browser.find_element(By.ID, "tag-button").click()
    WebDriverWait(browser, 10).until(ready.visibility_of_element_located((By.ID, "results")))
    expected = _api(live_url, {"text": HTML_STORY, "format": "html"})
    visible = expected["visible_text"]["text"]
    # the page shows the text a reader sees: no markup, no comment, no script, references decoded
    shown = browser.execute_script("return document.getElementById('highlighted').textContent;")
    assert shown == visible and "<" not in shown and "draft note" not in shown and "\u2014" in shown
    marks = [(m.text, m.get_attribute("data-entity"))
             for m in browser.find_elements(By.CSS_SELECTOR, "#highlighted mark")]
    spans = sorted((m["visible_start"], m["visible"], e["text"])
                   for e in expected["entities"] for m in e["mentions"] if m["field"] == "text")
    assert marks and marks == [(text, entity) for _, text, entity in spans]
    # "Joe Biden" across </b> is one highlight; the name inside <script> is not one
    assert ("Joe Biden", "Joe Biden") in marks
    assert [t for t, _ in marks].count("Xi Jinping") == 1
