"""Documents to ``POST /v1/tag/batch`` calls that fit the service's limits, one item per document.

Groups hold at most ``max_batch`` documents and about ``max_bytes`` of JSON (the service answers
413 past ``TAGGER_MAX_BODY_BYTES``, 2 MiB by default). What the service refuses for a whole
request is narrowed down to the documents that cause it: a group answered 413, 500 or 504, or
422 for its document count (a service with a lower ``TAGGER_MAX_BATCH``), is split in halves until
each document has its own answer, so one bad article costs only its own record. A document that
ran out of the time budget inside a batch (item 504) is tried once more alone, with a budget of its
own. Refusals that would hit every document (a wrong API key, bad labels or thresholds in the
options, a service that stays unavailable) stop the run instead: :class:`ProblemError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from service.client import BatchItem, ProblemError, TaggerClient

SPLITTABLE = {413, 500, 502, 504}


def groups(docs: Sequence[Any], max_batch: int, max_bytes: int) -> list[list[int]]:
    """Indexes of ``docs`` in consecutive groups of at most ``max_batch`` and about ``max_bytes``."""
    out: list[list[int]] = []
    size = 0
    for i, doc in enumerate(docs):
        cost = len(json.dumps(doc, ensure_ascii=False).encode("utf-8")) + 2
        if out and len(out[-1]) < max_batch and size + cost <= max_bytes:
            out[-1].append(i)
            size += cost
        else:
            out.append([i])
            size = cost
    return out


def tag_documents(
    client: TaggerClient,
    docs: Sequence[Any],
    options: Mapping[str, Any],
    *,
    max_batch: int = 8,
    max_bytes: int = 1_500_000,
) -> list[BatchItem]:
    """One batch item per document of ``docs``, in order; raises :class:`ProblemError` for a refusal
    that would hit every document."""
    items: list[BatchItem] = []
    for group in groups(docs, max_batch, max_bytes):
        items += _tag_group(client, [docs[i] for i in group], options)
    for i, item in enumerate(items):
        if item.get("status") == 504 and len(docs) > 1:
            (items[i],) = _tag_group(client, [docs[i]], options)
    return items


def _tag_group(client: TaggerClient, docs: list[Any], options: Mapping[str, Any]) -> list[BatchItem]:
    try:
        items = client.tag_batch(docs, **options)
    except ProblemError as err:
        if not _splittable(err):
            raise
        if len(docs) == 1:
            return [_item_of(err, docs[0])]
        half = len(docs) // 2
        return _tag_group(client, docs[:half], options) + _tag_group(client, docs[half:], options)
    if len(items) != len(docs):
        raise ProblemError({"type": "urn:newsroom-tagger:problem:unexpected-response", "status": 502,
                            "title": "Unexpected response",
                            "detail": f"{len(docs)} documents sent, {len(items)} results received."})
    return items


def _splittable(err: ProblemError) -> bool:
    if err.status in SPLITTABLE:
        return True
    # 422 for the document count only (the service's TAGGER_MAX_BATCH is lower than ours)
    fields = set((err.problem.get("errors") or {}).keys())
    return err.status == 422 and fields == {"documents"}


def _item_of(err: ProblemError, doc: Any) -> BatchItem:
    doc_id = doc.get("id") if isinstance(doc, dict) and isinstance(doc.get("id"), str) else None
    return BatchItem(index=0, id=doc_id, status=err.status, error=err.problem)
