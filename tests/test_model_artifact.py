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


@pytest.fixture(scope="module")
def gliner_model():
    """The committed model through a plain ``GLiNER.from_pretrained(folder, local_files_only=True)``."""
    from gliner import GLiNER

    from service.tagging.text import NewsWordSplitter

    model = GLiNER.from_pretrained(str(MODEL), local_files_only=True)
    model.data_processor.words_splitter = NewsWordSplitter()
    return model


def found(model, text: str, labels: list[str]) -> set[tuple[str, str]]:
    """The (text, label) pairs the model finds at the service's default threshold."""
    return {(e["text"], e["label"]) for e in model.predict_entities(text, labels, threshold=0.5)}


@pytest.mark.model
def test_loads_offline_with_gliner_itself(gliner_model) -> None:
    """It loads offline with GLiNER's own loader and finds entities."""
    text = "Chancellor Ingrid Baumann flew from Berlin to Paris to meet officials of the European Union."
    got = found(gliner_model, text, ["person", "location", "organization"])
    assert ("Ingrid Baumann", "person") in got
    assert ("Berlin", "location") in got
    assert ("European Union", "organization") in got


@pytest.mark.model
def test_tells_a_drug_and_an_agency_apart_from_a_company(gliner_model) -> None:
    """Issue 12's first probe: "DEA" came back as a company and fentanyl not at all. Both names are
    on none of the recipe's lists (tests/test_recipe_posts.py checks), so only label reading can pass."""
    got = found(gliner_model, "Fentanyl seizures at the border rose, the DEA said.",
                ["drug", "government agency", "company"])
    assert got == {("Fentanyl", "drug"), ("DEA", "government agency")}
