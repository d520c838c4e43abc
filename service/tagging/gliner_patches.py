"""Everything that reaches into GLiNER's internals, in one file: the one a GLiNER upgrade touches.

Three patches, applied by :func:`patch_model` after loading:

- :class:`EncoderWordSplitter` replaces GLiNER's word splitter with the news word splitter the
  embedded model was trained on, less the characters the encoder's tokenizer reads as nothing;
- :func:`install_fast_span_head` replaces the ``markerV0`` span head's forward pass with an exact
  factorisation that does far fewer multiply-adds (checked against the stock pass before use);
- :func:`install_float_logits` hands GLiNER's decoder fp32 logits whatever precision the forward
  pass ran in.

They rely on ``gliner.modeling`` internals of the pinned gliner version (``pyproject.toml``); each
checks what it patches and leaves the stock behaviour in place where the layout differs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from service.tagging.selftest import SELF_TEST_LABELS, SELF_TEST_TEXT
from service.tagging.text import NewsWordSplitter

log = logging.getLogger(__name__)


def patch_model(model: Any, *, fast: bool = True) -> bool:
    """Apply every patch to a freshly loaded GLiNER, in the order they need; return whether the fast
    span head was installed (``fast=False`` keeps GLiNER's stock span head)."""
    install_word_splitter(model)
    fast_head = install_fast_span_head(model) if fast else False
    # After the span head: the float logits wrap whichever forward pass the model ends up with.
    install_float_logits(model)
    return fast_head


def install_word_splitter(model: Any) -> None:
    """Split words as the embedded model was trained to (see :class:`EncoderWordSplitter`)."""
    model.data_processor.words_splitter = EncoderWordSplitter(model.data_processor.transformer_tokenizer)


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


def install_float_logits(model: Any) -> None:
    """Hand the decoder fp32 logits whatever the forward pass ran in: GLiNER takes the sigmoid of
    the logits as they come, and a bf16 sigmoid rounds scores to steps of 0.004 (0.9992 -> 1.0)."""
    import torch

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
