"""What ``bench.run`` prints and writes: the tables of each section, the target verdicts, the JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import throughput
from bench.common import REPO, Measurement, percentile, table

WORKLOAD_COLUMNS = [
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


def write_json(out: dict[str, Any], path: str | Path, *, partial: bool = False) -> None:
    """Write the results to ``path`` (``partial``: a checkpoint, so a run stopped half-way leaves
    what it measured)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    body = {**out, "partial": True} if partial else out
    p.write_text(json.dumps(body, indent=1, default=str) + "\n", "utf-8")


def where(path: str | Path) -> str:
    """``path`` relative to the repository when it lies inside it, else as given."""
    p = Path(path).resolve()
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(path)


def workloads(workloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Summarise and print each workload's rows against its baseline; return the summaries."""
    summary: dict[str, Any] = {}
    for wname, w in workloads.items():
        base = w["baseline"]
        rows = [m.summary(base) for m in w["rows"]]
        words = sum(a.words for a in w["articles"])
        summary[wname] = {
            "articles": len(w["articles"]),
            "passes": w["repeats"],
            "words_per_pass": words,
            "rows": rows,
        }
        print(
            f"\n== {wname}: {len(w['articles'])} articles x {w['repeats']} pass(es), "
            f"{words} words per pass; entities only, default labels"
        )
        print(table(rows, WORKLOAD_COLUMNS))
    return summary


def latency_check(
    engine: Measurement, http: Measurement, seeds: list, title: str = "1 worker"
) -> dict[str, Any]:
    """Per-article HTTP p50 over engine p50 of the turns measured together; printed and returned."""
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


def scaling(s: dict[str, Any]) -> None:
    """Print the cost-growth table and its fitted exponent."""
    print("\n== cost growth (engine tag(), entities only)")
    print(
        table(
            s["rows"],
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
        f"fitted exponent k (time ~ words^k): {s['exponent']} (model part only: {s['exponent_model_only']})"
    )


def flops(f: dict[str, Any], articles: int, threads: int) -> None:
    """Print the machine's-limit section: FLOPs per window, matmul rates, the engine's share, the
    time by part of the model."""
    prec = f["engine_precision"]
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
        f"engine on {articles} seed article(s): {f['windows']} windows, "
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
                    "g": f["useful_gflop_by_part"].get(k, "-"),
                    "r": tb["gflops"].get(k, "-"),
                    "f": _pct(tb["fraction_of_matmul_peak"].get(k)),
                }
                for k in tb["seconds"]
            ],
            [("p", "part"), ("s", "seconds"), ("sh", "share"), ("g", "GFLOP useful"), ("r", "GFLOP/s"),
             ("f", f"of {prec} peak")],
        )
    )  # fmt: skip


def variants(v: dict[str, Any]) -> None:
    """Print the engine variants table and which were kept."""
    print("\n== engine variants on the seeds (tag_many of all five; F1 by score.py's rules)")
    print(
        table(
            v["rows"],
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
    print(f"kept (faster, <= 1 F1 point lost): {v['kept'] or 'none'}")


def targets(out: dict[str, Any]) -> dict[str, Any]:
    """The verdict on each target of the performance issue, from a run's results."""
    t: dict[str, Any] = {}
    seeds = out.get("workloads", {}).get("seeds", {}).get("rows", [])
    for key, info in out.get("servers", {}).items():
        rows = [r for r in seeds if r["name"] in (f"http {key} /v1/tag", f"http {key} /v1/tag/batch")]
        if rows:
            t[f"throughput_seeds_{key.replace(' ', '_')}"] = _throughput_verdict(out, info, rows)
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


def _throughput_verdict(out: dict[str, Any], info: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """One server's best seed throughput against both baselines, and whether its output matched."""
    best = max(rows, key=lambda r: r["articles_per_s"])
    compared = ("entities_vs_engine_seeds_concurrent", "entities_vs_engine_seeds_batch")
    same = all(info.get(k, {}).get("equal", False) for k in compared)
    jac = min(info.get(k, {}).get("jaccard", 0.0) for k in compared)
    adj = best.get("x_adjacent_base")
    # The stricter of the two baselines of this run: the passes interleaved with the in-process
    # engine at the start, and the passes just before and after this server's seed workload.
    worst = min(best["x_throughput"], adj) if adj is not None else best["x_throughput"]
    eq = out.get("equal_output", {})
    fp32, shipped = eq.get("engine_entities_as_shipped_vs_fp32", {}), eq.get("precision_as_shipped")
    return (
        f"{best['x_throughput']}x the run's baseline, {adj}x the adjacent baseline ({best['name']}), "
        f"target >= 2x: {'PASS' if worst >= 2 else 'FAIL'}; same entities as the engine in-process: "
        f"{same} (jaccard {jac}); engine as shipped ({shipped}) "
        f"vs fp32: same entities {fp32.get('equal')} (jaccard {fp32.get('jaccard')})"
    )


def _pct(x: float | None) -> str:
    return f"{x:.0%}" if x is not None else "-"
