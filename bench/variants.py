"""Engine variants, each measured on the seed articles against the engine as it ships (PyTorch with
its fast span head, in the precision ``TAGGER_PRECISION=auto`` picks on this machine): the other
precision (fp32 / bf16 autocast), batch size, torch threads, GLiNER's stock span head, int8 dynamic
quantisation by part (:mod:`bench.patches`, measured in fp32), and ONNX Runtime
(``GLiNER.export_to_onnx`` of the engine's graph, fp32 and onnxruntime's dynamic uint8 quantisation).

A variant is worth keeping only when it is faster with at most 1 point of entity F1 lost on the
seeds, F1 by the rules of ``shared/eval/score.py`` (imported, so the rules are the same code).
onnxruntime is not a dependency of the service: install it for this experiment
(``pip install --target .cache/bench-ort onnxruntime onnx`` keeps it out of the service's virtualenv,
and is where this module looks; or ``pip install onnxruntime onnx`` into the environment).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import CACHE_DIR, REPO, SEEDS_DIR, Article, Measurement
from bench.throughput import compare_sets, engine_batch

GOLD = REPO.parent / "shared" / "eval" / "seeds.gold.json"
SCORE_PY = REPO.parent / "shared" / "eval" / "score.py"
ORT_DIR = REPO / ".cache" / "bench-ort"
VARIANT_NAMES = {"int8-encoder": "int8 encoder", "int8-head": "int8 span+prompt MLPs"}


def _score_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_score", SCORE_PY)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(SCORE_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def entity_f1(tagger: Any, gold_path: Path = GOLD) -> dict[str, Any] | None:
    """Entity precision, recall and F1 of ``tagger`` on the seeds (score.py's rules, entities only)."""
    if not gold_path.is_file() or not SCORE_PY.is_file():
        return None
    score = _score_module()
    gold = json.loads(gold_path.read_text("utf-8"))
    ent_labels, top_labels = gold["entity_labels"], gold["topic_labels"]
    tot = {"ent_tp": 0, "ent_pred": 0, "ent_req": 0, "ent_req_hit": 0, "contract_errors": 0}
    for name, g in gold["documents"].items():
        text = (SEEDS_DIR / name).read_text("utf-8")
        res = tagger.tag(text, ent_labels, topic_labels=[])
        resp = {
            "entities": [
                {
                    "text": e.text,
                    "label": e.label,
                    "score": e.score,
                    "mentions": [
                        {"start": m.start, "end": m.end, "text": m.text}
                        for m in e.mentions
                        if m.field == "text"
                    ],
                }
                for e in res.entities
            ],
            "topics": [],
        }
        d = score.score_doc(text, g, resp, ent_labels, top_labels)
        for k in ("ent_tp", "ent_pred", "ent_req", "ent_req_hit"):
            tot[k] += d[k]
        tot["contract_errors"] += len(d["errors"])
    p = tot["ent_tp"] / tot["ent_pred"] if tot["ent_pred"] else 0.0
    r = tot["ent_req_hit"] / tot["ent_req"] if tot["ent_req"] else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f1, 4),
        "contract_errors": tot["contract_errors"],
    }


def _timed(tagger: Any, seeds: Sequence[Article], repeats: int, name: str) -> tuple[Measurement, dict]:
    tagger.tag(seeds[0].text, topic_labels=[])  # warm (allocator, ORT arenas)
    return engine_batch(tagger, seeds, batch=len(seeds), repeats=repeats, name=name)


def _row(
    m: Measurement,
    ref: Measurement | None,
    f1: dict | None,
    ref_f1: dict | None,
    ents: dict,
    ref_ents: dict | None,
    **extra: Any,
) -> dict[str, Any]:
    out = m.summary(ref)
    out.pop("batch", None)
    if f1 is not None:
        out["entity_f1"] = f1["f1"]
        out["entity_precision"] = f1["precision"]
        out["entity_recall"] = f1["recall"]
        if ref_f1 is not None:
            out["f1_delta_points"] = round((f1["f1"] - ref_f1["f1"]) * 100, 2)
    if ref_ents is not None:
        cmp = compare_sets(ref_ents, ents)
        out["same_entities_as_fp32"] = cmp["equal"]
        out["entity_jaccard_vs_fp32"] = cmp["jaccard"]
    out.update(extra)
    return out


def run_variants(
    tagger: Any,
    seeds: Sequence[Article],
    *,
    repeats: int = 2,
    onnx: bool = True,
    batch_sizes: Sequence[int] = (1, 4, 8, 16),
    stock_model: Any = None,
    log: Any = print,
) -> dict[str, Any]:
    """Every variant on the seeds (``tag_many`` of all five, ``repeats`` times). ``stock_model``: the
    same model without the fast span head (the naive baseline's), for the stock-head row."""
    import torch

    from bench.patches import quantize_parts, restore

    rows: list[dict[str, Any]] = []
    threads = tagger.threads
    bs0 = tagger.batch_size
    shipped = tagger.loaded.precision
    ref, ref_ents = _timed(tagger, seeds, repeats, f"{shipped} torch (as shipped)")
    ref_f1 = entity_f1(tagger)
    rows.append(_row(ref, None, ref_f1, None, ref_ents, None, batch_size=bs0, threads=threads))
    log(f"  as shipped ({shipped}): {ref.articles_per_s:.2f} art/s, F1 {ref_f1}")

    # The other precision (TAGGER_PRECISION): fp32 where the engine ships bf16 autocast, and the
    # reverse (bf16 is emulated, and slow, on CPUs without AVX512-BF16 or AMX).
    other = "fp32" if shipped == "bf16" else "bf16"
    with tagger.loaded.running_in(other):
        m, ents = _timed(tagger, seeds, repeats, f"{other} torch (TAGGER_PRECISION={other})")
        f1 = entity_f1(tagger)
    rows.append(_row(m, ref, f1, ref_f1, ents, ref_ents, batch_size=bs0, threads=threads, precision=other))
    log(f"  {other}: {m.articles_per_s:.2f} art/s, F1 {f1}")

    if stock_model is not None:
        with tagger.running_on(stock_model):
            m, ents = _timed(tagger, seeds, repeats, "GLiNER's stock span head")
            f1 = entity_f1(tagger)
        rows.append(_row(m, ref, f1, ref_f1, ents, ref_ents, batch_size=bs0, threads=threads))
        log(f"  stock span head: {m.articles_per_s:.2f} art/s")

    for bs in batch_sizes:  # windows per forward pass
        if bs == bs0:
            continue
        tagger.batch_size = bs
        m, ents = _timed(tagger, seeds, repeats, f"batch_size={bs}")
        rows.append(_row(m, ref, None, None, ents, ref_ents, batch_size=bs, threads=threads))
        log(f"  batch_size={bs}: {m.articles_per_s:.2f} art/s")
    tagger.batch_size = bs0

    if threads > 1:  # what each of 2 workers gets
        torch.set_num_threads(1)
        m, ents = _timed(tagger, seeds, repeats, "1 torch thread")
        rows.append(_row(m, ref, None, None, ents, ref_ents, batch_size=bs0, threads=1))
        torch.set_num_threads(threads)
        log(f"  1 thread: {m.articles_per_s:.2f} art/s")

    # int8 is measured against fp32: dynamically quantised Linear layers take fp32 input.
    ref32, ref32_ents = ref, ref_ents
    if shipped != "fp32":
        with tagger.loaded.running_in("fp32"):
            ref32, ref32_ents = _timed(tagger, seeds, repeats, "fp32 torch (reference of the int8 rows)")
    results: dict[tuple[str, ...], dict[str, Any]] = {}
    for combo in (("int8-head",), ("int8-encoder",), ("int8-encoder", "int8-head")):
        label = " + ".join(VARIANT_NAMES[c] for c in combo)
        undo: list = []
        try:
            t0 = time.perf_counter()
            undo = quantize_parts(tagger.model, {c.removeprefix("int8-") for c in combo})
            prep = time.perf_counter() - t0
            with tagger.loaded.running_in("fp32"):
                m, ents = _timed(tagger, seeds, repeats, label)
                f1 = entity_f1(tagger)
            row = _row(
                m, ref32, f1, ref_f1, ents, ref32_ents,
                batch_size=bs0, threads=threads, prepare_s=round(prep, 2), patches=",".join(combo),
                x_vs_shipped=round(m.articles_per_s / ref.articles_per_s, 2),
            )  # fmt: skip
            rows.append(row)
            results[combo] = row
            log(f"  {label}: {m.articles_per_s:.2f} art/s, F1 {f1}")
        except Exception as exc:  # report, do not stop the benchmark
            rows.append({"name": label, "error": f"{type(exc).__name__}: {exc}"})
        finally:
            restore(undo)

    keep = _keep(results)
    log(f"  kept: {keep or 'none'}")
    if onnx:
        rows += _onnx_rows(tagger, seeds, repeats, ref, ref_f1, ref_ents, log)
    return {"rows": rows, "reference_f1": ref_f1, "kept": keep}


def _good(row: dict[str, Any] | None) -> bool:
    """Faster than the engine as shipped (by 3% or more) with at most 1 point of entity F1 lost."""
    if row is None:
        return False
    return row.get("x_vs_shipped", 0) >= 1.03 and row.get("f1_delta_points", -99) >= -1.0


def _keep(results: dict[tuple[str, ...], dict[str, Any]]) -> list[str]:
    """The torch-side patches worth serving: the fastest combination that is faster than the engine as
    shipped with at most 1 point of entity F1 lost (``[]``: none)."""
    good = [(row["x_vs_shipped"], combo) for combo, row in results.items() if _good(row)]
    return list(max(good)[1]) if good else []


def _onnx_rows(
    tagger: Any,
    seeds: Sequence[Article],
    repeats: int,
    ref: Measurement,
    ref_f1: dict | None,
    ref_ents: dict,
    log: Any,
) -> list[dict[str, Any]]:
    """ONNX Runtime rows: the engine's graph exported (under ``no_grad``, so the fast span head is
    what gets traced), fp32 and onnxruntime's dynamic uint8 quantisation."""
    if ORT_DIR.is_dir() and str(ORT_DIR) not in sys.path:
        sys.path.append(str(ORT_DIR))  # after the environment's own packages
    try:
        import onnxruntime
    except ImportError:
        return [{"name": "onnxruntime", "error": "onnxruntime not installed (see bench/variants.py)"}]
    from gliner import GLiNER

    from service.tagging.text import NewsWordSplitter

    rows: list[dict[str, Any]] = []
    import torch

    suffix = "-fast" if getattr(tagger.loaded, "fast_span_head", False) else ""
    out_dir = CACHE_DIR / f"onnx-{tagger.info.name}-{tagger.info.version}{suffix}"
    t0 = time.perf_counter()
    if not (out_dir / "model_quantized.onnx").is_file():
        import warnings

        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                tagger.model.export_to_onnx(out_dir, quantize=True)
        except Exception as exc:
            return [{"name": "onnxruntime export", "error": f"{type(exc).__name__}: {exc}"}]
    if not (out_dir / "model_quantized.onnx").is_file():
        # gliner looks for onnxruntime.quantization when it is imported, before .cache/bench-ort is on
        # the path, and then skips quantising with a warning: quantise here, as it would.
        try:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(
                model_input=str(out_dir / "model.onnx"),
                model_output=str(out_dir / "model_quantized.onnx"),
                weight_type=QuantType.QUInt8,
            )
        except Exception as exc:
            rows.append({"name": f"onnxruntime int8{suffix}", "error": f"{type(exc).__name__}: {exc}"})
    export_s = time.perf_counter() - t0
    for fname, label in (
        ("model.onnx", f"onnxruntime fp32{suffix}"),
        ("model_quantized.onnx", f"onnxruntime int8{suffix}"),
    ):
        try:
            opts = onnxruntime.SessionOptions()
            opts.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            opts.intra_op_num_threads = tagger.threads
            ort = GLiNER.from_pretrained(
                str(out_dir),
                local_files_only=True,
                runtime="onnxruntime",
                onnx_model_file=fname,
                session_options=opts,
            )
            ort.data_processor.words_splitter = NewsWordSplitter()
            with tagger.running_on(ort):
                m, ents = _timed(tagger, seeds, repeats, label)
                f1 = entity_f1(tagger)
            rows.append(
                _row(
                    m,
                    ref,
                    f1,
                    ref_f1,
                    ents,
                    ref_ents,
                    batch_size=tagger.batch_size,
                    threads=tagger.threads,
                    prepare_s=round(export_s, 2),
                    onnxruntime=onnxruntime.__version__,
                )
            )
            log(f"  {label}: {m.articles_per_s:.2f} art/s, F1 {f1}")
        except Exception as exc:
            rows.append({"name": label, "error": f"{type(exc).__name__}: {exc}"})
    return rows
