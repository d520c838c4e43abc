"""Precision of the entity model: which one ``TAGGER_PRECISION`` picks, the bf16 guard, and that bf16
autocast gives the fp32 entities on a news text (the figures are in bench/README.md)."""

from __future__ import annotations

import pytest
import torch

from service.tagging import loading, precision
from service.tagging.loading import LoadedModel, ModelInfo, bf16_agrees, resolve_precision
from tests.conftest import MODEL


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_is_bf16_only_where_the_cpu_has_it(monkeypatch, native, expected):
    monkeypatch.setattr(precision, "native_bf16", lambda: native)
    assert resolve_precision("auto") == expected
    assert resolve_precision("fp32") == "fp32"
    assert resolve_precision("bf16") == "bf16"


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16")


@pytest.mark.parametrize(("precision", "autocast"), [("fp32", False), ("bf16", True)])
def test_inference_context_turns_autocast_on_for_bf16_only(precision, autocast):
    loaded = LoadedModel(None, ModelInfo("m", "1"), 384, 512, {}, 0.0, precision=precision)
    with loaded.inference():
        assert torch.is_inference_mode_enabled()
        assert torch.is_autocast_enabled("cpu") is autocast
        if autocast:
            assert torch.get_autocast_dtype("cpu") == torch.bfloat16
    assert not torch.is_autocast_enabled("cpu")


def test_running_in_switches_precision_for_a_while_and_restores_it():
    loaded = LoadedModel(None, ModelInfo("m", "1"), 384, 512, {}, 0.0, precision="bf16")
    with loaded.running_in("fp32"), loaded.inference():
        assert not torch.is_autocast_enabled("cpu")
    assert loaded.precision == "bf16"
    with pytest.raises(ValueError, match="'fp32' or 'bf16'"), loaded.running_in("auto"):
        pass


@pytest.mark.parametrize(
    ("chosen", "requested", "agrees", "expected", "asked"),
    [
        ("bf16", "auto", True, "bf16", True),
        ("bf16", "auto", False, "fp32", True),  # auto falls back
        ("bf16", "bf16", False, "bf16", True),  # asked for: kept, with a warning
        ("fp32", "auto", False, "fp32", False),  # fp32 needs no guard: the probe is not run
    ],
)
def test_bf16_guard_falls_back_only_where_auto_chose_bf16(chosen, requested, agrees, expected, asked):
    calls: list[bool] = []

    def probe() -> bool:
        calls.append(True)
        return agrees

    assert precision.guard_bf16(chosen, requested, probe) == expected
    assert bool(calls) is asked


class PrecisionSensitiveModel:
    """Scores "Peru" ``fp32`` in fp32 and ``bf16`` under bf16 autocast (absent below the threshold)."""

    def __init__(self, fp32: float, bf16: float) -> None:
        self.fp32, self.bf16 = fp32, bf16

    def inference(self, texts, labels, threshold, **kwargs):
        score = self.bf16 if torch.is_autocast_enabled("cpu") else self.fp32
        start = loading.SELF_TEST_TEXT.index("Peru")
        span = {"start": start, "end": start + 4, "text": "Peru", "label": "country", "score": score}
        return [[span] if score >= threshold else [] for _ in texts]


@pytest.mark.parametrize(
    ("fp32", "bf16", "agrees"),
    [
        (0.503, 0.497, True),  # rounding across 0.5 is not a broken bf16 path
        (0.9, 0.9, True),
        (0.1, 0.2, True),  # both under the floor: not compared
        (0.9, 0.6, False),
        (0.6, 0.05, False),  # gone under bf16
        (0.05, 0.6, False),  # appears only under bf16
    ],
)
def test_bf16_guard_compares_span_scores_of_both_precisions(fp32, bf16, agrees):
    assert bf16_agrees(PrecisionSensitiveModel(fp32, bf16)) is agrees


@pytest.mark.model
def test_auto_falls_back_to_fp32_when_bf16_changes_the_self_test_spans(monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda: True)
    monkeypatch.setattr(loading, "bf16_agrees", lambda model: False)
    auto = loading.load_model(MODEL, precision="auto", run_self_test=False)
    assert (auto.precision, auto.info.precision) == ("fp32", "fp32")
    asked = loading.load_model(MODEL, precision="bf16", run_self_test=False)
    assert (asked.precision, asked.info.precision) == ("bf16", "bf16")


NEWS = (
    "WASHINGTON (Reuters) - Secretary of State Antony Blinken will travel to Beijing next week to meet "
    "Foreign Minister Wang Yi, the State Department said on Tuesday, as Washington and China try to "
    "steady ties strained by export controls on chips and a row over Taiwan. Blinken will also meet "
    "executives of Boeing and Apple in Shanghai. Analysts at the Brookings Institution said the trip "
    "could pave the way for a summit between President Joe Biden and Xi Jinping in San Francisco, "
    "where the Asia-Pacific Economic Cooperation forum meets in November. Mexico and Canada, which "
    "face new tariffs, are watching closely; German Chancellor Olaf Scholz called for calm."
)


@pytest.mark.model
def test_bf16_finds_the_fp32_entities_on_a_news_text():
    from service.tagging.engine import Tagger

    fp32 = Tagger(MODEL, topics=False, precision="fp32", self_test=False)
    bf16 = Tagger(MODEL, precision="bf16", self_test=False)
    assert (fp32.info.precision, bf16.info.precision) == ("fp32", "bf16")
    assert bf16.topic_scorer is not None and bf16.topic_scorer.encoder.precision == "bf16"
    a = {(e.text, e.label): e.score for e in fp32.tag(NEWS, topic_labels=[]).entities}
    b = {(e.text, e.label): e.score for e in bf16.tag(NEWS, topic_labels=[]).entities}
    assert len(a) >= 8
    assert set(a) == set(b)
    # bf16 keeps 8 bits of mantissa: scores move in the second decimal at most
    assert max(abs(a[k] - b[k]) for k in a) < 0.05


@pytest.mark.model
def test_bf16_sentence_vectors_stay_close_to_fp32():
    import numpy as np

    from service.tagging.embedder import SentenceEncoder

    sentences = [s.strip() + "." for s in NEWS.split(".") if s.strip()]
    a = SentenceEncoder(precision="fp32").encode(sentences)
    b = SentenceEncoder(precision="bf16").encode(sentences)
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.99  # cosine of each sentence's two vectors
