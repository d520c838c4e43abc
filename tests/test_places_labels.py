"""Entity labels: one canonical order for the model, and the nearest trained concept of each label."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from service.tagging.labels import default_labels
from service.tagging.names import ConceptIndex, canonical_order, load_concepts
from service.tagging.types import Label

DEFAULTS = default_labels().entity_labels


def names(labels):
    return [lab.name for lab in labels]


def test_every_order_of_a_label_set_gives_one_order():
    labels = [Label("drug"), Label("country"), Label("US state"), Label("person"), Label("company")]
    orders = {tuple(names(canonical_order(list(p), DEFAULTS))) for p in itertools.permutations(labels)}
    assert orders == {("person", "country", "US state", "company", "drug")}


def test_the_default_labels_keep_their_default_order():
    assert names(canonical_order(list(reversed(DEFAULTS)), DEFAULTS)) == names(DEFAULTS)


class FakeEncoder:
    """Bag-of-letters vectors: deterministic, and near for names that share letters."""

    def encode(self, texts):
        out = np.zeros((len(texts), 26), dtype=np.float32)
        for i, t in enumerate(texts):
            for c in t.lower():
                if "a" <= c <= "z":
                    out[i, ord(c) - 97] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_concept_index_finds_the_nearest_concept_and_caches():
    index = ConceptIndex(FakeEncoder(), {"city": ["city", "town"], "drug": ["drug", "narcotic"]})
    got = index.nearest(["towns", "drugs", "towns"])
    assert got["towns"].concept == "city" and got["drugs"].concept == "drug"
    assert 0.85 < got["towns"].similarity <= 1.0
    assert index.nearest(["towns"]) == {"towns": got["towns"]}


def test_the_shipped_concept_inventory_has_the_documented_shape():
    inventory = load_concepts()
    if inventory is None:
        pytest.skip("no data/concepts.json in this checkout")
    assert isinstance(inventory["version"], str)
    concepts = inventory["concepts"]
    assert concepts and all(
        isinstance(k, str) and v and all(isinstance(w, str) for w in v) for k, v in concepts.items()
    )


@pytest.mark.encoder
def test_real_encoder_puts_near_names_near_their_concept():
    from service.tagging.embedder import SentenceEncoder

    inventory = load_concepts()
    if inventory is None:
        pytest.skip("no data/concepts.json in this checkout")
    index = ConceptIndex(SentenceEncoder(), inventory["concepts"])
    got = index.nearest(["town", "soccer club", "chocolate cake recipe"])
    assert got["town"].similarity > 0.6
    assert got["chocolate cake recipe"].similarity < got["town"].similarity
    assert got["soccer club"].concept in inventory["concepts"]
