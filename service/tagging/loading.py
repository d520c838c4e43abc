"""Load a GLiNER for serving: local folder or hub id, float32 on CPU, our word splitter, a self-test.

One setting names the model: a folder on disk (the embedded default, or any model saved with
``save_pretrained``) or a Hugging Face hub id (``urchade/gliner_medium-v2.1``,
``EmergentMethods/gliner_medium_news-v2.1``, ``numind/NuNerZero`` ...). A folder loads with
``local_files_only=True``; a hub id is fetched (or read from the hub cache) and fails with an error
naming the setting when the hub cannot be reached.

After loading, the model must pass a self-test on a fixed sentence before the service may become
ready: after a library upgrade GLiNER models have been seen to load without error and score every
span about 0.05, which returns nothing, silently. :func:`self_test` refuses such a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.tagging.text import NewsWordSplitter
from service.tagging.types import ModelInfo

log = logging.getLogger(__name__)

# What the self-test reads, and what it must find there (with a label from the allowed set, at or
# above the floor). Any competent GLiNER finds these at scores well over 0.5; a collapsed one
# scores them ~0.05.
SELF_TEST_TEXT = "U.S. President Joe Biden met Chinese President Xi Jinping in Lima, Peru, on Saturday."
SELF_TEST_LABELS = ["political leader", "person", "country", "organization", "location"]
SELF_TEST_EXPECT: dict[str, set[str]] = {
    "Joe Biden": {"political leader", "person"},
    "Xi Jinping": {"political leader", "person"},
    "Peru": {"country", "location"},
}
SELF_TEST_FLOOR = 0.3


class ModelLoadError(RuntimeError):
    """The configured model could not be loaded."""


class ModelSelfTestFailed(RuntimeError):
    """The model loaded but does not tag the self-test sentence: refuse to serve it."""


@dataclass
class LoadedModel:
    """A ready GLiNER with what the engine needs to know about it."""

    model: Any  # gliner.GLiNER
    info: ModelInfo
    max_len: int
    max_tokens: int  # sub-word tokens the encoder reads (text plus label prompt)
    self_test: dict[str, float]
    load_seconds: float


def set_threads(threads: int | None) -> int:
    """Set torch's intra-op threads (``None``: the CPUs this process may use); return the count."""
    import torch

    if threads is None or threads <= 0:
        try:
            threads = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            threads = os.cpu_count() or 1
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
) -> LoadedModel:
    """Load, prepare, warm up and self-test the GLiNER named by ``source`` (folder or hub id).

    ``setting`` is the name of the configuration setting ``source`` came from; errors name it.
    Raises :class:`ModelLoadError` or :class:`ModelSelfTestFailed`.
    """
    import torch
    from gliner import GLiNER

    t0 = time.perf_counter()
    set_threads(threads)
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
    model.data_processor.words_splitter = NewsWordSplitter()
    tokenizer = model.data_processor.transformer_tokenizer
    max_tokens = int(min(getattr(tokenizer, "model_max_length", 512) or 512, 512))
    loaded = LoadedModel(
        model=model,
        info=model_info(source),
        max_len=int(getattr(model.config, "max_len", 384)),
        max_tokens=max_tokens,
        self_test={},
        load_seconds=0.0,
    )
    if run_self_test:
        loaded.self_test = self_test(model, floor=self_test_floor)
    # Warm-up: a full batch once, so the first request does not pay for allocator growth.
    with torch.inference_mode():
        model.inference([SELF_TEST_TEXT] * 8, SELF_TEST_LABELS, threshold=0.5, batch_size=8)
    loaded.load_seconds = time.perf_counter() - t0
    log.info(
        "model %s %s loaded in %.1fs (self-test %s)",
        loaded.info.name,
        loaded.info.version,
        loaded.load_seconds,
        loaded.self_test,
    )
    return loaded


def self_test(model: Any, *, floor: float = SELF_TEST_FLOOR) -> dict[str, float]:
    """Tag :data:`SELF_TEST_TEXT`; raise :class:`ModelSelfTestFailed` unless every expected entity is
    found with an allowed label at a score of at least ``floor``. Returns the best score of each."""
    import torch

    with torch.inference_mode():
        found = model.inference([SELF_TEST_TEXT], SELF_TEST_LABELS, threshold=0.01, batch_size=1)[0]
    best: dict[str, float] = {}
    for name, allowed in SELF_TEST_EXPECT.items():
        scores = [float(e["score"]) for e in found if e["text"] == name and e["label"] in allowed]
        best[name] = round(max(scores, default=0.0), 3)
    top = max((float(e["score"]) for e in found), default=0.0)
    failed = {name: s for name, s in best.items() if s < floor}
    if failed:
        raise ModelSelfTestFailed(
            f"model self-test failed on {SELF_TEST_TEXT!r}: expected {sorted(SELF_TEST_EXPECT)} at score "
            f">= {floor}, got {best} (highest score of any span {top:.3f}); the model or the gliner/torch/"
            "transformers versions are broken, refusing to serve"
        )
    return best
