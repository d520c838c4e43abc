"""An in-process LRU of tagging answers, one per worker, capped by ``RESULT_CACHE_SIZE`` entries.

A CMS saves the same article again and again (autosave, republish, a back-fill rerun); tagging it
again costs model seconds for the same tags. Each document's ``TagResponse`` is kept under its key
(:func:`service.api.io.answer_etag` of the loaded document: text, title, id, format, labels,
thresholds, plus model, labels version, result-changing settings and the tagging code), so a key
never outlives what made its answer and nothing needs invalidating: answers of an older model are
never asked for again and age out. A hit skips the tagging slot and the model, for a single
request and for each document of a batch alike.

The cap counts entries, not bytes: an answer is a few KiB (a 100,000-character article's at most a
few hundred), so the default 256 keeps a worker's cache in the low megabytes. ``0`` turns it off.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app

from service.tagging.lru import LRU

EXTENSION = "tagger_result_cache"
_CREATE = threading.Lock()


# answer key -> ``TagResponse`` dict; ``clear()`` lets benchmarks measure the uncached path
ResultCache = LRU[str, dict[str, Any]]


def result_cache() -> ResultCache | None:
    """This app's result cache, made on first use; None when ``RESULT_CACHE_SIZE`` is 0."""
    size = int(current_app.config["RESULT_CACHE_SIZE"])
    if size <= 0:
        return None
    cache = current_app.extensions.get(EXTENSION)
    if cache is None:
        with _CREATE:
            cache = current_app.extensions.setdefault(EXTENSION, ResultCache(size))
    return cache
