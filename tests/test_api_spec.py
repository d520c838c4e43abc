"""The committed openapi.yaml: generated from the schemas (drift test), valid, complete, real examples."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from service.api import example, schemas
from service.api.spec import spec_yaml

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "openapi.yaml"


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(COMMITTED.read_text("utf-8"))


def test_committed_spec_matches_the_generated_one():
    generated = spec_yaml()
    committed = COMMITTED.read_text("utf-8")
    if committed != generated:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(True),
                generated.splitlines(True),
                "openapi.yaml (committed)",
                "generated",
                n=1,
            )
        )
        pytest.fail("openapi.yaml is out of date: run `make spec` and commit it.\n" + diff[:4000])


def test_served_spec_is_the_committed_one(client):
    assert client.get("/openapi.yaml").get_data(as_text=True) == COMMITTED.read_text("utf-8")


def test_spec_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"] == "3.0.3"


def test_description_is_the_package_docstring(spec):
    import service

    assert spec["info"]["description"].split()[:8] == (service.__doc__ or "").split()[:8]


def test_every_endpoint_is_documented(spec, app):
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    served = {
        (rule.rule, m)
        for rule in app.url_map.iter_rules()
        for m in rule.methods - {"HEAD", "OPTIONS"}
        if rule.endpoint not in {"static", "api.docs_asset", "api.editor_asset"}  # static files
    }
    assert served == documented


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/v1/tag", "post",
         {"200", "304", "400", "401", "413", "415", "422", "500", "503", "504", "default"}),
        ("/v1/tag/batch", "post",
         {"200", "304", "400", "401", "413", "415", "422", "500", "503", "504", "default"}),
        ("/v1/labels", "get", {"200", "401", "500", "default"}),
        ("/healthz", "get", {"200", "500", "default"}),
        ("/readyz", "get", {"200", "500", "503", "default"}),
    ],
)
def test_every_status_is_documented_with_its_body(spec, path, method, statuses):
    responses = spec["paths"][path][method]["responses"]
    assert statuses <= set(responses)
    for status, ref in responses.items():
        resp = spec["components"]["responses"][ref["$ref"].rsplit("/", 1)[1]] if "$ref" in ref else ref
        if status == "304":
            assert "content" not in resp and "ETag" in resp["headers"]
            continue
        (media,) = resp["content"]
        body_ref = resp["content"][media]["schema"].get("$ref", "")
        if status == "200":
            assert media == "application/json"
        else:
            assert media == "application/problem+json" and body_ref.endswith("/Problem")


def test_every_problem_type_has_a_documented_response(spec):
    examples = {
        ex["value"]["type"]
        for resp in spec["components"]["responses"].values()
        for ex in resp.get("content", {}).get("application/problem+json", {}).get("examples", {}).values()
    }
    for slug in (
        "malformed-json",
        "unauthorized",
        "forbidden-origin",
        "not-found",
        "method-not-allowed",
        "body-too-large",
        "unsupported-media-type",
        "invalid-fields",
        "internal-error",
        "not-ready",
        "overloaded",
        "time-budget-exceeded",
    ):
        assert f"urn:newsroom-tagger:problem:{slug}" in examples


def test_problem_examples_match_the_problem_schema(spec):
    for resp in spec["components"]["responses"].values():
        for ex in resp.get("content", {}).get("application/problem+json", {}).get("examples", {}).values():
            assert schemas.Problem().validate(ex["value"]) == {}


def test_example_request_is_a_seed_article(spec):
    ex = spec["paths"]["/v1/tag"]["post"]["requestBody"]["content"]["application/json"]["examples"]["seed"][
        "value"
    ]
    assert ex["text"] == (ROOT / "seeds" / example.SEED).read_text("utf-8")
    assert schemas.TagRequest().validate(ex) == {}


def test_example_response_is_valid_and_consistent_with_the_request(spec):
    content = spec["paths"]["/v1/tag"]["post"]["responses"]["200"]["content"]["application/json"]
    if example.RESPONSE is None:
        pytest.skip(
            "TODO(lead): no example response yet: run `python -m service.api.example --write` with the "
            "embedded model, then `make spec`"
        )
    body = content["examples"]["seed"]["value"]
    assert schemas.TagResponse().validate(body) == {}
    text = example.REQUEST["text"]
    for ent in body["entities"]:
        assert ent["label"] in example.REQUEST["entity_labels"]
        for m in ent["mentions"]:
            assert text[m["start"] : m["end"]] == m["text"]
    for topic in body["topics"]:
        assert topic["label"] in example.REQUEST["topic_labels"]


def test_example_response_comes_from_the_embedded_model():
    """After a model change the example must be regenerated: it is a real answer of *this* model."""
    from service.config import DEFAULT_MODEL
    from service.tagging.loading import model_info

    if example.RESPONSE is None:
        pytest.skip("TODO(lead): no example response yet (python -m service.api.example --write; make spec)")
    if not Path(DEFAULT_MODEL).is_dir():
        pytest.skip("no embedded model in this checkout")
    info = model_info(DEFAULT_MODEL)
    got = {k: example.RESPONSE["model"][k] for k in ("name", "version")}
    assert got == {"name": info.name, "version": info.version}, (
        "the spec's example was made with another model: run `python -m service.api.example --write` "
        "and `make spec`, and commit both"
    )


def _refs(node: object) -> set[str]:
    """Every ``$ref`` target in a part of the document."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_no_unused_components(spec):
    """Redocly's no-unused-components: every component is reachable from a path (transitively)."""
    reached: set[str] = set()
    todo = _refs(spec["paths"])
    while todo:
        ref = todo.pop()
        if ref in reached:
            continue
        reached.add(ref)
        _, _, kind, name = ref.split("/")
        todo |= _refs(spec["components"][kind][name])
    defined = {f"#/components/{kind}/{name}" for kind, items in spec["components"].items()
               if kind != "securitySchemes" for name in items}
    assert defined - reached == set()
    assert reached <= defined  # and no dangling reference


def test_batch_documents_are_typed_tag_requests(spec):
    documents = spec["components"]["schemas"]["BatchRequest"]["properties"]["documents"]
    assert documents["items"] == {"$ref": "#/components/schemas/TagRequest"}


def test_no_empty_schema_anywhere(spec):
    """An empty ``{}`` (any value) in anyOf/oneOf/items loses the type in generated clients."""

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("anyOf", "oneOf", "allOf"):
                    assert all(v != {} for v in value), f"{where}.{key}"
                if key == "items":
                    assert value != {}, where
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(spec, "$")


def test_server_list_reads_cleanly_in_the_docs_page(spec):
    """Swagger UI shows server descriptions as plain text: no Markdown there."""
    for server in spec["servers"]:
        assert not set("`*_[]") & set(server.get("description", "")), server


def test_batch_response_documents_what_it_sends(spec):
    batch = spec["components"]["schemas"]["BatchResponse"]
    assert "timings_ms" in batch["properties"] and "timings_ms" not in batch["required"]  # ?timings=true
    error = spec["components"]["schemas"]["BatchItem"]["properties"]["error"]
    assert "request_id" in str(error)


@pytest.mark.parametrize("path", ["/v1/tag", "/v1/tag/batch"])
def test_tagging_answers_document_their_timings_switch_and_headers(spec, path):
    operation = spec["paths"][path]["post"]
    params = {p["$ref"].rsplit("/", 1)[1] for p in operation["parameters"]}
    assert {"If-None-Match", "timings"} <= params
    timings = spec["components"]["parameters"]["timings"]
    assert timings["in"] == "query" and timings["schema"]["type"] == "boolean"
    assert "weak" in timings["description"]
    assert {"ETag", "X-Cache", "Server-Timing"} <= set(operation["responses"]["200"]["headers"])
    etag = spec["components"]["headers"]["ETag"]["description"]
    assert "strong" in etag and "-gzip" in etag and "weak" in etag
    tag_response = spec["components"]["schemas"]["TagResponse"]
    assert "timings_ms" in tag_response["properties"] and "timings_ms" not in tag_response["required"]
