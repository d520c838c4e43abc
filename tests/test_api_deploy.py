"""What can be checked of the Dockerfile, Makefile and .ci/run without Docker or a fresh machine."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text("utf-8")


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    lines = [ln for ln in DOCKERFILE.splitlines() if not ln.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_every_path_the_dockerfile_copies_exists():
    copies = [shlex.split(args) for word, args in _instructions() if word in {"COPY", "ADD"}]
    assert copies
    for args in copies:
        sources = [a for a in args if not a.startswith("--")][:-1]
        for src in sources:
            assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is not in the repository"


def test_dockerfile_installs_cpu_torch_before_the_package_and_runs_gunicorn():
    steps = _instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [args for word, args in steps if word == "RUN"]
    torch_at = next(i for i, r in enumerate(runs) if "torch==2.13.0" in r)
    package_at = next(i for i, r in enumerate(runs) if re.search(r"pip install \.(\s|$)", r))
    assert torch_at < package_at
    env = " ".join(args for word, args in steps if word == "ENV")
    assert "TAGGER_MODEL=/app/models/embedded" in env and "HF_HUB_OFFLINE=1" in env
    assert ("COPY", "models/embedded ./models/embedded") in steps
    cmd = next(args for word, args in steps if word == "CMD")
    assert cmd == '["gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"]'  # exec form: gets SIGTERM


def test_ci_runs_make_test():
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK)
    text = script.read_text("utf-8")
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text and "make test" in text


@pytest.fixture(scope="module")
def make_plan() -> str:
    """What ``make run`` would do on a fresh machine (``-n``: print only, ``-B``: as if nothing existed)."""
    out = subprocess.run(
        ["make", "-n", "-B", "run", "VENV=/tmp/never-made-venv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout + out.stderr


def test_make_run_sets_up_torch_first_then_the_package_then_serves(make_plan):
    venv = make_plan.index("-m venv /tmp/never-made-venv")
    torch = make_plan.index("pip install --quiet torch==2.13.0")
    package = make_plan.index("pip install --quiet -e '.[test,dev]'")
    serve = make_plan.index("gunicorn -c gunicorn.conf.py service.wsgi:app")
    assert venv < torch < package < serve
    assert "TAGGER_HOST=127.0.0.1 TAGGER_PORT=8000" in make_plan


def test_make_is_quiet_when_already_set_up(tmp_path):
    """The stamp is newer than pyproject.toml: set-up does nothing."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / ".installed-test,dev").touch()
    out = subprocess.run(["make", "-n", "setup", f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True)
    assert "pip install" not in out.stdout, out.stdout


def test_the_image_runs_the_hardened_server(monkeypatch, tmp_path):
    """The image serves with the same gunicorn.conf.py, hence the same worker with read deadlines."""
    import runpy

    # the config writes both into os.environ: set here first so that they are restored after
    monkeypatch.setenv("TAGGER_TORCH_THREADS", "1")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    steps = _instructions()
    assert ("COPY", "gunicorn.conf.py ./") in steps
    assert ("COPY", "service ./service") in steps  # service/gunicorn_worker.py and the editor's files
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["worker_class"] == "service.gunicorn_worker.GuardedThreadWorker"
