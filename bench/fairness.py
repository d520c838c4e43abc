"""Fairness under gunicorn, on loopback: short requests beside one huge request, and clients below capacity.

    .venv/bin/python -m bench.fairness             # about 14 minutes here (12 + 2 keep-alive phases)
    .venv/bin/python -m bench.fairness --duration 20 --below-duration 30 --no-compare   # shorter
    .venv/bin/python -m bench.fairness --duration 0 --keep-alive-duration 60   # below capacity only

One gunicorn with the project's ``gunicorn.conf.py`` (2 workers, the shipped worker class) on
127.0.0.1 and a free port, the embedded model. Every request carries a new ``id``, so the workers'
result cache never answers one (a repeated request would cost nothing). Phases, one after another:

1. warm-up (``--warmup`` s of short clients, not counted);
2. **alone**: ``--short-clients`` clients post the seed articles (1,900-4,100 characters) for
   ``--duration`` s, each request on a fresh connection; a 503 is waited out (``Retry-After``) and
   counted;
3. **with a huge request**: the same, while one more client posts a 100,000-character document (the
   seeds repeated; ``TAGGER_MAX_TEXT_CHARS``) back to back: each one holds a worker's only tagging
   slot for many seconds;
4. **alone** again: the short requests' baseline is the mean of both alone phases, so a drift of the
   machine's load during the run does not pass for an effect of the huge request;
5. **below capacity**: ``--below-clients`` clients (8; 2 workers hold 10 requests: 1 tagging and 4
   waiting each) for ``--below-duration`` s: there must be no 503;
6. **below capacity, keep-alive**: as 5, for ``--keep-alive-duration`` s, but each client keeps one
   connection (a ``requests.Session``) for all its requests, as a newsroom tool or a proxy's
   connection pool does: gunicorn serves a connection's requests on the worker that accepted it, so
   this is the case where the balance must place connections, not requests. The phase runs in
   ``--keep-alive-rounds`` rounds: at each round's start every client opens a new session, so the
   8 connections are placed together again (as after a restart or a keep-alive timeout); one
   lucky placement cannot stand for the whole phase. Also counted: answers whose ``Connection:
   close`` moved the client to a new connection (``moved``).

``--duration 0`` skips phases 2-4 (only the below-capacity phases run).

Figures: the short requests' p50 and p95 with the huge request over their baseline (ratios), their
503s, and the huge requests' own outcomes. With ``--compare`` (the default) the same phases run
again on a second server whose workers do not balance by work (:class:`UnbalancedWorker`, through
``GUNICORN_CMD_ARGS``): the stock way, the first worker to wake takes each connection.

Only 127.0.0.1 is contacted; every loop is bounded; the servers are always stopped. Results go to
``.cache/bench/fairness.json`` (``--out``: another file, e.g. under ``bench/results/``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE_DIR, Gunicorn, busy_processes, machine, seed_articles
from bench.load_test import DEFAULT_MODEL, Clients, Outcome, log, post_once, summarise
from service.gunicorn_worker import GuardedThreadWorker


class KeepAliveClients(Clients):
    """``n`` clients, each posting the texts round robin on one kept-alive connection (``requests.Session``).

    A 503 is waited out (``Retry-After``) and counted, as by the fresh-connection clients; an answer
    with ``Connection: close`` makes the session reconnect for the next request (counted as moved).
    The duration is cut into ``rounds``; each client starts each round with a new session.
    """

    def __init__(self, url: str, texts: list[str], n: int, prefix: str, rounds: int = 1,
                 timeout: float = 120.0) -> None:
        super().__init__(url, texts, n, prefix=prefix, timeout=timeout)
        self.rounds = max(1, rounds)
        self.moved = 0
        self._start = 0.0

    def start(self, duration: float) -> None:
        self._start = time.monotonic()
        super().start(duration)

    def _run(self, i: int) -> None:
        import requests

        seq = 0
        for r in range(self.rounds):
            round_end = self._start + (self.stop_at - self._start) * (r + 1) / self.rounds
            with requests.Session() as session:
                while time.monotonic() < round_end and seq < self.max_requests:
                    out = post_once(self.url, i, seq, self.texts[(i + seq) % len(self.texts)],
                                    prefix=self.prefix, timeout=self.timeout, session=session)
                    seq += 1
                    with self._lock:
                        self.outcomes.append(out)
                        self.moved += int(out.closed)
                    if out.kind == "refused":
                        time.sleep(max(0.0, min(float(out.retry_after or 1), round_end - time.monotonic())))
                    elif out.kind not in ("ok", "http_error", "bad_body"):
                        time.sleep(0.2)  # a connection error: not a tight loop


class UnbalancedWorker(GuardedThreadWorker):
    """The shipped worker with its balance off: it takes every connection it wakes for (the baseline)."""

    def _heavier_than_another(self, leaving: int = 0) -> bool:
        return False


def huge_text(texts: list[str], chars: int) -> str:
    """The seed articles one after another until ``chars`` characters (cut at a space)."""
    out = ""
    while len(out) < chars:
        out += "\n\n".join(texts) + "\n\n"
    return out[: out.rindex(" ", 0, chars)]


class HugeClient:
    """One client posting ``text`` back to back until ``duration`` s have passed."""

    def __init__(self, url: str, text: str, prefix: str) -> None:
        self.url, self.text, self.prefix = url + "/v1/tag", text, prefix
        self.outcomes: list[Outcome] = []
        self._thread = threading.Thread(target=self._run, name="huge", daemon=True)

    def start(self, duration: float) -> None:
        self._end = time.monotonic() + duration
        self._thread.start()

    def join(self) -> None:
        self._thread.join(max(0.0, self._end - time.monotonic()) + 180)

    def _run(self) -> None:
        for seq in range(1000):  # bounded; the deadline ends it first
            if time.monotonic() >= self._end:
                return
            out = post_once(self.url, 0, seq, self.text, prefix=self.prefix, timeout=120)
            self.outcomes.append(out)
            if out.kind == "refused":
                time.sleep(float(out.retry_after or 1))

    def summary(self) -> list[dict[str, Any]]:
        return [{"status": o.status, "kind": o.kind, "seconds": round(o.latency_s, 1)} for o in self.outcomes]


def phase(server: Gunicorn, texts: list[str], clients: int, duration: float, prefix: str,
          huge: str | None = None, keep_alive: int = 0) -> dict[str, Any]:
    """``clients`` short-request clients for ``duration`` s, with a huge-request client beside them;
    ``keep_alive``: that many rounds in which each client keeps one connection for its requests."""
    pool: Clients = (KeepAliveClients(server.url, texts, clients, prefix, keep_alive)
                                        if keep_alive else Clients(server.url, texts, clients, prefix=prefix))
    big = HugeClient(server.url, huge, prefix + "-huge") if huge else None
    t0 = time.monotonic()
    if big is not None:
        big.start(duration)
        time.sleep(0.5)  # the huge request is in first: the short ones arrive while it holds a slot
    pool.start(duration)
    pool.join(duration + 180)
    if big is not None:
        big.join()
    wall = max((o.t_done for o in pool.outcomes), default=t0) - t0
    s = summarise(pool.outcomes, wall_s=wall)
    out = {
        "clients": clients,
        "duration_s": duration,
        "requests": s["requests"],
        "served_200": s["served_200"],
        "refused_503": s["refused_503"],
        "errors": s["errors"],
        "p50_ms": s["latency_ms"]["p50"],
        "p95_ms": s["latency_ms"]["p95"],
        "max_ms": s["latency_ms"]["max"],
        "throughput_rps": s["throughput_rps"],
        "error_examples": s["error_examples"][:3],
    }
    if big is not None:
        out["huge"] = big.summary()
    if isinstance(pool, KeepAliveClients):
        out["rounds"] = pool.rounds
        out["moved"] = pool.moved  # answers with Connection: close (the client reconnected)
    log(f"{prefix}: {json.dumps({k: v for k, v in out.items() if k != 'error_examples'})}")
    return out


def run_server(label: str, args: argparse.Namespace, texts: list[str], huge: str,
               worker_class: str | None) -> dict[str, Any]:
    """Start one server, run every phase on it, stop it."""
    env = {"TAGGER_WORKERS": str(args.workers)}
    if worker_class:
        env["GUNICORN_CMD_ARGS"] = f"--worker-class={worker_class}"
    server = Gunicorn(str(Path(args.model).resolve()), args.workers, env=env,
                      log=CACHE_DIR / f"fairness-{label}-{os.getpid()}.log")
    result: dict[str, Any] = {"worker_class": worker_class or "gunicorn.conf.py's (GuardedThreadWorker)"}
    server.start()
    try:
        result["ready_s"] = round(server.wait_ready(args.ready_timeout), 1)
        result["all_workers_ready_s"] = round(server.wait_all_ready(args.ready_timeout), 1)
        if args.warmup > 0:
            phase(server, texts, args.short_clients, args.warmup, f"{label}-warm")
        if args.duration > 0:
            shorts = (server, texts, args.short_clients, args.duration)
            result["alone_before"] = phase(*shorts, f"{label}-alone1")
            result["with_huge"] = phase(*shorts, f"{label}-huge", huge)
            result["alone_after"] = phase(*shorts, f"{label}-alone2")
        if args.below_duration > 0:
            result["below_capacity"] = phase(server, texts, args.below_clients, args.below_duration,
                                             f"{label}-below")
        if args.keep_alive_duration > 0:
            result["below_capacity_keep_alive"] = phase(server, texts, args.below_clients,
                                                        args.keep_alive_duration, f"{label}-keepalive",
                                                        keep_alive=args.keep_alive_rounds)
    except Exception as exc:  # recorded with the results, which are written all the same
        result["failed"] = f"{type(exc).__name__}: {exc}"
        log(f"FAILED: {result['failed']}")
    finally:
        result["exit_code"] = server.stop(120)
    result["ratios"] = ratios(result)
    return result


def ratios(r: dict[str, Any]) -> dict[str, Any]:
    """The short requests with the huge one over their baseline (the mean of the two alone phases)."""
    if not all(k in r for k in ("alone_before", "with_huge", "alone_after")):
        return {}
    out: dict[str, Any] = {}
    for q in ("p50_ms", "p95_ms"):
        base = [r[k][q] for k in ("alone_before", "alone_after") if r[k][q]]
        if base and r["with_huge"][q]:
            out[f"{q[:3]}_with_huge_x_alone"] = round(r["with_huge"][q] / (sum(base) / len(base)), 2)
    out["503_alone"] = r["alone_before"]["refused_503"] + r["alone_after"]["refused_503"]
    out["503_with_huge"] = r["with_huge"]["refused_503"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default=os.environ.get("TAGGER_MODEL", DEFAULT_MODEL), help="model folder")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (2, as shipped)")
    p.add_argument("--short-clients", type=int, default=4, help="clients of short requests (4)")
    p.add_argument("--duration", type=float, default=40.0, help="seconds of each short-request phase (40)")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds of uncounted load first (10)")
    p.add_argument("--huge-chars", type=int, default=100_000, help="characters of the huge document")
    p.add_argument("--below-clients", type=int, default=8, help="clients of the below-capacity phase (8)")
    p.add_argument("--below-duration", type=float, default=60.0,
                   help="seconds of the below-capacity phase; 0 skips it (60)")
    p.add_argument("--keep-alive-duration", type=float, default=60.0,
                   help="seconds of the below-capacity phase with keep-alive clients; 0 skips it (60)")
    p.add_argument("--keep-alive-rounds", type=int, default=6,
                   help="rounds of that phase, each on new connections made together (6)")
    p.add_argument("--no-compare", dest="compare", action="store_false",
                   help="skip the second server, whose workers do not balance by work")
    p.add_argument("--ready-timeout", type=float, default=600.0, help="seconds to wait for the model")
    p.add_argument("--out", type=Path, default=CACHE_DIR / "fairness.json")
    args = p.parse_args(argv)
    if not Path(args.model).exists():
        log(f"no model at {args.model}")
        return 2
    texts = [a.text for a in seed_articles()]
    huge = huge_text(texts, args.huge_chars)
    result: dict[str, Any] = {
        "test": "fairness",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "busy_processes_at_start": busy_processes(),
        "model": args.model,
        "short_chars": [len(t) for t in texts],
        "huge_chars": len(huge),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    result["balanced"] = run_server("balanced", args, texts, huge, None)
    if args.compare:
        result["unbalanced"] = run_server("unbalanced", args, texts, huge, "bench.fairness.UnbalancedWorker")
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"results in {args.out}")
    for label in ("balanced", "unbalanced"):
        r = result.get(label)
        if r is None:
            continue
        print(f"{label}: ratios {r['ratios']}")
        for ph in ("alone_before", "with_huge", "alone_after", "below_capacity", "below_capacity_keep_alive"):
            if ph in r:
                x = r[ph]
                huge_line = f"; huge {x['huge']}" if "huge" in x else ""
                huge_line += f"; moved {x['moved']}" if "moved" in x else ""
                print(f"  {ph}: {x['clients']} clients {x['duration_s']:.0f} s: {x['requests']} requests, "
                      f"{x['served_200']} x 200, {x['refused_503']} x 503, {x['errors']} errors; "
                      f"p50/p95 {x['p50_ms']}/{x['p95_ms']} ms{huge_line}")
    bal = result["balanced"]
    ok = "failed" not in bal and all(bal.get(ph, {}).get("refused_503", 0) == 0
                                     for ph in ("below_capacity", "below_capacity_keep_alive"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
