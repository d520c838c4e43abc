"""Settings: defaults here, overridden by ``TAGGER_*`` environment variables, then by test overrides.

Every setting is one row of :data:`SETTINGS`; README's configuration table is printed from it
(``python -m service.config``), so the code and the table cannot disagree. In ``app.config`` a
setting lives under its name without the prefix (``TAGGER_THRESHOLD`` -> ``app.config["THRESHOLD"]``).

Values from the environment are parsed by Flask's ``from_prefixed_env`` (JSON where it parses,
a string otherwise) and then coerced here to the setting's type, so ``TAGGER_MAX_BATCH=16``,
``TAGGER_ACCESS_LOG=false`` and ``TAGGER_CORS_ORIGINS=https://cms.example.com,https://x.example``
all work. A value that cannot be coerced stops the app at start-up with a message naming it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "TAGGER"

# The embedded default model, beside the package in a checkout (models/embedded). An installed
# package (Docker) sets TAGGER_MODEL to where the image keeps it.
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = str(REPO_ROOT / "models" / "embedded")


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _as_opt_str(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    return int(value)


@dataclass(frozen=True)
class Setting:
    """One configuration setting: its name (without prefix), default, type and meaning."""

    name: str
    default: Any
    coerce: Callable[[Any], Any]
    help: str
    check: Callable[[Any], bool] | None = None
    used_by: str = "app"  # "app", or "gunicorn" for settings only gunicorn.conf.py reads

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return f"{PREFIX}_{self.name}"


def _positive(v: Any) -> bool:
    return v > 0


def _non_negative(v: Any) -> bool:
    return v >= 0


SETTINGS: tuple[Setting, ...] = (
    Setting("MODEL", DEFAULT_MODEL, str,
            "GLiNER model: a local folder (the embedded default, `models/embedded`) or a Hugging Face "
            "hub id"),
    Setting("TOPIC_DOC_ENCODER", None, _as_opt_str,
            "optional folder of a second topic encoder that reads the whole article (all-mpnet-base-v2:"
            " `make doc-encoder`), read where the first leaves the ranking open; better topics, up to about"
            " 0.9 s more per article it reads and 480 MiB more per worker"),
    Setting("THRESHOLD", 0.5, float,
            "default entity score threshold in [0, 1] (a request's `threshold` wins)",
            lambda v: 0.0 <= v <= 1.0),
    Setting("MAX_BODY_BYTES", 2 * 1024 * 1024, _as_int, "largest request body accepted (413 past it)",
            _positive),
    Setting("MAX_TEXT_CHARS", 100_000, _as_int, "longest `text` accepted, in characters (422 past it)",
            _positive),
    Setting("MAX_TITLE_CHARS", 1_000, _as_int, "longest `title` accepted, in characters", _positive),
    Setting("MAX_LABELS", 50, _as_int, "most labels in `entity_labels` or in `topic_labels`", _positive),
    Setting("MAX_LABEL_CHARS", 100, _as_int, "longest label name, in characters", _positive),
    Setting("MAX_DESCRIPTION_CHARS", 300, _as_int, "longest label description, in characters", _positive),
    Setting("MAX_BATCH", 32, _as_int, "most documents in one `/v1/tag/batch` call", _positive),
    Setting("TIME_BUDGET_S", 30.0, float,
            "time budget of one request (single or batch), waiting included; past it 504", _positive),
    Setting("MAX_CONCURRENCY", 1, _as_int, "requests tagging at once in one worker", _positive),
    Setting("MAX_QUEUE", 4, _as_int,
            "requests waiting for a tagging slot in one worker; past it 503 with Retry-After at once",
            _non_negative),
    Setting("QUEUE_TIMEOUT_S", 20.0, float,
            "longest wait for a tagging slot (capped by the time budget); past it 503 with Retry-After",
            _non_negative),
    Setting("RETRY_AFTER_S", 2, _as_int, "the `Retry-After` seconds sent with 503 overloaded", _positive),
    Setting("API_KEYS", [], _as_list,
            "comma-separated API keys; when any key is set (here or in the file), "
            "`Authorization: Bearer <key>` is required except on health, spec and docs"),
    Setting("API_KEYS_FILE", None, _as_opt_str, "file with one API key a line (`#` comments)"),
    Setting("CORS_ORIGINS", [], _as_list,
            "comma-separated origins allowed to call from a browser (exact match; `*` for any)"),
    Setting("CORS_MAX_AGE_S", 600, _as_int, "how long a browser may cache a preflight answer", _non_negative),
    Setting("RESULT_CACHE_SIZE", 256, _as_int,
            "answers kept in each worker's in-process LRU cache (one entry per document): the same "
            "request again is answered without the model; 0: off", _non_negative),
    Setting("METRICS_OPEN", True, _as_bool,
            "serve `/metrics` (Prometheus) without an API key, like `/healthz`; false: it needs a key"),
    Setting("LOG_LEVEL", "INFO", lambda v: str(v).upper(), "log level of the service's JSON logs",
            lambda v: v in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}),
    Setting("ACCESS_LOG", True, _as_bool, "one JSON access log line per request"),
    Setting("PRECISION", "auto", lambda v: str(v).lower(),
            "entity model precision: `auto` (bf16 autocast where the CPU multiplies bf16 natively, "
            "AVX512-BF16 or AMX; else fp32), `fp32` or `bf16`; measured in bench/README.md "
            "(Precision: bf16 autocast against fp32)",
            lambda v: v in {"auto", "fp32", "bf16"}),
    Setting("TORCH_THREADS", 0, _as_int,
            "torch threads per worker; 0: the CPUs / WORKERS (set by gunicorn.conf.py)", _non_negative),
    Setting("LOAD_IN_BACKGROUND", True, _as_bool,
            "load the model in a background thread (healthz answers at once, readyz 503 until loaded)"),
    Setting("ENGINE_FACTORY", None, lambda v: v if callable(v) else _as_opt_str(v),
            "`module:callable` that builds the engine instead of the real Tagger (tests, benchmarks)"),
    Setting("HOST", "127.0.0.1", str, "address gunicorn binds (`0.0.0.0` in the Docker image)",
            used_by="gunicorn"),
    Setting("PORT", 8000, _as_int, "port gunicorn binds", _positive, used_by="gunicorn"),
    Setting("WORKERS", 2, _as_int, "gunicorn worker processes (each loads the model once)", _positive,
            used_by="gunicorn"),
    Setting("THREADS", 8, _as_int,
            "threads per worker; keep above MAX_CONCURRENCY + MAX_QUEUE so health checks always get one",
            _positive, used_by="gunicorn"),
    Setting("WORKER_TIMEOUT_S", 120, _as_int, "gunicorn worker timeout (above model load time)", _positive,
            used_by="gunicorn"),
    Setting("READ_TIMEOUT_S", 10.0, float,
            "seconds a client has to send a request's line and headers, and the longest silence while "
            "it sends a body; past it 408 and the connection closes (slow clients cannot hold threads)",
            _positive, used_by="gunicorn"),
    Setting("BODY_TIMEOUT_S", 60.0, float,
            "seconds a client has to send a whole request body once its headers are in; past it 408",
            _positive, used_by="gunicorn"),
    Setting("MAX_CONNECTIONS", 1000, _as_int,
            "open connections per worker, idle ones included; past it new ones wait in the listen backlog",
            _positive, used_by="gunicorn"),
    Setting("GRACEFUL_TIMEOUT_S", 0, _as_int,
            "seconds in-flight requests get to finish on SIGTERM; 0: TIME_BUDGET_S + 10", _non_negative,
            used_by="gunicorn"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def defaults() -> dict[str, Any]:
    """Every app setting at its default value."""
    return {s.name: (list(s.default) if isinstance(s.default, list) else s.default) for s in SETTINGS}


def normalise(config: dict[str, Any]) -> None:
    """Coerce every known setting in ``config`` (Flask's app.config) to its type, in place, and check it.

    Also derives Flask's own ``MAX_CONTENT_LENGTH`` from ``MAX_BODY_BYTES``. Raises
    :class:`ConfigError` naming the environment variable of a bad value.
    """
    for s in SETTINGS:
        if s.name not in config:
            continue
        raw = config[s.name]
        try:
            value = s.coerce(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{s.env}={raw!r}: {exc}") from exc
        if s.check is not None and not s.check(value):
            raise ConfigError(f"{s.env}={raw!r}: out of range ({s.help})")
        config[s.name] = value
    config["MAX_CONTENT_LENGTH"] = config["MAX_BODY_BYTES"]


def load_api_keys(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The API keys from ``API_KEYS`` and ``API_KEYS_FILE`` (empty: no authentication)."""
    keys = list(config.get("API_KEYS") or [])
    path = config.get("API_KEYS_FILE")
    if path:
        try:
            lines = Path(path).read_text("utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"{PREFIX}_API_KEYS_FILE={path!r}: {exc}") from exc
        keys += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return tuple(dict.fromkeys(keys))


def env_value(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """A setting's value from the environment (or its default), coerced: for gunicorn.conf.py."""
    s = BY_NAME[name]
    raw = (os.environ if environ is None else environ).get(s.env)
    value = s.default if raw is None else s.coerce(raw)
    if s.check is not None and not s.check(value):
        raise ConfigError(f"{s.env}={raw!r}: out of range ({s.help})")
    return value


def markdown_table() -> str:
    """README's configuration table."""

    def shown(s: Setting) -> str:
        if s.name == "MODEL":
            return "`models/embedded`"
        if s.default in (None, [], ""):
            return "(none)"
        return f"`{str(s.default).lower() if isinstance(s.default, bool) else s.default}`"

    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    rows += [f"| `{s.env}` | {shown(s)} | {s.help} |" for s in SETTINGS]
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table())
