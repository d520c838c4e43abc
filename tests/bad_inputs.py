"""README's bad-input table: each bad request tried, and the status and problem title it gets.

``python tests/bad_inputs.py`` sends every case to the app (with the engine test double) and prints
the Markdown table; ``tests/test_api_bad_inputs.py`` asserts every row, so the table cannot drift.
"""

from __future__ import annotations

import gzip
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEXT = "Joe Biden met Xi Jinping in Lima, Peru."


@dataclass(frozen=True)
class Case:
    """One bad request and what it must get."""

    what: str
    status: int
    title: str
    method: str = "POST"
    path: str = "/v1/tag"
    body: Any = None  # JSON-encoded unless ``raw`` is given
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case('body is not JSON (`{"text": `)', 400, "Malformed JSON", raw=b'{"text": '),
    Case(
        "body is not UTF-8 (Latin-1 bytes)", 400, "Malformed JSON", raw='{"text": "café"}'.encode("latin-1")
    ),
    Case("`NaN` or `Infinity` as a number", 400, "Malformed JSON", raw=b'{"text": "a", "threshold": NaN}'),
    Case(
        "arrays nested 100,000 deep (`[[[...]]]`)",
        400,
        "Malformed JSON",
        raw=b"[" * 100_000 + b"]" * 100_000,
    ),
    Case("the same key twice in an object", 400, "Malformed JSON", raw=b'{"text": "a", "text": "b"}'),
    Case(
        "`Content-Encoding: gzip` body that is not gzip",
        400,
        "Bad Request",
        raw=b'{"text": "a"}',
        headers={"Content-Encoding": "gzip"},
    ),
    Case(
        "no `Authorization` when API keys are set",
        401,
        "Unauthorized",
        body={"text": TEXT},
        config={"API_KEYS": "k"},
    ),
    Case(
        "wrong API key",
        401,
        "Unauthorized",
        body={"text": TEXT},
        headers={"Authorization": "Bearer nope"},
        config={"API_KEYS": "k"},
    ),
    Case(
        "CORS preflight from an origin not allowed",
        403,
        "Origin not allowed",
        method="OPTIONS",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
        config={"CORS_ORIGINS": "https://cms.example"},
    ),
    Case(
        "CORS preflight for a method the path does not take (`DELETE /v1/tag`)",
        405,
        "Method Not Allowed",
        method="OPTIONS",
        headers={"Origin": "https://cms.example", "Access-Control-Request-Method": "DELETE"},
        config={"CORS_ORIGINS": "https://cms.example"},
    ),
    Case(
        "CORS preflight for an unknown path",
        404,
        "Not Found",
        method="OPTIONS",
        path="/v1/nope",
        headers={"Origin": "https://cms.example", "Access-Control-Request-Method": "POST"},
        config={"CORS_ORIGINS": "https://cms.example"},
    ),
    Case("unknown path (`/v2/tag`)", 404, "Not Found", method="GET", path="/v2/tag"),
    Case(
        "doubled slash (`/docs//x`): no redirect to the `Host` header",
        404,
        "Not Found",
        method="GET",
        path="/docs//x",
        headers={"Host": "evil.example"},
    ),
    Case("wrong method (`GET /v1/tag`)", 405, "Method Not Allowed", method="GET"),
    Case(
        "body over `TAGGER_MAX_BODY_BYTES` (2 MiB)",
        413,
        "Request body too large",
        body={"text": "x" * (2 * 1024 * 1024 + 1)},
    ),
    Case(
        "gzip body that decompresses past the body limit",
        413,
        "Request body too large",
        raw=gzip.compress(json.dumps({"text": "x" * (3 * 1024 * 1024)}).encode()),
        headers={"Content-Encoding": "gzip"},
    ),
    Case(
        "`Content-Encoding` other than gzip (`br`)",
        415,
        "Unsupported Media Type",
        body={"text": TEXT},
        headers={"Content-Encoding": "br"},
    ),
    Case(
        "`Content-Type: text/plain` (or none)",
        415,
        "Unsupported Media Type",
        raw=TEXT.encode(),
        headers={"Content-Type": "text/plain"},
    ),
    Case("no `text`", 422, "Invalid request fields", body={"title": "t"}),
    Case("empty `text`", 422, "Invalid request fields", body={"text": ""}),
    Case("whitespace-only `text`", 422, "Invalid request fields", body={"text": " \n\t "}),
    Case("`text` not a string", 422, "Invalid request fields", body={"text": 42}),
    Case(
        "`text` over `TAGGER_MAX_TEXT_CHARS` (100,000)",
        422,
        "Invalid request fields",
        body={"text": "x" * 100_001},
    ),
    Case(
        "unpaired surrogate in `text` (`\\ud800`)",
        422,
        "Invalid request fields",
        raw=b'{"text": "a \\ud800 b"}',
    ),
    Case(
        "unpaired surrogate in `id` (`\\ud800`)",
        422,
        "Invalid request fields",
        raw=b'{"text": "Peru", "id": "\\ud800"}',
    ),
    Case(
        "unpaired surrogate in an object key",
        422,
        "Invalid request fields",
        raw=b'{"text": "Peru", "\\udfff": 1}',
    ),
    Case("unknown field (`colour`)", 422, "Invalid request fields", body={"text": TEXT, "colour": "red"}),
    Case("body is a JSON array, not an object", 422, "Invalid request fields", body=[TEXT]),
    Case("`threshold` outside [0, 1]", 422, "Invalid request fields", body={"text": TEXT, "threshold": 1.5}),
    Case(
        '`threshold` as a string (`"0.5"`)',
        422,
        "Invalid request fields",
        body={"text": TEXT, "threshold": "0.5"},
    ),
    Case(
        "`language` other than English (`fr`)",
        422,
        "Invalid request fields",
        body={"text": TEXT, "language": "fr"},
    ),
    Case(
        "51 topic labels (over `TAGGER_MAX_LABELS`)",
        422,
        "Invalid request fields",
        body={"text": TEXT, "topic_labels": [f"t{i}" for i in range(51)]},
    ),
    Case(
        "a label of 101 characters",
        422,
        "Invalid request fields",
        body={"text": TEXT, "entity_labels": ["x" * 101]},
    ),
    Case("an empty label", 422, "Invalid request fields", body={"text": TEXT, "entity_labels": [""]}),
    Case(
        "the same label twice",
        422,
        "Invalid request fields",
        body={"text": TEXT, "entity_labels": ["person", "person"]},
    ),
    Case(
        "a label that is a number", 422, "Invalid request fields", body={"text": TEXT, "entity_labels": [7]}
    ),
    Case(
        "batch with 33 documents (over `TAGGER_MAX_BATCH`)",
        422,
        "Invalid request fields",
        path="/v1/tag/batch",
        body={"documents": [{"text": TEXT}] * 33},
    ),
    Case(
        "batch with no documents", 422, "Invalid request fields", path="/v1/tag/batch", body={"documents": []}
    ),
    Case(
        "batch with one bad document among good ones: 200, that document gets its own 422 entry",
        200,
        "",
        path="/v1/tag/batch",
        body={"documents": [{"text": TEXT}, {"text": ""}]},
    ),
    Case(
        "batch where one document's `id` has an unpaired surrogate: 200, only that document gets a 422",
        200,
        "",
        path="/v1/tag/batch",
        raw=b'{"documents": [{"text": "Peru"}, {"text": "Peru", "id": "\\ud800"}]}',
    ),
    Case(
        "every tagging slot busy and the wait queue full",
        503,
        "Service overloaded",
        body={"text": TEXT},
        config={"_busy": True},
    ),
    Case("model still loading", 503, "Service not ready", body={"text": TEXT}, config={"_loading": True}),
    Case(
        "model failed to load (`/readyz` without a key: the reason's kind, not the model's path)",
        503,
        "Service not ready",
        method="GET",
        path="/readyz",
        config={"_failed": True},
    ),
    Case(
        "tagging past `TAGGER_TIME_BUDGET_S`",
        504,
        "Time budget exceeded",
        body={"text": TEXT},
        config={"_late": True},
    ),
]


def send(case: Case) -> tuple[int, str, str]:
    """Send ``case`` to a fresh app; return the status, the problem title ("" for a 200) and what the
    problem says (the first field message of a 422, else ``detail``)."""
    import threading

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from engine_double import CannedEngine

    from service import create_app
    from service.tagging.types import DeadlineExceeded

    config = dict(case.config)
    gate = threading.Event()
    engine = CannedEngine()
    if config.pop("_late", False):

        def late(*args: Any, **kwargs: Any) -> Any:
            raise DeadlineExceeded("late")

        engine.tag_many = late  # type: ignore[method-assign]
    if config.pop("_loading", False):
        config["ENGINE_FACTORY"] = lambda cfg: gate.wait(10) and engine
    elif config.pop("_failed", False):

        def failing(cfg: Any) -> Any:
            raise FileNotFoundError("TAGGER_MODEL='/srv/models/x': no such model folder")

        config["ENGINE_FACTORY"] = failing
        config["LOAD_IN_BACKGROUND"] = False
    else:
        config["ENGINE"] = engine
    busy = config.pop("_busy", False)
    app = create_app({**config, "ACCESS_LOG": False, "MAX_QUEUE": 0 if busy else 4})
    client = app.test_client()
    holder = None
    if busy:  # hold the only slot with a request that waits on the gate
        engine.gate = gate
        holder = threading.Thread(target=lambda: client.post("/v1/tag", json={"text": TEXT}))
        holder.start()
        engine.entered.wait(5)
    headers = dict(case.headers)
    data = (
        case.raw
        if case.raw is not None
        else (json.dumps(case.body).encode() if case.body is not None else None)
    )
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    try:
        resp = client.open(case.path, method=case.method, data=data, headers=headers)
        if resp.mimetype != "application/problem+json":
            return resp.status_code, "", ""
        body = resp.get_json()
        message = body["detail"]
        if body.get("errors"):
            field, messages = next(iter(body["errors"].items()))
            while isinstance(messages, dict):  # nested: labels by index
                messages = next(iter(messages.values()))
            message = f"`{field}`: {messages[0]}"
        return resp.status_code, body["title"], message
    finally:
        gate.set()
        if holder is not None:
            holder.join(10)


def table() -> str:
    """The Markdown table, from real answers."""
    rows = ["| Bad input | Status | Problem title | What it says |", "| --- | --- | --- | --- |"]
    for case in CASES:
        status, title, message = send(case)
        message = message.replace("|", "\\|")
        message = message if len(message) <= 120 else message[:117] + "..."
        rows.append(f"| {case.what} | {status} | {title or '—'} | {message or '—'} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print(table())
