"""bench.report: the target verdicts of a benchmark run, and where its results go."""

from __future__ import annotations

import json

import pytest

from bench import report
from bench.common import REPO

SAME = {"equal": True, "jaccard": 1.0}


def run_with_server(x_base: float, x_adjacent: float | None, *, entities: dict = SAME) -> dict:
    """A minimal run: one 1-worker server whose best seed row has these speed-ups."""
    row = {"name": "http 1w /v1/tag", "articles_per_s": 5.0, "x_throughput": x_base}
    if x_adjacent is not None:
        row["x_adjacent_base"] = x_adjacent
    return {
        "workloads": {"seeds": {"rows": [row, {"name": "naive baseline", "articles_per_s": 2.0}]}},
        "servers": {
            "1w": {
                "entities_vs_engine_seeds_concurrent": entities,
                "entities_vs_engine_seeds_batch": SAME,
            }
        },
        "equal_output": {"precision_as_shipped": "bf16", "engine_entities_as_shipped_vs_fp32": SAME},
    }


@pytest.mark.parametrize(
    ("x_base", "x_adjacent", "verdict"),
    [
        (2.5, 2.2, "PASS"),
        (2.5, 1.9, "FAIL"),  # the stricter of the two baselines decides
        (1.9, 2.5, "FAIL"),
        (2.1, None, "PASS"),  # no adjacent baseline measured: the run's own
    ],
)
def test_throughput_target_takes_the_stricter_baseline(x_base, x_adjacent, verdict):
    line = report.targets(run_with_server(x_base, x_adjacent))["throughput_seeds_1w"]
    assert f"target >= 2x: {verdict}" in line


def test_throughput_verdict_reports_unequal_entities():
    line = report.targets(run_with_server(2.5, 2.5, entities={"equal": False, "jaccard": 0.9}))[
        "throughput_seeds_1w"
    ]
    assert "same entities as the engine in-process: False (jaccard 0.9)" in line


def test_latency_cold_start_and_growth_verdicts():
    out = {
        "latency_check": {"ratio_p50_all": 1.1, "worst_ratio": 1.31},
        "servers": {
            "2w": {
                "cold_start_first_ready_s": 6.0,
                "cold_start_all_ready_s": 15.0,
                "worker_rss_mb": [700.0, 701.0],
            }
        },
        "scaling": {"exponent": 1.1},
    }
    t = report.targets(out)
    assert t["http_p50_vs_engine_one_seed"].endswith("target <= 1.3: FAIL")  # the worst article decides
    assert "target < 15 s: FAIL" in t["cold_start_2w"]  # every worker must be ready in time
    assert t["cost_growth_exponent"] == "1.1, target about 1: PASS"


def test_a_checkpoint_is_marked_partial_and_the_final_write_is_not(tmp_path):
    path = tmp_path / "deep" / "run.json"
    report.write_json({"a": 1}, path, partial=True)
    assert json.loads(path.read_text()) == {"a": 1, "partial": True}
    report.write_json({"a": 1}, path)
    assert json.loads(path.read_text()) == {"a": 1}


def test_results_default_to_the_ignored_cache_not_the_committed_folder():
    from bench.run import DEFAULT_OUT, parse_args

    assert parse_args([]).out == str(DEFAULT_OUT)
    assert report.where(DEFAULT_OUT) == ".cache/bench/latest.json"
    assert parse_args(["--out", "bench/results/x.json"]).out == "bench/results/x.json"
    assert report.where("/elsewhere/x.json") == "/elsewhere/x.json"
    assert (REPO / ".gitignore").read_text().splitlines().count("/.cache/") == 1
