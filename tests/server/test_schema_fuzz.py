"""Schemathesis against a live `tagreg serve --write`: requests generated from /api/openapi.json
(valid and invalid ones), each answered as the schema says: never a 500, every error a 4xx with the
documented `{"error": {...}}` body. Deterministic (derandomized, bounded examples) and local only."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason='the server extra is not installed: pip install "tagreg[server]"')
schemathesis = pytest.importorskip("schemathesis", reason="pip install -e '.[tests]'")

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .support import TOKEN, build_registries, start_server, stop_server

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory):
    regs = build_registries(tmp_path_factory.mktemp("fuzz"))
    s = start_server(regs, "--config", str(regs.config), "--write", token=TOKEN, wait_for=3)
    yield s
    stop_server(s)


def crashers(operation) -> list:
    """The inputs that gave 500s before (found by schemathesis runs with more examples), for every
    operation that takes them: an offset of 2**63, a search of 999 words, NUL in a ref or a name."""
    raw = operation.definition.raw
    query = {p["name"] for p in raw.get("parameters", []) if p["in"] == "query"}
    path = {p["name"] for p in raw.get("parameters", []) if p["in"] == "path"}
    names = {"name": "resnet"} if "name" in path else {}
    cases = []
    if "offset" in query:
        cases.append(operation.Case(path_parameters=names, query={"offset": 2**63}))
    if "q" in query:
        cases.append(operation.Case(query={"q": " ".join(f"w{n}" for n in range(999))}))
    if "name" in path:
        cases.append(operation.Case(path_parameters={"name": "a\x00b"}))
    if "requestBody" in raw:
        schema = raw["requestBody"]["content"]["application/json"]["schema"]
        fields = set(schema.get("properties", {})) & {"ref", "version", "stage"}
        body = {"repo": "vision", **dict.fromkeys(fields, "v1\x00")}
        cases.append(operation.Case(path_parameters={"name": "resnet"}, body=body, media_type="application/json"))
    return cases


# Schemathesis' own pytest plugin (`schemathesis.pytest.from_fixture`) does not run under pytest 9:
# the operations are driven through its Python API and hypothesis instead.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_generated_request_gets_a_documented_answer(fuzzed_server, mode):
    schema = schemathesis.openapi.from_url(fuzzed_server.url + "/api/openapi.json")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        def check_one(case):
            # Every other check runs. "Schema-valid data is accepted" cannot hold: a name, version or
            # stage must also follow the tag grammar (400), which a JSON schema does not express.
            response = case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])
            if response.status_code >= 400:
                error = response.json()["error"]
                assert error["status"] == response.status_code and error["code"] and error["message"]

        check = settings(max_examples=30, derandomize=True, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))(
            given(case=operation.as_strategy(generation_mode=mode))(check_one))
        try:
            if mode == GenerationMode.NEGATIVE:
                for case in crashers(operation):
                    check_one(case)
            check()
        except Unsatisfiable:  # nothing invalid to send (GET /api/repos takes no input)
            assert mode == GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # noqa: BLE001 (every operation is tried; all failures are reported together)
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert "Traceback" not in fuzzed_server.logs()
