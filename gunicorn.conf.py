"""gunicorn settings for the tagging service: ``gunicorn -c gunicorn.conf.py service.wsgi:app``.

Every value comes from a ``TAGGER_*`` environment variable (see ``service/config.py`` and README's
configuration table), so the same file serves ``make run``, the Docker image and production.

- Threaded workers (``gthread``, hardened in ``service/gunicorn_worker.py``: headers are read by
  the worker's main loop with a deadline, bodies with deadlines in the thread, so slow clients
  cannot take every thread; the server's own errors are problem+json). Each worker process loads
  the model once, after the fork (no ``--preload``: PyTorch and fork do not always mix, and
  per-worker loading is the measured, safe default). The model loads in a background thread, so
  a worker boots at once, answers ``/healthz`` and says ``/readyz`` 503 until its model is ready.
- torch threads per worker = CPUs / workers, unless ``TAGGER_TORCH_THREADS`` says otherwise.
- ``timeout`` is well above the model's load time (and the time budget); ``graceful_timeout`` gives
  in-flight requests their whole time budget on SIGTERM: gunicorn stops accepting, lets the workers
  finish what they are doing, and exits 0. The workers close their listening socket at once
  (``service/gunicorn_worker.py``), so a new connection is refused instead of waiting unanswered
  in the listen backlog until the drain ends.
- Logs: the app writes one JSON access line per request (with the request id), so gunicorn's own
  access log is off; gunicorn's error log is JSON too.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from service.config import env_value
from service.tagging.cpus import available_cpus

_host = env_value("HOST")
_port = env_value("PORT")

bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"]
workers = env_value("WORKERS")
# gthread whose main loop reads request headers ahead with a deadline (slow or idle clients never
# hold a thread), with read deadlines on bodies, problem+json for the server's own errors, and that
# refuses new connections at once on SIGTERM (service/gunicorn_worker.py)
worker_class = "service.gunicorn_worker.GuardedThreadWorker"
threads = env_value("THREADS")
worker_connections = env_value("MAX_CONNECTIONS")
preload_app = False
timeout = env_value("WORKER_TIMEOUT_S")
graceful_timeout = env_value("GRACEFUL_TIMEOUT_S") or int(env_value("TIME_BUDGET_S")) + 10
keepalive = 5
proc_name = "newsroom-tagger"
# gunicorn's control socket (one fixed path per user) is not used: off, so several instances can run.
control_socket_disable = True

# Per-worker torch threads: the CPUs this process may use, shared among the workers. Set in the
# environment before the fork so every worker's create_app() reads it.
if not env_value("TORCH_THREADS"):
    os.environ["TAGGER_TORCH_THREADS"] = str(max(1, available_cpus() // workers))

# Logs stay one JSON object per line: no progress bars from the model libraries, and Python warnings
# go through logging (the root handler below) instead of raw stderr.
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
logging.captureWarnings(True)

# Prometheus multiprocess mode (service/api/metrics.py): each worker writes its metric values to
# files in this folder and a scrape of any worker sums them. Set before the fork; a fresh folder
# per run unless the operator names one (then emptied at start: stale files would add old counts).
_METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_METRICS_OWN_DIR: str | None = None  # the folder made here, removed when gunicorn exits
if not os.environ.get(_METRICS_ENV):
    _METRICS_OWN_DIR = os.environ[_METRICS_ENV] = tempfile.mkdtemp(prefix="newsroom-tagger-metrics-")

accesslog = None  # the app's JSON access log replaces it
errorlog = "-"
loglevel = str(env_value("LOG_LEVEL")).lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "service.api.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
    },
    "root": {"level": "WARNING", "handlers": ["stderr"]},
}


def worker_abort(worker) -> None:  # type: ignore[no-untyped-def]
    """A worker gunicorn killed for missing its timeout: say so, it is always a bug or an overload."""
    worker.log.error("worker %s aborted (timeout %ss)", worker.pid, timeout)


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    """Empty the metrics folder: counts left by an earlier run would be summed with this one's."""
    for stale in Path(os.environ[_METRICS_ENV]).glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    """A worker exited: its live gauges (slots busy, queue) stop counting; its counters stay summed."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:  # type: ignore[no-untyped-def]
    """Remove the metrics folder this config made (one the operator named is left as it is)."""
    if _METRICS_OWN_DIR:
        shutil.rmtree(_METRICS_OWN_DIR, ignore_errors=True)
