"""Cost growth: tagging time of texts of 1k to 100k words, and the exponent k of time ~ words^k."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from bench.common import percentile, text_of_words, word_count


def fit_exponent(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    var = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / var


def cost_growth(
    tagger: Any, sizes: Sequence[int], *, repeats: dict[int, int] | None = None
) -> dict[str, Any]:
    """Tag one text of each size (entities only, default labels); median of ``repeats[size]`` runs."""
    rows = []
    for n in sizes:
        text = text_of_words(n)
        assert word_count(text) == n, (n, word_count(text))
        times: list[float] = []
        res: Any = None
        for _ in range((repeats or {}).get(n, 1)):
            t0 = time.perf_counter()
            res = tagger.tag(text, topic_labels=[])
            times.append(time.perf_counter() - t0)
        t = percentile(times, 50)
        rows.append(
            {
                "words": n,
                "chars": len(text),
                "windows": res.coverage.chunks,
                "entities": len(res.entities),
                "runs": len(times),
                "seconds": round(t, 3),
                "us_per_word": round(t / n * 1e6, 1),
                "model_ms": res.timings_ms.get("model"),
                "entities_ms": res.timings_ms.get("entities"),
            }
        )
    k = fit_exponent([r["words"] for r in rows], [r["seconds"] for r in rows])
    k_model = None
    if all(r["model_ms"] for r in rows):
        k_model = round(fit_exponent([r["words"] for r in rows], [r["model_ms"] for r in rows]), 3)
    return {"rows": rows, "exponent": round(k, 3), "exponent_model_only": k_model}
