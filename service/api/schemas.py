"""The wire messages, as marshmallow schemas: requests are loaded through them, responses validated.

Schemas are named after the message they describe (``TagRequest``, ``TagResponse``, ``Problem``
...); the OpenAPI document is generated from them (:mod:`service.api.spec`). Limits that are
configurable (text length, label count ...) are read from the running app's config at load time;
outside an app (spec generation) the defaults apply, and the spec shows the defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from flask import current_app, has_app_context
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from service import config as cfg
from service.tagging.types import Label


def _default(name: str) -> Any:
    return cfg.BY_NAME[name].default


# "Not only whitespace", spelled out as the characters Python's str.isspace() (and so str.strip())
# counts as whitespace, so every regex engine that reads the spec agrees with the check here.
_WHITESPACE = "".join(f"\\u{i:04x}" for i in range(0x3001) if chr(i).isspace())
NOT_BLANK = f"[^{_WHITESPACE}]"

_SURROGATE = re.compile("[\ud800-\udfff]")
FORMATS = ("text", "html")  # what a request's `text` and `title` are (service/api/html.py reads html)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


def limit(name: str) -> Any:
    """A configurable limit: from the running app's config, or its default outside an app."""
    if has_app_context():
        return current_app.config[name]
    return cfg.BY_NAME[name].default


def _check_unicode(value: str, what: str) -> None:
    if _SURROGATE.search(value):
        raise ValidationError(f"{what} contains unpaired UTF-16 surrogate code points (invalid Unicode).")


def _check_length(value: str, setting: str, what: str) -> None:
    most = limit(setting)
    if len(value) > most:
        raise ValidationError(
            f"{what} has {len(value)} characters; at most {most} are accepted ({cfg.PREFIX}_{setting})."
        )


class StrictFloat(fields.Float):
    """A JSON number only: no strings such as ``"0.5"``, no booleans, no NaN or infinities."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON boolean only: no ``"true"`` strings, no 0 or 1."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    """A JSON integer only."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)


class LabelObject(Schema):
    """A label with a description the model reads (the response uses the name only)."""

    name = fields.String(required=True, metadata={
        "description": "The label as it appears in the response.",
        "minLength": 1, "maxLength": _default("MAX_LABEL_CHARS"), "pattern": NOT_BLANK})
    description = fields.String(allow_none=True, metadata={
        "description": "What the label means, in a few words.",
        "maxLength": _default("MAX_DESCRIPTION_CHARS")})


class LabelField(fields.Field):
    """A zero-shot label: a string, or ``{name, description?}``. Loads as :class:`Label`."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's own convention
        "invalid": "A label must be a string or an object {{name, description?}}.",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Label:
        if isinstance(value, str):
            name, description = value, None
        elif isinstance(value, dict):
            loaded = LabelObject().load(value)
            name, description = loaded["name"], loaded.get("description")
        else:
            raise self.make_error("invalid")
        if not name.strip():
            raise ValidationError("A label must not be empty or whitespace only.")
        _check_unicode(name, "The label")
        _check_length(name, "MAX_LABEL_CHARS", f"The label {name[:40]!r}")
        if description is not None:
            _check_unicode(description, "The description")
            _check_length(description, "MAX_DESCRIPTION_CHARS", f"The description of {name[:40]!r}")
        return Label(name, description or None)


def _check_labels(labels: list[Any] | None, what: str) -> None:
    if labels is None or not all(isinstance(lab, Label) for lab in labels):
        return  # items that did not load have their own messages already
    most = limit("MAX_LABELS")
    if len(labels) > most:
        raise ValidationError(
            f"{len(labels)} {what} sent; at most {most} are accepted ({cfg.PREFIX}_MAX_LABELS).")


def _identical_items(items: Any) -> list[str]:
    """Names of the label items sent twice exactly (as JSON), which the spec's uniqueItems refuses."""
    if not isinstance(items, list):
        return []
    seen: set[str] = set()
    dups: set[str] = set()
    for item in items:
        try:
            key = json.dumps(item, sort_keys=True)
        except (TypeError, ValueError):
            return []
        if key in seen:
            name = item.get("name") if isinstance(item, dict) else item
            dups.add(name if isinstance(name, str) else key)
        seen.add(key)
    return sorted(dups)


def _merge_names(labels: list[Label] | None) -> list[Label] | None:
    """One label per name, where it first came, with the first description sent for that name:
    ``["person", {"name": "person", "description": "a human"}]`` is one label (JSON-unique items, as
    the spec allows them). Names that differ only in case or spacing are different labels."""
    if labels is None:
        return None
    merged: dict[str, Label] = {}
    for lab in labels:
        old = merged.get(lab.name)
        if old is None:
            merged[lab.name] = lab
        elif not old.description and lab.description:
            merged[lab.name] = Label(lab.name, lab.description)
    return list(merged.values())


def _labels_field(what: str) -> fields.List:
    return fields.List(
        LabelField(),
        allow_none=True,
        metadata={
            "description": f"The {what} to tag, each a string or {{name, description?}}; omitted or null: "
            f"the defaults (GET /v1/labels); an empty list: no {what}. At most 50 (default "
            "TAGGER_MAX_LABELS), each at most 100 characters; the same item twice is refused, and items "
            "that share a name are one label (the first description sent is read). The response uses "
            "exactly these names.",
            "uniqueItems": True,
            "maxItems": _default("MAX_LABELS"),
        },
    )


class TagOptions(Schema):
    """What a single request and a batch share: labels, threshold, language."""

    entity_labels = _labels_field("entity labels")
    topic_labels = _labels_field("topic labels")
    threshold = StrictFloat(
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=0.0, max=1.0),
        metadata={"description": "Score threshold in [0, 1] for entities; omitted: the service default "
                  "(TAGGER_THRESHOLD).", "example": 0.5},
    )
    topic_threshold = StrictFloat(
        allow_none=True,
        allow_nan=False,
        validate=validate.Range(min=0.0, max=1.0),
        metadata={"description": "Score threshold in [0, 1] for topics; omitted: the topic scorer's own "
                  "calibrated default."},
    )
    derive_countries = StrictBoolean(
        allow_none=True,
        metadata={"description": "Add the countries the article implies but never names (through its cities, "
                  "states, nationality words, dateline or national bodies) as `country` entities with "
                  "`derived: true`; omitted or null: true. Evidence of named countries is kept either way.",
                  "example": True},
    )
    language = fields.String(
        allow_none=True,
        metadata={"description": "BCP 47 language tag of the text. Only English is supported: `en` or "
                  "`en-*`; any other value is answered 422.", "example": "en",
                  "pattern": "^[Ee][Nn](-[A-Za-z0-9]{1,8})*$"},
    )

    @validates("entity_labels")
    def _entity_labels(self, value: list[Label] | None, **_: Any) -> None:
        _check_labels(value, "entity labels")

    @validates_schema(pass_original=True)
    def _unique_items(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        # uniqueItems, as the spec says: the same item twice (as JSON) is a mistake worth telling
        if not isinstance(original, dict):
            return
        errors = {}
        for key, what in (("entity_labels", "entity labels"), ("topic_labels", "topic labels")):
            dups = _identical_items(original.get(key))
            if dups:
                errors[key] = [f"Duplicate {what}: {', '.join(map(repr, dups))}; send each name once."]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _one_label_per_name(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        for key in ("entity_labels", "topic_labels"):
            if key in data:
                data[key] = _merge_names(data[key])
        return data

    @validates("topic_labels")
    def _topic_labels(self, value: list[Label] | None, **_: Any) -> None:
        _check_labels(value, "topic labels")

    @validates("language")
    def _language(self, value: str | None, **_: Any) -> None:
        if value is None:
            return
        if not _LANGUAGE.match(value):
            raise ValidationError(f"{value[:40]!r} is not a BCP 47 language tag such as 'en' or 'en-GB'.")
        if value.split("-")[0].lower() != "en":
            raise ValidationError(f"Only English ('en') is supported; got {value!r}.")


class TagRequest(TagOptions):
    """One article to tag."""

    text = fields.String(
        required=True,
        metadata={"description": "The article body. Offsets in the response index into this string. At most "
                  "100000 characters (default TAGGER_MAX_TEXT_CHARS); must not be empty or whitespace only.",
                  "minLength": 1, "maxLength": _default("MAX_TEXT_CHARS"), "pattern": NOT_BLANK},
    )
    title = fields.String(
        allow_none=True,
        metadata={"description": "The headline, tagged too: its mentions carry `field: \"title\"` and index "
                  "into this string. At most 1000 characters (TAGGER_MAX_TITLE_CHARS).",
                  "maxLength": _default("MAX_TITLE_CHARS")},
    )
    id = fields.String(
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "The caller's id for the article, echoed in the response."},
    )
    # not nullable, unlike the options: an enum with null in it gives generated clients a union of
    # three enum classes (openapi-python-client) instead of one
    format = fields.String(
        validate=validate.OneOf(FORMATS),
        metadata={"description": "What `text` and `title` are: `text` (when omitted) or `html`, a "
                  "CMS body. With `html` the service tags what a reader sees: scripts, styles, comments "
                  "and markup are dropped, character references (`&amp;`, `&mdash;`) decoded, block "
                  "elements and `<br>` end sentences. Offsets still index into the string sent (a "
                  "mention inside `<a><b>Joe</b> Biden</a>` spans `Joe</b> Biden`); each span adds "
                  "`visible`, its text as a reader sees it, and the response adds `visible_text`. HTML "
                  "with nothing visible in `text` is a 422.", "example": "text"},
    )

    @validates("text")
    def _text(self, value: str, **_: Any) -> None:
        if not value.strip():
            raise ValidationError("The text must not be empty or whitespace only.")
        _check_unicode(value, "The text")
        _check_length(value, "MAX_TEXT_CHARS", "The text")

    @validates("title")
    def _title(self, value: str | None, **_: Any) -> None:
        if value is not None:
            _check_unicode(value, "The title")
            _check_length(value, "MAX_TITLE_CHARS", "The title")


class DocumentList(fields.List):
    """The documents of a batch. Documented as ``TagRequest`` items, but each item is loaded on its own
    by the view so that one bad document gets its own error and does not fail the others."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Nested(TagRequest), **kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        return list(value)


class BatchRequest(TagOptions):
    """Up to 32 articles (TAGGER_MAX_BATCH); labels, threshold and language given here apply to every
    document that does not set its own."""

    documents = DocumentList(
        required=True,
        metadata={"description": "The articles, 1 to 32 (TAGGER_MAX_BATCH); results come back in this order. "
                  "A document that is not a valid TagRequest does not fail the call: its item in `results` "
                  "is a 422 problem and the others are tagged.",
                  "minItems": 1, "maxItems": _default("MAX_BATCH")},
    )

    @validates("documents")
    def _documents(self, value: list[Any], **_: Any) -> None:
        most = limit("MAX_BATCH")
        if not value:
            raise ValidationError("At least one document is required.")
        if len(value) > most:
            raise ValidationError(
                f"{len(value)} documents sent; at most {most} are accepted ({cfg.PREFIX}_MAX_BATCH)."
            )


# --- responses ---------------------------------------------------------------------------------

_FIELD = fields.String(
    required=True,
    validate=validate.OneOf(["text", "title"]),
    metadata={"description": "The request field the offsets index into: `text` or `title`."},
)


class Offsets(Schema):
    """A span of the request's ``text`` (or ``title``), in code points and in UTF-16 code units."""

    start = StrictInteger(required=True, validate=validate.Range(min=0), metadata={
        "description": "Start, in Unicode code points (Python str index): `text[start:end] == span text`."})
    end = StrictInteger(required=True, validate=validate.Range(min=0), metadata={
        "description": "End (exclusive), in Unicode code points."})
    start_utf16 = StrictInteger(required=True, validate=validate.Range(min=0), metadata={
        "description": "Start in UTF-16 code units, as JavaScript counts: "
                       "`text.slice(start_utf16, end_utf16)`."})
    end_utf16 = StrictInteger(required=True, validate=validate.Range(min=0), metadata={
        "description": "End (exclusive) in UTF-16 code units."})
    text = fields.String(required=True, metadata={
        "description": "The span: `text[start:end]` of the string sent (with `format: html`, markup "
                       "inside the span included)."})
    field = _FIELD
    visible = fields.String(metadata={
        "description": "`format: html` only: the span as a reader sees it, markup dropped and references "
                       "decoded (`Joe Biden` where `text` is `Joe</b> Biden`): "
                       "`visible_text[field][visible_start:visible_end]`."})
    visible_start = StrictInteger(validate=validate.Range(min=0), metadata={
        "description": "`format: html` only: where `visible` starts in `visible_text[field]` (code points)."})
    visible_end = StrictInteger(validate=validate.Range(min=0), metadata={
        "description": "`format: html` only: where `visible` ends in `visible_text[field]` (exclusive)."})
    visible_start_utf16 = StrictInteger(validate=validate.Range(min=0), metadata={
        "description": "`visible_start` in UTF-16 code units."})
    visible_end_utf16 = StrictInteger(validate=validate.Range(min=0), metadata={
        "description": "`visible_end` in UTF-16 code units."})

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data["start"] >= data["end"] or data["start_utf16"] >= data["end_utf16"]:
            raise ValidationError("start must be below end.")


class Mention(Offsets):
    """One occurrence of an entity."""

    score = StrictFloat(required=True, validate=validate.Range(min=0.0, max=1.0))


class Evidence(Offsets):
    """A sentence that supports a topic."""


class PlaceEvidence(Offsets):
    """A span that implies a country without naming it."""

    score = StrictFloat(required=True, validate=validate.Range(min=0.0, max=1.0), metadata={
        "description": "How strongly this span implies the country, in [0, 1]."})
    kind = fields.String(required=True, validate=validate.OneOf(
        ["city", "state", "dateline", "body", "capital", "demonym", "people"]), metadata={
        "description": "What the span is: a `city` or `state` of the country, the story's `dateline`, a "
        "national `body` (\"the Pentagon\", \"U.S. Agriculture Department\"), its `capital` standing for "
        "its government, a nationality word (`demonym`), or one that speaks of the country's people or "
        "government (`people`: \"Argentine president\", \"Chicagoans\")."})
    place = fields.String(required=True, metadata={
        "description": "The gazetteer's name of what the span is (\"Denver\", \"Colorado\", \"Argentine\")."})


class PlaceIds(Schema):
    """Stable ids of a place."""

    geonames = fields.String(metadata={"description": "GeoNames id.", "example": "6252001"})
    iso3166 = fields.String(metadata={"description": "ISO 3166-1 alpha-2 code (countries).", "example": "US"})
    iso3166_2 = fields.String(metadata={"description": "ISO 3166-2 code (states, provinces).",
                                        "example": "US-CO"})


class PlaceCountry(Schema):
    """The country a place lies in."""

    code = fields.String(required=True, metadata={"description": "ISO 3166-1 alpha-2.", "example": "US"})
    name = fields.String(required=True, metadata={"example": "United States"})


class Entity(Schema):
    """One real-world thing, with all its mentions."""

    text = fields.String(required=True, metadata={"description": "Canonical name of the entity."})
    label = fields.String(required=True, metadata={"description": "One of the entity labels asked for."})
    score = StrictFloat(required=True, validate=validate.Range(min=0.0, max=1.0))
    relevance = StrictFloat(required=True, validate=validate.Range(min=0.0, max=1.0), metadata={
        "description": "How central the entity is to the article, in [0, 1]."})
    mentions = fields.List(fields.Nested(Mention), required=True, metadata={
        "description": "Where the article names it; empty for a `derived` country."})
    derived = fields.Boolean(metadata={
        "description": "true for a country the article implies (through its places, nationality words, "
        "dateline or national bodies) but never names; its `evidence` says why."})
    ids = fields.Nested(PlaceIds, metadata={"description": "Places the gazetteer resolved: stable ids."})
    country = fields.Nested(PlaceCountry, metadata={
        "description": "Places the gazetteer resolved: the country the place is, or lies in."})
    confidence = StrictFloat(validate=validate.Range(min=0.0, max=1.0), metadata={
        "description": "How sure the resolution is, in [0, 1]: the winning reading's share when the name "
        "is ambiguous (Georgia, Paris, Victoria), weighed by population and the article's other places; "
        "for a derived country, its score."})
    evidence = fields.List(fields.Nested(PlaceEvidence), metadata={
        "description": "Countries only: the spans that imply the country without naming it."})


class Topic(Schema):
    """A topic label that applies to the article."""

    label = fields.String(required=True, metadata={"description": "One of the topic labels asked for."})
    id = fields.String(metadata={"description": "The topic's id when it is a default topic (the IPTC Media "
                                 "Topic code for the IPTC ones, as `GET /v1/labels` lists).",
                                 "example": "iptc-16000000"})
    score = StrictFloat(required=True, validate=validate.Range(min=0.0, max=1.0))
    evidence = fields.List(fields.Nested(Evidence), required=True)


class ModelInfo(Schema):
    """The model that produced the tags."""

    name = fields.String(required=True)
    version = fields.String(required=True)
    precision = fields.String(
        required=True,
        validate=validate.OneOf(["fp32", "bf16"]),
        metadata={
            "description": "What the entity model's matrix multiplies ran in: `fp32`, or `bf16` "
            "(autocast, on CPUs that multiply bf16 natively; `TAGGER_PRECISION`)."
        },
    )


class Coverage(Schema):
    """What the engine read: the whole text, in how many model windows."""

    chars = StrictInteger(required=True, validate=validate.Range(min=0))
    words = StrictInteger(required=True, validate=validate.Range(min=0))
    chunks = StrictInteger(required=True, validate=validate.Range(min=0))
    truncated = fields.Boolean(required=True, metadata={"description": "true if any text was not read."})


class LabelReport(Schema):
    """What one requested entity label found, and whether the model knows anything near it."""

    label = fields.String(required=True, metadata={"description": "The entity label, as sent."})
    entities = StrictInteger(required=True, validate=validate.Range(min=0), metadata={
        "description": "How many entities of this label the response holds."})
    nearest_concept = fields.String(allow_none=True, metadata={
        "description": "The concept the entity model was trained on that is nearest this label's name "
        "(sentence embeddings, all-MiniLM-L6-v2); null where the service has no concept inventory."})
    similarity = StrictFloat(allow_none=True, validate=validate.Range(min=-1.0, max=1.0), metadata={
        "description": "Cosine similarity of the label's name and the nearest trained wording. Near 1: "
        "the model was trained on this kind of thing; low (below about 0.5): an empty result may only "
        "mean the label is out of the model's reach, so a client should warn rather than trust it."})


class VisibleText(Schema):
    """What the model read of an HTML request: its visible text."""

    text = fields.String(required=True, metadata={"description": "The visible text of the request's `text`."})
    title = fields.String(allow_none=True, metadata={
        "description": "The visible text of the request's `title`; null when it sent none."})


class TagResponse(Schema):
    """The tags of one article."""

    id = fields.String(allow_none=True, metadata={"description": "The request's id, when it sent one."})
    entities = fields.List(fields.Nested(Entity), required=True)
    topics = fields.List(fields.Nested(Topic), required=True)
    model = fields.Nested(ModelInfo, required=True)
    labels_version = fields.String(required=True, metadata={"description": "Version of the default labels."})
    coverage = fields.Nested(Coverage, required=True)
    entity_labels = fields.List(fields.Nested(LabelReport), metadata={
        "description": "One entry per requested entity label, in request order: entities found and the "
        "nearest concept the model was trained on."})
    visible_text = fields.Nested(VisibleText, metadata={
        "description": "`format: html` only: the text the model read, markup dropped."})
    timings_ms = fields.Dict(keys=fields.String(), values=StrictFloat(), metadata={
        "description": "Only with `?timings=true` (the same figures are always in the `Server-Timing` "
        "header; with them in the body the ETag is weak). Where the time went, in milliseconds: "
        "`request` (arrival to result) and `queue` (waiting for a tagging slot) always, the engine's "
        "stages besides; an answer from the worker's result cache (TAGGER_RESULT_CACHE_SIZE) has only "
        "`request` and `queue`."})


class Problem(Schema):
    """An error, as RFC 9457 ``application/problem+json``."""

    type = fields.String(required=True, metadata={"example": "urn:newsroom-tagger:problem:invalid-fields"})
    title = fields.String(required=True, metadata={"example": "Invalid request fields"})
    status = StrictInteger(required=True, validate=validate.Range(min=400, max=599),
                           metadata={"example": 422})
    detail = fields.String(required=True)
    instance = fields.String(metadata={"description": "The request path."})
    request_id = fields.String(metadata={"description": "The request id (X-Request-ID), also in the logs."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "422 only: messages by field, e.g. `{\"text\": [\"...\"]}`; nested "
                  "fields (labels by index) nest the same way."},
    )


class BatchItem(Schema):
    """One document's outcome: ``result`` when ``status`` is 200, otherwise ``error``."""

    index = StrictInteger(required=True, validate=validate.Range(min=0))
    id = fields.String(allow_none=True)
    status = StrictInteger(required=True, metadata={"description": "200, 422 or 504 for this document."})
    result = fields.Nested(TagResponse)
    error = fields.Nested(Problem, metadata={
        "description": "This document's problem: `instance` points at the document "
        "(`/v1/tag/batch#/documents/<index>`) and `request_id` is the batch request's id (X-Request-ID), "
        "as in the logs."})

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if ("result" in data) == ("error" in data):
            raise ValidationError("exactly one of result and error.")


class BatchResponse(Schema):
    """The outcome of every document, in request order."""

    results = fields.List(fields.Nested(BatchItem), required=True)
    timings_ms = fields.Dict(keys=fields.String(), values=StrictFloat(), metadata={
        "description": "Only with `?timings=true` (the same figures are always in the `Server-Timing` "
        "header). Where the batch's time went, in milliseconds: `request` (arrival to answer), "
        "`queue` (waiting for a tagging slot; 0 when every document came from the cache) and `model` "
        "(in the engine, all documents together)."})


class LabelEntry(Schema):
    """A default label."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    group = fields.String(allow_none=True)


class LabelsResponse(Schema):
    """The defaults used when a request sends no labels."""

    version = fields.String(required=True)
    entity_labels = fields.List(fields.Nested(LabelEntry), required=True)
    topic_labels = fields.List(fields.Nested(LabelEntry), required=True)


class Health(Schema):
    """The process is alive."""

    status = fields.String(required=True, metadata={"example": "ok"})


class Ready(Schema):
    """The model is loaded, warmed up and self-tested."""

    status = fields.String(required=True, metadata={"example": "ready"})
    model = fields.Nested(ModelInfo, required=True)
    labels_version = fields.String(required=True)
    load_seconds = StrictFloat(allow_none=True)


# Leaves first: apispec registers a nested schema the first time it meets it.
ALL_SCHEMAS: tuple[type[Schema], ...] = (
    LabelObject, TagRequest, BatchRequest, Mention, Evidence, PlaceEvidence, PlaceIds, PlaceCountry, Entity,
    Topic, ModelInfo, Coverage, LabelReport, VisibleText, TagResponse,
    Problem, BatchItem, BatchResponse, LabelEntry, LabelsResponse, Health, Ready,
)
