"""``openapi.yaml`` as a product shared with other languages.

Checked here, over the whole spec:

- every operation, parameter, header, schema and property has a description;
- every response has an example, and every example (responses, parameters, headers, schemas)
  validates against its schema;
- the error catalogue has one source of truth: the known values of the spec's ``ErrorCode``
  (an extensible enum, listed in its ``examples``) and the facade's code -> exception table
  hold the same codes;
- ``info.version`` is semver, and matches the package version and the changelog;
- the Node side (pinned in package.json, installed by ``make node-install``): Redocly's lint
  rules are alive (a spec with the faults reports each of them), a spec change that breaks
  the TypeScript consumer in ``examples/typescript/`` fails to type-check, and the example,
  compiled, downloads from the reference server.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from breeze_blue._errors import ERRORS_BY_CODE
from breeze_blue._version import __version__
from breeze_blue.testing import TEST_API_KEY, api_key_id

ROOT = Path(__file__).parent.parent
SPEC_PATH = ROOT / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SPEC_URI = "urn:breeze-blue:openapi.yaml"
REGISTRY: Registry[Any] = Registry().with_resource(
    SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
AUDIO_PATH = "/v1/history/{history_item_id}/audio"
NPM_BIN = ROOT / "node_modules" / ".bin"
TS_EXAMPLE = ROOT / "examples" / "typescript"


# ---------------------------------------------------------------------------- walking the spec


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) to a place in the spec."""
    return "#" + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(node: Any) -> tuple[Any, str | None]:
    """Follow a local ``$ref`` (to the end of a chain); return the node and where it lives."""
    where = None
    while isinstance(node, dict) and "$ref" in node:
        where = node["$ref"]
        assert where.startswith("#/"), f"only local references are expected: {where}"
        node = SPEC
        for part in where[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, where


def located_operations() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", path, method, item[method]


def operations() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, _, _, operation in located_operations():
        yield name, operation


def responses() -> Iterator[tuple[str, tuple[str | int, ...], dict[str, Any]]]:
    """Every response: a name, its location (after $ref) and the resolved object."""
    for name, path, method, operation in located_operations():
        for status, response in operation["responses"].items():
            resolved, ref = resolve(response)
            location: tuple[str | int, ...] = (
                ("components", "responses", ref.rsplit("/", 1)[1])
                if ref
                else ("paths", path, method, "responses", status)
            )
            yield f"{name} {status}", location, resolved


def parameters() -> Iterator[tuple[str, dict[str, Any]]]:
    seen: set[int] = set()
    for name, parameter in SPEC["components"].get("parameters", {}).items():
        seen.add(id(parameter))
        yield f"components/parameters/{name}", parameter
    for op_name, operation in operations():
        for parameter in operation.get("parameters", []):
            resolved, _ = resolve(parameter)
            if id(resolved) not in seen:
                seen.add(id(resolved))
                yield f"{op_name} parameter {resolved['name']}", resolved


def headers() -> Iterator[tuple[str, dict[str, Any]]]:
    seen: set[int] = set()
    for name, header in SPEC["components"].get("headers", {}).items():
        seen.add(id(header))
        yield f"components/headers/{name}", header
    for response_name, _, response in responses():
        for name, header in response.get("headers", {}).items():
            resolved, _ = resolve(header)
            if id(resolved) not in seen:
                seen.add(id(resolved))
                yield f"{response_name} header {name}", resolved


def schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object written in the spec (not following $ref), with a readable name."""

    def walk(name: str, schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        if not isinstance(schema, dict) or "$ref" in schema:
            return
        yield name, schema
        for prop, sub in schema.get("properties", {}).items():
            yield from walk(f"{name}.{prop}", sub)
        for keyword in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for i, sub in enumerate(schema.get(keyword, [])):
                yield from walk(f"{name}.{keyword}[{i}]", sub)
        for keyword in ("items", "additionalProperties", "not"):
            if isinstance(schema.get(keyword), dict):
                yield from walk(f"{name}.{keyword}", schema[keyword])

    for name, schema in SPEC["components"]["schemas"].items():
        yield from walk(name, schema)
    for name, parameter in parameters():
        yield from walk(f"{name} schema", parameter.get("schema"))
    for name, header in headers():
        yield from walk(f"{name} schema", header.get("schema"))
    for name, _, response in responses():
        for media_type, content in response.get("content", {}).items():
            yield from walk(f"{name} {media_type} schema", content.get("schema"))


def properties() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, schema in schemas():
        for prop, sub in schema.get("properties", {}).items():
            yield f"{name}.{prop}", sub


def validate(instance: Any, *location: str | int) -> None:
    """Validate against the schema at ``location`` in the spec, its $refs resolved in place."""
    schema = {"$ref": SPEC_URI + pointer(*location)}
    OAS31Validator(schema, registry=REGISTRY).validate(instance)


def absolute(schema: Any) -> Any:
    """A schema copied out of the spec, its local $refs made to point into the spec."""
    if isinstance(schema, dict):
        return {
            k: SPEC_URI + v if k == "$ref" and v.startswith("#") else absolute(v)
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [absolute(v) for v in schema]
    return schema


def described(node: dict[str, Any]) -> bool:
    """A non-empty description here, or on what a bare $ref points to."""
    description = node.get("description")
    if description is None and "$ref" in node:
        description = resolve(node)[0].get("description")
    return isinstance(description, str) and description.strip() != ""


# ---------------------------------------------------------------------------- descriptions


def test_the_walk_sees_the_whole_spec() -> None:
    # Guards the walkers themselves: a walker that finds nothing would pass everything below.
    assert "GET /v1/history/{history_item_id}/audio" in dict(operations())
    assert len(list(responses())) >= 12
    assert {n for n, _ in parameters()} >= {
        "components/parameters/HistoryItemId",
        "components/parameters/Range",
        "components/parameters/IfRange",
    }
    # The component headers, and the one written inline (the 416's content-range).
    assert len(list(headers())) >= len(SPEC["components"]["headers"]) + 1
    assert {n for n, _ in properties()} >= {
        "ErrorEnvelope.error",
        "ErrorDetail.code",
        "ErrorDetail.message",
        "ErrorDetail.request_id",
    }


def test_every_operation_has_a_summary_and_a_description() -> None:
    missing = [n for n, op in operations() if not (described(op) and op.get("summary"))]
    assert missing == []


def test_every_parameter_has_a_description() -> None:
    assert [n for n, p in parameters() if not described(p)] == []


def test_every_header_has_a_description() -> None:
    assert [n for n, h in headers() if not described(h)] == []


def test_every_named_schema_has_a_description() -> None:
    missing = [n for n, s in SPEC["components"]["schemas"].items() if not described(s)]
    assert missing == []


def test_every_property_has_a_description() -> None:
    assert [n for n, p in properties() if not described(p)] == []


def test_every_response_tag_and_security_scheme_has_a_description() -> None:
    missing = [n for n, _, r in responses() if not described(r)]
    missing += [t["name"] for t in SPEC.get("tags", []) if not described(t)]
    missing += [n for n, s in SPEC["components"]["securitySchemes"].items() if not described(s)]
    assert missing == []


# ---------------------------------------------------------------------------- examples


def response_examples() -> Iterator[tuple[str, tuple[str | int, ...], Any]]:
    for name, location, response in responses():
        for media_type, content in response["content"].items():
            examples = [content["example"]] if "example" in content else []
            for key, example in content.get("examples", {}).items():
                examples.append(resolve(example)[0]["value"])
                assert key
            for example in examples:
                yield f"{name} {media_type}", (*location, "content", media_type, "schema"), example


def test_every_response_has_a_body_with_an_example() -> None:
    missing = []
    for name, _, response in responses():
        if not response.get("content"):
            missing.append(f"{name}: no content")
        for media_type, content in response.get("content", {}).items():
            if "example" not in content and not content.get("examples"):
                missing.append(f"{name} {media_type}")
    assert missing == []


@pytest.mark.parametrize(
    ("name", "location", "example"),
    [pytest.param(*e, id=e[0]) for e in response_examples()],
)
def test_response_examples_validate_against_their_schemas(
    name: str, location: tuple[str | int, ...], example: Any
) -> None:
    validate(example, *location)


def test_parameter_header_and_schema_examples_validate() -> None:
    checked = 0
    for name, node in [*parameters(), *headers()]:
        schema = node.get("schema", {})
        examples = [node["example"]] if "example" in node else []
        examples += [resolve(e)[0]["value"] for e in node.get("examples", {}).values()]
        for example in [*examples, *schema.get("examples", [])]:
            OAS31Validator(absolute(schema), registry=REGISTRY).validate(example)
            checked += 1
        assert examples or schema.get("examples"), f"{name} has no example"
    for _, schema in schemas():
        for example in schema.get("examples", []):
            OAS31Validator(absolute(schema), registry=REGISTRY).validate(example)
            checked += 1
    assert checked >= 15


def test_a_wrong_example_is_caught() -> None:
    # The validation above really looks: an envelope without a message, or with a number
    # for a code, fails against the same schema.
    location = ("components", "responses", "ResourceNotFound", "content", "application/json")
    with pytest.raises(ValidationError):
        validate({"error": {"code": "RESOURCE_NOT_FOUND"}}, *location, "schema")
    with pytest.raises(ValidationError):
        validate({"error": {"code": 404, "message": "x"}}, *location, "schema")
    with pytest.raises(ValidationError):
        validate("hist\nid", "components", "parameters", "HistoryItemId", "schema")
    detail = absolute({"$ref": "#/components/schemas/ErrorDetail"})
    with pytest.raises(ValidationError):
        OAS31Validator(detail, registry=REGISTRY).validate({"code": 1, "message": "x"})


# ---------------------------------------------------------------------------- error catalogue


def spec_known_error_codes() -> list[str]:
    codes: list[str] = SPEC["components"]["schemas"]["ErrorCode"]["examples"]
    return codes


def test_the_spec_enum_and_the_facade_table_name_the_same_codes() -> None:
    # One source of truth: a code added to one and not the other fails here. (tests/
    # test_errors.py compares the facade with the *generated* enum; this reads the spec.)
    codes = spec_known_error_codes()
    assert len(codes) == len(set(codes)), "ErrorCode's examples list a code twice"
    assert set(codes) == set(ERRORS_BY_CODE), (
        f"only in openapi.yaml: {sorted(set(codes) - set(ERRORS_BY_CODE))}; "
        f"only in ERRORS_BY_CODE: {sorted(set(ERRORS_BY_CODE) - set(codes))}"
    )


def test_the_error_code_is_an_extensible_enum() -> None:
    # Clients must accept a code the spec does not name yet. A closed `enum` or an `anyOf` of
    # one with a string is misread by generators (docs/interop.md); an open string whose known
    # values are its `examples`, "Extensible enum" in the description, is read right by all.
    error_code = SPEC["components"]["schemas"]["ErrorCode"]
    assert error_code["type"] == "string"
    assert not {"enum", "anyOf", "oneOf", "const"} & set(error_code)
    assert error_code["description"].startswith("Extensible enum")
    validate("A_CODE_FROM_THE_FUTURE", "components", "schemas", "ErrorCode")
    # The description spells the list out for readers of rendered docs: the same codes.
    listed = re.search(r"\(([A-Z_,\s]+)\)", error_code["description"])
    assert listed, "the description names the known codes in parentheses"
    assert re.split(r",\s*", listed[1].strip()) == spec_known_error_codes()


def test_every_error_response_is_the_envelope_and_every_code_has_an_example() -> None:
    shown: set[str] = set()
    for name, _, response in responses():
        status = name.rsplit(" ", 1)[1]
        if int(status) < 400:
            continue
        content = response["content"]
        assert list(content) == ["application/json"], name
        assert content["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"
        }, name
        code = content["application/json"]["example"]["error"]["code"]
        assert code in spec_known_error_codes(), f"{name}: example code {code} is not known"
        shown.add(code)
    # Each code of the catalogue is shown in at least one example (and so on the docs page).
    assert shown == set(spec_known_error_codes())


# ---------------------------------------------------------------------------- versioning

# https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def test_info_version_is_semver_and_the_package_version() -> None:
    version = SPEC["info"]["version"]
    assert isinstance(version, str), "info.version must be a string (quote it in YAML)"
    assert SEMVER.match(version), f"info.version {version!r} is not semver"
    assert version == __version__, (
        f"openapi.yaml info.version {version} != breeze_blue/_version.py {__version__}"
    )


def test_the_changelog_starts_with_this_release() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    releases = [r for r in releases if r.lower() != "unreleased"]
    assert releases, "CHANGELOG.md has no release heading (## [x.y.z] - YYYY-MM-DD)"
    assert releases[0] == __version__, (
        f"CHANGELOG.md's latest release is {releases[0]}, the package is {__version__}"
    )
    assert all(SEMVER.match(r) for r in releases)


# ---------------------------------------------------------------------------- the Node side


@pytest.fixture(scope="module")
def node_tools() -> Path:
    """The pinned Node tools (``make node-install``); skipped, saying so, only outside CI."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        reason = "node/npm not found: the Redocly and TypeScript checks of the spec did not run"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    subprocess.run(["make", "-s", "node-install"], cwd=ROOT, check=True, capture_output=True)
    return NPM_BIN


def run(*args: str | Path, cwd: Path = ROOT, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    return subprocess.run(
        [str(a) for a in args],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        **kwargs,
    )


def break_the_spec_for_the_linter(spec: dict[str, Any]) -> set[str]:
    """One fault per rule in redocly.yaml; returns the rule ids that must report."""
    components = spec["components"]
    operation = spec["paths"][AUDIO_PATH]["get"]
    del operation["description"]
    del components["parameters"]["Range"]["description"]
    components["parameters"]["IfRange"]["example"] = 5
    del components["headers"]["ETag"]["description"]
    del components["schemas"]["ErrorEnvelope"]["description"]
    detail = components["schemas"]["ErrorDetail"]["properties"]["request_id"]
    del detail["description"], detail["examples"]
    components["schemas"]["AudioBinary"]["examples"] = [3]
    del components["responses"]["InternalError"]["content"]["application/json"]["example"]
    example = components["responses"]["RateLimited"]["content"]["application/json"]["example"]
    example["error"]["code"] = 7
    components["headers"]["Unused"] = {"description": "Unused.", "schema": {"type": "string"}}
    del spec["tags"][0]["description"]
    return {
        "operation-description",
        "parameter-description",
        "no-invalid-parameter-examples",
        "rule/header-description",
        "rule/schema-description",
        "rule/property-description",
        "scalar-property-missing-example",
        "no-invalid-schema-examples",
        "rule/response-example",
        "no-invalid-media-type-examples",
        "no-unused-components",
        "tag-description",
    }


def test_redocly_passes_the_spec_and_its_rules_are_alive(node_tools: Path, tmp_path: Path) -> None:
    clean = run(node_tools / "redocly", "lint", "openapi.yaml", "--format=json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert json.loads(clean.stdout)["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}

    broken = copy.deepcopy(SPEC)
    expected = break_the_spec_for_the_linter(broken)
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken, sort_keys=False))
    result = run(
        node_tools / "redocly", "lint", tmp_path / "broken.yaml", "--format=json",
        "--config", ROOT / "redocly.yaml",
    )  # fmt: skip
    assert result.returncode != 0
    reported = {problem["ruleId"] for problem in json.loads(result.stdout)["problems"]}
    assert expected <= reported, f"rules that did not report: {sorted(expected - reported)}"


def add_a_code(spec: dict[str, Any]) -> None:
    spec["components"]["schemas"]["ErrorCode"]["examples"].append("QUOTA_EXCEEDED")


def remove_a_code(spec: dict[str, Any]) -> None:
    spec["components"]["schemas"]["ErrorCode"]["examples"].remove("RATE_LIMITED")


def rename_the_key_id_header(spec: dict[str, Any]) -> None:
    for status in ("200", "206"):
        found = spec["paths"][AUDIO_PATH]["get"]["responses"][status]["headers"]
        found["x-breeze-key-id"] = found.pop("x-breeze-api-key-id")


def drop_a_media_type(spec: dict[str, Any]) -> None:
    for status in ("200", "206"):
        del spec["paths"][AUDIO_PATH]["get"]["responses"][status]["content"]["audio/pcm"]


def rename_the_path_parameter(spec: dict[str, Any]) -> None:
    spec["paths"]["/v1/history/{id}/audio"] = spec["paths"].pop(AUDIO_PATH)
    spec["components"]["parameters"]["HistoryItemId"]["name"] = "id"


BREAKING_CHANGES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "a code added to ErrorCode": (add_a_code, "'\"QUOTA_EXCEEDED\"' is not assignable"),
    "a code removed": (remove_a_code, "'\"RATE_LIMITED\"' is not comparable"),
    "x-breeze-api-key-id renamed": (rename_the_key_id_header, "x-breeze-api-key-id"),
    "a media type removed": (drop_a_media_type, "'\"audio/pcm\"' does not exist"),
    "the path renamed": (rename_the_path_parameter, "/v1/history/{history_item_id}/audio"),
}


def test_spec_changes_that_break_typescript_fail_the_type_check(
    node_tools: Path, tmp_path: Path
) -> None:
    # Each change goes into its own copy of the example; one node process generates the
    # types for all of them (generate-types.mjs, as `make ts-check` does),
    # and one tsc run checks them all.
    cases = []
    for n, (change, _) in enumerate(BREAKING_CHANGES.values()):
        case = tmp_path / f"case{n}"
        case.mkdir()
        for name in ("download.ts", "main.ts"):
            shutil.copy(TS_EXAMPLE / name, case / name)
        spec = copy.deepcopy(SPEC)
        change(spec)
        (case / "openapi.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        cases.append(case)
    pairs = [str(p) for case in cases for p in (case / "openapi.yaml", case / "api.ts")]
    generated = run("node", TS_EXAMPLE / "generate-types.mjs", *pairs, timeout=120)
    assert generated.returncode == 0, generated.stderr
    config = json.loads(
        re.sub(r"^\s*//.*$", "", (TS_EXAMPLE / "tsconfig.json").read_text(), flags=re.MULTILINE)
    )
    config["include"] = [f"case{n}/*.ts" for n in range(len(BREAKING_CHANGES))]
    (tmp_path / "tsconfig.json").write_text(json.dumps(config))
    # Resolve openapi-fetch from the project's node_modules; ESM, as in the real example.
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    (tmp_path / "package.json").write_text('{"type": "module"}')

    result = run(node_tools / "tsc", "--noEmit", "-p", tmp_path, "--pretty", "false")
    assert result.returncode != 0
    for n, (what, (_, message)) in enumerate(BREAKING_CHANGES.items()):
        errors = [line for line in result.stdout.splitlines() if f"/case{n}/" in line]
        assert any(message in line for line in errors), f"{what}: not caught\n{result.stdout}"


def test_the_typescript_example_downloads_from_the_reference_server(node_tools: Path) -> None:
    # Type-checked is not enough: compiled and run, the example must agree with a server
    # that implements the spec (headers read, error envelope handled by code). The README's
    # own command, exactly.
    readme = (TS_EXAMPLE / "README.md").read_text()
    assert "make ts-demo" in readme
    result = subprocess.run(
        ["make", "-s", "ts-demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    json_lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(json_lines) == 5, result.stdout
    seen = {line["historyItemId"]: line for line in map(json.loads, json_lines)}
    key_id = api_key_id(TEST_API_KEY)
    audio = seen["hist_01haudio"]
    assert audio["ok"]
    assert audio["mediaType"] == "audio/wav"
    assert audio["bytes"] > 10_000
    assert audio["filename"] == "hist_01haudio.wav"
    assert audio["apiKeyId"] == key_id
    assert seen["hist_pcm"] == {
        "historyItemId": "hist_pcm",
        "ok": True,
        "mediaType": "audio/pcm",
        "filename": "hist_pcm.pcm",
        "apiKeyId": key_id,
        "bytes": 4 * 1024 + 17,
    }
    assert seen["hist_missing"] | {"requestId": None} == {
        "historyItemId": "hist_missing",
        "ok": False,
        "status": 404,
        "code": "RESOURCE_NOT_FOUND",
        "requestId": None,
        "action": "give-up",
    }
    assert (seen["hist_running"]["code"], seen["hist_running"]["action"]) == (
        "GENERATION_NOT_READY",
        "retry",
    )
    assert (seen["hist_invalid"]["status"], seen["hist_invalid"]["action"]) == (
        400,
        "fix-request",
    )
