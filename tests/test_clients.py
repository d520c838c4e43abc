"""Generated clients get typed batch input from openapi.yaml, and Redocly's lint finds nothing to fix.

A newsroom generates its client from the spec: ``openapi-python-client`` (the ``test`` extra) and
``openapi-typescript`` (npm; Node.js from Debian). Where ``documents`` was ``anyOf [TagRequest, {}]``
they produced ``list[Any | TagRequest]`` and ``(TagRequest | unknown)[]``: no type checking of
what a CMS sends. Each test generates into a temporary folder and skips, saying how to install the
generator, where it is absent. The TypeScript tools are looked for in ``.cache/openapi-typescript``
(``npm install --prefix .cache/openapi-typescript openapi-typescript@7``, which brings TypeScript and
Redocly's ``openapi-core`` along), then on ``PATH``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
NODE_MODULES = ROOT / ".cache" / "openapi-typescript" / "node_modules"
NPM_HINT = "npm install --prefix .cache/openapi-typescript openapi-typescript@7"


def _tool(name: str) -> str | None:
    """A command-line tool beside this Python, in the npm cache folder, or on PATH."""
    for candidate in (Path(sys.executable).parent / name, NODE_MODULES / ".bin" / name):
        if candidate.is_file():
            return str(candidate)
    return shutil.which(name)


@pytest.fixture(scope="module")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python client openapi-python-client generates from openapi.yaml (its package folder)."""
    tool = _tool("openapi-python-client")
    if tool is None:
        pytest.skip("openapi-python-client is not installed: pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("python-client") / "tagger_client"
    command = [tool, "generate", "--path", str(SPEC), "--meta", "none", "--output-path", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=out.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_python_client_types_batch_documents_as_tag_requests(python_client):
    source = (python_client / "models" / "batch_request.py").read_text("utf-8")
    assert "documents: list[TagRequest]" in source, source
    assert "Any" not in source.split("documents: list[", 1)[1].split("\n", 1)[0]
    tag_request = (python_client / "models" / "tag_request.py").read_text("utf-8")
    assert "format_: TagRequestFormat | Unset" in tag_request


def test_python_client_builds_and_reads_a_batch(python_client, monkeypatch):
    monkeypatch.syspath_prepend(str(python_client.parent))
    models = importlib.import_module("tagger_client.models")
    batch = models.BatchRequest(documents=[
        models.TagRequest(text="<p>Joe Biden in Lima</p>", format_=models.TagRequestFormat.HTML),
        models.TagRequest(text="Peru.", id="a2"),
    ])
    assert batch.to_dict()["documents"] == [{"text": "<p>Joe Biden in Lima</p>", "format": "html"},
                                            {"text": "Peru.", "id": "a2"}]
    read = models.BatchRequest.from_dict({"documents": [{"text": "x", "format": "text"}]})
    assert isinstance(read.documents[0], models.TagRequest)


@pytest.fixture(scope="module")
def typescript_types(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``.d.ts`` openapi-typescript generates from openapi.yaml."""
    tool = _tool("openapi-typescript")
    if tool is None or shutil.which("node") is None:
        pytest.skip(f"openapi-typescript or Node.js is not installed: {NPM_HINT}")
    out = tmp_path_factory.mktemp("ts-client") / "api.d.ts"
    done = subprocess.run([tool, str(SPEC), "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_typescript_types_batch_documents_as_tag_requests(typescript_types):
    source = typescript_types.read_text("utf-8")
    assert 'documents: components["schemas"]["TagRequest"][];' in source
    assert "unknown" not in source.split("BatchRequest: {", 1)[1].split("};", 1)[0]


@pytest.mark.parametrize(("body", "compiles"), [
    ('{documents: [{text: "<p>Peru</p>", format: "html"}, {text: "Peru.", id: "a2"}]}', True),
    ('{documents: [{txt: "Peru."}]}', False),  # a misspelt field
    ('{documents: [{text: "Peru.", format: "markdown"}]}', False),  # not one of the formats
    ('{documents: ["Peru."]}', False),
])
def test_typescript_compiler_checks_batch_input(typescript_types, tmp_path, body, compiles):
    tsc = _tool("tsc")
    if tsc is None:
        pytest.skip(f"the TypeScript compiler is not installed: {NPM_HINT}")
    shutil.copy(typescript_types, tmp_path / "api.d.ts")
    (tmp_path / "use.ts").write_text(
        'import type { components } from "./api";\n'
        f'export const batch: components["schemas"]["BatchRequest"] = {body};\n', "utf-8")
    done = subprocess.run([tsc, "--noEmit", "--strict", "--skipLibCheck", "use.ts"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert (done.returncode == 0) == compiles, done.stdout + done.stderr


# Operations with no 4xx of their own: open endpoints whose only failures are 404/405 (`default`).
NO_4XX = {"/healthz", "/readyz", "/openapi.yaml", "/docs", "/"}

LINT = """
const { lint, loadConfig } = require("@redocly/openapi-core");
(async () => {
  const problems = await lint({ ref: process.argv[1], config: await loadConfig({}) });
  console.log(JSON.stringify(problems.map(p => [p.ruleId, p.message, p.location[0].pointer])));
})();
"""


def test_redocly_recommended_lint_finds_only_open_endpoints_without_4xx():
    if not (NODE_MODULES / "@redocly" / "openapi-core").is_dir() or shutil.which("node") is None:
        pytest.skip(f"Redocly's openapi-core or Node.js is not installed: {NPM_HINT}")
    done = subprocess.run(["node", "-e", LINT, str(SPEC)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    assert done.returncode == 0, done.stderr
    problems = json.loads(done.stdout)
    others = [p for p in problems if p[0] != "operation-4xx-response"]
    assert others == []  # no unused components, no empty schema in anyOf, ...
    paths = {p[2].split("/")[2].replace("~1", "/") for p in problems}
    assert paths <= NO_4XX, problems
