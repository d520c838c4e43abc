"""Candidate engine speed-ups the benchmark measures (proposals for ``service/tagging/gliner_patches.py``).

**int8 dynamic quantisation, by part.** ``GLiNER.quantize("int8")`` runs
``torch.ao.quantization.quantize_dynamic`` over the whole model and returns a *copy* of the inner
model, which drops the engine's fast span head (an instance attribute whose closure holds the fp32
modules) and so measures nothing useful. Here the quantised modules replace the fp32 ones in place,
where the fast span head reaches them by attribute:

- ``encoder``: the transformer (``model.token_rep_layer``);
- ``head``: the span layer's ``project_start`` / ``project_end`` MLPs and the label prompt MLP
  (``prompt_rep_layer``); the factorised products of the fast head stay fp32.

The benchmark keeps a part only when it is faster with at most 1 point of entity F1 lost on the
seeds (int8 in the encoder has cost 2-3 points on this model; the head about half a point).
"""

from __future__ import annotations

import warnings
from typing import Any

PARTS = ("encoder", "head")


def _targets(gliner: Any, parts: set[str]) -> list[tuple[Any, str]]:
    inner = gliner.model
    out: list[tuple[Any, str]] = []
    if "encoder" in parts:
        out.append((inner, "token_rep_layer"))
    if "head" in parts:
        marker = getattr(getattr(inner, "span_rep_layer", None), "span_rep_layer", None)
        for name in ("project_start", "project_end"):
            if hasattr(marker, name):
                out.append((marker, name))
        out.append((inner, "prompt_rep_layer"))
    return out


def quantize_parts(gliner: Any, parts: set[str] | tuple[str, ...]) -> list[tuple[Any, str, Any]]:
    """int8 dynamic quantisation (FBGEMM kernels, per-tensor weights) of the ``nn.Linear`` layers of
    the named parts, in place. Returns what :func:`restore` needs to put the fp32 modules back."""
    import torch

    undo = []
    with warnings.catch_warnings():  # torch.ao eager quantisation is deprecated, still in torch 2.13
        warnings.simplefilter("ignore")
        for obj, name in _targets(gliner, set(parts)):
            old = getattr(obj, name)
            setattr(
                obj, name, torch.ao.quantization.quantize_dynamic(old, {torch.nn.Linear}, dtype=torch.qint8)
            )
            undo.append((obj, name, old))
    return undo


def restore(undo: list[tuple[Any, str, Any]]) -> None:
    """Undo :func:`quantize_parts`."""
    for obj, name, old in reversed(undo):
        setattr(obj, name, old)


def apply_patches(tagger: Any, names: str) -> list[str]:
    """Apply ``int8-encoder`` / ``int8-head`` (comma-separated) to a loaded Tagger; what was applied."""
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    parts = {p for p in PARTS if f"int8-{p}" in wanted}
    if parts:
        quantize_parts(tagger.model, parts)
        tagger.tag(
            "U.S. President Joe Biden met Chinese President Xi Jinping in Lima, Peru.", topic_labels=[]
        )
    return sorted(f"int8-{p}" for p in parts)


def patched_tagger(config: Any) -> Any:
    """Engine factory (``TAGGER_ENGINE_FACTORY=bench.patches:patched_tagger``): the shipped engine
    (a Tagger pinned to one thread) with the patches named in ``BENCH_PATCHES``. What the service
    would serve with them; the benchmark measures it beside the shipped service."""
    import os

    from bench.common import tagger_from_config
    from service.tagging.pinned import PinnedEngine

    def build() -> Any:
        tagger = tagger_from_config(
            config,
            # int8 dynamic quantisation is measured against fp32 (its Linear layers take fp32 input)
            precision="fp32",
            self_test=os.environ.get("BENCH_SELF_TEST", "1") != "0",
        )
        apply_patches(tagger, os.environ.get("BENCH_PATCHES", ""))
        return tagger

    return PinnedEngine(build)


def unpinned_tagger(config: Any) -> Any:
    """Engine factory (``TAGGER_ENGINE_FACTORY=bench.patches:unpinned_tagger``): the Tagger as the
    service ran it before :class:`service.tagging.pinned.PinnedEngine`, loaded in the app's loading
    thread and called from gunicorn's request threads. Kept to show what pinning buys."""
    from bench.common import tagger_from_config

    return tagger_from_config(config)
