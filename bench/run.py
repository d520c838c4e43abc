"""The whole benchmark in one run: same machine, model, labels and texts for every way of tagging.

    .venv/bin/python -m bench.run                 # full run (about 10 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick         # smoke run (a minute or two)

Sections (each printed as a table; everything also goes to ``bench/results/latest.json``):

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
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import flops as fl
from bench import scaling, throughput, variants
from bench.common import (
    REPO,
    RESULTS_DIR,
    Gunicorn,
    Measurement,
    bbc_articles,
    busy_processes,
    machine,
    percentile,
    seed_articles,
    table,
)

COLUMNS = [
    ("name", "mode"),
    ("articles", "articles"),
    ("wall_s", "wall s"),
    ("articles_per_s", "art/s"),
    ("words_per_s", "words/s"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
    ("x_throughput", "x base thrpt"),
    ("x_p50", "x base p50"),
    ("x_p95", "x base p95"),
    ("clients", "clients"),
    ("retries_503", "503s"),
    ("x_adjacent_base", "x adj. base"),
    ("load1", "loadavg"),
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run")
    ap.add_argument("--model", default=str(REPO / "models" / "embedded"), help="model folder (TAGGER_MODEL)")
    ap.add_argument("--bbc", type=int, default=None, help="BBC articles in the throughput set (30; quick 5)")
    ap.add_argument("--repeats", type=int, default=None, help="passes over the seeds (3; quick 1)")
    ap.add_argument("--out", default=str(RESULTS_DIR / "latest.json"), help="JSON results file")
    ap.add_argument(
        "--skip", default="", help="comma-separated sections to skip: http,scaling,flops,variants,onnx"
    )
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
    quick = args.quick
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    n_bbc = args.bbc if args.bbc is not None else (5 if quick else 30)
    reps = args.repeats if args.repeats is not None else (1 if quick else 3)
    model = str(Path(args.model).resolve())
    if not Path(model).is_dir():
        log(f"no model folder at {model}")
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    t_run = time.perf_counter()

    busy = busy_processes()
    if busy:
        log("WARNING: other processes are busy; figures will be low:\n  " + "\n  ".join(busy))
    out: dict[str, Any] = {
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": quick,
        "machine": machine(),
        "busy_processes_at_start": busy,
        "git": _git(),
    }

    import torch

    from service.tagging.engine import Tagger

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
    out["settings"] = {
        "seed_passes": reps,
        "bbc_articles": n_bbc,
        "entity_labels": "defaults",
        "topic_labels": [],
        "batch_docs": 8,
    }
    log(f"engine loaded in {load_s:.1f}s, {tagger.threads} threads")
    tagger.tag(seeds[0].text, topic_labels=[])  # warm
    # The naive baseline's model: loaded as the service loads it (float32, our word splitter, warmed
    # up) but with GLiNER's own forward pass, as a user calling predict_entities has it.
    from service.tagging.loading import load_model

    stock = load_model(model, threads=tagger.threads, run_self_test=False, fast=False, precision="fp32").model
    out["model"]["fast_span_head"] = bool(getattr(tagger.loaded, "fast_span_head", False))

    # 1. In-process: the naive baseline and the engine -------------------------------------------------
    workloads: dict[str, dict[str, Any]] = {}
    base_spans: dict[str, Any] = {}
    eng_seed_ents: dict[str, Any] = {}
    # Passes interleaved (baseline, engine, engine batch, baseline, ...), so that a change of load on
    # the machine during the run hits every mode alike.
    for wname, arts, r in (("seeds", seeds, reps), ("bbc", bbc, 1)):
        log(f"[{wname}] naive baseline and engine, {r} interleaved pass(es) ...")
        acc: dict[str, Measurement] = {}
        for _ in range(r):
            base_p, spans = throughput.naive_baseline(tagger, arts, model=stock)
            single_p, ents = throughput.engine_single(tagger, arts)
            batch_p, ents_b = throughput.engine_batch(tagger, arts, batch=8)
            parts = [base_p, single_p, batch_p]
            if wname == "seeds" and tagger.topic_scorer is not None:
                parts.append(
                    throughput.engine_single(tagger, arts, topics=True, name="engine tag() + default topics")[
                        0
                    ]
                )
            for p in parts:
                acc[p.name] = _merge(acc.get(p.name), p)
        rows = list(acc.values())
        base = rows[0]
        workloads[wname] = {"articles": arts, "repeats": r, "baseline": base, "rows": rows}
        if wname == "seeds":
            base_spans, eng_seed_ents = spans, ents
            out["equal_output"] = {"engine_tag_many_vs_tag": throughput.compare_sets(ents, ents_b)}

    # Equal output. The baseline is GLiNER in fp32; the engine ships bf16 autocast on CPUs that have it
    # (TAGGER_PRECISION=auto). Raw spans in fp32 show the engine's own path changes nothing; the
    # entities of the engine as shipped against the same engine in fp32 show what bf16 changes.
    eq = out.setdefault("equal_output", {})
    eq["precision_as_shipped"] = tagger.loaded.precision
    with variants.precision(tagger, "fp32"):
        eq["engine_raw_spans_fp32_vs_naive_baseline"] = throughput.compare_sets(
            base_spans, throughput.engine_raw_spans(tagger, seeds)
        )
        _, ents_fp32 = throughput.engine_single(tagger, seeds)
    eq["engine_raw_spans_as_shipped_vs_naive_baseline"] = throughput.compare_sets(
        base_spans, throughput.engine_raw_spans(tagger, seeds)
    )
    eq["engine_entities_as_shipped_vs_fp32"] = throughput.compare_sets(ents_fp32, eng_seed_ents)

    # 2. Variants (decide which candidate patches the patched service runs) ----------------------------
    if "variants" not in skip:
        log("[variants] ...")
        out["variants"] = variants.run_variants(
            tagger,
            seeds,
            repeats=1 if quick else 2,
            onnx=not quick and "onnx" not in skip,
            batch_sizes=(1, 8) if quick else (1, 4, 8, 16),
            stock_model=stock,
            log=log,
        )

    _checkpoint(out, args.out)
    # 3. HTTP under gunicorn ------------------------------------------------------------------------------
    servers: dict[str, Any] = {}
    # (engine in-process, HTTP 1 client) measured in turns: see throughput.interleaved_latency
    http_seed_latency: tuple[Measurement, Measurement] | None = None
    unpinned_latency: tuple[Measurement, Measurement] | None = None
    if "http" not in skip:
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
        tenv = {**env, "TAGGER_ENGINE_FACTORY": "bench.patches:unpinned_tagger"}
        if not args.no_self_test:
            plan += [("1w unpinned", 1, tenv, ("seeds",))]
        kept = out.get("variants", {}).get("kept") or []
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
        for key, workers, senv, wnames in plan:
            log(f"[http] gunicorn {key} ...")
            interleave = key in ("1w", "1w unpinned")
            info, seq, pair, before = _serve(
                model,
                workers,
                senv,
                key,
                wnames,
                workloads,
                seeds,
                eng_seed_ents,
                reps,
                args.threads,
                score=(key == "1w"),
                tagger=tagger,
                stock=stock,
                interleave=interleave,
            )
            # Baseline passes right before (server up, idle) and right after (server stopped) its
            # seed workload: the ratio to them is robust to the load of the machine drifting
            # between the in-process section and this one.
            after, _ = throughput.naive_baseline(tagger, seeds, model=stock)
            adjacent = (before.articles + after.articles) / (before.wall_s + after.wall_s)
            info["adjacent_baseline_seeds_articles_per_s"] = round(adjacent, 3)
            for row in workloads["seeds"]["rows"]:
                if row.name.startswith(f"http {key} /"):
                    row.notes["x_adjacent_base"] = round(row.articles_per_s / adjacent, 2)
            servers[key] = info
            workloads["seeds"]["rows"].append(seq)
            if key == "1w":
                http_seed_latency = pair
            if key == "1w unpinned":
                unpinned_latency = pair
    out["servers"] = servers

    # Tables -------------------------------------------------------------------------------------------------
    out["workloads"] = {}
    for wname, w in workloads.items():
        base = w["baseline"]
        summaries = [m.summary(base) for m in w["rows"]]
        out["workloads"][wname] = {
            "articles": len(w["articles"]),
            "passes": w["repeats"],
            "words_per_pass": sum(a.words for a in w["articles"]),
            "rows": summaries,
        }
        print(
            f"\n== {wname}: {len(w['articles'])} articles x {w['repeats']} pass(es), "
            f"{sum(a.words for a in w['articles'])} words per pass; entities only, default labels"
        )
        print(table(summaries, COLUMNS))
    if http_seed_latency is not None:
        out["latency_check"] = _latency_check(*http_seed_latency, seeds)
    if unpinned_latency is not None:
        out["latency_check_unpinned"] = _latency_check(
            *unpinned_latency, seeds, title="1 worker, engine not pinned (before the fix)"
        )

    _checkpoint(out, args.out)
    # 4. Cost growth ---------------------------------------------------------------------------------------
    if "scaling" not in skip:
        sizes = (1000, 2000, 5000) if quick else (1000, 5000, 20000, 100000)
        log(f"[scaling] {sizes} ...")
        out["scaling"] = scaling.cost_growth(tagger, sizes, repeats={1000: 3, 2000: 2, 5000: 2})
        print("\n== cost growth (engine tag(), entities only)")
        print(
            table(
                out["scaling"]["rows"],
                [
                    ("words", "words"),
                    ("windows", "windows"),
                    ("seconds", "seconds"),
                    ("us_per_word", "us/word"),
                    ("model_ms", "model ms"),
                    ("entities_ms", "merge ms"),
                    ("entities", "entities"),
                ],
            )
        )
        print(
            f"fitted exponent k (time ~ words^k): {out['scaling']['exponent']} "
            f"(model part only: {out['scaling']['exponent_model_only']})"
        )

    _checkpoint(out, args.out)
    # 5. FLOPs and the machine's limit ----------------------------------------------------------------------
    if "flops" not in skip:
        log("[flops] ...")
        threads = tagger.threads
        # The share is taken of the matmul rate in the precision the engine runs (bf16 autocast
        # where TAGGER_PRECISION=auto picked it): the fp32 rate would flatter a bf16 engine.
        prec = tagger.loaded.precision
        shaped = fl.model_shaped_flops(threads)
        shaped_engine = fl.model_shaped_flops(threads, precision=prec) if prec != "fp32" else shaped
        fw = fl.window_flops(tagger, seeds[:1] if quick else seeds, stock_model=stock)
        seed_set = seeds[:1] if quick else seeds
        # Rounds of (matmul rates, one engine pass) side by side: this shared machine's speed drifts
        # by up to a half within minutes, and a rate and a pass timed far apart would not compare.
        # Each round's engine pass is also split by part of the model (forward hooks; they cost a
        # few microseconds a batch), so the split belongs to the pass whose rate is reported.
        rounds: list[dict[str, float]] = []
        splits: list[dict[str, float]] = []
        with fl.PartTimer(tagger) as parts:
            for _ in range(1 if quick else 3):
                mm = {t: fl.matmul_flops(t) for t in sorted({1, threads})}
                peak = fl.matmul_flops(threads, precision="bf16") if prec == "bf16" else mm[threads]
                parts.reset()
                t0 = time.perf_counter()
                tagger.tag_many([_doc(a.text) for a in seed_set], topic_labels=[])
                dt = time.perf_counter() - t0
                rounds.append({"fp32_1": mm[1], "fp32": mm[threads], "peak": peak, "seconds": dt})
                splits.append(parts.seconds(dt))
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
        out["flops"] = {
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
                {k: round(v / 1e9, 1) if k != "seconds" else round(v, 3) for k, v in r.items()}
                for r in rounds
            ],
            "round_reported": "the median round by share of the peak",
            "time_by_part": split,
        }
        f = out["flops"]
        print("\n== the machine's limit")
        mw = f["median_window"]
        print(
            f"median window: {mw['words']} words, {mw['tokens']} sub-word tokens (label prompt included): "
            f"{mw['gflop_counted']} GFLOP counted ({mw['gflop_by_module']}, "
            f"LSTM {mw['gflop_lstm_analytic']}); "
            f"with GLiNER's stock span head {mw['gflop_counted_stock_head']} GFLOP counted, analytic "
            f"{mw['gflop_analytic_stock_head']}"
        )
        print(
            f"torch fp32 1024x1024 matmul: {f['matmul_1024_gflops']} GFLOP/s by threads; model-shaped "
            f"linear: {f['model_shaped_matmul_gflops']} GFLOP/s; in the engine's precision ({prec}), "
            f"{threads} threads: {f['matmul_1024_gflops_engine_precision']} GFLOP/s, model-shaped linear "
            f"{f['model_shaped_matmul_gflops_engine_precision']} GFLOP/s"
        )
        print(
            f"engine on {len(seed_set)} seed article(s): {f['windows']} windows, "
            f"{f['useful_gflop']} GFLOP useful "
            f"({f['executed_gflop']} executed with padding) in {f['engine_seconds_per_pass']} s = "
            f"{f['engine_useful_gflops']} GFLOP/s = {f['fraction_of_matmul_peak']:.0%} of the {prec} matmul "
            f"peak ({f['fraction_of_matmul_peak_executed']:.0%} counting padding; "
            f"{f['fraction_of_fp32_matmul_peak']:.0%} of the fp32 peak)"
        )
        tb = f["time_by_part"]
        print(f"where that pass's {tb['wall_s']} s went (forward hooks):")
        print(
            table(
                [
                    {
                        "p": k,
                        "s": tb["seconds"][k],
                        "sh": f"{tb['share'][k]:.0%}",
                        "g": fw["useful_gflop_by_part"].get(k, "-"),
                        "r": tb["gflops"].get(k, "-"),
                        "f": _pct(tb["fraction_of_matmul_peak"].get(k)),
                    }
                    for k in tb["seconds"]
                ],
                [("p", "part"), ("s", "seconds"), ("sh", "share"), ("g", "GFLOP useful"), ("r", "GFLOP/s"),
                 ("f", f"of {prec} peak")],
            )
        )  # fmt: skip

    if "variants" in out:
        print("\n== engine variants on the seeds (tag_many of all five; F1 by score.py's rules)")
        print(
            table(
                out["variants"]["rows"],
                [
                    ("name", "variant"),
                    ("articles_per_s", "art/s"),
                    ("x_throughput", "x fp32"),
                    ("p50_ms", "ms/5 docs"),
                    ("entity_f1", "entity F1"),
                    ("f1_delta_points", "F1 delta pts"),
                    ("entity_jaccard_vs_fp32", "jaccard vs fp32"),
                    ("error", "error"),
                ],
            )
        )
        print(f"kept (faster, <= 1 F1 point lost): {out['variants']['kept'] or 'none'}")

    out["targets"] = _targets(out)
    print("\n== targets")
    for k, v in out["targets"].items():
        print(f"{k}: {v}")
    out["duration_s"] = round(time.perf_counter() - t_run, 1)
    out["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nwhole run: {out['duration_s']} s; torch {torch.__version__}, {tagger.threads} threads")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1, default=str) + "\n", "utf-8")
    print(f"results: {os.path.relpath(args.out, REPO)}")
    return 0


def _serve(
    model: str,
    workers: int,
    env: dict[str, str],
    key: str,
    wnames: tuple[str, ...],
    workloads: dict[str, dict[str, Any]],
    seeds: list,
    eng_seed_ents: dict,
    reps: int,
    threads: int | None,
    *,
    score: bool,
    tagger: Any,
    stock: Any,
    interleave: bool,
) -> tuple[dict[str, Any], Measurement, tuple[Measurement, Measurement] | None, Measurement]:
    """Start gunicorn, time its cold start, measure it on ``wnames``, stop it. Returns its info, its
    one-client seed measurement, the (engine, HTTP) one-article latencies measured in turns when
    ``interleave``, and the naive baseline pass run just before its seed workload."""
    srv = Gunicorn(model, workers, env=env)
    srv.start()
    info: dict[str, Any] = {
        "workers": workers,
        "torch_threads_per_worker": threads or max(1, len(os.sched_getaffinity(0)) // workers),
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
        info["entities_vs_engine_seeds_1_client"] = throughput.compare_sets(eng_seed_ents, seq_ents)
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
        before, _ = throughput.naive_baseline(tagger, seeds, model=stock)
        for wname in wnames:
            arts, r = workloads[wname]["articles"], workloads[wname]["repeats"]
            m, ents = throughput.http_tag(
                srv.url, arts, clients=clients, repeats=r, name=f"http {key} /v1/tag"
            )
            mb, ents_b = throughput.http_batch(
                srv.url, arts, batch=8, clients=workers, repeats=r, name=f"http {key} /v1/tag/batch"
            )
            workloads[wname]["rows"] += [m, mb]
            if wname == "seeds":
                info["entities_vs_engine_seeds_concurrent"] = throughput.compare_sets(eng_seed_ents, ents)
                info["entities_vs_engine_seeds_batch"] = throughput.compare_sets(eng_seed_ents, ents_b)
        if score:
            info["score_py"] = _score_py(srv.url)
    finally:
        info["exit_code_after_sigterm"] = srv.stop()
    return info, seq, pair, before


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


def _checkpoint(out: dict[str, Any], path: str) -> None:
    """Write what is measured so far (a run stopped half-way leaves its figures)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({**out, "partial": True}, indent=1, default=str) + "\n", "utf-8")


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


def _pct(x: float | None) -> str:
    return f"{x:.0%}" if x is not None else "-"


def _doc(text: str) -> Any:
    from service.tagging.types import Document

    return Document(text)


def _latency_check(
    engine: Measurement, http: Measurement, seeds: list, title: str = "1 worker"
) -> dict[str, Any]:
    e = throughput.per_article_p50(engine, seeds)
    h = throughput.per_article_p50(http, seeds)
    ratios = {k: round(h[k] / e[k], 3) for k in e}
    overall = percentile(http.latencies_s, 50) / percentile(engine.latencies_s, 50)
    out = {
        "engine_p50_ms": e,
        "http_1w_1client_p50_ms": h,
        "ratio_per_article": ratios,
        "ratio_p50_all": round(overall, 3),
        "worst_ratio": max(ratios.values()),
    }
    print(f"\n== one seed article: HTTP ({title}, 1 client) p50 vs engine in-process p50, measured in turns")
    print(
        table(
            [{"a": k, "e": e[k], "h": h[k], "r": ratios[k]} for k in e],
            [("a", "article"), ("e", "engine ms"), ("h", "http ms"), ("r", "ratio")],
        )
    )
    return out


def _score_py(url: str) -> dict[str, Any] | None:
    """shared/eval/score.py against the running service (entities and topics, contract errors)."""
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


def _targets(out: dict[str, Any]) -> dict[str, Any]:
    t: dict[str, Any] = {}
    seeds = out.get("workloads", {}).get("seeds", {}).get("rows", [])
    for key, info in out.get("servers", {}).items():
        rows = [r for r in seeds if r["name"] in (f"http {key} /v1/tag", f"http {key} /v1/tag/batch")]
        if not rows:
            continue
        best = max(rows, key=lambda r: r["articles_per_s"])
        same = all(
            info.get(k, {}).get("equal", False)
            for k in ("entities_vs_engine_seeds_concurrent", "entities_vs_engine_seeds_batch")
        )
        jac = min(
            info.get(k, {}).get("jaccard", 0.0)
            for k in ("entities_vs_engine_seeds_concurrent", "entities_vs_engine_seeds_batch")
        )
        adj = best.get("x_adjacent_base")
        # The stricter of the two baselines of this run: the passes interleaved with the in-process
        # engine at the start, and the passes just before and after this server's seed workload.
        worst = min(best["x_throughput"], adj) if adj is not None else best["x_throughput"]
        eq = out.get("equal_output", {})
        fp32, shipped = eq.get("engine_entities_as_shipped_vs_fp32", {}), eq.get("precision_as_shipped")
        t[f"throughput_seeds_{key.replace(' ', '_')}"] = (
            f"{best['x_throughput']}x the run's baseline, {adj}x the adjacent baseline ({best['name']}), "
            f"target >= 2x: {'PASS' if worst >= 2 else 'FAIL'}; same entities as the engine in-process: "
            f"{same} (jaccard {jac}); engine as shipped ({shipped}) "
            f"vs fp32: same entities {fp32.get('equal')} (jaccard {fp32.get('jaccard')})"
        )
    lt = out.get("latency_check_unpinned")
    if lt:
        t["http_p50_vs_engine_one_seed_unpinned"] = (
            f"{lt['ratio_p50_all']} (worst article {lt['worst_ratio']}), for comparison: the engine "
            "before it was pinned to one thread"
        )
    lc = out.get("latency_check")
    if lc:
        t["http_p50_vs_engine_one_seed"] = (
            f"{lc['ratio_p50_all']} (worst article {lc['worst_ratio']}; engine and HTTP measured in "
            f"turns), target <= 1.3: {'PASS' if lc['worst_ratio'] <= 1.3 else 'FAIL'}"
        )
    for name, s in out.get("servers", {}).items():
        if "cold_start_first_ready_s" in s:
            t[f"cold_start_{name}"] = (
                f"{s['cold_start_first_ready_s']} s to first /readyz 200 (all workers "
                f"{s['cold_start_all_ready_s']} s), target < 15 s: "
                f"{'PASS' if s['cold_start_all_ready_s'] < 15 else 'FAIL'}; RSS/worker "
                f"{s['worker_rss_mb']} MiB"
            )
    if "scaling" in out:
        k = out["scaling"]["exponent"]
        t["cost_growth_exponent"] = f"{k}, target about 1: {'PASS' if 0.85 <= k <= 1.15 else 'FAIL'}"
    if "flops" in out:
        f = out["flops"]
        t["fraction_of_matmul_peak"] = (
            f"{f['fraction_of_matmul_peak']} of the {f['engine_precision']} matmul rate "
            f"({f['fraction_of_fp32_matmul_peak']} of the fp32 rate)"
        )
    return t


if __name__ == "__main__":
    sys.exit(main())
