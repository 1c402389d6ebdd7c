"""Every Python example in the documentation runs, against the reference server.

What is collected: each fenced ```` ```python ```` block of ``README.md`` and of every
``docs/**/*.md`` page, numbered from 1 within its file. One test per block, with a readable
id: ``guides/01-quickstart.md#2`` (paths below ``docs/``), ``README.md#3``.

How a block runs: in a subprocess (``sys.executable -c``), so imports, event loops and
module state never leak between examples, with a fresh temporary folder as its working
directory and ``BREEZE_API_KEY`` / ``BREEZE_BASE_URL`` pointing at one
:class:`~breeze_blue.testing.ReferenceServer` (its default catalogue: ``hist_01haudio``,
``hist_mpeg`` ... ``hist_pcm``, ``hist_running``, ``hist_failed`` and the other error rows)
that this module starts on loopback and stops at the end. The proxy variables are removed, so
the examples reach the server directly, and so are ``PYTEST_*``, so the outer run does not
steer a pytest block. A block with a top-level ``await`` is wrapped as the body of
``async def __main()`` and run with ``asyncio.run(__main())``. A block passes when its process
exits 0 within :data:`BLOCK_TIMEOUT` seconds. All blocks run when the first test asks for
them, :data:`WORKERS` processes at a time; each test then reads its own result.

Marks, an HTML comment on the line right before the opening fence (invisible on the page):

- ``<!-- illustrative -->``: the block only illustrates (it needs a name the page never
  defines, or a network the tests do not have). It is not run; it must still compile.
- ``<!-- setup -->``: the page's shared setup (``ids = [...]``, an import). It is shown on
  the page, runs by itself as its own test, and runs again before every other block of the
  same page, so a page's examples can share names without repeating them. Otherwise each
  block is self-contained.
- ``<!-- pytest -->``: the block is a pytest file. It is saved as ``test_example.py`` in the
  temporary folder and run with ``python -m pytest``, so the ``breeze_blue_server`` /
  ``breeze_blue_client`` fixtures of the SDK's pytest plugin are exercised as users get them.

``sh``, ``console``, ``text`` and ``yaml`` blocks are not run here: the command line's
examples are checked by ``tests/test_cli.py`` and ``tests/test_cli_many.py``.

"""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from breeze_blue._cli import EXIT_CODES
from breeze_blue._errors import ERRORS_BY_CODE
from breeze_blue.testing import TEST_API_KEY, ReferenceServer

from ._spec import SPEC, resolve

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
BLOCK_TIMEOUT = 30.0
WORKERS = 4


FENCE = re.compile(r"^(?P<fence>`{3,})\s*(?P<lang>[\w+-]*)[^\n]*$")
MARK = re.compile(r"^<!--\s*(illustrative|setup|pytest)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced Python block of one Markdown file."""

    file: str  # "README.md", or a path below docs/
    index: int  # 1-based, among the file's python blocks
    line: int  # the opening fence's line, 1-based
    source: str
    mark: str | None  # "illustrative", "setup", "pytest" or None

    @property
    def id(self) -> str:
        return f"{self.file}#{self.index}"


def python_blocks(path: Path, name: str) -> list[Block]:
    """The ```python blocks of one Markdown file, with the mark on the line before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and lines[end].strip() != opening["fence"]:
            end += 1
        if opening["lang"] in ("python", "py"):
            mark = MARK.match(lines[i - 1].strip()) if i > 0 else None
            blocks.append(
                Block(
                    file=name,
                    index=len(blocks) + 1,
                    line=i + 1,
                    source="\n".join(lines[i + 1 : end]) + "\n",
                    mark=mark[1] if mark else None,
                )
            )
        i = end + 1
    return blocks


def all_blocks() -> list[Block]:
    blocks = python_blocks(README, "README.md")
    for page in sorted(DOCS.rglob("*.md")):
        blocks += python_blocks(page, page.relative_to(DOCS).as_posix())
    return blocks


BLOCKS = all_blocks()


def has_top_level_await(source: str) -> bool:
    code = compile(source, "<block>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    return bool(code.co_flags & inspect.CO_COROUTINE)


def program(block: Block) -> str:
    """The block as a program: the page's setup first, top-level await wrapped."""
    setups = [b for b in BLOCKS if b.file == block.file and b.mark == "setup" and b != block]
    body = block.source
    if has_top_level_await(body):
        body = (
            "import asyncio\n\n\nasync def __main():\n"
            + textwrap.indent(body, "    ")
            + "\n\nasyncio.run(__main())\n"
        )
    return "".join(setup.source + "\n" for setup in setups) + body


@dataclass(frozen=True)
class Outcome:
    returncode: int | None  # None: timed out
    output: str


def child_environment(server: ReferenceServer) -> dict[str, str]:
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BREEZE_", "PYTEST_")) and key.lower() not in proxies
    }
    env["BREEZE_API_KEY"] = TEST_API_KEY
    env["BREEZE_BASE_URL"] = server.url
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(block: Block, env: dict[str, str]) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="doc-example-") as folder:
        source = program(block)
        if block.mark == "pytest":
            (Path(folder) / "test_example.py").write_text(source, encoding="utf-8")
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            command.append("test_example.py")
        else:
            command = [sys.executable, "-c", source]
        try:
            done = subprocess.run(
                command,
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as expired:
            out = (expired.stdout or b"") + (expired.stderr or b"")
            text = out.decode(errors="replace") if isinstance(out, bytes) else out
            return Outcome(None, text)
        return Outcome(done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    """Every block that runs, run once, a few at a time, against one reference server."""
    runnable = [b for b in BLOCKS if b.mark != "illustrative"]
    with ReferenceServer() as server, ThreadPoolExecutor(max_workers=WORKERS) as pool:
        env = child_environment(server)
        results = list(pool.map(lambda block: run(block, env), runnable))
    return {block.id: outcome for block, outcome in zip(runnable, results, strict=True)}


def describe(block: Block, outcome: Outcome) -> str:
    status = "timed out" if outcome.returncode is None else f"exit status {outcome.returncode}"
    where = "README.md" if block.file == "README.md" else f"docs/{block.file}"
    return f"{where}, block at line {block.line}: {status}\n{outcome.output[-4000:]}"


# ---------------------------------------------------------------------------- the blocks


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_example(block: Block, outcomes: dict[str, Outcome]) -> None:
    if block.mark == "illustrative":
        # Not run, but it must be Python: top-level await wrapped like a run block's.
        compile(program(block), block.id, "exec")
        return
    outcome = outcomes[block.id]
    assert outcome.returncode == 0, describe(block, outcome)


def test_counts_and_marks() -> None:
    """Every guide shows Python that runs; illustrative blocks stay the exception."""
    docs = [b for b in BLOCKS if b.file != "README.md"]
    illustrative = [b for b in docs if b.mark == "illustrative"]
    run_blocks = [b for b in docs if b.mark != "illustrative"]
    assert len(illustrative) < len(run_blocks), (
        f"{len(illustrative)} illustrative blocks, {len(run_blocks)} run"
    )
    for block in BLOCKS:  # a setup mark on a page with nothing else to set up is a mistake
        if block.mark == "setup":
            others = [b for b in BLOCKS if b.file == block.file and b.mark != "setup"]
            assert others, f"{block.id}: a setup block on a page with no other block"


# ---------------------------------------------------------------------------- the tables

ERRORS_GUIDE = DOCS / "guides" / "03-errors.md"
CLI_GUIDE = DOCS / "guides" / "09-command-line.md"


def statuses_by_code() -> dict[str, list[int]]:
    """Each error code and the statuses whose documented error response carries it."""
    found: dict[str, list[int]] = {}
    for item in SPEC["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                example = resolve(response)["content"]["application/json"]["example"]
                statuses = found.setdefault(example["error"]["code"], [])
                if int(status) not in statuses:
                    statuses.append(int(status))
    return {code: sorted(statuses) for code, statuses in found.items()}


def catalogue_table() -> str:
    """The error catalogue: the spec's known codes, in its order, with the facade's classes."""
    statuses = statuses_by_code()
    rows = ["| status | code | exception |", "|---|---|---|"]
    for code in SPEC["components"]["schemas"]["ErrorCode"]["examples"]:
        status = ", ".join(str(s) for s in statuses.get(code, [])) or "any"
        rows.append(f"| {status} | `{code}` | `{ERRORS_BY_CODE[code].__name__}` |")
    return "\n".join(rows)


def exit_status_table() -> str:
    rows = ["| status | meaning |", "|---|---|"]
    rows += [f"| {status} | {meaning} |" for status, meaning in EXIT_CODES]
    return "\n".join(rows)


def committed_table(page: Path, name: str) -> str:
    text = page.read_text(encoding="utf-8")
    found = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.DOTALL)
    assert found, f"{page.relative_to(ROOT)} has no <!-- {name}:start/end --> markers"
    return found[1].strip()


@pytest.mark.parametrize(
    ("page", "name", "expected"),
    [
        pytest.param(ERRORS_GUIDE, "catalogue", catalogue_table, id="errors-catalogue"),
        pytest.param(CLI_GUIDE, "exit-status", exit_status_table, id="exit-statuses"),
    ],
)
def test_generated_table_matches_its_source(page: Path, name: str, expected: Any) -> None:
    table = expected()
    assert committed_table(page, name) == table, (
        f"{page.relative_to(ROOT)}: the table between <!-- {name}:start --> and "
        f"<!-- {name}:end --> differs from its source; paste this:\n\n{table}\n"
    )


def test_the_other_languages_guide_quotes_the_matrix_commands() -> None:
    """Its commands are the ones `make interop` wrote to the matrix page, pins included."""
    guide = (DOCS / "guides" / "11-other-languages.md").read_text(encoding="utf-8")
    matrix = (DOCS / "interop.md").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(.*?)```", guide, flags=re.DOTALL)
    assert commands, "the guide shows no command"
    for command in commands:
        assert f"```sh\n{command}```" in matrix, f"not on the matrix page:\n{command}"
