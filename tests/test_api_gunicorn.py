"""The service under a real gunicorn (with the engine test double): SIGTERM drains, SIGKILL is survived.

gunicorn runs ``gunicorn.conf.py`` as in production, with ``TAGGER_ENGINE_FACTORY`` pointing at
the test double (each call takes ``TAGGER_TEST_DELAY_S`` seconds), on a free loopback port.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 5.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _post(url: str, body: dict, timeout: float = 30.0) -> tuple[int, dict]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


class Server:
    """A gunicorn master process serving the app with the test double engine."""

    def __init__(self, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full = {k: v for k, v in os.environ.items() if not k.startswith("TAGGER_")}
        full.update(
            {
                "TAGGER_PORT": str(self.port),
                "TAGGER_HOST": "127.0.0.1",
                "TAGGER_ENGINE_FACTORY": "engine_double:factory",
                "TAGGER_ACCESS_LOG": "false",
                "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)]),
            }
        )
        full.update(env)
        # a file, not a pipe: a full pipe would block gunicorn; closed in stop()
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"],
            cwd=ROOT,
            env=full,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited {self.proc.returncode}: {self.output()}")
            try:
                if _get(self.url + "/readyz", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("gunicorn never became ready")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True
        )
        return [int(p) for p in out.stdout.split()]

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-5000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@pytest.fixture
def server_factory() -> Iterator:
    servers: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(**env)
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


def test_sigterm_finishes_requests_in_flight_and_exits_0(server_factory):
    server = server_factory(
        TAGGER_WORKERS="1",
        TAGGER_THREADS="8",
        TAGGER_MAX_CONCURRENCY="4",
        TAGGER_TEST_DELAY_S="2.0",
        TAGGER_GRACEFUL_TIMEOUT_S="20",
    )
    results: list[tuple[int, dict]] = []

    def call(i: int) -> None:
        results.append(_post(server.url + "/v1/tag", {"id": f"r{i}", "text": "Joe Biden in Peru."}))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.7)  # all three are being tagged (each takes 2 s)
    t0 = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(30)
    assert server.proc.wait(30) == 0
    assert time.monotonic() - t0 < 20
    assert sorted(status for status, _ in results) == [200, 200, 200]  # no accepted request lost
    assert sorted(body["id"] for _, body in results) == ["r0", "r1", "r2"]
    with pytest.raises(OSError):  # and it no longer accepts
        _get(server.url + "/healthz", timeout=2)


def test_after_sigterm_new_connections_are_refused_at_once_while_in_flight_requests_finish(server_factory):
    """Stock gthread keeps its listening socket open during the drain: a connection made then waits,
    unseen, in the kernel's backlog until the worker exits and is reset (bench/fault_test.py measured
    17 s). The project's worker closes it at once: ECONNREFUSED, and the client can retry elsewhere."""
    server = server_factory(
        TAGGER_WORKERS="1",
        TAGGER_THREADS="4",
        TAGGER_MAX_CONCURRENCY="2",
        TAGGER_TEST_DELAY_S="3.0",
        TAGGER_GRACEFUL_TIMEOUT_S="20",
    )
    results: list[tuple[int, dict]] = []
    threads = [
        threading.Thread(
            target=lambda i=i: results.append(
                _post(server.url + "/v1/tag", {"id": f"r{i}", "text": "Joe Biden in Peru."})
            )
        )
        for i in range(2)
    ]
    for t in threads:
        t.start()
    time.sleep(0.7)  # both are being tagged (each takes 3 s)
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    t0 = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=10).close()
    assert time.monotonic() - t0 < 1.0
    for t in threads:
        t.join(30)
    assert sorted(status for status, _ in results) == [200, 200]  # the requests in flight finished
    assert server.proc.wait(30) == 0


def test_a_killed_worker_is_replaced(server_factory):
    server = server_factory(TAGGER_WORKERS="1", TAGGER_THREADS="2")
    (old,) = server.worker_pids()
    os.kill(old, signal.SIGKILL)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        pids = server.worker_pids()
        if pids and pids != [old]:
            break
        time.sleep(0.1)
    assert server.worker_pids() and old not in server.worker_pids()
    server.wait_ready()
    status, body = _post(server.url + "/v1/tag", {"text": "Joe Biden in Peru."})
    assert status == 200 and body["entities"][0]["text"] == "Joe Biden"


def test_gunicorn_settings_from_the_environment(monkeypatch):
    import runpy

    for name in list(os.environ):
        if name.startswith("TAGGER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TAGGER_HOST", "0.0.0.0")
    monkeypatch.setenv("TAGGER_PORT", "9001")
    monkeypatch.setenv("TAGGER_WORKERS", "3")
    monkeypatch.setenv("TAGGER_THREADS", "6")
    monkeypatch.setenv("TAGGER_TIME_BUDGET_S", "40")
    monkeypatch.setenv("TAGGER_TORCH_THREADS", "0")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["bind"] == ["0.0.0.0:9001"]
    assert conf["workers"] == 3 and conf["threads"] == 6
    assert (
        conf["worker_class"] == "service.gunicorn_worker.DrainingThreadWorker"
    )  # gthread, see the test above
    assert conf["preload_app"] is False
    assert conf["graceful_timeout"] == 50  # the whole time budget, and some
    assert conf["timeout"] >= 120
    assert int(os.environ["TAGGER_TORCH_THREADS"]) == max(1, len(os.sched_getaffinity(0)) // 3)
    assert conf["accesslog"] is None


def test_gunicorn_defaults(monkeypatch):
    import runpy

    for name in list(os.environ):
        if name.startswith("TAGGER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TAGGER_TORCH_THREADS", "2")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["workers"] == 2 and conf["threads"] == 8
    assert os.environ["TAGGER_TORCH_THREADS"] == "2"
