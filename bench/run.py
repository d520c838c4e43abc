"""The whole benchmark in one run: same machine, model, labels and texts for every way of tagging.

    .venv/bin/python -m bench.run                 # full run (about 5 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick         # smoke run (a minute or two)
    .venv/bin/python -m bench.run --out bench/results/latest.json   # a run to commit

Sections (each printed as a table; everything also goes to ``.cache/bench/latest.json``, or to the
file ``--out`` names; the committed figures under ``bench/results/`` change only when asked):

1. throughput and latency on the five seed articles and on BBC News articles: the naive baseline
   (``predict_entities`` per window), the engine in-process (``tag``, ``tag_many``), and the service
   under gunicorn with 1 and with 2 workers (``/v1/tag`` with concurrent clients, ``/v1/tag/batch``);
2. equal output: entities over HTTP vs in-process, raw spans of the engine vs the baseline;
3. HTTP latency of one seed article (one client) vs the engine in-process;
4. cold start to ready and RSS per worker;
5. cost growth over 1k-100k words and the fitted exponent;
6. FLOPs per window, the CPU's matmul FLOP/s and the fraction the engine achieves;
7. variants: batch size, threads, int8 (PyTorch), ONNX Runtime fp32/int8, with entity F1 on the seeds.

Every mode tags entities with the default entity labels and no topics (the baseline has none); the
in-process engine and the 1-worker service use all CPUs as torch threads, 2 workers one each.
Tables and target verdicts are printed by :mod:`bench.report`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import flops as fl
from bench import report, scaling, throughput, variants
from bench.common import (
    CACHE_DIR,
    REPO,
    Article,
    Gunicorn,
    Measurement,
    bbc_articles,
    busy_processes,
    machine,
    seed_articles,
)

DEFAULT_OUT = CACHE_DIR / "latest.json"
SECTIONS = ("http", "scaling", "flops", "variants", "onnx")


def log(msg: str) -> None:
    """Progress on stderr (stdout carries the tables)."""
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Bench:
    """What the sections share: the settings, the engine, the texts, and the results so far."""

    args: argparse.Namespace
    model: str
    tagger: Any
    stock: Any  # the naive baseline's GLiNER: loaded as served, with GLiNER's own forward pass
    seeds: list[Article]
    bbc: list[Article]
    out: dict[str, Any]
    # workload name -> {"articles", "repeats", "baseline", "rows"} (Measurements, tabled at the end)
    workloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    base_spans: dict[str, Any] = field(default_factory=dict)  # the baseline's raw spans on the seeds
    eng_seed_ents: dict[str, Any] = field(default_factory=dict)  # the engine's entities on the seeds

    @property
    def quick(self) -> bool:
        """A short smoke run."""
        return bool(self.args.quick)

    @property
    def reps(self) -> int:
        """Passes over the seeds."""
        return self.args.repeats if self.args.repeats is not None else (1 if self.quick else 3)

    def runs(self, section: str) -> bool:
        """Whether ``section`` is not skipped."""
        return section not in self.args.skip

    def checkpoint(self) -> None:
        """Write what is measured so far (a run stopped half-way leaves its figures)."""
        report.write_json(self.out, self.args.out, partial=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (``--help``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run")
    ap.add_argument("--model", default=str(REPO / "models" / "embedded"), help="model folder (TAGGER_MODEL)")
    ap.add_argument("--bbc", type=int, default=None, help="BBC articles in the throughput set (30; quick 5)")
    ap.add_argument("--repeats", type=int, default=None, help="passes over the seeds (3; quick 1)")
    ap.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help=f"JSON results file (default {report.where(DEFAULT_OUT)}; name a file under bench/results/ "
        "to commit a run)",
    )
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: " + ",".join(SECTIONS))
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads in-process and per worker (default: CPUs, CPUs / workers)",
    )
    ap.add_argument(
        "--no-self-test", action="store_true", help="plumbing with a model that fails the self-test"
    )
    ap.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16"),
        help="TAGGER_PRECISION of the engine in-process and of the servers (default auto, as served)",
    )
    args = ap.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every section not skipped, print the tables and the targets, write the JSON."""
    args = parse_args(argv)
    model = str(Path(args.model).resolve())
    if not Path(model).is_dir():
        log(f"no model folder at {model}")
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    t_run = time.perf_counter()

    b = prepare(args, model, argv)
    in_process(b)
    equal_output(b)
    if b.runs("variants"):
        engine_variants(b)
    b.checkpoint()
    latency, unpinned = served(b)
    b.out["workloads"] = report.workloads(b.workloads)
    if latency is not None:
        b.out["latency_check"] = report.latency_check(*latency, b.seeds)
    if unpinned is not None:
        b.out["latency_check_unpinned"] = report.latency_check(
            *unpinned, b.seeds, title="1 worker, engine not pinned (before the fix)"
        )
    b.checkpoint()
    if b.runs("scaling"):
        cost_growth(b)
    b.checkpoint()
    if b.runs("flops"):
        machine_limit(b)
    if "variants" in b.out:
        report.variants(b.out["variants"])
    finish(b, t_run)
    return 0


# --- set-up --------------------------------------------------------------------------------------------


def prepare(args: argparse.Namespace, model: str, argv: list[str] | None) -> Bench:
    """Load the texts, the engine as served and the naive baseline's model; start the results."""
    busy = busy_processes()
    if busy:
        log("WARNING: other processes are busy; figures will be low:\n  " + "\n  ".join(busy))
    out: dict[str, Any] = {
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick,
        "machine": machine(),
        "busy_processes_at_start": busy,
        "git": _git(),
    }

    from service.tagging.engine import Tagger
    from service.tagging.loading import load_model

    n_bbc = args.bbc if args.bbc is not None else (5 if args.quick else 30)
    seeds = seed_articles()
    bbc = bbc_articles(n_bbc)
    log(
        f"texts: {len(seeds)} seeds ({sum(a.words for a in seeds)} words), {len(bbc)} BBC "
        f"({sum(a.words for a in bbc)} words)"
    )

    t0 = time.perf_counter()
    tagger = Tagger(model, threads=args.threads, self_test=not args.no_self_test, precision=args.precision)
    load_s = time.perf_counter() - t0
    out["model"] = {
        "path": os.path.relpath(model, REPO),
        "name": tagger.info.name,
        "version": tagger.info.version,
        "in_process_load_s": round(load_s, 2),
        "threads": tagger.threads,
        "threshold": tagger.threshold,
        "precision": tagger.loaded.precision,
        "window_words": tagger.window_words,
        "batch_size": tagger.batch_size,
        "topic_scorer": tagger.topic_scorer is not None,
    }
    b = Bench(args=args, model=model, tagger=tagger, stock=None, seeds=seeds, bbc=bbc, out=out)
    out["settings"] = {
        "seed_passes": b.reps,
        "bbc_articles": n_bbc,
        "entity_labels": "defaults",
        "topic_labels": [],
        "batch_docs": 8,
    }
    log(f"engine loaded in {load_s:.1f}s, {tagger.threads} threads")
    tagger.tag(seeds[0].text, topic_labels=[])  # warm
    # The naive baseline's model: loaded as the service loads it (float32, our word splitter, warmed
    # up) but with GLiNER's own forward pass, as a user calling predict_entities has it.
    b.stock = load_model(
        model, threads=tagger.threads, run_self_test=False, fast=False, precision="fp32"
    ).model
    out["model"]["fast_span_head"] = bool(getattr(tagger.loaded, "fast_span_head", False))
    return b


# --- 1. in-process: the naive baseline and the engine ----------------------------------------------------


def in_process(b: Bench) -> None:
    """The naive baseline and the engine (``tag``, ``tag_many``) on the seeds and on BBC."""
    tagger = b.tagger
    # Passes interleaved (baseline, engine, engine batch, baseline, ...), so that a change of load on
    # the machine during the run hits every mode alike.
    for wname, arts, r in (("seeds", b.seeds, b.reps), ("bbc", b.bbc, 1)):
        log(f"[{wname}] naive baseline and engine, {r} interleaved pass(es) ...")
        acc: dict[str, Measurement] = {}
        for _ in range(r):
            base_p, spans = throughput.naive_baseline(tagger, arts, model=b.stock)
            single_p, ents = throughput.engine_single(tagger, arts)
            batch_p, ents_b = throughput.engine_batch(tagger, arts, batch=8)
            parts = [base_p, single_p, batch_p]
            if wname == "seeds" and tagger.topic_scorer is not None:
                topics_p, _ = throughput.engine_single(
                    tagger, arts, topics=True, name="engine tag() + default topics"
                )
                parts.append(topics_p)
            for p in parts:
                acc[p.name] = _merge(acc.get(p.name), p)
        rows = list(acc.values())
        b.workloads[wname] = {"articles": arts, "repeats": r, "baseline": rows[0], "rows": rows}
        if wname == "seeds":
            b.base_spans, b.eng_seed_ents = spans, ents
            b.out["equal_output"] = {"engine_tag_many_vs_tag": throughput.compare_sets(ents, ents_b)}


def equal_output(b: Bench) -> None:
    """Raw spans of the engine against the baseline's, and the shipped precision against fp32.

    The baseline is GLiNER in fp32; the engine ships bf16 autocast on CPUs that have it
    (TAGGER_PRECISION=auto). Raw spans in fp32 show the engine's own path changes nothing; the
    entities of the engine as shipped against the same engine in fp32 show what bf16 changes.
    """
    tagger, seeds = b.tagger, b.seeds
    eq = b.out.setdefault("equal_output", {})
    eq["precision_as_shipped"] = tagger.loaded.precision
    with tagger.loaded.running_in("fp32"):
        eq["engine_raw_spans_fp32_vs_naive_baseline"] = throughput.compare_sets(
            b.base_spans, throughput.engine_raw_spans(tagger, seeds)
        )
        _, ents_fp32 = throughput.engine_single(tagger, seeds)
    eq["engine_raw_spans_as_shipped_vs_naive_baseline"] = throughput.compare_sets(
        b.base_spans, throughput.engine_raw_spans(tagger, seeds)
    )
    eq["engine_entities_as_shipped_vs_fp32"] = throughput.compare_sets(ents_fp32, b.eng_seed_ents)


# --- 2. variants (decide which candidate patches the patched service runs) --------------------------------


def engine_variants(b: Bench) -> None:
    """Precision, batch size, threads, stock span head, int8 and ONNX rows (:mod:`bench.variants`)."""
    log("[variants] ...")
    b.out["variants"] = variants.run_variants(
        b.tagger,
        b.seeds,
        repeats=1 if b.quick else 2,
        onnx=not b.quick and b.runs("onnx"),
        batch_sizes=(1, 8) if b.quick else (1, 4, 8, 16),
        stock_model=b.stock,
        log=log,
    )


# --- 3. the service under gunicorn -----------------------------------------------------------------------

Latency = tuple[Measurement, Measurement]  # (engine in-process, HTTP 1 client), measured in turns


def served(b: Bench) -> tuple[Latency | None, Latency | None]:
    """Each server of the plan: cold start, RSS, seed and BBC workloads, equal output. Returns the
    one-article latencies in turns of the 1-worker server, pinned and unpinned."""
    servers: dict[str, Any] = {}
    b.out["servers"] = servers
    latency: Latency | None = None
    unpinned: Latency | None = None
    if not b.runs("http"):
        return latency, unpinned
    for key, workers, env, wnames in _server_plan(b):
        log(f"[http] gunicorn {key} ...")
        info, seq, pair, before = _serve(
            b, workers, env, key, wnames, score=(key == "1w"), interleave=key in ("1w", "1w unpinned")
        )
        # Baseline passes right before (server up, idle) and right after (server stopped) its
        # seed workload: the ratio to them is robust to the load of the machine drifting
        # between the in-process section and this one.
        after, _ = throughput.naive_baseline(b.tagger, b.seeds, model=b.stock)
        adjacent = (before.articles + after.articles) / (before.wall_s + after.wall_s)
        info["adjacent_baseline_seeds_articles_per_s"] = round(adjacent, 3)
        for row in b.workloads["seeds"]["rows"]:
            if row.name.startswith(f"http {key} /"):
                row.notes["x_adjacent_base"] = round(row.articles_per_s / adjacent, 2)
        servers[key] = info
        b.workloads["seeds"]["rows"].append(seq)
        if key == "1w":
            latency = pair
        if key == "1w unpinned":
            unpinned = pair
    return latency, unpinned


def _server_plan(b: Bench) -> list[tuple[str, int, dict[str, str], tuple[str, ...]]]:
    """(name, workers, environment, workloads) of each server to measure."""
    args = b.args
    env = {"TAGGER_ENGINE_FACTORY": "bench.common:tagger_without_self_test"} if args.no_self_test else {}
    env["TAGGER_PRECISION"] = args.precision
    if args.threads:
        env["TAGGER_TORCH_THREADS"] = str(args.threads)
    plan: list[tuple[str, int, dict[str, str], tuple[str, ...]]] = [
        ("1w", 1, env, ("seeds", "bbc")),
        ("2w", 2, env, ("seeds", "bbc")),
    ]
    # The engine as served before it was pinned to one thread (bench/patches.py), seeds only:
    # what pinning buys.
    if not args.no_self_test:
        plan += [
            ("1w unpinned", 1, {**env, "TAGGER_ENGINE_FACTORY": "bench.patches:unpinned_tagger"}, ("seeds",))
        ]
    kept = b.out.get("variants", {}).get("kept") or []
    if kept:
        penv = {
            **env,
            "TAGGER_ENGINE_FACTORY": "bench.patches:patched_tagger",
            "BENCH_PATCHES": ",".join(kept),
        }
        if args.no_self_test:
            penv["BENCH_SELF_TEST"] = "0"
        tag = "+".join(kept)
        plan += [(f"1w {tag}", 1, penv, ("seeds",)), (f"2w {tag}", 2, penv, ("seeds",))]
    return plan


def _serve(
    b: Bench,
    workers: int,
    env: dict[str, str],
    key: str,
    wnames: tuple[str, ...],
    *,
    score: bool,
    interleave: bool,
) -> tuple[dict[str, Any], Measurement, Latency | None, Measurement]:
    """Start gunicorn, time its cold start, measure it on ``wnames``, stop it. Returns its info, its
    one-client seed measurement, the (engine, HTTP) one-article latencies measured in turns when
    ``interleave``, and the naive baseline pass run just before its seed workload."""
    from service.tagging.cpus import available_cpus

    tagger, seeds, reps = b.tagger, b.seeds, b.reps
    srv = Gunicorn(b.model, workers, env=env)
    srv.start()
    info: dict[str, Any] = {
        "workers": workers,
        "torch_threads_per_worker": b.args.threads or max(1, available_cpus() // workers),
        "engine_factory": env.get("TAGGER_ENGINE_FACTORY", "default"),
        "patches": env.get("BENCH_PATCHES", ""),
    }
    try:
        first = srv.wait_ready(300)
        all_ready = srv.wait_all_ready(300)
        time.sleep(0.5)
        rss = srv.worker_rss_mb()
        info.update(
            {
                "cold_start_first_ready_s": round(first, 2),
                "cold_start_all_ready_s": round(all_ready, 2),
                "worker_rss_mb": rss,
                "master_rss_mb": srv.master_rss_mb(),
            }
        )
        log(f"  ready in {first:.1f}s (all workers {all_ready:.1f}s), RSS/worker {rss} MiB")
        clients = 2 * workers
        # Warm every worker: a few requests at once, not measured.
        throughput.http_tag(srv.url, seeds[:1] * (2 * workers), clients=clients, name="warm")
        seq, seq_ents = throughput.http_tag(
            srv.url, seeds, clients=1, repeats=reps, name=f"http {key} /v1/tag, 1 client"
        )
        info["entities_vs_engine_seeds_1_client"] = throughput.compare_sets(b.eng_seed_ents, seq_ents)
        pair = None
        if interleave:
            pair = throughput.interleaved_latency(
                # 9 turns per article in a full run: the worst article's median decides the target
                tagger,
                srv.url,
                seeds,
                repeats=max(3 * reps, 5),
                name=f"http {key} /v1/tag, interleaved",
            )
        before, _ = throughput.naive_baseline(tagger, seeds, model=b.stock)
        for wname in wnames:
            arts, r = b.workloads[wname]["articles"], b.workloads[wname]["repeats"]
            m, ents = throughput.http_tag(
                srv.url, arts, clients=clients, repeats=r, name=f"http {key} /v1/tag"
            )
            mb, ents_b = throughput.http_batch(
                srv.url, arts, batch=8, clients=workers, repeats=r, name=f"http {key} /v1/tag/batch"
            )
            b.workloads[wname]["rows"] += [m, mb]
            if wname == "seeds":
                info["entities_vs_engine_seeds_concurrent"] = throughput.compare_sets(b.eng_seed_ents, ents)
                info["entities_vs_engine_seeds_batch"] = throughput.compare_sets(b.eng_seed_ents, ents_b)
        if score:
            info["score_py"] = _score_py(srv.url)
    finally:
        info["exit_code_after_sigterm"] = srv.stop()
    return info, seq, pair, before


# --- 4. cost growth --------------------------------------------------------------------------------------


def cost_growth(b: Bench) -> None:
    """The engine's time over 1k-100k words and the fitted exponent."""
    sizes = (1000, 2000, 5000) if b.quick else (1000, 5000, 20000, 100000)
    log(f"[scaling] {sizes} ...")
    b.out["scaling"] = scaling.cost_growth(b.tagger, sizes, repeats={1000: 3, 2000: 2, 5000: 2})
    report.scaling(b.out["scaling"])


# --- 5. FLOPs and the machine's limit ---------------------------------------------------------------------


def machine_limit(b: Bench) -> None:
    """FLOPs per window, the matmul rates, the share of them the engine reaches, and its time by part."""
    log("[flops] ...")
    tagger = b.tagger
    threads = tagger.threads
    # The share is taken of the matmul rate in the precision the engine runs (bf16 autocast
    # where TAGGER_PRECISION=auto picked it): the fp32 rate would flatter a bf16 engine.
    prec = tagger.loaded.precision
    shaped = fl.model_shaped_flops(threads)
    shaped_engine = fl.model_shaped_flops(threads, precision=prec) if prec != "fp32" else shaped
    seed_set = b.seeds[:1] if b.quick else b.seeds
    fw = fl.window_flops(tagger, seed_set, stock_model=b.stock)
    rounds, splits = _limit_rounds(b, seed_set, prec)
    i_mid = sorted(
        range(len(rounds)),
        key=lambda i: fw["useful_gflop"] * 1e9 / rounds[i]["seconds"] / rounds[i]["peak"],
    )[len(rounds) // 2]
    mid, part_s = rounds[i_mid], splits[i_mid]
    part_gflops = {k: fw["useful_gflop_by_part"][k] / part_s[k] for k in fw["useful_gflop_by_part"]}
    split = {
        "wall_s": round(mid["seconds"], 3),
        "seconds": {k: round(v, 3) for k, v in part_s.items()},
        "share": {k: round(v / mid["seconds"], 3) for k, v in part_s.items()},
        "gflops": {k: round(v, 1) for k, v in part_gflops.items()},
        "fraction_of_matmul_peak": {k: round(v * 1e9 / mid["peak"], 3) for k, v in part_gflops.items()},
    }
    per_pass = mid["seconds"]
    peak = mid["peak"]
    achieved = fw["useful_gflop"] * 1e9 / per_pass
    achieved_exec = fw["executed_gflop"] * 1e9 / per_pass
    b.out["flops"] = {
        **fw,
        "matmul_1024_gflops": {
            "1": round(mid["fp32_1"] / 1e9, 1),
            str(threads): round(mid["fp32"] / 1e9, 1),
        },
        "model_shaped_matmul_gflops": round(shaped / 1e9, 1),
        "model_shaped_matmul_gflops_engine_precision": round(shaped_engine / 1e9, 1),
        "engine_seconds_per_pass": round(per_pass, 3),
        "engine_useful_gflops": round(achieved / 1e9, 1),
        "engine_executed_gflops": round(achieved_exec / 1e9, 1),
        "engine_precision": prec,
        "matmul_1024_gflops_engine_precision": round(peak / 1e9, 1),
        "fraction_of_matmul_peak": round(achieved / peak, 3),
        "fraction_of_matmul_peak_executed": round(achieved_exec / peak, 3),
        "fraction_of_fp32_matmul_peak": round(achieved / mid["fp32"], 3),
        "rounds": [
            {k: round(v / 1e9, 1) if k != "seconds" else round(v, 3) for k, v in r.items()} for r in rounds
        ],
        "round_reported": "the median round by share of the peak",
        "time_by_part": split,
    }
    report.flops(b.out["flops"], len(seed_set), threads)


def _limit_rounds(
    b: Bench, seed_set: list[Article], prec: str
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Rounds of (matmul rates, one engine pass) side by side, and each pass's seconds by part.

    This shared machine's speed drifts by up to a half within minutes, and a rate and a pass timed
    far apart would not compare. Each round's engine pass is also split by part of the model
    (forward hooks; they cost a few microseconds a batch), so the split belongs to the pass whose
    rate is reported.
    """
    from service.tagging.types import Document

    tagger, threads = b.tagger, b.tagger.threads
    rounds: list[dict[str, float]] = []
    splits: list[dict[str, float]] = []
    with fl.PartTimer(tagger) as parts:
        for _ in range(1 if b.quick else 3):
            mm = {t: fl.matmul_flops(t) for t in sorted({1, threads})}
            peak = fl.matmul_flops(threads, precision="bf16") if prec == "bf16" else mm[threads]
            parts.reset()
            t0 = time.perf_counter()
            tagger.tag_many([Document(a.text) for a in seed_set], topic_labels=[])
            dt = time.perf_counter() - t0
            rounds.append({"fp32_1": mm[1], "fp32": mm[threads], "peak": peak, "seconds": dt})
            splits.append(parts.seconds(dt))
    return rounds, splits


# --- the end ----------------------------------------------------------------------------------------------


def finish(b: Bench, t_run: float) -> None:
    """Print the targets, stamp the run's duration and write the results."""
    import torch

    out = b.out
    out["targets"] = report.targets(out)
    print("\n== targets")
    for k, v in out["targets"].items():
        print(f"{k}: {v}")
    out["duration_s"] = round(time.perf_counter() - t_run, 1)
    out["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nwhole run: {out['duration_s']} s; torch {torch.__version__}, {b.tagger.threads} threads")
    report.write_json(out, b.args.out)
    print(f"results: {report.where(b.args.out)}")


def _git() -> dict[str, Any]:
    """The commit measured, and whether the engine or service code differed from it."""

    def run(*cmd: str) -> str:
        try:
            return subprocess.run(
                ["git", *cmd], cwd=REPO, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "head": run("rev-parse", "--short", "HEAD"),
        "dirty": run("status", "--short", "service", "gunicorn.conf.py"),
    }


def _merge(into: Measurement | None, part: Measurement) -> Measurement:
    """Two passes of one mode as one measurement."""
    if into is None:
        return part
    into.articles += part.articles
    into.words += part.words
    into.wall_s += part.wall_s
    into.latencies_s += part.latencies_s
    into.notes.update(part.notes)
    return into


def _score_py(url: str) -> dict[str, Any] | None:
    """shared/eval/score.py against the running service (entities and topics, contract errors)."""
    import json

    if not variants.SCORE_PY.is_file():
        return None
    cmd = [
        sys.executable,
        str(variants.SCORE_PY),
        "--url",
        url,
        "--gold",
        str(variants.GOLD),
        "--texts",
        str(REPO / "seeds"),
        "--json",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        return {"error": p.stderr[-500:]}
    return json.loads(p.stdout)["summary"]


if __name__ == "__main__":
    sys.exit(main())
