"""The start-up self-test: a loaded GLiNER must tag a fixed sentence before the service may serve it.

After a library upgrade GLiNER models have been seen to load without error and score every span
about 0.05, which returns nothing, silently. :func:`self_test` refuses such a model, and
:func:`bf16_agrees` checks on the same sentence that bf16 autocast scores its spans as fp32 does
(the measurement behind :func:`service.tagging.precision.guard_bf16`).
"""

from __future__ import annotations

from typing import Any

from service.tagging.precision import inference

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


class ModelSelfTestFailed(RuntimeError):
    """The model loaded but does not tag the self-test sentence: refuse to serve it."""


def self_test(model: Any, *, floor: float = SELF_TEST_FLOOR, precision: str = "fp32") -> dict[str, float]:
    """Tag :data:`SELF_TEST_TEXT`; raise :class:`ModelSelfTestFailed` unless every expected entity is
    found with an allowed label at a score of at least ``floor``. Returns the best score of each."""
    with inference(precision):
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


def bf16_agrees(model: Any, *, floor: float = 0.3, tolerance: float = 0.05) -> bool:
    """Whether ``model`` scores the spans of :data:`SELF_TEST_TEXT` alike under bf16 autocast and in
    fp32: every span at ``floor`` or more in one is found by the other within ``tolerance``. A cheap
    guard against a CPU or library whose bf16 path is broken (bf16 moves scores by about 0.005; a
    span at 0.503 may fall under 0.5, so the guard compares scores, not thresholded sets)."""

    def scores(precision: str) -> dict[tuple[int, int, str], float]:
        with inference(precision):
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
