"""The recipe averages its seeds, mixes in its start and repeats itself (models/build.py)."""

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


def test_a_recipe_run_fixes_the_string_hash_salt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a fixed PYTHONHASHSEED two runs of one commit trained different weights."""
    calls = []
    monkeypatch.setattr(build.os, "execve", lambda *a: calls.append(a))
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    build.fixed_hash_seed("models.build", ["--resume"])
    ((_exe, args, env),) = calls
    assert args[1:] == ["-m", "models.build", "--resume"]
    assert env["PYTHONHASHSEED"] == build.RECIPE["python_hash_seed"]
    monkeypatch.setenv("PYTHONHASHSEED", build.RECIPE["python_hash_seed"])
    build.fixed_hash_seed("models.build", ["--resume"])
    assert len(calls) == 1


def test_the_loss_summary_skips_records_without_a_loss() -> None:
    history = [{"step": 25, "loss": 31.9}, {"step": 40, "note": "resumed"}, {"step": 50, "loss": 12.5}]
    assert build.loss_summary(history) == {"first": 31.9, "last": 12.5}
    assert build.loss_summary([]) == {"first": None, "last": None}


def test_the_wise_ft_mix_moves_each_weight_toward_the_start() -> None:
    class Model:
        model = torch.nn.Linear(2, 1, bias=False)

    m = Model()
    with torch.no_grad():
        m.model.weight.copy_(torch.tensor([[1.0, 1.0]]))
    build.interpolate(m, 0.7, {"weight": torch.tensor([[0.0, 2.0]])})
    assert torch.allclose(m.model.weight, torch.tensor([[0.7, 1.3]]))
