"""Fault test of the service under gunicorn, on loopback: workers killed with SIGKILL, SIGTERM under load.

    .venv/bin/python -m bench.fault_test                  # about 6 minutes with the embedded model
    .venv/bin/python -m bench.fault_test --slow-duration 20 --skip kill-one --skip kill-all   # shorter

One gunicorn (the project's ``gunicorn.conf.py``, 2 workers by default, JSON access log on) on
127.0.0.1 and a free port, then the faults in turn:

0. **Slow clients** (``--skip slow`` leaves them out): a probe (a normal client: ``GET /healthz``
   every ``--probe-every`` s and, in its own thread, ``POST /v1/tag`` of a seed article back to
   back; answers within 2 s are counted apart) runs
   alone for ``--baseline`` s, then beside each attack for ``--slow-duration`` s (60): ``--idle``
   200 connections that send half a request and go silent, ``--trickle`` 50 that send one header
   byte a second, ``--stalled`` 20 uploads that stop after 1 KiB of a 1 MB body, and ``--nesting``
   2 clients posting JSON nested 100,000 deep. A connection the server closes (its deadline passed)
   is replaced at once, so the attack holds its size the whole time. Measured: the probe's answers,
   in time or not, and its p50/p95 as ratios to the baseline; what the server answered the attackers.

1. **SIGKILL one worker under load** (``--clients`` clients posting seed articles): the master must
   start a replacement; measured: seconds until its pid appears, until its model is loaded (full
   capacity again), and whether the other worker kept answering 200 meanwhile. The requests that were
   inside the killed worker die with it (a connection reset: SIGKILL leaves no choice); they are counted.
2. **SIGKILL every worker** (a probe posts an article every 0.25 s): nothing can answer until a
   replacement has loaded its model; measured: seconds from the kill to the first 200 again.
3. **SIGTERM to the master under load**: gunicorn must stop accepting, let the requests in flight
   finish (``graceful_timeout``) and exit 0. Every request sent is accounted for: answered (200, or a
   503 refusal with ``Retry-After``), or refused at the connection (``ECONNREFUSED``: nothing listens)
   or reset without an answer. A request is **lost** when the client got no answer but the service
   logged one for it (its ``X-Request-ID`` is in the access log) or when it was in flight at the
   SIGTERM and did not get its 200: there must be none.

Only 127.0.0.1 is contacted; every loop is bounded in time and count; the server is always stopped.
Results go to ``.cache/bench/fault_test.json`` (``--out``: another file, e.g. under ``bench/results/``).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from bench.common import CACHE_DIR, Gunicorn, percentile
from bench.load_test import (
    Clients,
    Outcome,
    add_server_flags,
    children,
    log,
    post_once,
    prepare_run,
    served_model,
    summarise,
    workers_rss,
)


def access_log(path: Path) -> dict[str, int]:
    """request id -> status, from the service's JSON access lines."""
    out: dict[str, int] = {}
    for line in path.read_text("utf-8", errors="replace").splitlines():
        if '"service.access"' not in line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("request_id"):
            out[rec["request_id"]] = int(rec.get("status", 0))
    return out


def wait_for(pred: Any, timeout: float, step: float = 0.05) -> float | None:
    """Seconds until ``pred()`` is true, or None after ``timeout``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return round(time.monotonic() - t0, 2)
        time.sleep(step)
    return None


def kill_one_worker(
    server: Gunicorn, texts: list[str], clients: int, load_s: float, ready_timeout: float = 600.0
) -> dict[str, Any]:
    """SIGKILL one worker while ``clients`` clients post articles."""
    assert server.proc is not None
    master = server.proc.pid
    before = children(master)
    ready_before = server.ready_lines()
    pool = Clients(server.url, texts, clients, prefix="k1")
    pool.start(load_s + ready_timeout + 10)  # bounded; stopped below once recovered
    time.sleep(load_s)
    victim = before[0]
    t_kill = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    log(f"SIGKILL worker {victim} (workers {before})")
    spawn_s = wait_for(lambda: any(p not in before for p in children(master)), 60)
    loaded_s = wait_for(lambda: server.ready_lines() > ready_before, ready_timeout, 0.2)
    time.sleep(3.0)  # let the replacement serve a little
    pool.stop()
    pool.join(180)
    after = children(master)
    outs = pool.outcomes
    during = [o for o in outs if o.t_send >= t_kill and (loaded_s is None or o.t_send <= t_kill + loaded_s)]
    first_200 = min((o.t_done - t_kill for o in outs if o.kind == "ok" and o.t_send >= t_kill), default=None)
    killed = [o for o in outs if o.kind not in ("ok", "refused")]
    return {
        "workers_before": before,
        "killed": victim,
        "workers_after": after,
        "replaced": victim not in after and len(after) == len(before),
        "replacement_pid_after_s": spawn_s,
        "replacement_ready_after_s": loaded_s,
        "first_200_after_kill_s": round(first_200, 2) if first_200 is not None else None,
        "served_200_while_replacing": sum(o.kind == "ok" for o in during),
        "requests_failed": len(killed),
        "failed_in_flight_at_kill": sum(o.t_send < t_kill for o in killed),
        "failed_kinds": dict(Counter(o.kind for o in killed)),
        "load": {
            k: v
            for k, v in summarise(outs, wall_s=max(o.t_done for o in outs) - outs[0].t_send).items()
            if k in ("requests", "served_200", "refused_503", "errors", "by_kind")
        },
    }


def kill_all_workers(server: Gunicorn, text: str, timeout: float = 600.0) -> dict[str, Any]:
    """SIGKILL every worker; a probe posts ``text`` every 0.25 s until it gets a 200."""
    assert server.proc is not None
    master = server.proc.pid
    before = children(master)
    t_kill = time.monotonic()
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    log(f"SIGKILL all workers {before}")
    probes: list[Outcome] = []
    seq = 0
    first_200 = None
    while time.monotonic() - t_kill < timeout:
        out = post_once(server.url + "/v1/tag", 0, seq, text, prefix="k2", timeout=60)
        probes.append(out)
        seq += 1
        if out.kind == "ok":
            first_200 = round(out.t_done - t_kill, 2)
            break
        time.sleep(0.25)
    after = children(master)
    return {
        "workers_before": before,
        "workers_after": after,
        "replaced": not set(before) & set(after) and len(after) == len(before),
        "first_200_after_kill_s": first_200,
        "probes": len(probes),
        "probe_answers_until_then": dict(
            Counter(f"{o.status} {o.detail}" if o.status else o.kind for o in probes)
        ),
    }


def sigterm_under_load(server: Gunicorn, texts: list[str], clients: int, load_s: float) -> dict[str, Any]:
    """SIGTERM to the master while ``clients`` clients post articles; account for every request."""
    assert server.proc is not None
    pool = Clients(server.url, texts, clients, prefix="term")
    pool.stop_on_refused = True  # after the shutdown, a client stops at its first ECONNREFUSED
    pool.start(load_s + 120)  # bounded
    time.sleep(load_s)
    in_flight = pool.snapshot_in_flight()
    t_term = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    log(f"SIGTERM to master {server.proc.pid} with {len(in_flight)} requests in flight")
    try:
        rc: int | None = server.proc.wait(300)
    except Exception:
        rc = None
    exit_s = round(time.monotonic() - t_term, 2)
    pool.join(180)
    pool.stop()
    logged = access_log(server.log_path)
    outs = pool.outcomes
    by_id = {o.request_id: o for o in outs}
    no_answer = [o for o in outs if o.kind not in ("ok", "refused", "http_error", "bad_body")]
    lost = [o for o in no_answer if o.request_id in logged]
    in_flight_outcomes = Counter(by_id[r].kind if r in by_id else "unfinished" for r in in_flight)
    lost_in_flight = [r for r in in_flight if r not in by_id or by_id[r].kind != "ok"]
    after = [o for o in outs if o.t_send >= t_term]
    return {
        "clients": clients,
        "exit_code": rc,
        "exit_after_s": exit_s,
        "requests_sent": len(outs),
        "answered_200": sum(o.kind == "ok" for o in outs),
        "answered_503": sum(o.kind == "refused" for o in outs),
        "other_status": sum(o.kind in ("http_error", "bad_body") for o in outs),
        "connection_refused": sum(o.kind == "conn_refused" for o in outs),
        "reset_without_answer": sum(o.kind == "conn_reset" for o in outs),
        "timeouts": sum(o.kind == "timeout" for o in outs),
        "in_flight_at_sigterm": len(in_flight),
        "in_flight_outcomes": dict(in_flight_outcomes),
        "lost": len(lost) + len(lost_in_flight),
        "lost_examples": [o.request_id for o in lost[:5]] + lost_in_flight[:5],
        "no_answer_but_logged_by_service": len(lost),
        "no_answer_and_never_seen_by_service": len(no_answer) - len(lost),
        "sent_after_sigterm": {k: v for k, v in Counter(o.kind for o in after).items()},
        "reset_wait_s_max": round(
            max((o.latency_s for o in no_answer if o.kind == "conn_reset"), default=0.0), 2
        ),
        "last_200_after_sigterm_s": round(
            max((o.t_done - t_term for o in outs if o.kind == "ok"), default=0.0), 2
        ),
    }


# --- slow clients (issue 14): idle, trickling and stalled connections, deep nesting ------------------

NESTED = b"[" * 100_000 + b"]" * 100_000  # 200 KB of JSON nested 100,000 deep: a 400, never a 500


class Attack:
    """``n`` raw connections of one kind, kept open for ``duration`` s by a single selector loop:
    when the server closes one (a deadline passed), another is opened in its place at once.

    - ``idle``: half a request line and headers, then silence (the header deadline must cut it);
    - ``trickle``: a header block that never ends, one byte every ``trickle_s`` seconds;
    - ``stalled``: a ``POST /v1/tag`` promising a 1,000,000-byte body, 1 KiB of it, then silence.
    """

    OPENINGS: ClassVar[dict[str, bytes]] = {
        "idle": b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        "trickle": b"G",
        "stalled": b"POST /v1/tag HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000\r\n\r\n" + b'{"text": "' + b"a" * 1014,
    }
    TRICKLE = b"ET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100_000

    def __init__(self, url: str, kind: str, n: int, trickle_s: float = 1.0) -> None:
        host, port = url.split("//", 1)[1].rsplit(":", 1)
        self.addr = (host, int(port))
        self.kind, self.n, self.trickle_s = kind, n, trickle_s
        self.opened = self.closed_by_server = self.answered_408 = self.connect_errors = 0
        self.other_answers: Counter[str] = Counter()
        self.held_s_max = 0.0  # the longest the server kept one attacking connection open
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"attack-{kind}", daemon=True)

    def start(self, duration: float) -> None:
        self._deadline = time.monotonic() + duration
        self._thread.start()

    def join(self) -> None:
        self._thread.join(self._deadline - time.monotonic() + 30)

    def _open(self, sel: selectors.BaseSelector, state: dict[socket.socket, list[Any]]) -> None:
        try:
            sock = socket.create_connection(self.addr, timeout=5)
            sock.sendall(self.OPENINGS[self.kind])
        except OSError:
            self.connect_errors += 1
            time.sleep(0.05)  # bounded: the loop ends at the deadline whatever happens
            return
        sock.setblocking(False)
        self.opened += 1
        state[sock] = [time.monotonic(), b"", 0]  # opened at, bytes answered, trickle position
        sel.register(sock, selectors.EVENT_READ)

    def _close(self, sel: selectors.BaseSelector, state: dict[socket.socket, list[Any]],
               sock: socket.socket) -> None:
        opened, answer, _ = state.pop(sock)
        sel.unregister(sock)
        sock.close()
        self.held_s_max = max(self.held_s_max, time.monotonic() - opened)
        status = answer.split(b" ", 2)[1].decode("latin-1", "replace") if answer.count(b" ") >= 2 else ""
        if status == "408":
            self.answered_408 += 1
        elif status:
            self.other_answers[status] += 1

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        state: dict[socket.socket, list[Any]] = {}
        next_trickle = time.monotonic() + self.trickle_s
        try:
            while time.monotonic() < self._deadline and not self._stop.is_set():
                while len(state) < self.n and time.monotonic() < self._deadline:
                    self._open(sel, state)
                for key, _ in sel.select(timeout=0.1):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        data = sock.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if data:
                        state[sock][1] += data
                    else:
                        self.closed_by_server += 1
                        self._close(sel, state, sock)
                if self.kind == "trickle" and time.monotonic() >= next_trickle:
                    next_trickle += self.trickle_s
                    for sock, st in list(state.items()):
                        try:
                            sock.send(self.TRICKLE[st[2] : st[2] + 1])
                            st[2] = (st[2] + 1) % len(self.TRICKLE)
                        except OSError:
                            pass  # closed: the selector reports it
        finally:
            for sock in list(state):
                self._close(sel, state, sock)
            sel.close()

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "connections": self.n,
            "opened": self.opened,
            "closed_by_server": self.closed_by_server,
            "answered_408": self.answered_408,
            "other_answers": dict(self.other_answers),
            "connect_errors": self.connect_errors,
            "longest_held_s": round(self.held_s_max, 1),
        }


class Nesting:
    """``n`` clients posting JSON nested 100,000 deep for ``duration`` s; every answer must be a 400
    problem (no 500, no traceback)."""

    def __init__(self, url: str, n: int) -> None:
        self.url, self.n = url + "/v1/tag", n
        self.answers: Counter[str] = Counter()
        self.latencies: list[float] = []
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]

    def start(self, duration: float) -> None:
        self._deadline = time.monotonic() + duration
        for t in self._threads:
            t.start()

    def join(self) -> None:
        for t in self._threads:
            t.join(max(0.0, self._deadline - time.monotonic()) + 60)

    def _run(self) -> None:
        import requests

        for _ in range(100_000):  # bounded; the deadline ends it first
            if time.monotonic() >= self._deadline:
                return
            t0 = time.monotonic()
            try:
                r = requests.post(self.url, data=NESTED, timeout=30,
                                  headers={"Content-Type": "application/json", "Connection": "close"})
                kind = f"{r.status_code} {r.headers.get('Content-Type', '').split(';')[0]}"
            except requests.RequestException as exc:
                kind = type(exc).__name__
            self.latencies.append(time.monotonic() - t0)
            self.answers[kind] += 1

    def summary(self) -> dict[str, Any]:
        return {
            "kind": "nesting",
            "clients": self.n,
            "answers": dict(self.answers),
            "latency_ms_p50": _ms(self.latencies, 50),
            "latency_ms_p95": _ms(self.latencies, 95),
        }


def _ms(values: list[float], q: float) -> float | None:
    return round(percentile(values, q) * 1000, 1) if values else None


class Probe:
    """A normal client, two threads: ``GET /healthz`` every ``every`` s, and ``POST /v1/tag`` of a seed
    article (a new id each time: the result cache must not answer it) back to back, each on a fresh
    connection. A tag call may take ``tag_timeout`` s (a busy machine's article takes seconds);
    answers within ``limit_s`` are counted apart."""

    def __init__(self, url: str, texts: list[str], every: float = 0.5, limit_s: float = 2.0,
                 tag_timeout: float = 60.0) -> None:
        self.url, self.texts, self.every, self.limit_s = url, texts, every, limit_s
        self.tag_timeout = tag_timeout
        self.calls: dict[str, list[tuple[float, bool]]] = {"healthz": [], "tag": []}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(name,), name=f"probe-{name}", daemon=True)
                         for name in self.calls]
        self._seq = 0

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        for t in self._threads:
            t.join(self.tag_timeout + 10)
        return self.summary()

    def _call(self, name: str) -> None:
        import requests

        t0 = time.monotonic()
        try:
            if name == "healthz":
                r = requests.get(self.url + "/healthz", timeout=10, headers={"Connection": "close"})
            else:
                self._seq += 1
                text = self.texts[self._seq % len(self.texts)]
                r = requests.post(self.url + "/v1/tag", json={"id": f"probe-{self._seq}", "text": text},
                                  timeout=self.tag_timeout, headers={"Connection": "close"})
            ok = r.status_code == 200
        except requests.RequestException:
            ok = False
        self.calls[name].append((time.monotonic() - t0, ok))

    def _run(self, name: str) -> None:
        while not self._stop.is_set():
            t0 = time.monotonic()
            self._call(name)
            self._stop.wait(max(0.0, self.every - (time.monotonic() - t0)))

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, calls in self.calls.items():
            lat = [s for s, _ in calls]
            ok = [s for s, good in calls if good]
            out[name] = {
                "calls": len(calls),
                "ok": len(ok),
                f"ok_within_{self.limit_s:g}s": sum(s <= self.limit_s for s in ok),
                "p50_ms": _ms(lat, 50),
                "p95_ms": _ms(lat, 95),
                "max_ms": round(max(lat) * 1000, 1) if lat else None,
            }
        return out


def slow_clients(server: Gunicorn, texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The probe alone (baseline), then each attack in turn with the probe running."""
    cases: list[tuple[str, Any]] = [
        ("idle", lambda: Attack(server.url, "idle", args.idle)),
        ("trickle", lambda: Attack(server.url, "trickle", args.trickle)),
        ("stalled", lambda: Attack(server.url, "stalled", args.stalled)),
        ("nesting", lambda: Nesting(server.url, args.nesting)),
    ]
    probe = Probe(server.url, texts, args.probe_every)
    probe.start()
    time.sleep(args.baseline)
    out: dict[str, Any] = {"duration_s": args.slow_duration, "baseline": {"seconds": args.baseline,
                                                                          "probe": probe.stop()}}
    base = out["baseline"]["probe"]
    log(f"slow clients: baseline probe {base}")
    for name, make in cases:
        if name in args.skip_slow:
            continue
        attack = make()
        probe = Probe(server.url, texts, args.probe_every)
        attack.start(args.slow_duration)
        time.sleep(min(2.0, args.slow_duration / 4))  # the attack is in place before probing
        probe.start()
        attack.join()
        result = {"attack": attack.summary(), "probe": probe.stop()}
        for call in ("healthz", "tag"):
            b, p = base[call], result["probe"][call]
            if b["p50_ms"] and p["p50_ms"]:
                p["p50_x_baseline"] = round(p["p50_ms"] / b["p50_ms"], 2)
                p["p95_x_baseline"] = round(p["p95_ms"] / b["p95_ms"], 2)
        out[name] = result
        log(f"slow clients, {name}: {result}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_server_flags(p)
    p.add_argument("--clients", type=int, default=4, help="clients during the SIGKILL of one worker (4)")
    p.add_argument("--term-clients", type=int, default=8, help="clients during the SIGTERM (8)")
    p.add_argument("--load", type=float, default=8.0, help="seconds of load before each fault (8)")
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["slow", "kill-one", "kill-all"],
        help="skip the slow clients or a SIGKILL fault (the SIGTERM always runs: it ends the server)",
    )
    p.add_argument("--slow-duration", type=float, default=60.0,
                   help="seconds each slow-client attack lasts (60)")
    p.add_argument("--baseline", type=float, default=15.0,
                   help="seconds the probe runs alone first, the baseline of its latency ratios (15)")
    p.add_argument("--idle", type=int, default=200, help="idle half-request connections (200)")
    p.add_argument("--trickle", type=int, default=50, help="connections trickling header bytes (50)")
    p.add_argument("--stalled", type=int, default=20, help="stalled uploads (20)")
    p.add_argument("--nesting", type=int, default=2, help="clients posting JSON nested 100,000 deep (2)")
    p.add_argument("--probe-every", type=float, default=0.5, help="seconds between probe rounds (0.5)")
    p.add_argument("--skip-slow", action="append", default=[],
                   choices=["idle", "trickle", "stalled", "nesting"], help="skip one slow-client case")
    p.add_argument("--out", type=Path, default=CACHE_DIR / "fault_test.json")
    args = p.parse_args(argv)
    prepared = prepare_run(
        args, "fault", access_log=True, log_file=CACHE_DIR / f"fault-test-{os.getpid()}.log"
    )
    if prepared is None:
        return 2
    texts, settings, server, result = prepared
    log(f"gunicorn on {server.url}: {settings}; log {server.log_path}")
    server.start()
    try:
        assert server.proc is not None
        result["ready_s"] = round(server.wait_ready(args.ready_timeout), 2)
        result["all_workers_ready_s"] = round(server.wait_all_ready(args.ready_timeout), 2)
        result["rss_mib"] = list(workers_rss(server.proc.pid).values())
        result["served"] = served_model(server.url)
        if "slow" not in args.skip:
            result["slow_clients"] = slow_clients(server, texts, args)
        if "kill-one" not in args.skip:
            r = result["sigkill_one_worker"] = kill_one_worker(
                server, texts, args.clients, args.load, args.ready_timeout
            )
            log(
                f"one worker killed: replaced={r['replaced']} pid in {r['replacement_pid_after_s']} s, "
                f"ready in {r['replacement_ready_after_s']} s; "
                f"{r['served_200_while_replacing']} x 200 meanwhile; "
                f"{r['requests_failed']} requests failed ({r['failed_kinds']})"
            )
        if "kill-all" not in args.skip:
            n_ready = server.ready_lines()
            r = result["sigkill_all_workers"] = kill_all_workers(server, texts[0], args.ready_timeout)
            log(
                f"all workers killed: 200 again after {r['first_200_after_kill_s']} s "
                f"({r['probe_answers_until_then']})"
            )
            wait_for(lambda: server.ready_lines() >= n_ready + settings["WORKERS"], args.ready_timeout, 0.2)
        r = result["sigterm_under_load"] = sigterm_under_load(server, texts, args.term_clients, args.load)
        log(
            f"SIGTERM: exit {r['exit_code']} after {r['exit_after_s']} s; sent {r['requests_sent']}, "
            f"200 {r['answered_200']}, 503 {r['answered_503']}, refused {r['connection_refused']}, "
            f"reset {r['reset_without_answer']}; in flight {r['in_flight_at_sigterm']} -> "
            f"{r['in_flight_outcomes']}; lost {r['lost']}"
        )
    except Exception as exc:  # recorded in the results, which are written all the same
        result["failed"] = f"{type(exc).__name__}: {exc}"
        log(f"FAILED: {result['failed']}")
    finally:
        server.stop(60)  # already gone after the SIGTERM; a safety net when a step failed
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"results in {args.out}")
    term = result.get("sigterm_under_load", {})
    slow = {k: v for k, v in result.get("slow_clients", {}).items() if isinstance(v, dict) and "attack" in v}
    ok = (
        "failed" not in result
        # the normal client got every answer while slow clients attacked, and nesting is never a 5xx
        and all(r["probe"][c]["ok"] == r["probe"][c]["calls"]
                for r in slow.values() for c in ("healthz", "tag"))
        and not any(k.startswith("5") for r in slow.values() for k in r["attack"].get("answers", {}))
        and term.get("exit_code") == 0
        and term.get("lost") == 0
        and all(
            result[k]["replaced"] and result[k]["first_200_after_kill_s"] is not None
            for k in ("sigkill_one_worker", "sigkill_all_workers")
            if k in result
        )
    )
    print(json.dumps({k: v for k, v in result.items() if k not in ("machine",)}, indent=2)[:8000])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
