"""Input lines to documents, and the service's batch items to output records.

An input line is one JSON object: a ``TagRequest`` of the API (``text`` required; ``id``,
``title``, ``format``, labels and thresholds optional). The service itself judges each object, so a
back-fill accepts exactly what the API accepts. A line that is not JSON (or not UTF-8, or blank)
never reaches it: it gets a ``malformed-json`` problem here, worded like the service's.

An output record says which input line it answers and how it went::

    {"line": 7, "id": "a-7", "status": 200, "result": {...TagResponse...}}
    {"line": 8, "id": null, "status": 422, "error": {...problem+json...}}

``timings_ms`` is left out of results unless asked for (``--keep-timings`` asks the service for it
with ``?timings=true``; it is dropped here too, should an older service send it anyway): it is the
one part of a response that changes from run to run, and without it a resumed back-fill is byte
for byte the uninterrupted one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from service.client import PROBLEM_PREFIX, BatchItem, Problem


@dataclass(frozen=True)
class Line:
    """One input line: its number, and either the JSON value it holds or the problem it has."""

    number: int
    doc: Any = None
    problem: Problem | None = None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_line(number: int, raw: bytes) -> Line:
    """The JSON value on input line ``number``, or a ``malformed-json`` problem."""
    try:
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        detail = f"Line {number} is not UTF-8: invalid byte at position {exc.start}."
        return Line(number, problem=_malformed(detail))
    if not text.strip():
        return Line(number, problem=_malformed(f"Line {number} is empty; each line must be one JSON object."))
    try:
        return Line(number, doc=json.loads(text, parse_constant=_no_constants))
    except json.JSONDecodeError as exc:
        detail = f"Line {number} is not valid JSON at column {exc.colno}: {exc.msg}."
        return Line(number, problem=_malformed(detail))
    except ValueError as exc:
        return Line(number, problem=_malformed(f"Line {number} is not valid JSON: {exc}."))


def _malformed(detail: str) -> Problem:
    return Problem(type=PROBLEM_PREFIX + "malformed-json", title="Malformed JSON", status=400, detail=detail)


def record(line: Line, item: BatchItem | None, *, source: str, keep_timings: bool = False) -> dict[str, Any]:
    """The output record of ``line``: the service's ``item`` for it, or the line's own problem."""
    doc_id = line.doc.get("id") if isinstance(line.doc, dict) else None
    out: dict[str, Any] = {"line": line.number, "id": doc_id if isinstance(doc_id, str) else None}
    if item is None or line.problem is not None:
        problem = line.problem or _malformed(f"Line {line.number} got no answer.")
        error = {**problem, "instance": f"{source}#line={line.number}"}
        return out | {"status": problem["status"], "error": error}
    if item.get("status") == 200 and "result" in item:
        result = dict(item["result"])
        if not keep_timings:
            result.pop("timings_ms", None)
        return out | {"status": 200, "result": result}
    problem_of: dict[str, Any] = dict(item.get("error") or {})
    problem_of["instance"] = f"{source}#line={line.number}"
    status: Any = item.get("status") or problem_of.get("status") or 500
    return out | {"status": int(status), "error": problem_of}


def encode(rec: dict[str, Any]) -> bytes:
    """One record as a JSON line (UTF-8, no newline)."""
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def words_of(rec: dict[str, Any]) -> int:
    """The words the service read for a record (0 for an error)."""
    result = rec.get("result")
    return int(result.get("coverage", {}).get("words", 0)) if isinstance(result, dict) else 0
