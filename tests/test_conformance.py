"""Conformance: the bundled reference server answers as ``openapi.yaml`` says it does.

:func:`test_schemathesis_run_all_phases_all_checks` runs the Schemathesis command line the way
a user would, ``schemathesis run openapi.yaml --checks all`` with every phase (the spec's
examples, coverage, fuzzing, stateful), against ``python -m breeze_blue.testing --ranges``,
which it starts and stops itself, and asserts zero failures, zero errors and zero warnings.
No check is excluded and no failure is filtered. Every check runs on every response: the
status code, content type and headers are documented, JSON error bodies validate against
``ErrorEnvelope``, schema-violating requests are rejected and schema-valid ones are not, the
API key is enforced, undeclared methods get ``405`` with ``Allow``.

This module is also that run's hooks file (``hooks =`` in the generated config), so the
command line and the tests below share one set of hooks and checks:

- half of the generated history item ids are items of the catalogue, so ready audio, every
  documented error and ``206``/``416`` are reached, not only ``404``; the spec's example
  request is also sent to every catalogue item, with and without its headers;
- two thirds of the ``Range`` values are built for the items' lengths (satisfiable, beyond
  the end, reversed, and forms the server ignores), since a random string rarely parses;
- the stateful phase follows the spec's ``206`` link (another part, with ``If-Range`` set to
  the response's ``ETag``): the only way generated requests get a *matching* ``If-Range``;
- Schemathesis cannot validate audio bodies (it has no reader for ``audio/*``), so
  :class:`AudioBodies` does: the content type is the item's, ``content-length`` is the body's
  length, and the body is the item's exact bytes (whole for ``200``, the part named by
  ``Content-Range`` for ``206``), the status is the one the spec's ``Range``/``If-Range``
  text gives, and ``416`` names the full length. The run must have seen each of these
  answers (``[checks.AudioBodies] require``), so a hook that stopped working fails the test.

The remaining exclusions, each for items built to misbehave: the fuzzer is not given
``hist_internal``/``hist_unavailable`` (they answer ``500``/``503`` on purpose, which
``not_a_server_error`` rightly calls a server error) nor ``hist_invalid`` (``400`` to any
request, which ``positive_data_acceptance`` rightly calls a rejected valid request); each is
tested on its own below with every check but that one. ``hist_large`` (8 MiB, slow) and
``hist_cut`` (drops the connection mid-body: a fault, not spec behaviour) are not asked for.

The seed is fixed, but Schemathesis draws whether a stateful step follows a link with true
randomness, so the stateful phase differs from run to run; its bounds leave a wide margin for
``206 If-Range matched`` (dozens of seeds tried, none missed it).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.deserialization import DeserializationContext
from schemathesis.specs.openapi.checks import positive_data_acceptance

from breeze_blue.testing import TEST_API_KEY, Ready, ReferenceServer
from breeze_blue.testing.__main__ import catalogue
from breeze_blue.testing._server import _LAST_MODIFIED

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "openapi.yaml"
AUDIO_PATH = "/v1/history/{history_item_id}/audio"
ID_PATTERN = re.compile(r"[^\x00-\x1f\x7f]{1,256}")  # the spec's HistoryItemId

# What `python -m breeze_blue.testing --ranges` serves: the same function builds both.
ITEMS = catalogue(ranges=True)
NOT_FUZZED = {
    "hist_large": "8 MiB: slow, and shows nothing the 4 KiB items do not",
    "hist_cut": "drops the connection mid-body: a fault, not spec behaviour",
    "hist_invalid": "answers 400 to any request, a valid one too: tested on its own",
    "hist_internal": "answers 500 on purpose: tested on its own",
    "hist_unavailable": "answers 503 on purpose: tested on its own",
}
FUZZED = tuple(item for item in ITEMS if item not in NOT_FUZZED)
RANGED = "hist_opus"


def ready(item_id: str) -> Ready:
    item = ITEMS[item_id]
    assert isinstance(item, Ready)
    return item


RANGED_ITEM = ready(RANGED)

# What a schema-valid request may get: Schemathesis' default plus 416 (a range beyond the end
# of this item's audio: RFC 9110's answer to a well-formed request, which no schema can rule
# out since it depends on the item) and 422 (this item's generation failed). Both are about
# the item, not the request's shape; 400 stays a rejection.
VALID_REQUEST_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "416", "422", "429", "5xx"]
CONFIG: dict[str, Any] = {
    "auth": {"openapi": {"ApiKeyAuth": {"api_key": TEST_API_KEY}}},
    "checks": {"positive_data_acceptance": {"expected-statuses": VALID_REQUEST_STATUSES}},
}
# Every answer AudioBodies tells apart; the command-line run must see each one.
ANSWERS = [
    "200",
    "200 Range ignored",
    "200 If-Range stale",
    "206",
    "206 If-Range matched",
    "416",
]

# Bounds for the command-line run (about 15 s on 2 cores; the test allows 90): examples per
# phase, and for the stateful phase scenarios of at most STATEFUL_MAX_STEPS requests (long
# enough that a 206 is often followed by its link).
MAX_EXAMPLES = 100
STATEFUL_SCENARIOS = 15
STATEFUL_MAX_STEPS = 8
SEED = 20261202


# ---------------------------------------------------------------------------- hooks


@schemathesis.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """Half of the schema-valid ids are catalogue items; invalid ones stay as generated."""
    value = path_parameters.get("history_item_id")
    if not (isinstance(value, str) and ID_PATTERN.fullmatch(value)):
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.sampled_from(FUZZED).map(lambda item: {**path_parameters, "history_item_id": item}),
    )


def range_values() -> st.SearchStrategy[str]:
    """``Range`` values: mostly parts every item has, then around the items' ends, then forms
    the server ignores or refuses (a suffix, several ranges, another unit, reversed)."""
    lengths = sorted({i.length for k, i in ITEMS.items() if k in FUZZED and isinstance(i, Ready)})
    inside = st.integers(0, lengths[0] - 1)
    near_an_end = st.sampled_from(lengths).flatmap(lambda n: st.integers(n - 2, n + 2))
    part = inside.flatmap(
        lambda first: st.one_of(
            st.just(f"bytes={first}-"),
            st.integers(first, lengths[-1] + 2).map(lambda last: f"bytes={first}-{last}"),
        )
    )
    return st.one_of(
        part,
        part,
        part,
        near_an_end.map(lambda first: f"bytes={first}-"),
        st.tuples(inside, inside).map(lambda p: f"bytes={max(p) + 1}-{min(p)}"),
        st.sampled_from(["bytes=-500", "bytes=0-1,4-9", "items=0-9", "bytes=", "bytes=x-"]),
    )


@schemathesis.hook
def flatmap_headers(
    context: schemathesis.HookContext, headers: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Mostly a ``Range`` that means something: a random string rarely parses, and any
    string is schema-valid, so the request stays what it was generated as."""
    if headers is not None and not isinstance(headers.get("Range", ""), str):
        return st.just(headers)  # a negated Range stays negated
    meaningful = range_values().map(lambda value: {**(headers or {}), "Range": value})
    return st.one_of(st.just(headers), meaningful, meaningful)


@schemathesis.hook
def before_add_examples(
    context: schemathesis.HookContext, examples: list[schemathesis.Case]
) -> None:
    """Send the spec's example request to every catalogue item, with and without its headers.

    The example carries ``Range: bytes=1000-`` and a stale ``If-Range`` (a ranged item
    answers 200 with the whole audio); without ``If-Range`` it answers 206. One range beyond
    the end (416) and one the server ignores (200) are added.
    """
    if not examples:
        return
    template = examples[0]

    def variant(item: str, *dropped: str, **headers: str) -> schemathesis.Case:
        # derive(keep_auth=True) keeps the configured key, so ignored_auth still probes it.
        case = template.derive(keep_auth=True)
        case.path_parameters["history_item_id"] = item
        for name in dropped:
            case.headers.pop(name, None)
        case.headers.update(headers)
        return case

    for item in FUZZED:
        examples.append(variant(item))
        examples.append(variant(item, "If-Range"))
        examples.append(variant(item, "Range", "If-Range"))
    examples.append(variant(RANGED, "If-Range", Range=f"bytes={RANGED_ITEM.length}-"))
    examples.append(variant(RANGED, "If-Range", Range="bytes=-500"))  # a suffix: ignored


@schemathesis.deserializer("audio/*")
def audio_as_octets(context: DeserializationContext, response: schemathesis.Response) -> str:
    """The body for ``AudioBinary`` (``type: string``): one character per byte (latin-1)."""
    return response.content.decode("latin-1")


# ---------------------------------------------------------------------------- audio bodies


def header(headers: Mapping[str, Any], name: str) -> str | None:
    """One header's value, from a response's (lists) or a request's (strings) headers."""
    value = headers.get(name)
    if isinstance(value, list):
        assert len(value) == 1, f"{len(value)} {name} headers: {value}"
        return str(value[0])
    return None if value is None else str(value)


def spec_answer(
    item_id: str, item: Ready, range_: str | None, if_range: str | None
) -> tuple[str, int, int]:
    """The answer (one of ANSWERS) and the part the spec's ``Range``/``If-Range`` text gives."""
    length = item.length
    if range_ is None or not item.ranges:
        return "200", 0, length - 1
    if if_range is not None and if_range not in {item.etag(item_id), _LAST_MODIFIED}:
        return "200 If-Range stale", 0, length - 1
    match = re.fullmatch(r"bytes=([0-9]+)-([0-9]*)", range_.strip())
    if match is None:
        return "200 Range ignored", 0, length - 1
    first = int(match[1])
    last = int(match[2]) if match[2] else length - 1
    if first >= length or last < first:
        return "416", 0, 0
    return ("206 If-Range matched" if if_range else "206"), first, min(last, length - 1)


@schemathesis.check
class AudioBodies:
    """Audio answers carry the item's bytes, as the spec's ``Range`` text says.

    Per response: the content type is the item's, ``content-length`` is the body's length,
    the status is the one :func:`spec_answer` gives, a ``200`` body is the whole audio, a
    ``206`` body is exactly the part its ``Content-Range`` names, and ``416`` names the full
    length. After the run: every answer in ``require`` was seen.
    """

    def __init__(self, require: list[str] | None = None) -> None:
        self.require = set(require or ())
        self.seen: set[str] = set()

    def after_response(
        self, ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case
    ) -> None:
        status = response.status_code
        item_id = str(case.path_parameters.get("history_item_id", ""))
        item = ITEMS.get(item_id)
        if status in (200, 206):
            assert isinstance(item, Ready), f"{status} with audio for {item_id!r}"
            content_type = header(response.headers, "content-type")
            assert content_type == item.media_type, f"{content_type}, not {item.media_type}"
            content_length = header(response.headers, "content-length")
            assert content_length == str(len(response.content)), (
                f"content-length {content_length}, body {len(response.content)} bytes"
            )
        if not isinstance(item, Ready) or status not in (200, 206, 416):
            return
        range_ = header(response.request.headers, "range")
        if_range = header(response.request.headers, "if-range")
        answer, first, last = spec_answer(item_id, item, range_, if_range)
        assert status == int(answer[:3]), f"Range {range_!r}, If-Range {if_range!r}: {answer}"
        self.seen.add(answer)
        length = item.length
        content_range = header(response.headers, "content-range")
        if status == 416:
            assert content_range == f"bytes */{length}", f"416 with {content_range!r}"
            return
        audio = b"".join(item.chunks(item_id))
        if status == 206:
            wanted = f"bytes {first}-{last}/{length}"
            assert content_range == wanted, f"Range {range_!r}: {content_range!r}, not {wanted!r}"
            assert response.content == audio[first : last + 1], "206: not the part it names"
        else:
            assert content_range is None, f"200 with Content-Range {content_range!r}"
            assert response.content == audio, "200: not the item's whole audio"

    def after_run(self, ctx: CheckContext) -> None:
        missing = sorted(self.require - self.seen)
        assert not missing, f"never answered: {missing}; seen: {sorted(self.seen)}"


# ---------------------------------------------------------------------------- the command line


def toml_config(hooks: Path) -> str:
    """The run's schemathesis.toml: CONFIG, plus this file as hooks and the run's bounds."""
    auth = CONFIG["auth"]["openapi"]["ApiKeyAuth"]
    positive = CONFIG["checks"]["positive_data_acceptance"]
    return "\n".join(
        [
            f"hooks = {json.dumps(str(hooks))}",
            "[auth.openapi.ApiKeyAuth]",
            f"api_key = {json.dumps(auth['api_key'])}",
            "[checks.positive_data_acceptance]",
            f"expected-statuses = {json.dumps(positive['expected-statuses'])}",
            "[checks.AudioBodies]",
            f"require = {json.dumps(ANSWERS)}",
            "[phases.stateful]",
            f"max-steps = {STATEFUL_MAX_STEPS}",
            "[phases.stateful.generation]",
            f"max-examples = {STATEFUL_SCENARIOS}",
            "[warnings]",
            "fail-on = true",
            "",
        ]
    )


@contextmanager
def command_line_server(*args: str) -> Iterator[str]:
    """``python -m breeze_blue.testing --port 0 ARGS`` in a child process; yields its URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "breeze_blue.testing", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline().strip()
        assert line.startswith("BREEZE_BASE_URL="), line
        yield line.removeprefix("BREEZE_BASE_URL=")
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


def test_schemathesis_run_all_phases_all_checks(tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(toml_config(Path(__file__).resolve()), encoding="utf-8")
    reports = tmp_path / "reports"
    with command_line_server("--ranges") as url:
        command = [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(config),
            "--no-color",
            "run",
            str(SPEC),
            f"--url={url}",
            "--checks=all",
            "--phases=examples,coverage,fuzzing,stateful",
            f"--max-examples={MAX_EXAMPLES}",
            f"--seed={SEED}",
            "--generation-database=none",
            "--workers=1",
            "--request-timeout=10",
            "--report=json",
            f"--report-dir={reports}",
        ]
        run = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=90, cwd=tmp_path
        )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    (report_path,) = reports.glob("json-*.json")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["complete"], output
    assert report["exit_code"] == 0, output
    assert report["failures"] == [], output
    assert report["errors"] == [], output
    assert report["test_cases"]["with_failures"] == 0, output
    phases = {name: phase["status"] for name, phase in report["phases"].items()}
    assert phases == dict.fromkeys(("examples", "coverage", "fuzzing", "stateful"), "success")
    assert {name: found for name, found in report["warnings"].items() if found} == {}, output
    assert report["filtered"] == 0, output
    assert "API Links:    1 covered / 1 selected / 1 total" in output, output


# ---------------------------------------------------------------------------- one request each


@pytest.fixture(scope="module")
def reference_server() -> Iterator[ReferenceServer]:
    with ReferenceServer(items=catalogue(ranges=True)) as server:
        yield server


schema = schemathesis.openapi.from_path(SPEC, config=schemathesis.Config.from_dict(CONFIG))
OPERATION = schema[AUDIO_PATH]["GET"]


def download(server: ReferenceServer, item: str, **headers: str) -> schemathesis.Response:
    """GET the item's audio with a valid key; every check (AudioBodies too) must pass."""
    case = OPERATION.Case(path_parameters={"history_item_id": item}, headers=headers)
    # The key passed here (not in the case) counts as configured auth, so the
    # ignored_auth check also retries without it and with a wrong one.
    return case.call_and_validate(base_url=server.url, headers={"xi-api-key": TEST_API_KEY})


def ranged_bytes() -> bytes:
    return b"".join(RANGED_ITEM.chunks(RANGED))


def test_range_from_offset_gets_206(reference_server: ReferenceServer) -> None:
    response = download(reference_server, RANGED, Range="bytes=10-")
    length = RANGED_ITEM.length
    assert response.status_code == 206
    assert response.headers["content-range"] == [f"bytes 10-{length - 1}/{length}"]
    assert response.headers["content-type"] == [RANGED_ITEM.media_type]
    assert response.content == ranged_bytes()[10:]


def test_range_with_matching_if_range_gets_206(reference_server: ReferenceServer) -> None:
    etag = RANGED_ITEM.etag(RANGED)
    response = download(reference_server, RANGED, Range="bytes=10-19", **{"If-Range": etag})
    assert response.status_code == 206
    assert response.headers["etag"] == [etag]
    assert response.content == ranged_bytes()[10:20]


@pytest.mark.parametrize("value", ["bytes=-5", "bytes=0-1,4-9", "items=0-9", "bytes=x-", ""])
def test_a_range_the_server_cannot_use_is_ignored(
    reference_server: ReferenceServer, value: str
) -> None:
    response = download(reference_server, RANGED, Range=value)
    assert response.status_code == 200
    assert response.content == ranged_bytes()


@pytest.mark.parametrize("value", [f"bytes={RANGED_ITEM.length}-", "bytes=20-10"])
def test_unsatisfiable_range_gets_416(reference_server: ReferenceServer, value: str) -> None:
    response = download(reference_server, RANGED, Range=value)
    assert response.status_code == 416
    assert response.headers["content-range"] == [f"bytes */{RANGED_ITEM.length}"]
    assert response.json()["error"]["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize(
    ("item", "status", "excluded"),
    [
        # Built to fail: every check but the one that calls a 5xx a server bug.
        ("hist_internal", 500, not_a_server_error),
        ("hist_unavailable", 503, not_a_server_error),
        # Built to reject any request: every check but the one that calls that a bug.
        ("hist_invalid", 400, positive_data_acceptance),
    ],
)
def test_items_built_to_fail_answer_as_documented(
    reference_server: ReferenceServer, item: str, status: int, excluded: Any
) -> None:
    case = OPERATION.Case(path_parameters={"history_item_id": item})
    response = case.call_and_validate(
        base_url=reference_server.url,
        headers={"xi-api-key": TEST_API_KEY},
        excluded_checks=[excluded],
    )
    assert response.status_code == status


@pytest.mark.parametrize("item", ["hist\u00a0missing", "hist\u200bmissing", "hist_ünï"])
def test_schema_valid_unknown_id_gets_404(reference_server: ReferenceServer, item: str) -> None:
    response = download(reference_server, item)
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "QUERY"])
def test_undeclared_method_gets_a_json_405(reference_server: ReferenceServer, method: str) -> None:
    response = httpx.request(
        method,
        f"{reference_server.url}/v1/history/hist_01haudio/audio",
        headers={"xi-api-key": TEST_API_KEY},
        trust_env=False,
    )
    assert response.status_code == 405
    assert "GET" in response.headers.get("allow", "")
    assert response.headers["content-type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
