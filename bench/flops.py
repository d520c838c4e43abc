"""The machine's limit: FLOPs of the model per window, the CPU's matmul FLOP/s, the fraction achieved.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` (matmuls, attention; a
multiply-add is 2 FLOPs) while the model tags, and cross-checked against an analytic count from the
model's config. The counter does not see the bidirectional LSTM between the encoder and the span
layer unless it shows under the ``rnn`` module (torch 2.13 counts it: its matmuls run as ``mm``); the
analytic count is added only where the counter saw none.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bench.common import Article


def _count(fn: Any) -> tuple[int, dict[str, int]]:
    """FLOPs torch counts while ``fn()`` runs, total and by top-level module of the GLiNER."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as fc:
        fn()
    by_module: dict[str, int] = {}
    for mod, ops in fc.get_flop_counts().items():
        parts = mod.split(".")
        if len(parts) == 2:  # "UniEncoderSpanModel.token_rep_layer" and its like: one level down
            by_module[parts[1]] = int(sum(ops.values()))
    return int(fc.get_total_flops()), by_module


def _gliner_config(tagger: Any) -> dict[str, int]:
    cfg = tagger.model.config
    enc = cfg.encoder_config
    get: Any = enc.get if isinstance(enc, dict) else lambda k, d=None: getattr(enc, k, d)
    return {
        "layers": int(get("num_hidden_layers")),
        "hidden": int(get("hidden_size")),
        "intermediate": int(get("intermediate_size")),
        "gliner_hidden": int(cfg.hidden_size),
        "max_width": int(cfg.max_width),
        "rnn_layers": int(getattr(cfg, "num_rnn_layers", 1) or 0),
    }


def lstm_flops(words: int, hidden: int, layers: int = 1) -> int:
    """Bidirectional LSTM of GLiNER (hidden/2 per direction): 4 gates, input and recurrent matmuls."""
    h = hidden // 2
    return layers * 2 * words * 4 * 2 * (hidden * h + h * h)


def analytic_flops(c: dict[str, int], tokens: int, words: int, labels: int) -> dict[str, int]:
    """FLOPs of one window from the config: BERT encoder over ``tokens`` sub-words (label prompt
    included), LSTM over ``words``, markerV0 span layer over words x max_width spans, label scoring."""
    L, H, F, D, K = c["layers"], c["hidden"], c["intermediate"], c["gliner_hidden"], c["max_width"]
    T, W, C = tokens, words, labels
    encoder = L * (2 * T * (4 * H * H + 2 * H * F) + 2 * 2 * T * T * H)
    lstm = lstm_flops(W, D, c["rnn_layers"])
    # project_start / project_end: D -> 4D -> D on every word; out_project: 2D -> 4D -> D on every span.
    span = 2 * (2 * W * (D * 4 * D + 4 * D * D)) + 2 * W * K * (2 * D * 4 * D + 4 * D * D)
    prompts = 2 * C * (D * 4 * D + 4 * D * D)
    scoring = 2 * W * K * C * D
    return {
        "encoder": encoder,
        "lstm": lstm,
        "span_layer": span + prompts + scoring,
        "total": encoder + lstm + span + prompts + scoring,
    }


def window_flops(tagger: Any, articles: Sequence[Article], *, stock_model: Any = None) -> dict[str, Any]:
    """FLOPs per window (counted at batch 1, no padding) over every window of ``articles``, the
    analytic cross-check on the median window, and the FLOPs the engine executes (padding included)."""
    from service.tagging.labels import default_labels
    from service.tagging.names import as_labels
    from service.tagging.text import words
    from service.tagging.types import Document

    labels = as_labels(None, default_labels().entity_labels)
    plan = tagger._plan(labels)
    model = tagger.model
    tok = tagger._tokenizer
    cfg = _gliner_config(tagger)
    per_window = []
    for art in articles:
        for w in tagger.windows(art.text):
            ws = words(w.text)
            n_tok = sum(max(1, len(tok.tokenize(x))) for x, _, _ in ws) + plan.prompt_tokens
            total, by_mod = _count(
                lambda w=w: model.inference([w.text], plan.prompts, threshold=tagger.threshold, batch_size=1)
            )
            lstm = 0 if by_mod.get("rnn") else lstm_flops(len(ws), cfg["gliner_hidden"], cfg["rnn_layers"])
            per_window.append(
                {"words": len(ws), "tokens": n_tok, "counted": total, "lstm": lstm, "by_module": by_mod,
                 "text": w.text}
            )  # fmt: skip
    useful = sum(p["counted"] + p["lstm"] for p in per_window)
    # The same work by part of the model, as time_breakdown splits the time.
    enc = sum(p["by_module"].get("token_rep_layer", 0) for p in per_window)
    rnn = sum(p["by_module"].get("rnn", 0) + p["lstm"] for p in per_window)
    by_part = {"encoder": enc, "LSTM": rnn, "span head and label scoring": useful - enc - rnn}
    median = sorted(per_window, key=lambda p: p["counted"])[len(per_window) // 2]
    analytic = analytic_flops(cfg, median["tokens"], median["words"], len(labels))
    stock = None
    if stock_model is not None:  # the same window through GLiNER's stock span head
        stock, _ = _count(
            lambda: stock_model.inference(
                [median["text"]], plan.prompts, threshold=tagger.threshold, batch_size=1
            )
        )
    docs = [Document(a.text) for a in articles]
    executed, _ = _count(lambda: tagger.tag_many(docs, topic_labels=[]))
    executed += sum(p["lstm"] for p in per_window)  # padded LSTM steps not counted: a lower bound
    return {
        "config": cfg,
        "labels": len(labels),
        "windows": len(per_window),
        "mean_window_words": round(sum(p["words"] for p in per_window) / len(per_window), 1),
        "mean_window_tokens": round(sum(p["tokens"] for p in per_window) / len(per_window), 1),
        "median_window": {
            "words": median["words"],
            "tokens": median["tokens"],
            "gflop_counted": round((median["counted"] + median["lstm"]) / 1e9, 3),
            "gflop_by_module": {k: round(v / 1e9, 3) for k, v in median["by_module"].items()},
            "gflop_lstm_analytic": round(lstm_flops(median["words"], cfg["gliner_hidden"]) / 1e9, 3),
            "gflop_analytic_stock_head": {k: round(v / 1e9, 3) for k, v in analytic.items()},
            "gflop_counted_stock_head": round((stock + median["lstm"]) / 1e9, 3) if stock else None,
        },
        "useful_gflop": round(useful / 1e9, 2),  # every window alone, no padding
        "useful_gflop_by_part": {k: round(v / 1e9, 2) for k, v in by_part.items()},
        "executed_gflop": round(executed / 1e9, 2),  # the engine's batches, padding included
    }


def matmul_flops(threads: int, *, n: int = 1024, seconds: float = 1.0, precision: str = "fp32") -> float:
    """Sustained FLOP/s of torch ``n x n`` matmuls with ``threads`` intra-op threads, in ``precision``
    ("fp32", or "bf16": what the engine's autocast multiplies in)."""
    import torch

    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = torch.randn(n, n, dtype=dtype)
        b = torch.randn(n, n, dtype=dtype)
        c = torch.empty(n, n, dtype=dtype)
        for _ in range(3):
            torch.mm(a, b, out=c)
        best = 0.0
        for _ in range(3):
            iters = 0
            t0 = time.perf_counter()
            while (dt := time.perf_counter() - t0) < seconds / 3:
                torch.mm(a, b, out=c)
                iters += 1
            best = max(best, 2 * n**3 * iters / dt)
        return best
    finally:
        torch.set_num_threads(before)


def model_shaped_flops(
    threads: int, *, rows: int = 1200, hidden: int = 384, seconds: float = 1.0, precision: str = "fp32"
) -> float:
    """FLOP/s of the model's own matmul shapes (a batch of windows: rows x hidden @ hidden x 4*hidden and
    back), as ``torch.nn.functional.linear`` runs them: fp32, or ("bf16") under the engine's bf16
    autocast, fp32 tensors in, so the casts autocast adds are counted as the engine pays them."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x = torch.randn(rows, hidden)
        w1 = torch.randn(4 * hidden, hidden)
        w2 = torch.randn(hidden, 4 * hidden)
        flop = 2 * rows * hidden * 4 * hidden * 2
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            for _ in range(3):
                torch.nn.functional.linear(torch.nn.functional.linear(x, w1), w2)
            best = 0.0
            for _ in range(3):
                iters = 0
                t0 = time.perf_counter()
                while (dt := time.perf_counter() - t0) < seconds / 3:
                    torch.nn.functional.linear(torch.nn.functional.linear(x, w1), w2)
                    iters += 1
                best = max(best, flop * iters / dt)
        return best
    finally:
        torch.set_num_threads(before)


class PartTimer:
    """Forward hooks that time the parts of the model while attached (a ``with`` block), so the
    engine passes timed for the machine's limit also say where their time went: the encoder
    (sub-words and label prompt), the LSTM, the span head with label scoring (the model's forward
    less those two), and outside the model (tokenising and batching, decoding spans, merging)."""

    def __init__(self, tagger: Any) -> None:
        inner = tagger.model.model
        self._parts = {"encoder": inner.token_rep_layer, "LSTM": inner.rnn, "model": inner}
        self._spent: dict[str, float] = {}
        self._started: dict[str, float] = {}
        self._handles: list[Any] = []

    def __enter__(self) -> PartTimer:
        for name, mod in self._parts.items():
            self._handles += [
                mod.register_forward_pre_hook(lambda _m, _a, n=name: self._start(n)),
                mod.register_forward_hook(lambda _m, _a, _o, n=name: self._stop(n)),
            ]
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _start(self, name: str) -> None:
        self._started[name] = time.perf_counter()

    def _stop(self, name: str) -> None:
        self._spent[name] = self._spent.get(name, 0.0) + time.perf_counter() - self._started[name]

    def reset(self) -> None:
        """Forget what was timed: call before each pass."""
        self._spent.clear()

    def seconds(self, wall: float) -> dict[str, float]:
        """Seconds by part of the pass(es) since :meth:`reset`, ``wall`` being their wall time."""
        s = self._spent
        enc, lstm, model = s.get("encoder", 0.0), s.get("LSTM", 0.0), s.get("model", 0.0)
        return {
            "encoder": enc,
            "LSTM": lstm,
            "span head and label scoring": model - enc - lstm,
            "outside the model": wall - model,
        }
