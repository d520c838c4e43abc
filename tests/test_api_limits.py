"""Readiness, overload (bounded concurrency and queue), the time budget, and settings from the environment."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from engine_double import CannedEngine

from service import create_app
from service.client import server_timings
from service.config import ConfigError, markdown_table

TEXT = "Joe Biden met Xi Jinping in Lima, Peru."


def _post_in_thread(client: Any, path: str, payload: dict, out: list) -> threading.Thread:
    def run() -> None:
        out.append(client.post(path, json=payload))

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# --- readiness -------------------------------------------------------------------------------------


def test_readyz_503_while_loading_then_200(make_app, problem):
    gate = threading.Event()
    engine = CannedEngine()

    def factory(config: Any) -> CannedEngine:
        assert config["MODEL"]  # the factory gets the app's settings
        gate.wait(10)
        return engine

    app = make_app(ENGINE_FACTORY=factory)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # alive at once
    resp = client.get("/readyz")
    body = problem(resp, 503, "not-ready")
    assert resp.headers["Retry-After"] == "5" and "loading" in body["detail"]
    problem(client.post("/v1/tag", json={"text": TEXT}), 503, "not-ready")
    assert client.get("/v1/labels").status_code == 200  # the defaults need no model
    gate.set()
    assert app.extensions["tagger"].wait(5)
    resp = client.get("/readyz")
    assert resp.status_code == 200 and resp.get_json()["model"]["name"] == "canned-test-engine"
    assert resp.get_json()["load_seconds"] >= 0
    assert client.post("/v1/tag", json={"text": TEXT}).status_code == 200


def _failing_factory(config: Any) -> CannedEngine:
    raise FileNotFoundError("TAGGER_MODEL='/srv/nope': no such model folder")


def test_readyz_stays_503_after_a_failed_load_without_showing_the_path(make_app, problem, service_logs):
    app = make_app(ENGINE_FACTORY=_failing_factory)
    app.extensions["tagger"].wait(5)
    client = app.test_client()
    for resp in (client.get("/readyz"), client.post("/v1/tag", json={"text": TEXT})):
        body = problem(resp, 503, "not-ready")
        assert "failed to load (FileNotFoundError)" in body["detail"] and "service log" in body["detail"]
        assert "/srv/nope" not in resp.get_data(as_text=True)
        assert "Retry-After" not in resp.headers
    logged = [r for r in service_logs if r.levelname == "ERROR" and "failed to load" in r.getMessage()]
    assert logged and "/srv/nope" in logged[0].getMessage()


def test_readyz_shows_the_reason_of_a_failed_load_to_a_caller_with_a_key(make_app, problem):
    app = make_app(ENGINE_FACTORY=_failing_factory, API_KEYS="ops-key")
    app.extensions["tagger"].wait(5)
    client = app.test_client()
    for auth in ({}, {"Authorization": "Bearer wrong"}):
        body = problem(client.get("/readyz", headers=auth), 503, "not-ready")
        assert "/srv/nope" not in body["detail"]
    body = problem(client.get("/readyz", headers={"Authorization": "Bearer ops-key"}), 503, "not-ready")
    assert "FileNotFoundError: TAGGER_MODEL='/srv/nope'" in body["detail"]


def test_loading_in_the_foreground(make_app):
    app = make_app(ENGINE_FACTORY=lambda config: CannedEngine(), LOAD_IN_BACKGROUND=False)
    assert app.test_client().get("/readyz").status_code == 200


# --- overload --------------------------------------------------------------------------------------


def test_503_with_retry_after_when_every_slot_is_busy(make_app, problem):
    gate = threading.Event()
    engine = CannedEngine(gate=gate)
    app = make_app(ENGINE=engine, MAX_CONCURRENCY=1, MAX_QUEUE=0, RETRY_AFTER_S=3)
    first: list = []
    thread = _post_in_thread(app.test_client(), "/v1/tag", {"text": TEXT}, first)
    try:
        assert engine.entered.wait(5)
        client = app.test_client()
        t0 = time.monotonic()
        resp = client.post("/v1/tag", json={"text": TEXT})
        assert time.monotonic() - t0 < 1.0  # refused at once, not queued
        body = problem(resp, 503, "overloaded")
        assert resp.headers["Retry-After"] == "3"
        assert "busy" in body["detail"]
        problem(client.post("/v1/tag/batch", json={"documents": [{"text": TEXT}]}), 503, "overloaded")
        # health checks never wait for a tagging slot
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    finally:
        gate.set()
        thread.join(10)
    assert first[0].status_code == 200
    assert app.test_client().post("/v1/tag", json={"text": TEXT}).status_code == 200  # slot released


def test_bounded_queue_waits_then_serves(make_app, problem):
    gate = threading.Event()
    engine = CannedEngine(gate=gate)
    app = make_app(ENGINE=engine, MAX_CONCURRENCY=1, MAX_QUEUE=1, QUEUE_TIMEOUT_S=10)
    slots = app.extensions["tagger_slots"]
    out: list = []
    threads = [_post_in_thread(app.test_client(), "/v1/tag", {"text": TEXT}, out)]
    assert engine.entered.wait(5)
    threads.append(_post_in_thread(app.test_client(), "/v1/tag", {"text": TEXT}, out))
    deadline = time.monotonic() + 5
    while slots.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slots.waiting == 1
    try:
        problem(app.test_client().post("/v1/tag", json={"text": TEXT}), 503, "overloaded")  # queue full
    finally:
        gate.set()
        for t in threads:
            t.join(10)
    assert sorted(r.status_code for r in out) == [200, 200]
    assert max(server_timings(r.headers["Server-Timing"])["queue"] for r in out) > 0


def test_queue_wait_is_bounded(make_app, problem):
    gate = threading.Event()
    engine = CannedEngine(gate=gate)
    app = make_app(ENGINE=engine, MAX_CONCURRENCY=1, MAX_QUEUE=5, QUEUE_TIMEOUT_S=0.3)
    first: list = []
    thread = _post_in_thread(app.test_client(), "/v1/tag", {"text": TEXT}, first)
    try:
        assert engine.entered.wait(5)
        t0 = time.monotonic()
        body = problem(app.test_client().post("/v1/tag", json={"text": TEXT}), 503, "overloaded")
        assert 0.25 < time.monotonic() - t0 < 2.0
        assert "0.3 s" in body["detail"]
    finally:
        gate.set()
        thread.join(10)


def _queue_order(slots: Any, sizes: list[int]) -> list[int]:
    """Hold the only slot, queue one waiter per size (in that order), let go: the order they got it."""
    got: list[int] = []
    release = threading.Event()

    def holder() -> None:
        with slots.hold(10, 1):
            release.wait(10)

    def waiter(i: int) -> None:
        with slots.hold(10, 1, sizes[i]):
            got.append(i)

    first = threading.Thread(target=holder)
    first.start()
    while slots.busy < 1:
        time.sleep(0.001)
    threads = []
    for i in range(len(sizes)):
        threads.append(threading.Thread(target=waiter, args=(i,)))
        threads[-1].start()
        while slots.waiting < i + 1:  # queued in this order
            time.sleep(0.001)
    release.set()
    for t in [first, *threads]:
        t.join(10)
    return got


def test_a_short_request_waiting_goes_ahead_of_a_huge_one():
    """Size-aware queue: a 100,000-character body waits behind short ones that arrive while it
    waits, instead of making each of them wait for its whole run."""
    from service.api.limits import Slots

    slots = Slots(1, 5)
    assert _queue_order(slots, [100_000, 3_000, 4_000]) == [1, 2, 0]
    assert slots.busy == 0 and slots.waiting == 0


def test_equal_sizes_are_served_in_arrival_order_and_a_huge_one_is_not_starved():
    """Expected finish = arrival + size / speed (capped): equal requests are first come, first
    served, and a long request is overtaken only by requests that arrive soon after it."""
    from service.api.limits import Slots

    assert _queue_order(Slots(1, 5), [3_000, 3_000, 3_000]) == [0, 1, 2]
    # at a (made-up) speed where the huge body's run is shorter than the gap between arrivals, the
    # requests that come after it no longer go ahead of it
    assert _queue_order(Slots(1, 5, chars_per_s=1e12), [100_000, 3_000, 4_000]) == [0, 1, 2]
    # and however slow, its place moves back by MAX_LEAD_S at most (here 0: first come, first served)
    assert _queue_order(Slots(1, 5, max_lead_s=0.0), [100_000, 3_000, 4_000]) == [0, 1, 2]


def test_a_waiter_that_times_out_leaves_the_queue_to_the_next():
    from service.api.errors import ApiError
    from service.api.limits import Slots

    slots = Slots(1, 2)
    release = threading.Event()
    outcome: list[str] = []

    def holder() -> None:
        with slots.hold(10, 1):
            release.wait(10)

    def waiter(timeout: float, size: int, name: str) -> None:
        try:
            with slots.hold(timeout, 1, size):
                outcome.append(name)
        except ApiError as err:
            outcome.append(f"{name} {err.status}")

    first = threading.Thread(target=holder)
    first.start()
    while slots.busy < 1:
        time.sleep(0.001)
    # the short one is first in the queue but gives up; the long one then gets the slot
    short = threading.Thread(target=waiter, args=(0.2, 10, "short"))
    long_ = threading.Thread(target=waiter, args=(10, 100_000, "long"))
    long_.start()
    while slots.waiting < 1:
        time.sleep(0.001)
    short.start()
    short.join(5)
    assert outcome == ["short 503"] and slots.waiting == 1
    release.set()
    for t in (first, long_):
        t.join(10)
    assert outcome == ["short 503", "long"] and slots.busy == 0 and slots.waiting == 0


# --- time budget -----------------------------------------------------------------------------------


def test_504_when_the_budget_runs_out_and_the_worker_goes_on(make_app, problem):
    engine = CannedEngine(delay_s=5.0)
    app = make_app(ENGINE=engine, TIME_BUDGET_S=0.3)
    client = app.test_client()
    t0 = time.monotonic()
    body = problem(client.post("/v1/tag", json={"text": TEXT}), 504, "time-budget-exceeded")
    assert time.monotonic() - t0 < 2.0
    assert "0.3 s" in body["detail"]
    engine.delay_s = 0.0
    assert client.post("/v1/tag", json={"text": TEXT}).status_code == 200  # slot released, app fine


def test_batch_keeps_what_finished_within_the_budget(make_app):
    engine = CannedEngine(delay_s=0.4)
    app = make_app(ENGINE=engine, TIME_BUDGET_S=0.6)
    docs = [{"text": "Peru.", "entity_labels": ["country"]}, {"text": "Lima.", "entity_labels": ["location"]}]
    body = app.test_client().post("/v1/tag/batch", json={"documents": docs}).get_json()
    assert [r["status"] for r in body["results"]] == [200, 504]
    assert body["results"][1]["error"]["type"] == "urn:newsroom-tagger:problem:time-budget-exceeded"


def test_deadline_handed_to_the_engine_is_arrival_plus_budget(make_app, engine):
    app = make_app(ENGINE=engine, TIME_BUDGET_S=12.0)
    before = time.monotonic()
    app.test_client().post("/v1/tag", json={"text": TEXT})
    assert before + 11.5 < engine.calls[-1]["deadline"] <= time.monotonic() + 12.0


# --- settings --------------------------------------------------------------------------------------


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("TAGGER_MAX_BATCH", "4")
    monkeypatch.setenv("TAGGER_THRESHOLD", "0.35")
    monkeypatch.setenv("TAGGER_CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("TAGGER_ACCESS_LOG", "false")
    monkeypatch.setenv("TAGGER_LOG_LEVEL", "warning")
    monkeypatch.setenv("TAGGER_MAX_BODY_BYTES", "5000")
    app = create_app({"ENGINE": CannedEngine()})
    assert app.config["MAX_BATCH"] == 4 and app.config["THRESHOLD"] == 0.35
    assert app.config["CORS_ORIGINS"] == ["https://a.example", "https://b.example"]
    assert app.config["ACCESS_LOG"] is False and app.config["LOG_LEVEL"] == "WARNING"
    assert app.config["MAX_CONTENT_LENGTH"] == 5000
    # overrides (tests) win over the environment
    assert create_app({"ENGINE": CannedEngine(), "MAX_BATCH": 7}).config["MAX_BATCH"] == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TAGGER_THRESHOLD", "2"),
        ("TAGGER_MAX_BATCH", "many"),
        ("TAGGER_MAX_CONCURRENCY", "0"),
        ("TAGGER_ACCESS_LOG", "maybe"),
        ("TAGGER_LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app({"ENGINE": CannedEngine()})


def test_the_config_table_lists_every_setting():
    table = markdown_table()
    for name in (
        "TAGGER_MODEL",
        "TAGGER_THRESHOLD",
        "TAGGER_MAX_BODY_BYTES",
        "TAGGER_MAX_TEXT_CHARS",
        "TAGGER_MAX_LABELS",
        "TAGGER_MAX_LABEL_CHARS",
        "TAGGER_MAX_BATCH",
        "TAGGER_TIME_BUDGET_S",
        "TAGGER_MAX_CONCURRENCY",
        "TAGGER_API_KEYS",
        "TAGGER_API_KEYS_FILE",
        "TAGGER_CORS_ORIGINS",
        "TAGGER_LOG_LEVEL",
        "TAGGER_PRECISION",
        "TAGGER_TORCH_THREADS",
        "TAGGER_HOST",
        "TAGGER_PORT",
        "TAGGER_WORKERS",
        "TAGGER_THREADS",
    ):
        assert f"| `{name}` |" in table
