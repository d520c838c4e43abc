"""The committed embedded model is the one the committed recipe builds, and it is portable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parent.parent / "models" / "embedded"


def test_artefact_matches_the_recipe() -> None:
    """Editing the recipe (or the word splitter it trains on) without rebuilding the model fails here."""
    from models.build import recipe_key

    meta = json.loads((MODEL / "recipe.json").read_text())
    assert meta["recipe_key"] == recipe_key(), "models/ changed: rebuild with `make model-build`"


def test_artefact_is_compact_fp16_safetensors() -> None:
    size = (MODEL / "model.safetensors").stat().st_size
    assert size <= 60 * 2**20
    assert not (MODEL / "pytorch_model.bin").exists()


def test_config_names_no_local_paths() -> None:
    """The config must load on any machine: no absolute path of the machine that trained it."""
    text = (MODEL / "gliner_config.json").read_text()
    assert "/site-packages/" not in text and "/work/" not in text and "/home/" not in text


@pytest.mark.model
def test_loads_offline_with_gliner_itself() -> None:
    """A plain ``GLiNER.from_pretrained(folder, local_files_only=True)`` loads it and finds entities."""
    from gliner import GLiNER

    from service.tagging.text import NewsWordSplitter

    model = GLiNER.from_pretrained(str(MODEL), local_files_only=True)
    model.data_processor.words_splitter = NewsWordSplitter()
    text = "Chancellor Ingrid Baumann flew from Berlin to Paris to meet officials of the European Union."
    found = {(e["text"], e["label"]) for e in
             model.predict_entities(text, ["person", "location", "organization"], threshold=0.5)}
    assert ("Ingrid Baumann", "person") in found
    assert ("Berlin", "location") in found
    assert ("European Union", "organization") in found
