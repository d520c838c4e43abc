"""Model loading without a model: errors that name the setting, and the self-test's verdicts."""

from __future__ import annotations

import pytest

from service.tagging import loading
from service.tagging.loading import ModelLoadError, ModelSelfTestFailed, model_info, self_test


class FakeModel:
    """Answers ``inference`` with fixed spans (what a healthy or a collapsed GLiNER returns)."""

    def __init__(self, spans):
        self.spans = spans

    def inference(self, texts, labels, **kwargs):
        return [list(self.spans) for _ in texts]


def spans(score: float) -> list[dict]:
    text = loading.SELF_TEST_TEXT
    out = []
    for name, label in [
        ("Joe Biden", "political leader"),
        ("Xi Jinping", "political leader"),
        ("Peru", "country"),
    ]:
        start = text.index(name)
        out.append({"start": start, "end": start + len(name), "text": name, "label": label, "score": score})
    return out


def test_self_test_passes_a_healthy_model():
    assert self_test(FakeModel(spans(0.9))) == {"Joe Biden": 0.9, "Xi Jinping": 0.9, "Peru": 0.9}


def test_self_test_refuses_collapsed_scores():
    with pytest.raises(ModelSelfTestFailed, match="refusing to serve"):
        self_test(FakeModel(spans(0.05)))


def test_self_test_refuses_wrong_labels():
    wrong = [dict(s, label="organization") for s in spans(0.9)]
    with pytest.raises(ModelSelfTestFailed):
        self_test(FakeModel(wrong))


def test_missing_folder_names_the_setting(tmp_path):
    with pytest.raises(ModelLoadError, match=r"TAGGER_MODEL=.*no such model folder"):
        loading.load_model(str(tmp_path / "nothing" / "here"), setting="TAGGER_MODEL")


def test_unreachable_hub_id_names_the_setting(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match=r"TAGGER_MODEL='example-org/no-such-gliner'.*hub"):
        loading.load_model("example-org/no-such-gliner", setting="TAGGER_MODEL")


def test_model_info_from_recipe_or_folder(tmp_path):
    (tmp_path / "recipe.json").write_text('{"name": "newsroom-gliner", "recipe_key": "abc123"}')
    assert (model_info(str(tmp_path)).name, model_info(str(tmp_path)).version) == (
        "newsroom-gliner",
        "abc123",
    )
    other = tmp_path / "plain"
    other.mkdir()
    (other / "gliner_config.json").write_text("{}")
    assert model_info(str(other)).name == "plain"
    assert model_info("urchade/gliner_medium-v2.1").name == "urchade/gliner_medium-v2.1"
