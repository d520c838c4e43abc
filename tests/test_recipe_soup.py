"""The recipe averages its training seeds' weights (models/build.py ``soup``)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from models import build  # noqa: E402


def test_soup_is_the_mean_of_float_weights_and_keeps_integer_buffers() -> None:
    a = {"w": torch.tensor([1.0, 3.0]), "ids": torch.tensor([0, 1, 2])}
    b = {"w": torch.tensor([3.0, 5.0]), "ids": torch.tensor([7, 7, 7])}
    out = build.soup([a, b])
    assert torch.equal(out["w"], torch.tensor([2.0, 4.0]))
    assert torch.equal(out["ids"], a["ids"])


def test_the_recipe_trains_more_than_one_seed() -> None:
    seeds = build.RECIPE["train_seeds"]
    assert len(seeds) >= 2 and len(set(seeds)) == len(seeds)
