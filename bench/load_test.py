"""Bounded load test of the service under gunicorn, on loopback: throughput, latency, errors, worker RSS.

    .venv/bin/python -m bench.load_test                  # 8 clients for 120 s, then 32 for 20 s (overload)
    .venv/bin/python -m bench.load_test --clients 8,4    # and then 4 clients for 120 s
    .venv/bin/python -m bench.load_test --warmup 5 --duration 15 --overload-duration 0   # a short check

What it does, and nothing else:

1. starts gunicorn with the project's ``gunicorn.conf.py`` (``TAGGER_*`` settings from the flags) on
   127.0.0.1 and a free port, and waits until every worker has loaded its model and ``/readyz`` is 200;
2. warms up under load (``--warmup`` seconds, not counted), then reads every worker's RSS from
   ``/proc``;
3. **sustained load**: ``--clients`` threads post the seed articles (``seeds/*.txt``, round robin) to
   ``POST /v1/tag`` for ``--duration`` seconds, each on a fresh connection, each waiting for its
   answer before sending the next; a 503 is the service's designed answer to overload, so a client
   that gets one waits ``Retry-After`` and goes on (counted as a refusal, not an error).
   ``--clients 8,4`` runs one phase after the other; RSS is sampled every 10 s;
4. **overload** (``--overload-clients``, ``--overload-duration``; 0 skips it): the same with more
   clients than the workers' slots and queues hold, to show what shedding load looks like;
5. reads the RSS again, sends SIGTERM to the master and checks it exits 0.

Every 200 is checked: JSON, the ``id`` sent, and every mention's offsets index its text. An *error*
is anything else but a 503 with ``Retry-After``: another status, a bad body, a connection error or
a timeout. Requests, loops and the run are bounded; only 127.0.0.1 is ever contacted. Results go to
``.cache/bench/load_test.json`` (``--out``: another file, e.g. under ``bench/results/``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import CACHE_DIR, Gunicorn, busy_processes, machine, percentile, seed_articles

DEFAULT_MODEL = "models/embedded"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- /proc -----------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers), from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.append(int(entry))
    return sorted(out)


def rss_mib(pid: int) -> float | None:
    """Resident set size of ``pid`` in MiB (VmRSS of /proc/PID/status), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def workers_rss(master: int) -> dict[int, float | None]:
    return {pid: rss_mib(pid) for pid in children(master)}


# --- clients ----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One request: when it was sent and answered, and how it ended."""

    client: int
    seq: int
    request_id: str
    t_send: float  # time.monotonic()
    t_done: float
    # ok | refused (503 + Retry-After) | http_error | bad_body | conn_refused | conn_reset | timeout | other
    kind: str
    status: int | None = None
    retry_after: str | None = None
    detail: str | None = None
    closed: bool = False  # the answer said ``Connection: close`` (a kept-alive client must reconnect)

    @property
    def latency_s(self) -> float:
        return self.t_done - self.t_send


def check_body(body: Any, request_id: str, text: str) -> str | None:
    """What is wrong with a 200 body of /v1/tag (None: nothing)."""
    if not isinstance(body, dict) or not isinstance(body.get("entities"), list):
        return "no entities list"
    if body.get("id") != request_id:
        return f"id {body.get('id')!r} is not the one sent"
    for ent in body["entities"]:
        for m in ent.get("mentions", []):
            if m.get("field", "text") == "text" and text[m["start"] : m["end"]] != m["text"]:
                return f"mention offsets {m['start']}:{m['end']} do not index {m['text']!r}"
    return None


def post_once(url: str, client: int, seq: int, text: str, *, prefix: str, timeout: float,
              session: Any = None) -> Outcome:
    """One ``POST /v1/tag``, classified: on a fresh connection, or on ``session``'s kept-alive one."""
    import requests

    rid = f"{prefix}-{client}-{seq}"
    headers = {"X-Request-ID": rid} if session is not None else {"X-Request-ID": rid, "Connection": "close"}
    t0 = time.monotonic()
    try:
        r = (session or requests).post(url, json={"id": rid, "text": text}, timeout=timeout, headers=headers)
    except requests.exceptions.Timeout as exc:
        return Outcome(client, seq, rid, t0, time.monotonic(), "timeout", detail=type(exc).__name__)
    except requests.exceptions.ConnectionError as exc:
        return Outcome(client, seq, rid, t0, time.monotonic(), _connection_kind(exc), detail=repr(exc)[:300])
    except requests.exceptions.RequestException as exc:
        return Outcome(client, seq, rid, t0, time.monotonic(), "other", detail=repr(exc)[:300])
    t1 = time.monotonic()
    closed = r.headers.get("Connection", "").lower() == "close"
    if r.status_code == 200:
        try:
            problem = check_body(r.json(), rid, text)
        except ValueError:
            problem = "not JSON"
        kind = "ok" if problem is None else "bad_body"
        return Outcome(client, seq, rid, t0, t1, kind, 200, detail=problem, closed=closed)
    retry = r.headers.get("Retry-After")
    if (
        r.status_code == 503
        and retry
        and r.headers.get("Content-Type", "").startswith("application/problem+json")
    ):
        return Outcome(client, seq, rid, t0, t1, "refused", 503, retry, _problem_type(r), closed)
    return Outcome(client, seq, rid, t0, t1, "http_error", r.status_code, retry, r.text[:300], closed)


def _problem_type(r: Any) -> str | None:
    try:
        return str(r.json().get("type", "")).rsplit(":", 1)[-1] or None
    except ValueError:
        return None


def _connection_kind(exc: BaseException) -> str:
    """conn_refused: the connection was never accepted (nothing listens); conn_reset: it was, then
    closed or reset without an answer."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ConnectionRefusedError):
            return "conn_refused"
        stack += [
            e.__cause__,
            e.__context__,
            *[a for a in getattr(e, "args", ()) if isinstance(a, BaseException)],
        ]
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return "conn_refused" if "Connection refused" in repr(exc) else "conn_reset"


class Clients:
    """``n`` client threads posting articles round robin until ``stop_at`` (or ``stop()``)."""

    def __init__(
        self,
        url: str,
        texts: list[str],
        n: int,
        *,
        prefix: str,
        timeout: float = 120.0,
        backoff: bool = True,
        max_requests: int = 100_000,
        first_client: int = 0,
    ) -> None:
        self.url = url + "/v1/tag"
        self.texts = texts
        self.n = n
        self.prefix = prefix
        self.timeout = timeout
        self.backoff = backoff
        self.max_requests = max_requests  # per client: a hard bound on the loop
        self.first_client = first_client
        self.outcomes: list[Outcome] = []
        self.in_flight: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.stop_at = 0.0
        self.stop_on_refused = False  # fault test: a client stops once nothing listens any more

    def start(self, duration: float) -> None:
        self.stop_at = time.monotonic() + duration
        for i in range(self.first_client, self.first_client + self.n):
            t = threading.Thread(target=self._run, args=(i,), name=f"client-{i}", daemon=True)
            self._threads.append(t)
            t.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        end = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if end is None else max(0.0, end - time.monotonic()))

    def snapshot_in_flight(self) -> list[str]:
        with self._lock:
            return sorted(self.in_flight)

    def _run(self, i: int) -> None:
        seq = 0
        while not self._stop.is_set() and time.monotonic() < self.stop_at and seq < self.max_requests:
            text = self.texts[(i + seq) % len(self.texts)]
            rid = f"{self.prefix}-{i}-{seq}"
            with self._lock:
                self.in_flight[rid] = time.monotonic()
            out = post_once(self.url, i, seq, text, prefix=self.prefix, timeout=self.timeout)
            with self._lock:
                self.in_flight.pop(rid, None)
                self.outcomes.append(out)
            seq += 1
            if out.kind == "conn_refused":
                if self.stop_on_refused:
                    return
                self._stop.wait(0.2)
            elif out.kind == "refused" and self.backoff:
                pause = float(out.retry_after or 1)
                self._stop.wait(max(0.0, min(pause, self.stop_at - time.monotonic())))


def rss_trend(phases: list[dict[str, Any]], skip_s: float = 30.0) -> list[dict[str, float]]:
    """Per worker, over the RSS samples of the sustained phases after the first ``skip_s`` seconds:
    min, max and the least-squares slope in MiB per minute (a leak is a steady positive slope)."""
    points: list[tuple[float, list[float | None]]] = []
    offset = 0.0
    for ph in phases:
        points += [(offset + x["t_s"], x["rss_mib"]) for x in ph["rss_samples"]]
        offset += ph["wall_s"]
    points = [(t, v) for t, v in points if t >= skip_s]
    if len(points) < 3:
        return []
    out = []
    for w in range(min(len(v) for _, v in points)):
        xs = [t for t, v in points if v[w] is not None]
        ys = [float(v[w]) for _, v in points if v[w] is not None]  # type: ignore[arg-type]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        den = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0
        out.append(
            {
                "samples": len(xs),
                "from_s": skip_s,
                "min_mib": min(ys),
                "max_mib": max(ys),
                "slope_mib_per_min": round(slope * 60, 2),
            }
        )
    return out


def summarise(outcomes: list[Outcome], *, wall_s: float) -> dict[str, Any]:
    """Counts by kind, throughput and latency percentiles of the 200s (and of the 503s)."""
    kinds = Counter(o.kind for o in outcomes)
    ok = [o.latency_s for o in outcomes if o.kind == "ok"]
    refused = [o.latency_s for o in outcomes if o.kind == "refused"]
    errors = [o for o in outcomes if o.kind not in ("ok", "refused")]

    def ms(values: list[float], q: float) -> float | None:
        return round(percentile(values, q) * 1000, 1) if values else None

    return {
        "requests": len(outcomes),
        "served_200": kinds.get("ok", 0),
        "refused_503": kinds.get("refused", 0),
        "errors": len(errors),
        "by_kind": dict(sorted(kinds.items())),
        "wall_s": round(wall_s, 2),
        "throughput_rps": round(len(ok) / wall_s, 3) if wall_s else None,
        "latency_ms": {
            "p50": ms(ok, 50),
            "p95": ms(ok, 95),
            "p99": ms(ok, 99),
            "max": round(max(ok) * 1000, 1) if ok else None,
            "mean": round(sum(ok) / len(ok) * 1000, 1) if ok else None,
        },
        "refusal_latency_ms": {"p50": ms(refused, 50), "p99": ms(refused, 99)} if refused else None,
        "retry_after_s": sorted({o.retry_after for o in outcomes if o.retry_after}),
        "problem_types_503": dict(Counter(o.detail for o in outcomes if o.kind == "refused")),
        "error_examples": [asdict(o) for o in errors[:5]],
    }


def run_phase(
    server: Gunicorn,
    texts: list[str],
    *,
    clients: int,
    duration: float,
    prefix: str,
    backoff: bool,
    rss_every: float = 10.0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``clients`` clients for ``duration`` seconds; the summary and RSS samples taken meanwhile."""
    assert server.proc is not None
    pool = Clients(server.url, texts, clients, prefix=prefix, backoff=backoff)
    samples: list[dict[str, Any]] = []
    t0 = time.monotonic()
    pool.start(duration)
    next_sample = t0
    while any(t.is_alive() for t in pool._threads):
        if time.monotonic() >= next_sample:
            samples.append(
                {
                    "t_s": round(time.monotonic() - t0, 1),
                    "rss_mib": list(workers_rss(server.proc.pid).values()),
                }
            )
            next_sample += rss_every
        time.sleep(0.2)
    wall = max((o.t_done for o in pool.outcomes), default=t0) - t0
    return summarise(pool.outcomes, wall_s=wall), samples


# --- main ---------------------------------------------------------------------------------------------


def served_model(url: str) -> dict[str, Any] | None:
    """The model the service says it serves (``GET /readyz``), and the code's git commit."""
    import subprocess

    import requests

    try:
        model = requests.get(url + "/readyz", timeout=10).json().get("model")
    except (requests.RequestException, ValueError):
        model = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {"model": model, "git_commit": commit or None}


def prepare_run(
    args: argparse.Namespace, test: str, *, access_log: bool, log_file: Path | None = None
) -> tuple[list[str], dict[str, Any], Gunicorn, dict[str, Any]] | None:
    """The seed texts, the server's effective settings, the (unstarted) server and the result record
    a load or fault run starts from; ``None`` (after saying why) when there is no model."""
    if not Path(args.model).exists():
        log(f"no model at {args.model}: build it first, or pass --model")
        return None
    texts = [a.text for a in seed_articles()]
    env = server_env(args)
    settings = effective_settings(env)
    server = Gunicorn(
        str(Path(args.model).resolve()),
        settings["WORKERS"],
        env={**env, "TAGGER_ACCESS_LOG": "true" if access_log else "false"},
        log=log_file,
    )
    result: dict[str, Any] = {
        "test": test,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "busy_processes_at_start": busy_processes(),
        "model": args.model,
        "settings": settings,
    }
    return texts, settings, server, result


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = {}
    for flag, name in (
        ("workers", "WORKERS"),
        ("threads", "THREADS"),
        ("max_concurrency", "MAX_CONCURRENCY"),
        ("max_queue", "MAX_QUEUE"),
        ("queue_timeout", "QUEUE_TIMEOUT_S"),
    ):
        value = getattr(args, flag)
        if value is not None:
            env[f"TAGGER_{name}"] = str(value)
    if args.engine_factory:
        env["TAGGER_ENGINE_FACTORY"] = args.engine_factory
    return env


def effective_settings(env: dict[str, str]) -> dict[str, Any]:
    from service.config import env_value

    names = (
        "WORKERS",
        "THREADS",
        "MAX_CONCURRENCY",
        "MAX_QUEUE",
        "QUEUE_TIMEOUT_S",
        "TIME_BUDGET_S",
        "RETRY_AFTER_S",
        "GRACEFUL_TIMEOUT_S",
    )
    merged = {**{k: v for k, v in os.environ.items() if k.startswith("TAGGER_")}, **env}
    return {n: env_value(n, merged) for n in names}


def add_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=os.environ.get("TAGGER_MODEL", DEFAULT_MODEL),
        help="model folder (default: models/embedded, or TAGGER_MODEL)",
    )
    p.add_argument("--workers", type=int, help="TAGGER_WORKERS (default: the project's, 2)")
    p.add_argument("--threads", type=int, help="TAGGER_THREADS")
    p.add_argument("--max-concurrency", type=int, help="TAGGER_MAX_CONCURRENCY (per worker)")
    p.add_argument("--max-queue", type=int, help="TAGGER_MAX_QUEUE (per worker)")
    p.add_argument("--queue-timeout", type=float, help="TAGGER_QUEUE_TIMEOUT_S")
    p.add_argument("--ready-timeout", type=float, default=600.0, help="seconds to wait for the model (600)")
    p.add_argument(
        "--engine-factory",
        help="TAGGER_ENGINE_FACTORY, e.g. bench.common:tagger_without_self_test "
        "for plumbing runs with a smoke model (never for figures)",
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_server_flags(p)
    p.add_argument(
        "--clients", default="8", help="concurrent clients of the sustained phase; 8,4: two phases (8)"
    )
    p.add_argument("--duration", type=float, default=120.0, help="seconds of each sustained phase (120)")
    p.add_argument("--warmup", type=float, default=20.0, help="seconds of uncounted load first (20)")
    p.add_argument("--overload-clients", type=int, default=32, help="clients of the overload phase (32)")
    p.add_argument(
        "--overload-duration", type=float, default=20.0, help="seconds of overload; 0 skips it (20)"
    )
    p.add_argument("--out", type=Path, default=CACHE_DIR / "load_test.json")
    args = p.parse_args(argv)
    prepared = prepare_run(args, "load", access_log=False)
    if prepared is None:
        return 2
    texts, settings, server, result = prepared
    result.update(seeds=len(texts), seed_chars=[len(t) for t in texts])
    log(f"gunicorn on {server.url}: {settings}")
    server.start()
    try:
        assert server.proc is not None
        result["ready_s"] = round(server.wait_ready(args.ready_timeout), 2)
        result["all_workers_ready_s"] = round(server.wait_all_ready(args.ready_timeout), 2)
        result["rss_at_ready_mib"] = list(workers_rss(server.proc.pid).values())
        result["served"] = served_model(server.url)
        log(
            f"ready in {result['ready_s']} s (all workers {result['all_workers_ready_s']} s); "
            f"RSS {result['rss_at_ready_mib']} MiB"
        )

        # warm-up, not counted: the first calls allocate, and each of a worker's threads that tags
        # grows the allocator's arenas once; RSS is "before" after this
        clients = [int(c) for c in str(args.clients).split(",")]
        log(f"warm-up: {max(clients)} clients for {args.warmup:.0f} s")
        warm, _ = run_phase(
            server, texts, clients=max(clients), duration=args.warmup, prefix="warm", backoff=True
        )
        result["warmup"] = {"clients": max(clients), "duration_s": args.warmup, **warm}
        result["rss_before_mib"] = list(workers_rss(server.proc.pid).values())
        log(_line("warm-up", warm) + f"; RSS before {result['rss_before_mib']} MiB")

        result["sustained"] = []
        for n in clients:
            log(f"sustained: {n} clients for {args.duration:.0f} s")
            summary, samples = run_phase(
                server, texts, clients=n, duration=args.duration, prefix=f"load{n}", backoff=True
            )
            result["sustained"].append(
                {"clients": n, "duration_s": args.duration, **summary, "rss_samples": samples}
            )
            log(_line(f"sustained {n}", summary))
        result["rss_after_mib"] = list(workers_rss(server.proc.pid).values())
        log(f"RSS after {result['rss_after_mib']} MiB")

        if args.overload_duration > 0:
            log(f"overload: {args.overload_clients} clients for {args.overload_duration:.0f} s")
            summary, samples = run_phase(
                server,
                texts,
                clients=args.overload_clients,
                duration=args.overload_duration,
                prefix="over",
                backoff=True,
                rss_every=5.0,
            )
            result["overload"] = {
                "clients": args.overload_clients,
                "duration_s": args.overload_duration,
                **summary,
                "rss_samples": samples,
            }
            result["rss_after_overload_mib"] = list(workers_rss(server.proc.pid).values())
            log(_line("overload", summary))
    except Exception as exc:  # recorded in the results, which are written all the same
        result["failed"] = f"{type(exc).__name__}: {exc}"
        log(f"FAILED: {result['failed']}")
    finally:
        t_term = time.monotonic()
        rc = server.stop(120)
        result["shutdown"] = {
            "signal": "SIGTERM",
            "exit_code": rc,
            "seconds": round(time.monotonic() - t_term, 2),
        }
        log(f"SIGTERM: exit {rc}")

    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    before, after = result.get("rss_before_mib") or [], result.get("rss_after_mib") or []
    if before and after and len(before) == len(after):
        result["rss_growth_mib"] = [round((a or 0) - (b or 0), 1) for b, a in zip(before, after, strict=True)]
    if result.get("sustained"):
        result["rss_trend"] = rss_trend(result["sustained"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"results in {args.out}")
    for ph in result.get("sustained") or []:
        print(_line(f"sustained, {ph['clients']} clients, {ph['duration_s']:.0f} s", ph))
    if "overload" in result:
        ov = result["overload"]
        print(_line(f"overload, {ov['clients']} clients, {ov['duration_s']:.0f} s", ov))
    print(
        f"worker RSS MiB: ready {result.get('rss_at_ready_mib')}, before {before}, after {after}, "
        f"growth {result.get('rss_growth_mib')}; SIGTERM exit {rc}"
    )
    for w, tr in enumerate(result.get("rss_trend") or []):
        print(
            f"worker {w} RSS after the first {tr['from_s']:.0f} s: {tr['min_mib']}-{tr['max_mib']} MiB, "
            f"trend {tr['slope_mib_per_min']:+} MiB/min"
        )
    phases = result.get("sustained") or [{"errors": 1}]
    ok = "failed" not in result and all(ph["errors"] == 0 for ph in phases) and rc == 0
    return 0 if ok else 1


def _line(name: str, s: dict[str, Any]) -> str:
    lat = s["latency_ms"]
    return (
        f"{name}: {s['requests']} requests, {s['served_200']} x 200, {s['refused_503']} x 503, "
        f"{s['errors']} errors; {s['throughput_rps']} req/s; p50/p95/p99 {lat['p50']}/{lat['p95']}/"
        f"{lat['p99']} ms"
    )


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
