"""Which precision the entity model runs in, and the context its forward passes run under.

The weights stay float32; on a CPU that multiplies bfloat16 natively (AVX512-BF16 or AMX) the
forward pass runs under ``torch.autocast(bfloat16)`` by default (``TAGGER_PRECISION=auto``):
matrix multiplies in bf16, layer norms and softmax in fp32. Measured on the seeds: about 1.5x the
fp32 speed, the same entities and F1 (``bench/README.md``). Where the CPU would only emulate bf16
(slower than fp32) ``auto`` stays fp32, and :func:`guard_bf16` falls back to fp32 when bf16 moves
the scores of the self-test sentence's spans (measured by
:func:`service.tagging.selftest.bf16_agrees`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")


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


def guard_bf16(chosen: str, requested: str, agrees: Callable[[], bool]) -> str:
    """``chosen``, or fp32 where ``auto`` chose bf16 and ``agrees()`` says bf16 moves the scores.

    An explicit ``TAGGER_PRECISION=bf16`` is kept (the operator asked for it), with a warning.
    """
    if chosen != "bf16" or agrees():
        return chosen
    if requested == "auto":
        log.warning("bf16 moves the self-test sentence's span scores on this machine: running in fp32")
        return "fp32"
    log.warning("bf16 moves the self-test sentence's span scores here (TAGGER_PRECISION=bf16)")
    return chosen


@contextmanager
def inference(precision: str) -> Iterator[None]:
    """No autograd, and bf16 autocast when ``precision`` is ``"bf16"``: wrap forward passes in it."""
    import torch

    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        yield
