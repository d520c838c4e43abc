"""newsroom-tagger tag: the archive back-fill, in-process, against a URL and on a local Dask cluster.

Most tests run the app with the test double engine (``TAGGER_ENGINE_FACTORY=engine_double:factory``):
the back-fill's job is order, records, errors, resume and retries, not the tags. One ``model`` test
runs the real embedded model in-process.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import MODEL, ROOT
from flask import Flask
from werkzeug.serving import make_server

from service.cli import main

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def canned(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs build the app with the test double engine."""
    monkeypatch.setenv("TAGGER_ENGINE_FACTORY", "engine_double:factory")


def articles(n: int) -> list[dict[str, Any]]:
    """``n`` short articles; each names some of the double's canned entities."""
    names = ["Joe Biden", "Xi Jinping", "Peru", "China", "Lima"]
    return [{"id": f"a{i}", "text": f"{names[i % 5]} and {names[(i + 2) % 5]} met on day {i}."}
            for i in range(n)]


def write_input(path: Path, lines: list[Any]) -> Path:
    """``lines`` as JSON Lines (a ``str`` or ``bytes`` item is written as it is), gzip by extension."""

    def raw(ln: Any) -> bytes:
        if isinstance(ln, bytes):
            return ln
        return ln.encode() if isinstance(ln, str) else json.dumps(ln).encode()

    data = b"".join(raw(ln) + b"\n" for ln in lines)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return [json.loads(line) for line in data.splitlines()]


def test_in_process_records_in_input_order_with_bad_lines(canned: None, tmp_path: Path) -> None:
    docs = articles(7)
    lines: list[Any] = [
        *docs[:3], "{not json", {"id": "empty", "text": "  "}, b"\xff\xfe broken", "",
        {"id": "odd", "text": "China", "colour": "red"}, [1, 2], *docs[3:],
    ]
    src = write_input(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    summary = tmp_path / "summary.json"
    assert main(["tag", str(src), str(out), "--batch-size", "3", "--no-topics",
                 "--summary-json", str(summary)]) == 0
    recs = read_output(out)
    assert [r["line"] for r in recs] == list(range(1, len(lines) + 1))
    assert [r["status"] for r in recs] == [200] * 3 + [400, 422, 400, 400, 422, 422] + [200] * 4
    assert [r["id"] for r in recs if r["status"] == 200] == [d["id"] for d in docs]
    assert recs[3]["error"]["type"] == "urn:newsroom-tagger:problem:malformed-json"
    assert recs[3]["error"]["instance"] == "in.jsonl#line=4"
    assert "not UTF-8" in recs[5]["error"]["detail"]
    assert recs[7]["error"]["errors"] == {"colour": ["Unknown field."]}
    first = recs[0]["result"]
    assert first["id"] == "a0" and first["topics"] == [] and "timings_ms" not in first
    assert {e["text"] for e in first["entities"]} == {"Joe Biden", "Peru"}
    stats = json.loads(summary.read_text())
    assert (stats["lines"], stats["ok"], stats["errors"]) == (13, 7, {"400": 3, "422": 3})
    assert stats["complete"] and stats["words"] == sum(len(d["text"].split()) for d in docs)


def test_gzip_in_and_out_and_options_apply_to_every_line(canned: None, tmp_path: Path) -> None:
    own = {"text": "Peru.", "entity_labels": ["location"]}
    src = write_input(tmp_path / "in.jsonl.gz", [*articles(4), own])
    out = tmp_path / "out.jsonl.gz"
    assert main(["tag", str(src), str(out), "--entity-labels", "country", "--topic-labels", "diplomacy",
                 "--keep-timings"]) == 0
    recs = read_output(out)
    labels = {e["label"] for r in recs[:4] for e in r["result"]["entities"]}
    assert labels == {"country"}
    assert recs[4]["result"]["entities"] == []  # its own labels win: Peru is not a location
    assert all("timings_ms" in r["result"] for r in recs)


def test_rerun_of_a_finished_output_does_nothing(canned: None, tmp_path: Path) -> None:
    src = write_input(tmp_path / "in.jsonl", articles(5))
    out = tmp_path / "out.jsonl"
    assert main(["tag", str(src), str(out)]) == 0
    before = out.read_bytes()
    assert main(["tag", str(src), str(out)]) == 0
    assert out.read_bytes() == before


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz"])
def test_torn_output_resumes_on_a_block_boundary(canned: None, tmp_path: Path, name: str) -> None:
    src = write_input(tmp_path / "in.jsonl", articles(11))
    whole, out = tmp_path / f"whole-{name}", tmp_path / name
    assert main(["tag", str(src), str(whole), "--batch-size", "4"]) == 0
    assert main(["tag", str(src), str(out), "--batch-size", "4"]) == 0
    # as a killed writer leaves it: 6 records and a torn seventh (a gzip stream cut short)
    raw = out.read_bytes()
    out.write_bytes(raw[: len(raw) * 2 // 3])
    summary = ["--summary-json", str(tmp_path / "s.json")]
    assert main(["tag", str(src), str(out), "--batch-size", "4", *summary]) == 0
    assert read_output(out) == read_output(whole)
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["resumed_at"] % 4 == 0 and stats["resumed_at"] + stats["done_now"] == 11


def test_output_of_something_else_is_never_truncated(canned: None, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    src = write_input(tmp_path / "in.jsonl", articles(3))
    out = tmp_path / "out.jsonl"
    out.write_text('{"line": 1}\n{"precious": "data"}\n')
    assert main(["tag", str(src), str(out)]) == 2
    assert out.read_text() == '{"line": 1}\n{"precious": "data"}\n'
    assert "--restart" in capsys.readouterr().err
    assert main(["tag", str(src), str(out), "--restart"]) == 0
    assert len(read_output(out)) == 3


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_input(tmp_path / "in.jsonl", articles(1))
    for argv in (["tag", str(tmp_path / "missing.jsonl"), "o.jsonl"],
                 ["tag", str(src), str(src)],
                 ["tag", str(src), "o.jsonl", "--url", "http://x", "--workers", "2"],
                 ["tag", str(src), "o.jsonl", "--batch-size", "64"],
                 ["tag", str(src), "o.jsonl", "--threshold", "1.5"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2
    assert "error" in capsys.readouterr().err


def test_a_document_over_the_body_limit_gets_its_own_413(canned: None, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.setenv("TAGGER_MAX_BODY_BYTES", "3000")
    docs = articles(4)
    docs[2]["text"] = "Peru " * 800  # about 4 kB on its own
    src = write_input(tmp_path / "in.jsonl", docs)
    out = tmp_path / "out.jsonl"
    assert main(["tag", str(src), str(out), "--batch-size", "4"]) == 0
    assert [r["status"] for r in read_output(out)] == [200, 200, 413, 200]


# --- against a URL ---------------------------------------------------------------------------------


@pytest.fixture
def serve(make_app: Callable[..., Flask]) -> Iterator[Callable[..., str]]:
    """``serve(**config)``: the app (test double engine) behind a threaded HTTP server; its URL."""
    servers = []

    def start(**config: Any) -> str:
        server = make_server("127.0.0.1", 0, make_app(**config), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


def test_url_mode_writes_what_in_process_writes(canned: None, serve: Callable[..., str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from engine_double import CannedEngine

    url = serve(ENGINE=CannedEngine(), API_KEYS=["k1"])
    src = write_input(tmp_path / "in.jsonl", [*articles(9), "{oops"])
    local, remote = tmp_path / "local.jsonl", tmp_path / "remote.jsonl"
    assert main(["tag", str(src), str(local), "--batch-size", "2"]) == 0
    monkeypatch.setenv("TAGGER_API_KEY", "k1")
    assert main(["tag", str(src), str(remote), "--batch-size", "2", "--url", url, "--concurrency", "3"]) == 0
    assert remote.read_bytes() == local.read_bytes()


def test_url_mode_waits_out_503_and_stops_on_a_wrong_key(serve: Callable[..., str], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from engine_double import CannedEngine

    # one slot, no queue: with 3 calls in flight two are answered 503 Retry-After: 1 at first
    url = serve(ENGINE=CannedEngine(delay_s=0.2), MAX_CONCURRENCY=1, MAX_QUEUE=0, RETRY_AFTER_S=1,
                API_KEYS=["k1"])
    src = write_input(tmp_path / "in.jsonl", articles(6))
    out, summary = tmp_path / "out.jsonl", tmp_path / "s.json"
    assert main(["tag", str(src), str(out), "--url", url, "--api-key", "k1", "--batch-size", "2",
                 "--concurrency", "3", "--summary-json", str(summary)]) == 0
    assert [r["status"] for r in read_output(out)] == [200] * 6
    assert json.loads(summary.read_text())["retried_503"] >= 1
    assert main(["tag", str(src), str(tmp_path / "o2.jsonl"), "--url", url, "--api-key", "nope"]) == 2
    assert "401" in capsys.readouterr().err


# --- stopped for real: subprocesses killed mid-run --------------------------------------------------


def _cli(src: Path, out: Path, *extra: str, delay: float) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGGER_")}
    env.update(TAGGER_ENGINE_FACTORY="engine_double:factory", TAGGER_TEST_DELAY_S=str(delay),
               PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT)]))
    # A child inherits an ignored SIGINT (a suite started as a background job of a script has one), and
    # Python then never turns it into KeyboardInterrupt: the CLI gets the default handler.
    return subprocess.Popen([sys.executable, "-m", "service.cli", "tag", str(src), str(out), "--batch-size",
                             "2", *extra], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_records(out: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if out.exists() and out.read_bytes().count(b"\n") >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"{out} did not reach {n} records")


@pytest.mark.parametrize(("name", "sig"), [("out.jsonl", signal.SIGKILL), ("out.jsonl.gz", signal.SIGINT)])
def test_killed_run_resumes_without_duplicates(tmp_path: Path, name: str, sig: signal.Signals) -> None:
    src = write_input(tmp_path / "in.jsonl", [*articles(10), "not json", *articles(9)])
    out = tmp_path / name
    proc = _cli(src, out, delay=0.15)
    if name.endswith(".gz"):
        time.sleep(0.3)
        while proc.poll() is None and (not out.exists() or len(read_output_tolerant(out)) < 6):
            time.sleep(0.02)
    else:
        _wait_for_records(out, 6, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 130), err
    if sig == signal.SIGINT:
        assert b"interrupted" in err and b"run the same command again" in err
    done_before = len(read_output_tolerant(out))
    assert 0 < done_before < 20

    rerun = _cli(src, out, delay=0.0)
    _, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert b"resumed after" in err
    whole = tmp_path / f"whole-{name}"
    uninterrupted = _cli(src, whole, delay=0.0)
    _, err = uninterrupted.communicate(timeout=60)
    assert uninterrupted.returncode == 0, err
    assert read_output(out) == read_output(whole)
    assert [r["line"] for r in read_output(out)] == list(range(1, 21))


def read_output_tolerant(path: Path) -> list[bytes]:
    """The complete records of an output a writer may still be appending to."""
    from service.backfill.files import _complete_lines

    return list(_complete_lines(path))


# --- on a local Dask cluster ----------------------------------------------------------------------------


@pytest.mark.slow
def test_local_dask_cluster_writes_what_in_process_writes(canned: None, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    # the workers are new processes: they find the double on PYTHONPATH and the factory in their env
    paths = [str(TESTS), str(ROOT), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    src = write_input(tmp_path / "in.jsonl", [*articles(9), "{broken", *articles(4)])
    local, dask = tmp_path / "local.jsonl", tmp_path / "dask.jsonl"
    summary = tmp_path / "s.json"
    assert main(["tag", str(src), str(local), "--batch-size", "3"]) == 0
    assert main(["tag", str(src), str(dask), "--batch-size", "3", "--workers", "2",
                 "--summary-json", str(summary)]) == 0
    assert dask.read_bytes() == local.read_bytes()
    assert "2 worker(s)" in json.loads(summary.read_text())["backend"]

    # an existing cluster, by its scheduler's address
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        remote = tmp_path / "remote.jsonl"
        assert main(["tag", str(src), str(remote), "--batch-size", "3", "--scheduler",
                     cluster.scheduler_address]) == 0
    assert remote.read_bytes() == local.read_bytes()


# --- the real model ---------------------------------------------------------------------------------------


@pytest.mark.model
def test_in_process_with_the_real_model(tmp_path: Path) -> None:
    texts = [
        "President Joe Biden met Xi Jinping in Lima, Peru, on Saturday.",
        "The European Union and Japan signed a trade agreement in Tokyo.",
        "Shares of Apple fell after the company reported lower sales in China.",
    ]
    src = write_input(tmp_path / "in.jsonl", [{"id": f"t{i}", "text": t} for i, t in enumerate(texts)])
    out = tmp_path / "out.jsonl"
    assert main(["tag", str(src), str(out), "--model", MODEL, "--batch-size", "2"]) == 0
    recs = read_output(out)
    assert [(r["line"], r["id"], r["status"]) for r in recs] == [(i + 1, f"t{i}", 200) for i in range(3)]
    for rec, text in zip(recs, texts, strict=True):
        result = rec["result"]
        assert result["coverage"]["chars"] == len(text) and result["coverage"]["words"] >= len(text.split())
        assert result["entities"], rec
        for ent in result["entities"]:
            for m in ent["mentions"]:
                assert text[m["start"] : m["end"]] == m["text"]
