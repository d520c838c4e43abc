"""Tag quality of the service as a client sees it: the seed articles scored by the shared black-box scorer.

    python -m bench.quality [--model models/embedded] [--out bench/results/quality.json]

Starts the service under gunicorn (the project's gunicorn.conf.py) on a free loopback port, waits for
``/readyz``, runs ``../shared/eval/score.py`` against it with the gold file's labels and the
service's default threshold, and stops the service with SIGTERM. Prints the scorer's report.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.common import REPO, Gunicorn

SHARED_EVAL = REPO.parent / "shared" / "eval"


def _run_scorer(cmd: list[str]) -> str:
    """score.py's stdout; its stderr (which request failed and why) in the error when it fails."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"score.py exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def score_seeds(model: str, gold: Path, texts: Path, ready_timeout: float = 300,
                request_timeout: float = 120) -> dict:
    """Run score.py against a freshly started service; returns its JSON summary and per-document detail."""
    with Gunicorn(model, workers=1) as server:
        ready_s = server.wait_ready(timeout=ready_timeout)
        import requests

        model = requests.get(server.url + "/readyz", timeout=10).json()["model"]  # name, version, precision
        cmd = [sys.executable, str(SHARED_EVAL / "score.py"), "--url", server.url, "--gold", str(gold),
               "--texts", str(texts), "--timeout", str(request_timeout)]
        report = _run_scorer(cmd)
        data = json.loads(_run_scorer([*cmd, "--json"]))
    print(report)
    return {"cold_start_s": round(ready_s, 2), "model": model, **data}


def main(argv: list[str] | None = None) -> int:
    """Score the seeds through the service and write the result as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "embedded"))
    ap.add_argument("--gold", type=Path, default=SHARED_EVAL / "seeds.gold.json")
    ap.add_argument("--texts", type=Path, default=REPO / "seeds")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "quality.json")
    # loading took 201 s on 2 cores shared with a training run and two benchmarks (2026-12-01)
    ap.add_argument("--ready-timeout", type=float, default=300, help="seconds to wait for /readyz")
    ap.add_argument("--request-timeout", type=float, default=120, help="seconds score.py waits per article")
    args = ap.parse_args(argv)
    if not args.gold.exists():
        print(f"no gold file at {args.gold}: the shared eval folder sits beside the repo", file=sys.stderr)
        return 2
    result = score_seeds(args.model, args.gold, args.texts, args.ready_timeout, args.request_timeout)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
