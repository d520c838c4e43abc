"""The encoder trial (models/encoder_trial.py): both backbones start alike, from an untrained head."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import build, encoder_trial


def test_the_bigger_encoder_must_be_assembled_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOC_ENCODER", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make doc-encoder"):
        encoder_trial.encoder_path("mpnet")


def test_a_trial_model_has_the_pretrained_encoder_and_not_the_embedded_head() -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel

    model = build.build_model(encoder_trial.encoder_path("minilm"), 384)
    params = dict(model.named_parameters())
    pretrained = AutoModel.from_pretrained(encoder_trial.encoder_path("minilm"), local_files_only=True)
    layer = "encoder.layer.5.output.dense.weight"
    ours = next(p for n, p in params.items() if n.endswith(layer) and "token_rep_layer" in n)
    assert torch.equal(ours, dict(pretrained.named_parameters())[layer])
    root = Path(__file__).resolve().parents[1]
    embedded = load_file(str(root / "models" / "embedded" / "model.safetensors"))
    # named_parameters() prefixes "model."; the saved file does not
    heads = {n: n.removeprefix("model.") for n in params if "token_rep_layer" not in n}
    assert set(heads.values()) <= set(embedded)
    assert not any(torch.allclose(params[n].float(), embedded[k].float(), atol=1e-3)
                   for n, k in heads.items())
