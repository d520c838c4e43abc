"""Load a GLiNER for serving: local folder or hub id, on CPU, patched, warmed up and self-tested.

One setting names the model: a folder on disk (the embedded default, or any model saved with
``save_pretrained``) or a Hugging Face hub id (``urchade/gliner_medium-v2.1``,
``EmergentMethods/gliner_medium_news-v2.1``, ``numind/NuNerZero`` ...). A folder loads with
``local_files_only=True``; a hub id is fetched (or read from the hub cache) and fails with an error
naming the setting when the hub cannot be reached.

The other steps of :func:`load_model` live in modules of their own: the patches to GLiNER's
internals in :mod:`service.tagging.gliner_patches`, the precision choice in
:mod:`service.tagging.precision`, the start-up self-test (and the bf16 guard's measurement) in
:mod:`service.tagging.selftest`. Their public names stay importable from here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from service.tagging.cpus import available_cpus
from service.tagging.gliner_patches import EncoderWordSplitter, install_fast_span_head, patch_model
from service.tagging.precision import PRECISIONS, guard_bf16, inference, native_bf16, resolve_precision
from service.tagging.selftest import (
    SELF_TEST_EXPECT,
    SELF_TEST_FLOOR,
    SELF_TEST_LABELS,
    SELF_TEST_TEXT,
    ModelSelfTestFailed,
    bf16_agrees,
    self_test,
)
from service.tagging.types import ModelInfo

# Names other modules and the tests import from here, kept since the split of this module.
__all__ = [
    "PRECISIONS",
    "SELF_TEST_EXPECT",
    "SELF_TEST_FLOOR",
    "SELF_TEST_LABELS",
    "SELF_TEST_TEXT",
    "EncoderWordSplitter",
    "LoadedModel",
    "ModelInfo",
    "ModelLoadError",
    "ModelSelfTestFailed",
    "bf16_agrees",
    "install_fast_span_head",
    "load_model",
    "model_info",
    "native_bf16",
    "resolve_precision",
    "self_test",
    "set_threads",
]

log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """The configured model could not be loaded."""


@dataclass
class LoadedModel:
    """A ready GLiNER with what the engine needs to know about it."""

    model: Any  # gliner.GLiNER
    info: ModelInfo
    max_len: int
    max_tokens: int  # sub-word tokens the encoder reads (text plus label prompt)
    self_test: dict[str, float]
    load_seconds: float
    fast_span_head: bool = False
    precision: str = "fp32"  # what forward passes run in: "fp32" or "bf16" (autocast)

    @contextmanager
    def inference(self) -> Iterator[None]:
        """No autograd, and bf16 autocast when :attr:`precision` is ``"bf16"``: wrap forward passes."""
        with inference(self.precision):
            yield

    @contextmanager
    def running_in(self, precision: str) -> Iterator[None]:
        """Run forward passes in ``precision`` (``"fp32"`` or ``"bf16"``) for a while (benchmarks)."""
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', not {precision!r}")
        old = self.precision
        self.precision = precision
        try:
            yield
        finally:
            self.precision = old


def set_threads(threads: int | None) -> int:
    """Set torch's intra-op threads (``None``: the CPUs this process may use); return the count."""
    import torch

    if threads is None or threads <= 0:
        threads = available_cpus()
    torch.set_num_threads(threads)
    return threads


def model_info(source: str) -> ModelInfo:
    """Name and version of the model at ``source``: from its ``recipe.json`` when there is one."""
    path = Path(source)
    recipe = path / "recipe.json"
    if recipe.is_file():
        try:
            raw = json.loads(recipe.read_text("utf-8"))
            return ModelInfo(str(raw.get("name") or path.name), str(raw.get("recipe_key") or "unversioned"))
        except (OSError, ValueError) as exc:
            log.warning("unreadable %s: %s", recipe, exc)
    if path.is_dir():
        config = path / "gliner_config.json"
        digest = hashlib.sha256(config.read_bytes()).hexdigest()[:12] if config.is_file() else "unversioned"
        return ModelInfo(path.name, digest)
    return ModelInfo(source, "hub")


def load_model(
    source: str,
    *,
    setting: str = "TAGGER_MODEL",
    threads: int | None = None,
    self_test_floor: float = SELF_TEST_FLOOR,
    run_self_test: bool = True,
    fast: bool = True,
    precision: str = "auto",
) -> LoadedModel:
    """Load, prepare, warm up and self-test the GLiNER named by ``source`` (folder or hub id).

    ``setting`` is the name of the configuration setting ``source`` came from; errors name it.
    ``precision`` is one of :data:`PRECISIONS` (see :mod:`service.tagging.precision`).
    Raises :class:`ModelLoadError` or :class:`ModelSelfTestFailed`, or ``ValueError`` for a bad
    ``precision``.
    """
    t0 = time.perf_counter()
    chosen = resolve_precision(precision)  # a bad value fails before the slow part
    set_threads(threads)
    model = _from_pretrained(source, setting)
    fast_head = patch_model(model, fast=fast)
    tokenizer = model.data_processor.transformer_tokenizer
    max_tokens = int(min(getattr(tokenizer, "model_max_length", 512) or 512, 512))
    chosen = guard_bf16(chosen, precision, lambda: bf16_agrees(model))
    loaded = LoadedModel(
        model=model,
        info=replace(model_info(source), precision=chosen),
        max_len=int(getattr(model.config, "max_len", 384)),
        max_tokens=max_tokens,
        self_test={},
        load_seconds=0.0,
        fast_span_head=fast_head,
        precision=chosen,
    )
    if run_self_test:
        loaded.self_test = self_test(model, floor=self_test_floor, precision=chosen)
    _warm_up(loaded)
    loaded.load_seconds = time.perf_counter() - t0
    log.info(
        "model %s %s loaded in %.1fs (self-test %s, fast span head %s, precision %s)",
        loaded.info.name,
        loaded.info.version,
        loaded.load_seconds,
        loaded.self_test,
        loaded.fast_span_head,
        loaded.precision,
    )
    return loaded


def _from_pretrained(source: str, setting: str) -> Any:
    """The GLiNER at ``source`` (a folder, or a hub id), float32 on CPU in eval mode."""
    import torch
    from gliner import GLiNER

    local = Path(source).is_dir()
    if not local and (source.startswith((".", "/", "~")) or os.sep in source.strip("/").replace("/", "", 1)):
        raise ModelLoadError(f"{setting}={source!r}: no such model folder")
    try:
        model = GLiNER.from_pretrained(source, local_files_only=local, map_location="cpu")
    except Exception as exc:
        where = (
            "the folder" if local else "the Hugging Face hub (is it reachable, or the model in its cache?)"
        )
        raise ModelLoadError(
            f"{setting}={source!r}: could not load a GLiNER model from {where}: {exc}"
        ) from exc
    model = model.to(dtype=torch.float32)
    model.eval()
    return model


def _warm_up(loaded: LoadedModel) -> None:
    """A full batch once, so the first request does not pay for allocator growth (nor for oneDNN's
    bf16 kernel set-up)."""
    with loaded.inference():
        loaded.model.inference([SELF_TEST_TEXT] * 8, SELF_TEST_LABELS, threshold=0.5, batch_size=8)
