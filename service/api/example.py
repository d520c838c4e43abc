"""The example request and response in the OpenAPI document: a seed article and the real answer.

The request is the seed article ``seeds/003_090dc6e6d90a93b1.txt``, whole, with the default entity
labels and six topic labels. The response is what the service answered to it with the embedded
model; it is not written by hand. Regenerate both after a model change (then ``make spec``)::

    python -m service.api.example --write      # runs the real engine on the seed, rewrites data/example.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

SEED = "003_090dc6e6d90a93b1.txt"
TOPIC_LABELS = ["war in Ukraine", "North Korea", "Taiwan", "diplomacy", "military", "cyberattacks"]
_HERE = Path(__file__).resolve().parent
_DATA = _HERE / "data" / "example.json"

try:  # data/example.json, shipped as package data
    _EXAMPLE = json.loads(_DATA.read_text("utf-8"))
    _REQUEST, _RESPONSE = _EXAMPLE["request"], _EXAMPLE["response"]
except FileNotFoundError:  # pragma: no cover - only before the first --write
    _REQUEST, _RESPONSE = None, None

REQUEST: dict[str, Any] = _REQUEST or {}
# the default answer, as the spec shows it: timings come in Server-Timing (an older file kept them)
RESPONSE: dict[str, Any] | None = (
    {k: v for k, v in _RESPONSE.items() if k != "timings_ms"} if _RESPONSE is not None else None)


def make_request(seeds: Path) -> dict[str, Any]:
    """The example request, from the seed article."""
    from service.tagging.labels import default_labels

    return {
        "id": SEED.removesuffix(".txt"),
        "text": (seeds / SEED).read_text("utf-8"),
        "entity_labels": [lab.name for lab in default_labels().entity_labels],
        "topic_labels": TOPIC_LABELS,
    }


def run_real(request: dict[str, Any], model: str | None) -> dict[str, Any]:
    """Send ``request`` to the app running the real engine (the configured or given model)."""
    from service import create_app

    overrides: dict[str, Any] = {"LOAD_IN_BACKGROUND": False, "TIME_BUDGET_S": 600.0}
    if model:
        overrides["MODEL"] = model
    app = create_app(overrides)
    resp = app.test_client().post("/v1/tag", json=request)
    if resp.status_code != 200:
        raise SystemExit(f"the service answered {resp.status_code}: {resp.get_data(as_text=True)}")
    return resp.get_json()  # the default answer: no timings_ms, the same bytes every run


def write(request: dict[str, Any], response: dict[str, Any] | None) -> None:
    """Rewrite ``data/example.json``."""
    text = json.dumps({"request": request, "response": response}, indent=1, ensure_ascii=False)
    _DATA.write_text(text + "\n", "utf-8")


def main() -> int:
    """Print (or ``--write``) the example request and the real response."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=Path, default=_HERE.parent.parent / "seeds")
    ap.add_argument("--model", help="model folder or hub id (default: TAGGER_MODEL or the embedded model)")
    ap.add_argument("--request-only", action="store_true", help="write the request, leave RESPONSE null")
    ap.add_argument("--write", action="store_true", help="rewrite service/api/data/example.json")
    args = ap.parse_args()
    request = make_request(args.seeds)
    response = None if args.request_only else run_real(request, args.model)
    if args.write:
        write(request, response)
    else:
        json.dump({"request": request, "response": response}, sys.stdout, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
