"""API keys, CORS, request ids and the JSON access log."""

from __future__ import annotations

import json
import logging

import pytest

from service.api.logs import JsonFormatter
from service.api.security import _digest, key_matches

TEXT = "Joe Biden met Xi Jinping in Lima, Peru."
SECRET_TEXT = "Confidential draft: the minister resigns tomorrow."


# --- API keys --------------------------------------------------------------------------------------


@pytest.fixture
def keyed(make_app):
    return make_app(API_KEYS="key-one, key-two").test_client()


def test_no_keys_configured_means_open(client):
    assert client.post("/v1/tag", json={"text": TEXT}).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic a2V5LW9uZQ==",
        "Bearer key-three",
        "Bearer key-one-and-more",
        "key-one",
    ],
)
def test_401_without_a_valid_key(keyed, problem, header):
    headers = {"Authorization": header} if header is not None else {}
    resp = keyed.post("/v1/tag", json={"text": TEXT}, headers=headers)
    problem(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_valid_keys_pass(keyed):
    for key in ("key-one", "key-two"):
        assert (
            keyed.post("/v1/tag", json={"text": TEXT}, headers={"Authorization": f"Bearer {key}"}).status_code
            == 200
        )
    assert keyed.get("/v1/labels", headers={"Authorization": "bearer key-two"}).status_code == 200


def test_labels_need_a_key_too(keyed, problem):
    problem(keyed.get("/v1/labels"), 401, "unauthorized")


def test_health_spec_and_docs_stay_open(keyed):
    for path in ("/healthz", "/readyz", "/openapi.yaml", "/docs"):
        assert keyed.get(path).status_code == 200, path
    resp = keyed.get("/docs/swagger-ui.css")
    assert resp.status_code == 200
    resp.close()


def test_keys_from_a_file(make_app, tmp_path, problem):
    keys = tmp_path / "keys.txt"
    keys.write_text("# newsroom CMS\ncms-key\n\n  plugin-key  \n")
    client = make_app(API_KEYS_FILE=str(keys)).test_client()
    problem(client.post("/v1/tag", json={"text": TEXT}), 401, "unauthorized")
    for key in ("cms-key", "plugin-key"):
        assert (
            client.post(
                "/v1/tag", json={"text": TEXT}, headers={"Authorization": f"Bearer {key}"}
            ).status_code
            == 200
        )
    problem(
        client.post("/v1/tag", json={"text": TEXT}, headers={"Authorization": "Bearer # newsroom CMS"}),
        401,
        "unauthorized",
    )


def test_keys_file_missing_stops_start_up(make_app, tmp_path):
    from service.config import ConfigError

    with pytest.raises(ConfigError, match="TAGGER_API_KEYS_FILE"):
        make_app(API_KEYS_FILE=str(tmp_path / "nope"))


def test_key_comparison_checks_every_key_in_constant_time():
    digests = (_digest("alpha"), _digest("beta"))
    assert key_matches("beta", digests) and key_matches("alpha", digests)
    assert (
        not key_matches("gamma", digests)
        and not key_matches("alph", digests)
        and not key_matches("", digests)
    )


def test_keys_from_the_environment(monkeypatch):
    from service import create_app

    monkeypatch.setenv("TAGGER_API_KEYS", "env-key")
    from engine_double import CannedEngine  # the test double

    client = create_app({"ENGINE": CannedEngine()}).test_client()
    assert client.get("/v1/labels").status_code == 401
    assert client.get("/v1/labels", headers={"Authorization": "Bearer env-key"}).status_code == 200


# --- CORS ------------------------------------------------------------------------------------------


@pytest.fixture
def cors(make_app):
    return make_app(
        CORS_ORIGINS="https://cms.example.com, https://plugin.example.org", API_KEYS="k"
    ).test_client()


def test_preflight_from_an_allowed_origin(cors):
    resp = cors.options(
        "/v1/tag",
        headers={
            "Origin": "https://cms.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "https://cms.example.com"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert {"Authorization", "Content-Type", "X-Request-ID"} <= {
        h.strip() for h in resp.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert resp.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in resp.headers["Vary"]


def test_preflight_from_another_origin_is_refused(cors, problem):
    resp = cors.options(
        "/v1/tag", headers={"Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"}
    )
    problem(resp, 403, "forbidden-origin")
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_actual_cors_request_gets_the_origin_back(cors):
    resp = cors.post(
        "/v1/tag",
        json={"text": TEXT},
        headers={"Origin": "https://plugin.example.org", "Authorization": "Bearer k"},
    )
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "https://plugin.example.org"
    exposed = {h.strip() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
    # a plugin reads the request id, and the cache validator and cache outcome to revalidate
    assert {"X-Request-ID", "ETag", "X-Cache"} <= exposed
    # errors too, so a browser plugin can read the problem
    resp = cors.post(
        "/v1/tag",
        json={"text": ""},
        headers={"Origin": "https://plugin.example.org", "Authorization": "Bearer k"},
    )
    assert (
        resp.status_code == 422
        and resp.headers["Access-Control-Allow-Origin"] == "https://plugin.example.org"
    )
    resp = cors.post(
        "/v1/tag",
        json={"text": TEXT},
        headers={"Origin": "https://evil.example.net", "Authorization": "Bearer k"},
    )
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_no_cors_headers_without_the_setting(client):
    resp = client.post("/v1/tag", json={"text": TEXT}, headers={"Origin": "https://cms.example.com"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = client.options(
        "/v1/tag", headers={"Origin": "https://cms.example.com", "Access-Control-Request-Method": "POST"}
    )
    assert resp.status_code == 403


@pytest.mark.parametrize("origin", ["http://localhost:3000", "null", "https://evil.example.net"])
def test_wildcard_origin_answers_a_literal_star_never_the_origin(make_app, origin):
    client = make_app(CORS_ORIGINS="*").test_client()
    resp = client.options(
        "/v1/tag/batch", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert resp.status_code == 204 and resp.headers["Access-Control-Allow-Origin"] == "*"
    resp = client.post("/v1/tag", json={"text": TEXT}, headers={"Origin": origin})
    assert resp.status_code == 200 and resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in resp.headers
    assert "Origin" not in resp.headers.get("Vary", "")  # the same answer for every origin


def test_null_origin_is_not_matched_by_an_allow_list(make_app, problem):
    client = make_app(CORS_ORIGINS="https://cms.example.com, null").test_client()
    resp = client.options("/v1/tag", headers={"Origin": "null", "Access-Control-Request-Method": "POST"})
    problem(resp, 403, "forbidden-origin")
    resp = client.post("/v1/tag", json={"text": TEXT}, headers={"Origin": "null"})
    assert resp.status_code == 200 and "Access-Control-Allow-Origin" not in resp.headers


@pytest.mark.parametrize(
    ("path", "method", "status", "slug"),
    [
        ("/v2/tag", "POST", 404, "not-found"),
        ("/nope", "GET", 404, "not-found"),
        ("/v1/tag", "DELETE", 405, "method-not-allowed"),
        ("/v1/tag", "PUT", 405, "method-not-allowed"),
        ("/healthz", "POST", 405, "method-not-allowed"),
    ],
)
def test_preflight_for_an_unknown_path_or_method_is_not_204(cors, problem, path, method, status, slug):
    headers = {"Origin": "https://cms.example.com", "Access-Control-Request-Method": method}
    resp = cors.options(path, headers=headers)
    problem(resp, status, slug)
    assert "Access-Control-Allow-Methods" not in resp.headers
    if status == 405:
        assert method not in resp.headers["Allow"]


def test_preflight_for_known_paths_and_methods(cors):
    for path, method in (("/v1/tag", "POST"), ("/v1/tag/batch", "POST"), ("/v1/labels", "GET")):
        resp = cors.options(
            path, headers={"Origin": "https://cms.example.com", "Access-Control-Request-Method": method}
        )
        assert resp.status_code == 204, (path, method)


@pytest.mark.parametrize(
    "path",
    ["/docs//x", "/docs//evil.example/x", "//docs", "//evil.example/x", "/v1//tag", "/docs/.//x", "//"],
)
def test_doubled_slashes_are_not_redirected_to_the_host_header(client, problem, path):
    # PATH_INFO as a server passes it (the test client would read '//docs' as a host name)
    resp = client.get("/", environ_overrides={"PATH_INFO": path}, headers={"Host": "evil.example"})
    assert not 300 <= resp.status_code < 400 and "Location" not in resp.headers
    if "/docs/" in path or "/v1/" in path or "evil" in path:
        problem(resp, 404, "not-found")


def test_plain_options_still_lists_methods(client):
    resp = client.options("/v1/tag")
    assert resp.status_code == 200 and "POST" in resp.headers["Allow"]


# --- request id and access log ---------------------------------------------------------------------


def test_request_id_is_echoed(client):
    resp = client.post("/v1/tag", json={"text": TEXT}, headers={"X-Request-ID": "cms-7f3a:save.42"})
    assert resp.headers["X-Request-ID"] == "cms-7f3a:save.42"


@pytest.mark.parametrize(
    "sent", [None, "", "x" * 129, "bad id with spaces", "inject\nline", "inject\r\nSet-Cookie: a=b", "é"]
)
def test_request_id_generated_when_missing_or_unsafe(client, sent):
    # Straight into the WSGI environ: Werkzeug's test client refuses to send a newline in a header,
    # but a server in front may pass one on, and the app must not echo it into its own headers.
    environ = {"HTTP_X_REQUEST_ID": sent} if sent is not None else {}
    resp = client.get("/healthz", environ_overrides=environ)
    assert resp.status_code == 200
    rid = resp.headers["X-Request-ID"]
    assert rid != sent and len(rid) == 32 and rid.isalnum()
    assert "Set-Cookie" not in resp.headers


def test_access_log_line(client, service_logs):
    sent = json.dumps({"text": SECRET_TEXT, "title": "Secret title"}).encode()
    resp = client.post(
        "/v1/tag", data=sent, content_type="application/json", headers={"X-Request-ID": "trace-1"}
    )
    lines = [r for r in service_logs if r.name == "service.access"]
    assert len(lines) == 1
    out = json.loads(JsonFormatter().format(lines[0]))
    assert out["method"] == "POST" and out["path"] == "/v1/tag" and out["status"] == 200
    assert out["request_id"] == "trace-1"
    assert out["request_bytes"] == len(sent)
    assert out["response_bytes"] == len(resp.get_data())
    assert isinstance(out["latency_ms"], float) and out["latency_ms"] >= 0
    assert out["level"] == "INFO" and out["logger"] == "service.access"
    for record in service_logs:
        line = JsonFormatter().format(record)
        assert "Confidential" not in line and "Secret title" not in line


def test_access_log_for_errors_and_can_be_switched_off(make_app, service_logs):
    make_app().test_client().get("/nope")
    assert [r.status for r in service_logs if r.name == "service.access"] == [404]
    service_logs.clear()
    make_app(ACCESS_LOG=False).test_client().get("/healthz")
    assert not [r for r in service_logs if r.name == "service.access"]


def test_json_formatter_is_one_json_object_per_line():
    record = logging.makeLogRecord(
        {"name": "service.api", "levelname": "ERROR", "msg": "boom %s", "args": ("x",), "request_id": "r1"}
    )
    out = json.loads(JsonFormatter().format(record))
    assert out["message"] == "boom x" and out["request_id"] == "r1" and "ts" in out
