"""The HTTP layer: maps requests to the engine and results to JSON. Nothing here tags text.

``routes`` (the views), ``schemas`` (the wire messages), ``errors`` (every error as problem+json),
``io`` (JSON in, validated JSON out), ``jobs`` (requests to engine calls), ``mapping`` (engine
results to response dicts, UTF-16 offsets), ``state`` (the engine and its readiness), ``limits``
(concurrency, queue, time budget), ``security`` (API keys, CORS), ``logs`` (JSON logs, request id,
access log), ``spec`` (the OpenAPI document) and ``example`` (its example, from a real run).
"""
