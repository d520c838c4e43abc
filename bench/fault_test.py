"""Fault test of the service under gunicorn, on loopback: workers killed with SIGKILL, SIGTERM under load.

    .venv/bin/python -m bench.fault_test                  # about a minute with the embedded model

One gunicorn (the project's ``gunicorn.conf.py``, 2 workers by default, JSON access log on) on
127.0.0.1 and a free port, then three faults in turn:

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
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import CACHE_DIR, Gunicorn
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
        choices=["kill-one", "kill-all"],
        help="skip a SIGKILL fault (the SIGTERM always runs: it ends the server)",
    )
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
    ok = (
        "failed" not in result
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
