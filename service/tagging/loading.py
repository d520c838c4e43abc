"""Load a GLiNER for serving: local folder or hub id, on CPU, our word splitter, a self-test.

One setting names the model: a folder on disk (the embedded default, or any model saved with
``save_pretrained``) or a Hugging Face hub id (``urchade/gliner_medium-v2.1``,
``EmergentMethods/gliner_medium_news-v2.1``, ``numind/NuNerZero`` ...). A folder loads with
``local_files_only=True``; a hub id is fetched (or read from the hub cache) and fails with an error
naming the setting when the hub cannot be reached.

After loading, the model must pass a self-test on a fixed sentence before the service may become
ready: after a library upgrade GLiNER models have been seen to load without error and score every
span about 0.05, which returns nothing, silently. :func:`self_test` refuses such a model.

Precision: the weights stay float32; on a CPU that multiplies bfloat16 natively (AVX512-BF16 or AMX)
the forward pass runs under ``torch.autocast(bfloat16)`` by default (``TAGGER_PRECISION=auto``):
matrix multiplies in bf16, layer norms and softmax in fp32. Measured on the seeds: about 1.5x the
fp32 speed, the same entities and F1 (``bench/README.md``). Where the CPU would only emulate bf16
(slower than fp32) ``auto`` stays fp32, and it falls back to fp32 when bf16 moves the scores of the
self-test sentence's spans (:func:`bf16_agrees`).
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
PRECISIONS = ("auto", "fp32", "bf16")


class ModelLoadError(RuntimeError):
    """The configured model could not be loaded."""


class ModelSelfTestFailed(RuntimeError):
    """The model loaded but does not tag the self-test sentence: refuse to serve it."""


class EncoderWordSplitter:
    """:class:`NewsWordSplitter`'s words, less the ones the encoder's tokenizer reads as nothing.

    BERT's tokenizer drops format and control characters and lone combining marks (zero-width space,
    soft hyphen, U+0301 ...). GLiNER gives every word the vector of its first sub-word token, so a
    "word" of no tokens shifts every later word onto its neighbour's vector. Such a character is
    glued to the word it touches ("Jose\u0301" stays one word, "Bi\u00adden" becomes one word
    again) or, standing alone, skipped. On text without such characters this yields exactly the
    words of :class:`NewsWordSplitter` (the ones the model was trained on).
    """

    def __init__(self, tokenizer: Any) -> None:
        self._words = NewsWordSplitter()
        self._tokenizer = tokenizer
        self._cache: dict[str, bool] = {}

    def _empty(self, word: str) -> bool:
        if len(word) != 1 or word.isalnum():
            return False
        empty = self._cache.get(word)
        if empty is None:
            empty = self._cache[word] = not self._tokenizer.tokenize(word)
        return empty

    def __call__(self, text: str) -> Iterator[tuple[str, int, int]]:
        """Split ``text`` into ``(word, start, end)``."""
        cur: list[Any] | None = None  # [start, end] of the word being built
        glue = False  # the last piece was an empty character glued to ``cur``: the next may join too
        for word, start, end in self._words(text):
            if cur is not None and start == cur[1] and (glue or self._empty(word)):
                glue = self._empty(word)
                cur[1] = end
                continue
            glue = False
            if self._empty(word):
                continue  # a lone invisible character
            if cur is not None:
                yield text[cur[0] : cur[1]], cur[0], cur[1]
            cur = [start, end]
        if cur is not None:
            yield text[cur[0] : cur[1]], cur[0], cur[1]


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
        with _inference(self.precision):
            yield


@contextmanager
def _inference(precision: str) -> Iterator[None]:
    import torch

    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        yield


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX), where bf16 pays off."""
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # pragma: no cover - a torch without these probes
        return False


def resolve_precision(requested: str) -> str:
    """``"fp32"`` or ``"bf16"`` for a ``TAGGER_PRECISION`` value; ``auto`` is bf16 where native."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {requested!r}")
    if requested == "auto":
        return "bf16" if native_bf16() else "fp32"
    return requested


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
    fast: bool = True,
    precision: str = "auto",
) -> LoadedModel:
    """Load, prepare, warm up and self-test the GLiNER named by ``source`` (folder or hub id).

    ``setting`` is the name of the configuration setting ``source`` came from; errors name it.
    ``precision`` is one of :data:`PRECISIONS` (see the module docstring).
    Raises :class:`ModelLoadError` or :class:`ModelSelfTestFailed`, or ``ValueError`` for a bad
    ``precision``.
    """
    import torch
    from gliner import GLiNER

    t0 = time.perf_counter()
    chosen = resolve_precision(precision)
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
    model.data_processor.words_splitter = EncoderWordSplitter(model.data_processor.transformer_tokenizer)
    fast_head = install_fast_span_head(model) if fast else False
    _float_logits(model)
    tokenizer = model.data_processor.transformer_tokenizer
    max_tokens = int(min(getattr(tokenizer, "model_max_length", 512) or 512, 512))
    loaded = LoadedModel(
        model=model,
        info=model_info(source),
        max_len=int(getattr(model.config, "max_len", 384)),
        max_tokens=max_tokens,
        self_test={},
        load_seconds=0.0,
        fast_span_head=fast_head,
    )
    if chosen == "bf16" and not bf16_agrees(model):
        if precision == "auto":
            log.warning("bf16 moves the self-test sentence's span scores on this machine: running in fp32")
            chosen = "fp32"
        else:
            log.warning("bf16 moves the self-test sentence's span scores here (TAGGER_PRECISION=bf16)")
    loaded.precision = chosen
    loaded.info = replace(loaded.info, precision=chosen)
    if run_self_test:
        loaded.self_test = self_test(model, floor=self_test_floor, precision=chosen)
    # Warm-up: a full batch once, so the first request does not pay for allocator growth (nor for
    # oneDNN's bf16 kernel set-up).
    with loaded.inference():
        model.inference([SELF_TEST_TEXT] * 8, SELF_TEST_LABELS, threshold=0.5, batch_size=8)
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


def bf16_agrees(model: Any, *, floor: float = 0.3, tolerance: float = 0.05) -> bool:
    """Whether ``model`` scores the spans of :data:`SELF_TEST_TEXT` alike under bf16 autocast and in
    fp32: every span at ``floor`` or more in one is found by the other within ``tolerance``. A cheap
    guard against a CPU or library whose bf16 path is broken (bf16 moves scores by about 0.005; a
    span at 0.503 may fall under 0.5, so the guard compares scores, not thresholded sets)."""

    def scores(precision: str) -> dict[tuple[int, int, str], float]:
        with _inference(precision):
            found = model.inference(
                [SELF_TEST_TEXT], SELF_TEST_LABELS, threshold=floor - tolerance, batch_size=1
            )[0]
        return {(e["start"], e["end"], e["label"]): float(e["score"]) for e in found}

    a, b = scores("fp32"), scores("bf16")
    for key in set(a) | set(b):
        x, y = a.get(key, 0.0), b.get(key, 0.0)
        if max(x, y) >= floor and abs(x - y) > tolerance:
            return False
    return True


def self_test(model: Any, *, floor: float = SELF_TEST_FLOOR, precision: str = "fp32") -> dict[str, float]:
    """Tag :data:`SELF_TEST_TEXT`; raise :class:`ModelSelfTestFailed` unless every expected entity is
    found with an allowed label at a score of at least ``floor``. Returns the best score of each."""
    with _inference(precision):
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


# --------------------------------------------------------------------------- fast span head


def install_fast_span_head(model: Any, *, check_text: str = SELF_TEST_TEXT) -> bool:
    """Score spans with the same numbers but far fewer multiply-adds, where the model allows it.

    GLiNER's ``markerV0`` span head builds, for every span of up to ``max_width`` words, the vector
    ``out(relu([start_i ; end_j]))`` with ``out = Linear(2D, 4D) -> ReLU -> Linear(4D, D)`` and then
    takes its dot product with each label's vector ``p_c``. Both linear maps distribute:

    - ``W1 @ relu([s_i ; e_j]) + b1 = (W1a @ relu(s_i)) + (W1b @ relu(e_j) + b1)``: one product per
      *word* instead of one per *span* (a window of 100 words has 100 words but 800 spans);
    - ``(W2 @ h + b2) . p_c = h . (W2^T p_c) + b2 . p_c``: the label vectors go through ``W2`` once
      per batch instead of every span through it.

    On CPU this head cost more than the whole 6-layer encoder (profiled). The rewrite is exact up to
    float rounding; it is installed only when the model is that architecture, and only after its
    logits on ``check_text`` match the stock forward pass (else the stock pass stays). Returns
    whether it was installed.
    """
    import torch

    inner: Any = getattr(model, "model", None)
    try:
        from gliner.modeling.base import UniEncoderSpanModel
        from gliner.modeling.span_rep import SpanMarkerV0
    except ImportError:  # pragma: no cover - library layout changed
        return False
    if type(inner) is not UniEncoderSpanModel:
        return False
    marker = getattr(getattr(inner, "span_rep_layer", None), "span_rep_layer", None)
    out = getattr(marker, "out_project", None)
    if not isinstance(marker, SpanMarkerV0) or not _is_mlp(out):
        return False

    stock = inner.forward
    fast = _fast_forward(inner, marker, stock)
    with torch.inference_mode():
        inner.forward = stock
        ref = _logits(model, check_text)
        inner.forward = fast
        got = _logits(model, check_text)
    if ref.shape != got.shape or not torch.allclose(ref, got, atol=1e-3, rtol=1e-4):
        inner.forward = stock
        log.warning("fast span head disagrees with the stock forward pass: not used")
        return False
    return True


def _float_logits(model: Any) -> None:
    """Hand the decoder fp32 logits whatever the forward pass ran in: GLiNER takes the sigmoid of
    the logits as they come, and a bf16 sigmoid rounds scores to steps of 0.004 (0.9992 -> 1.0)."""
    inner: Any = getattr(model, "model", None)
    if inner is None:  # pragma: no cover - library layout changed
        return
    forward = inner.forward

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = forward(*args, **kwargs)
        logits = getattr(out, "logits", None)
        if logits is not None and logits.is_floating_point() and logits.dtype != torch.float32:
            out.logits = logits.float()
        return out

    import torch

    inner.forward = wrapped


def _is_mlp(module: Any) -> bool:
    import torch.nn as nn

    return (
        isinstance(module, nn.Sequential)
        and len(module) == 4
        and isinstance(module[0], nn.Linear)
        and isinstance(module[1], nn.ReLU)
        and isinstance(module[2], nn.Dropout)
        and isinstance(module[3], nn.Linear)
    )


def _logits(model: Any, text: str) -> Any:
    """Span logits of ``text`` with the default labels through GLiNER's own batch path; spans past
    the end of the text (which the decoder drops) are zeroed."""
    prepared = model.prepare_batch([text], SELF_TEST_LABELS)
    batch = model.collate_batch(prepared["input_x"], prepared["entity_types"])
    logits = model.run_batch(batch, threshold=0.5).logits.detach().clone()
    valid = batch["span_mask"].view(logits.shape[:3]).unsqueeze(-1).to(logits.dtype)
    return logits * valid


def _fast_forward(inner: Any, marker: Any, stock: Any) -> Any:
    """``UniEncoderSpanModel.forward`` for inference, with the factorised span head."""
    import torch
    import torch.nn.functional as F
    from gliner.modeling.outputs import GLiNERBaseOutput

    lin1, lin2 = marker.out_project[0], marker.out_project[3]
    width = marker.max_width

    def forward(
        input_ids=None,
        attention_mask=None,
        words_embedding=None,
        mask=None,
        prompts_embedding=None,
        prompts_embedding_mask=None,
        words_mask=None,
        text_lengths=None,
        span_idx=None,
        span_mask=None,
        labels=None,
        return_embeddings=False,
        **kwargs,
    ):
        if labels is not None or return_embeddings or torch.is_grad_enabled():
            return stock(
                input_ids=input_ids, attention_mask=attention_mask, words_embedding=words_embedding,
                mask=mask, prompts_embedding=prompts_embedding,
                prompts_embedding_mask=prompts_embedding_mask, words_mask=words_mask,
                text_lengths=text_lengths, span_idx=span_idx, span_mask=span_mask, labels=labels,
                return_embeddings=return_embeddings, **kwargs,
            )  # fmt: skip
        encoder_kwargs = {
            k: kwargs[k] for k in ("packing_config", "pair_attention_mask", "token_lengths", "word_lengths")
            if k in kwargs
        }  # fmt: skip
        rep = inner.get_representations(input_ids, attention_mask, text_lengths, words_mask, **encoder_kwargs)
        n_starts = span_idx.size(1) // width
        words, wmask = inner._fit_length(rep.words_embedding, rep.mask, n_starts)
        prompts, pmask = rep.prompts_embedding, rep.prompts_embedding_mask
        ctx = inner.span_rep_layer.context_encoder(words, torch.ones(words.shape[:2], dtype=torch.bool))
        d = ctx.size(-1)
        start = marker.project_start(ctx).relu()
        end = marker.project_end(ctx).relu()
        a = F.linear(start, lin1.weight[:, :d])  # B, L, 4D
        b = F.linear(end, lin1.weight[:, d:], lin1.bias)  # B, L, 4D
        p = inner.prompt_rep_layer(prompts)  # B, C, D
        qt = torch.matmul(p, lin2.weight).transpose(1, 2)  # B, 4D, C
        c = torch.matmul(p, lin2.bias)  # B, C
        # span (i, i + k) adds word i's start part to word i+k's end part: one shifted add per
        # width, no gather, and only a (B, L, 4D) block alive at a time.
        # In fp32 even under bf16 autocast: a few MFLOP a batch, and the scores keep their resolution
        # (a bf16 product rounds a span's 0.9992 to 1.0).
        with torch.autocast("cpu", enabled=False):
            a, b, qt, c = a.float(), b.float(), qt.float(), c.float()
            bsz, n = a.size(0), a.size(1)
            b = F.pad(b, (0, 0, 0, width))
            scores = a.new_empty((bsz, n, width, qt.size(-1)))
            for k in range(width):
                scores[:, :, k] = torch.bmm((a + b[:, k : k + n]).relu_(), qt)
            scores += c[:, None, None, :]
        return GLiNERBaseOutput(
            logits=scores,
            prompts_embedding=p,
            prompts_embedding_mask=pmask,
            words_embedding=words,
            mask=wmask,
        )

    return forward
