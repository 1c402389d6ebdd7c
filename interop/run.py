"""The generator matrix: generate a client from openapi.yaml with each pinned generator,
type-check or compile it, run its small program against the reference server, and write
the result table to docs/interop.md.

    make -C interop matrix                       # every generator, writes docs/interop.md
    .venv/bin/python run.py --only hey-api       # some generators, table on stdout only
    .venv/bin/python run.py --variants           # also the spec shapes of "Spec shapes tried"

Everything generated goes to interop/out/ (git-ignored); spec variants are made from the
CURRENT ../openapi.yaml into interop/variants/ (git-ignored), never written back.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
NONE = "\u2013"  # an en dash: the table's empty cell
ROOT = HERE.parent
SPEC = ROOT / "openapi.yaml"
OUT = HERE / "out"
VARIANTS = HERE / "variants"
CLIENTS = HERE / "clients"
NODE_BIN = HERE / "node_modules" / ".bin"
VENV_BIN = HERE / ".venv" / "bin"
DOC = ROOT / "docs" / "interop.md"
GENERATOR_JAR = next(
    (HERE / ".venv").glob("lib/python*/site-packages/openapi_generator_cli/openapi-generator.jar"),
    None,
)
# Debian's libjakarta-annotation-api-java (for @jakarta.annotation.Generated).
JAKARTA_ANNOTATION_JAR = Path("/usr/share/java/jakarta-annotation-api.jar")

sys.path.insert(0, str(ROOT))
from _doc import render  # noqa: E402 - the prose around the tables

from breeze_blue.testing import AUDIO_MEDIA_TYPES, ErrorReply, Ready, default_items  # noqa: E402

# ---- what every client program must get right ------------------------------------------

ITEMS = default_items()
DOWNLOADS = {f"hist_{t.split('/')[1]}": t for t in AUDIO_MEDIA_TYPES}
ERROR_ITEMS = {
    item_id: item
    for item_id, item in ITEMS.items()
    if isinstance(item, ErrorReply) and item_id != "hist_running_date"
}
# Not a default item: an unknown id is the 404.
MISSING = "hist_does_not_exist"
sys.path.insert(0, str(HERE))
from serve import UNKNOWN_CODE, UNKNOWN_ITEM  # noqa: E402


def expectations() -> dict:
    downloads = {}
    for item_id, media_type in DOWNLOADS.items():
        item = ITEMS[item_id]
        assert isinstance(item, Ready)
        downloads[item_id] = {
            "media_type": media_type,
            "sha256": item.sha256(item_id),
            "length": item.length,
        }
    errors = {i: {"status": e.status, "code": e.code} for i, e in ERROR_ITEMS.items()}
    errors[MISSING] = {"status": 404, "code": "RESOURCE_NOT_FOUND"}
    errors[UNKNOWN_ITEM] = {"status": 400, "code": UNKNOWN_CODE, "unknown": True}
    errors = dict(sorted(errors.items(), key=lambda kv: kv[1]["status"]))
    return {
        "downloads": downloads,
        "errors": errors,
        "unauth": {"item": "hist_mpeg", "status": 401, "code": "UNAUTHENTICATED"},
    }


# ---- the reference server ----------------------------------------------------------------


class ReferenceServerProcess:
    """`python -m breeze_blue.testing --port 0` on loopback, stopped on exit."""

    def __enter__(self) -> ReferenceServerProcess:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            # serve.py = `python -m breeze_blue.testing --port 0` plus one unknown-code item.
            [sys.executable, str(HERE / "serve.py")],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        values = {}
        while len(values) < 2:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the reference server exited before printing its URL")
            key, _, value = line.strip().partition("=")
            values[key] = value
        self.url = values["BREEZE_BASE_URL"]
        self.key = values["BREEZE_API_KEY"]
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- running one generator -------------------------------------------------------------


def node_env() -> dict[str, str]:
    path = os.pathsep.join([str(NODE_BIN), str(VENV_BIN), str(ROOT / ".venv" / "bin")])
    return dict(
        os.environ,
        PATH=path + os.pathsep + os.environ["PATH"],
        NO_COLOR="1",
        FORCE_COLOR="0",
        NODE_NO_WARNINGS="1",
    )


@dataclass
class Step:
    ok: bool
    seconds: float
    output: str


def run(
    cmd: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> Step:
    start = time.monotonic()
    try:
        proc = subprocess.run(  # noqa: PLW1510 - the exit code is read below
            cmd, cwd=cwd, env=env or node_env(), capture_output=True, text=True, timeout=timeout
        )
        output = proc.stdout + proc.stderr
        ok = proc.returncode == 0
    except subprocess.TimeoutExpired as exc:
        output = f"TIMEOUT after {timeout}s\n{exc.stdout or ''}{exc.stderr or ''}"
        ok = False
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)
    with log.open("a") as f:
        f.write(f"$ {' '.join(map(str, cmd))}\n{output}\n[exit ok={ok}]\n\n")
    return Step(ok, time.monotonic() - start, output)


@dataclass
class Generator:
    name: str
    language: str
    version: str
    generate: Callable[[Path, Path], list[list[str]]]  # (spec, outdir) -> commands
    check: Callable[[Path], list[list[str]]]  # outdir -> commands
    execute: Callable[[Path], list[str]]  # outdir -> command printing the result JSON
    program: str  # folder under clients/
    warning: re.Pattern[str]  # lines of generator output that count as warnings
    typed_check: Callable[[Path], list[list[str]]] = lambda out: []
    setting: str = ""  # a documented generator setting the matrix needs, if any
    available: Callable[[], str | None] = lambda: None  # None, or why it cannot run here


@dataclass
class Result:
    gen: Generator
    variant: str
    generated: bool = False
    warnings: list[str] = field(default_factory=list)
    checked: bool = False
    check_output: str = ""
    bytes_right: str = NONE
    errors_typed: str = NONE
    unauth_typed: str = NONE
    unknown_code: str = NONE
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def judge_program_output(result: Result, data: dict, expected: dict) -> None:
    bad = []
    for item_id, want in expected["downloads"].items():
        got = data.get("downloads", {}).get(item_id, {})
        if got.get("sha256") != want["sha256"]:
            bad.append(f"{item_id}: {got.get('fail') or describe_bytes(got, want)}")
    result.bytes_right = "yes" if not bad else f"no ({len(bad)}/6 wrong)"
    if bad:
        result.notes.append("bytes: " + bad[0])

    def typed(got: dict, want: dict) -> tuple[bool, str]:
        if "fail" in got:
            return False, got["fail"]
        if got.get("status") != want["status"]:
            return False, f"status {got.get('status')} != {want['status']}"
        if not got.get("typed"):
            return False, f"code only untyped ({got.get('how', '')})"
        if got.get("code") != want["code"]:
            return (
                False,
                f"typed code is {got.get('code')!r}, not {want['code']!r} ({got.get('how', '')})",
            )
        return True, ""

    known = {i: w for i, w in expected["errors"].items() if not w.get("unknown")}
    for item_id, want in expected["errors"].items():
        if want.get("unknown"):
            got = data.get("errors", {}).get(item_id, {})
            ok, why = typed(got, want)
            if ok:
                result.unknown_code = "yes"
            elif got.get("code") == want["code"] and got.get("status") == want["status"]:
                result.unknown_code = "untyped only"
            else:
                result.unknown_code = "no"
                result.notes.append(f"unknown code {want['code']}: {why}")
    wrong = []
    for item_id, want in known.items():
        ok, why = typed(data.get("errors", {}).get(item_id, {}), want)
        if not ok:
            wrong.append(f"{want['status']}: {why}")
    result.errors_typed = "yes" if not wrong else f"no ({len(wrong)}/{len(known)})"
    if wrong:
        result.notes.append("errors: " + wrong[0])
    ok, why = typed(data.get("unauth", {}), expected["unauth"])
    result.unauth_typed = "yes" if ok else "no"
    if not ok and not wrong:
        result.notes.append("401: " + why)
    for note in data.get("notes", []):
        result.notes.append(note)


def describe_bytes(got: dict, want: dict) -> str:
    if not got:
        return "no result"
    return f"{got.get('length')} bytes ({got.get('kind', '?')}), want {want['length']}"


def run_generator(
    gen: Generator,
    spec: Path,
    variant: str,
    server: ReferenceServerProcess,
    expected: dict,
    expected_file: Path,
) -> Result:
    result = Result(gen, variant)
    start = time.monotonic()
    why_not = gen.available()
    if why_not:
        result.notes.append("not run: " + why_not)
        return result
    outdir = OUT / variant / re.sub(r"[^a-z0-9]+", "-", gen.name.lower()).strip("-")
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    log = outdir / "log.txt"
    shared = CLIENTS / (
        "_ts" if gen.language == "TypeScript" else "_py" if gen.language == "Python" else "_java"
    )
    if shared.exists():
        shutil.copytree(shared, outdir, dirs_exist_ok=True)
    shutil.copytree(CLIENTS / gen.program, outdir, dirs_exist_ok=True)
    for cmd in gen.generate(spec, outdir):
        step = run(cmd, outdir, log)
        result.warnings += [
            line.strip() for line in step.output.splitlines() if gen.warning.search(line)
        ]
        if not step.ok:
            result.notes.append("generation failed: " + last_line(step.output))
            result.seconds = time.monotonic() - start
            return result
    result.generated = True
    for cmd in gen.check(outdir):
        step = run(cmd, outdir, log)
        if not step.ok:
            result.check_output = step.output
            errors = [ln for ln in step.output.splitlines() if re.search(r"error", ln, re.I)]
            result.notes.append(
                f"{cmd[0].rsplit('/', 1)[-1]} failed ({len(errors)} error lines): "
                + (errors[0] if errors else last_line(step.output))[:200]
            )
            result.seconds = time.monotonic() - start
            return result
    result.checked = True
    # Is the error code a string in the generated types? typed.ts / typed.py / Typed.java
    # assign it to a string variable; the compiler's answer is the static half of "typed".
    static = [run(cmd, outdir, log) for cmd in gen.typed_check(outdir)]
    static_ok = all(s.ok for s in static)
    if not static_ok:
        first = [ln for s in static for ln in s.output.splitlines() if "error" in ln.lower()]
        result.notes.append(
            "code not a string in the generated types: "
            + (first[0].strip()[:200] if first else "?")
        )
    env = dict(
        node_env(),
        BREEZE_BASE_URL=server.url,
        BREEZE_API_KEY=server.key,
        INTEROP_EXPECTED=str(expected_file),
    )
    step = run(gen.execute(outdir), outdir, log, env=env, timeout=120)
    json_lines = [ln for ln in step.output.splitlines() if ln.startswith("{")]
    if not json_lines:
        result.notes.append("program failed: " + last_line(step.output))
    else:
        data = json.loads(json_lines[-1])
        if not static_ok:
            for outcome in [*data.get("errors", {}).values(), data.get("unauth", {})]:
                outcome["typed"] = False
        judge_program_output(result, data, expected)
    result.seconds = time.monotonic() - start
    return result


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "(no output)"


# ---- the generators ------------------------------------------------------------------------


def npm_version(package: str) -> str:
    path = HERE / "node_modules" / package / "package.json"
    return json.loads(path.read_text())["version"] if path.exists() else "?"


def pip_version(dist: str) -> str:
    out = subprocess.run(  # noqa: PLW1510 - "?" on failure
        [
            str(VENV_BIN / "python"),
            "-c",
            f"import importlib.metadata as m; print(m.version({dist!r}))",
        ],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "?"


def tsc(outdir: Path) -> list[list[str]]:
    return [[str(NODE_BIN / "tsc"), "--noEmit", "-p", str(outdir / "tsconfig.json")]]


def tsc_typed(outdir: Path) -> list[list[str]]:
    return [[str(NODE_BIN / "tsc"), "--noEmit", "-p", str(outdir / "tsconfig.typed.json")]]


def tsx(outdir: Path) -> list[str]:
    return [str(NODE_BIN / "tsx"), "--tsconfig", str(outdir / "tsconfig.json"), "main.ts"]


def openapi_generator(
    spec: Path, outdir: Path, name: str, *props: str, out_name: str = "client"
) -> list[list[str]]:
    cmd = [
        str(VENV_BIN / "openapi-generator-cli"),
        "generate",
        "-g",
        name,
        "-i",
        str(spec),
        "-o",
        str(outdir / out_name),
    ]
    if props:
        cmd += ["--additional-properties", ",".join(props)]
    return [cmd]


def mypy(target: str) -> Callable[[Path], list[list[str]]]:
    # The generated package is imported by the program, so mypy reads it too (--follow-imports
    # =silent: its own internal complaints are not ours; the program's use of it is checked).
    def check(outdir: Path) -> list[list[str]]:
        return [
            [
                str(VENV_BIN / "python"),
                "-m",
                "mypy",
                "--no-incremental",
                "--cache-dir",
                "/dev/null",
                "--follow-imports=silent",
                target,
            ]
        ]

    return check


def python_main(outdir: Path) -> list[str]:
    return [str(VENV_BIN / "python"), "main.py"]


def java_available() -> str | None:
    if shutil.which("javac") is None:
        return "no javac on PATH"
    if GENERATOR_JAR is None:
        return "openapi-generator-cli wheel not installed"
    if not JAKARTA_ANNOTATION_JAR.exists():
        return f"{JAKARTA_ANNOTATION_JAR} missing: apt-get install libjakarta-annotation-api-java"
    return None


def java_classpath() -> str:
    # The generator's own jar (from the PyPI wheel) carries the jackson-databind and
    # jackson-datatype-jsr310 the client needs; Debian gives jakarta.annotation.
    return f"{GENERATOR_JAR}:{JAKARTA_ANNOTATION_JAR}"


def javac(outdir: Path) -> list[list[str]]:
    sources = sorted(str(p) for p in (outdir / "client" / "src" / "main" / "java").rglob("*.java"))
    return [
        [
            "javac",
            "-nowarn",
            "-encoding",
            "UTF-8",
            "-d",
            str(outdir / "classes"),
            "-cp",
            java_classpath(),
            *sources,
            str(outdir / "Main.java"),
        ]
    ]


def javac_typed(outdir: Path) -> list[list[str]]:
    return [
        [
            "javac",
            "-nowarn",
            "-d",
            str(outdir / "typed-classes"),
            "-cp",
            f"{outdir / 'classes'}:{java_classpath()}",
            str(outdir / "Typed.java"),
        ]
    ]


def java_main(outdir: Path) -> list[str]:
    return ["java", "-cp", f"{outdir / 'classes'}:{java_classpath()}", "Main"]


OPC_CONFIG = ROOT / "generator-config.yaml"


def opc_generate(with_config: bool) -> Callable[[Path, Path], list[list[str]]]:
    def generate(spec: Path, outdir: Path) -> list[list[str]]:
        cmd = [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(outdir / "client"),
        ]
        if not with_config:
            return [cmd]
        # The shipped config, with only the package renamed to the matrix's `client`.
        prepare = [
            str(VENV_BIN / "python"),
            "-c",
            "import re,sys; t=open(sys.argv[1]).read(); "
            "open('config.yaml','w').write(re.sub(r'(?m)^package_name_override:.*$',"
            "'package_name_override: client', t))",
            str(OPC_CONFIG),
        ]
        return [prepare, [*cmd, "--config", str(outdir / "config.yaml")]]

    return generate


TS_WARN = re.compile(r"\bwarn(ing)?\b", re.I)
# openapi-generator's notice "OpenAPI 3.1 support is still in beta" comes with any 3.1
# spec whatever its shapes: it is not counted (the doc says so).
OAG_WARN = re.compile(r"\bWARN\b(?!.*3\.1 support is still in beta)")
OPC_WARN = re.compile(
    r"^\s*(Warning|WARNING)\b|will be skipped|Unsupported content_type|Cannot parse response"
)


def generators() -> list[Generator]:
    return [
        Generator(
            "openapi-typescript + openapi-fetch",
            "TypeScript",
            f"{npm_version('openapi-typescript')} / {npm_version('openapi-fetch')}",
            lambda spec, out: [
                [
                    str(NODE_BIN / "openapi-typescript"),
                    str(spec),
                    "--output",
                    str(out / "client" / "api.ts"),
                ]
            ],
            tsc,
            tsx,
            "openapi-fetch",
            TS_WARN,
            tsc_typed,
            setting='`parseAs: "arrayBuffer"` on the call (openapi-fetch\'s own option)',
        ),
        Generator(
            "@hey-api/openapi-ts",
            "TypeScript",
            npm_version("@hey-api/openapi-ts"),
            lambda spec, out: [
                [
                    str(NODE_BIN / "openapi-ts"),
                    "-i",
                    str(spec),
                    "-o",
                    str(out / "client"),
                    "-c",
                    "@hey-api/client-fetch",
                ]
            ],
            tsc,
            tsx,
            "hey-api",
            TS_WARN,
            tsc_typed,
        ),
        Generator(
            "orval (axios)",
            "TypeScript",
            npm_version("orval"),
            lambda spec, out: [
                [
                    str(NODE_BIN / "orval"),
                    "--input",
                    str(spec),
                    "--output",
                    str(out / "client" / "api.ts"),
                    "--client",
                    "axios",
                ]
            ],
            tsc,
            tsx,
            "orval",
            TS_WARN,
            tsc_typed,
            setting='axios `adapter: "fetch"` '
            "(Node's default http adapter turns responseType 'blob' into text)",
        ),
        Generator(
            "swagger-typescript-api",
            "TypeScript",
            npm_version("swagger-typescript-api"),
            lambda spec, out: [
                [
                    str(NODE_BIN / "swagger-typescript-api"),
                    "generate",
                    "-p",
                    str(spec),
                    "-o",
                    str(out / "client"),
                    "-n",
                    "api.ts",
                ]
            ],
            tsc,
            tsx,
            "swagger-typescript-api",
            TS_WARN,
            tsc_typed,
            setting='`format: "blob"` passed per call (its RequestParams option)',
        ),
        Generator(
            "openapi-typescript-codegen",
            "TypeScript",
            npm_version("openapi-typescript-codegen"),
            lambda spec, out: [
                [
                    str(NODE_BIN / "openapi"),
                    "--input",
                    str(spec),
                    "--output",
                    str(out / "client"),
                    "--client",
                    "fetch",
                ]
            ],
            tsc,
            tsx,
            "openapi-typescript-codegen",
            TS_WARN,
            tsc_typed,
        ),
        Generator(
            "openapi-generator typescript-fetch",
            "TypeScript",
            pip_version("openapi-generator-cli"),
            lambda spec, out: openapi_generator(spec, out, "typescript-fetch"),
            tsc,
            tsx,
            "typescript-fetch",
            OAG_WARN,
            tsc_typed,
        ),
        Generator(
            "openapi-generator python",
            "Python",
            pip_version("openapi-generator-cli"),
            lambda spec, out: [
                *openapi_generator(spec, out, "python", "packageName=client", out_name="project"),
                ["ln", "-s", "project/client", "client"],
            ],
            mypy("main.py"),
            python_main,
            "oag-python",
            OAG_WARN,
            mypy("typed.py"),
        ),
        Generator(
            "openapi-python-client, repo's generator-config.yaml",
            "Python",
            pip_version("openapi-python-client"),
            opc_generate(True),
            mypy("main.py"),
            python_main,
            "opc",  # one program for both: only the generation differs
            OPC_WARN,
            mypy("typed.py"),
            setting="the shipped generator-config.yaml "
            "(`content_type_overrides` audio/* \u2192 octet-stream)",
        ),
        Generator(
            "openapi-python-client, no config",
            "Python",
            pip_version("openapi-python-client"),
            opc_generate(False),
            mypy("main.py"),
            python_main,
            "opc",
            OPC_WARN,
            mypy("typed.py"),
        ),
        Generator(
            "openapi-generator java native",
            "Java",
            pip_version("openapi-generator-cli"),
            lambda spec, out: openapi_generator(
                spec,
                out,
                "java",
                "library=native",
                "openApiNullable=false",
                "useJakartaEe=true",
                "invokerPackage=bb",
                "apiPackage=bb.api",
                "modelPackage=bb.model",
                "hideGenerationTimestamp=true",
            ),
            javac,
            java_main,
            "java-native",
            OAG_WARN,
            javac_typed,
            available=java_available,
            setting="`library=native,openApiNullable=false,useJakartaEe=true` "
            "(no jackson-databind-nullable here)",
        ),
    ]


# ---- spec variants (temporary copies; the real spec is never written) ------------------------


def load_spec() -> dict:
    return yaml.safe_load(SPEC.read_text())


def variant_specs() -> dict[str, Callable[[dict], None]]:
    def binary_content_media_type(spec: dict) -> None:
        s = spec["components"]["schemas"]["AudioBinary"]
        s.pop("format", None)
        s["contentMediaType"] = "application/octet-stream"

    def binary_empty_schema(spec: dict) -> None:
        spec["components"]["schemas"]["AudioBinary"] = {
            "description": spec["components"]["schemas"]["AudioBinary"].get("description", "")
        }

    def binary_inline(spec: dict) -> None:
        # No $ref: `type: string, format: binary` written on each media type.
        for status in ("200", "206"):
            op = spec["paths"]["/v1/history/{history_item_id}/audio"]["get"]
            for media in op["responses"][status]["content"].values():
                media["schema"] = {"type": "string", "format": "binary"}
        del spec["components"]["schemas"]["AudioBinary"]

    def code_any_of(spec: dict) -> None:
        # The shape before issue 12: a named closed enum, or any string.
        schemas = spec["components"]["schemas"]
        known = schemas["ErrorCode"]["examples"]
        schemas["KnownErrorCode"] = {
            "description": "Error codes this version of the API description names.",
            "type": "string",
            "enum": known,
        }
        schemas["ErrorCode"] = {
            "description": "Machine-readable error code; the set is open.",
            "anyOf": [
                {"$ref": "#/components/schemas/KnownErrorCode"},
                {"type": "string", "description": "A code not named yet."},
            ],
        }

    def code_closed_enum(spec: dict) -> None:
        schemas = spec["components"]["schemas"]
        known = schemas["ErrorCode"]["examples"]
        schemas["ErrorCode"] = {
            "description": "Machine-readable error code. A code not in this enum is to be read"
            " by the HTTP status.",
            "type": "string",
            "enum": known,
        }

    return {
        "binary: contentMediaType": binary_content_media_type,
        "binary: empty schema": binary_empty_schema,
        "binary: inline string/binary": binary_inline,
        "code: anyOf [KnownErrorCode enum, string] (before)": code_any_of,
        "code: closed enum + documented fallback": code_closed_enum,
    }


def write_variant(name: str, change: Callable[[dict], None]) -> Path:
    spec = copy.deepcopy(load_spec())
    change(spec)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    path = VARIANTS / slug / "openapi.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return path


# ---- the table -------------------------------------------------------------------------------


def row(r: Result) -> str:
    zero_warn = (
        NONE
        if not r.generated and not r.warnings
        else ("yes" if not r.warnings else f"no ({len(r.warnings)})")
    )
    if not r.generated and r.notes and r.notes[0].startswith("not run"):
        zero_warn = NONE
    compiled = "yes" if r.checked else ("no" if r.generated else NONE)
    notes = list(r.notes)
    if r.warnings:
        notes.insert(0, "warning: " + r.warnings[0][:160])
    if r.gen.setting:
        notes.append("setting used: " + r.gen.setting)
    cells = [
        r.gen.name,
        r.gen.language,
        r.gen.version,
        zero_warn,
        compiled,
        r.bytes_right,
        r.errors_typed,
        r.unauth_typed,
        r.unknown_code,
        "<br>".join(n.replace("|", "\\|") for n in notes),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| generator | language | version | accepts spec, 0 warnings | type-checks / compiles "
    "| bytes right (6 media types) | errors typed (8 statuses) | 401 typed "
    "| unknown code `FUTURE_CODE` read | notes |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def green(r: Result) -> bool:
    return (
        r.checked and r.bytes_right == "yes" and r.errors_typed == "yes" and r.unauth_typed == "yes"
    )


def green_open(r: Result) -> bool:
    """Green, and an unknown code is still read as a typed string (the open set holds)."""
    return green(r) and r.unknown_code == "yes"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="run generators whose name contains this (repeatable)",
    )
    parser.add_argument(
        "--variants",
        action="store_true",
        help="also run every generator on each spec shape of variant_specs()",
    )
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/interop.md")
    parser.add_argument(
        "--require-green",
        action="store_true",
        help="exit 1 unless every generator run is green and reads an unknown code",
    )
    args = parser.parse_args()

    gens = [g for g in generators() if not args.only or any(o in g.name for o in args.only)]
    expected = expectations()
    OUT.mkdir(exist_ok=True)
    expected_file = OUT / "expected.json"
    expected_file.write_text(json.dumps(expected, indent=1))

    # A terminated run still stops its reference server (the with block's __exit__).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    main_results: list[Result] = []
    variant_results: dict[str, list[Result]] = {}
    with ReferenceServerProcess() as server:
        for gen in gens:
            r = run_generator(gen, SPEC, "current", server, expected, expected_file)
            print(row(r), f"[{r.seconds:.0f}s]", flush=True)
            main_results.append(r)
        if args.variants:
            for name, change in variant_specs().items():
                path = write_variant(name, change)
                print(f"## variant {name}", flush=True)
                variant_results[name] = []
                for gen in gens:
                    slug = path.parent.name
                    r = run_generator(gen, path, slug, server, expected, expected_file)
                    print(row(r), f"[{r.seconds:.0f}s]", flush=True)
                    variant_results[name].append(r)
    elapsed = time.monotonic() - started
    print(f"matrix: {sum(map(green, main_results))}/{len(main_results)} green in {elapsed:.0f}s")

    if not args.no_doc and not args.only:
        write_doc(main_results, variant_results, elapsed)
        print(f"wrote {DOC.relative_to(ROOT)}")
    if args.require_green and not all(map(green_open, main_results)):
        return 1
    return 0


# How a user installs each generator, at the version the matrix pins.
INSTALLS: dict[str, Callable[[], str]] = {
    "openapi-typescript + openapi-fetch": lambda: (
        f"npm install -D openapi-typescript@{npm_version('openapi-typescript')} "
        f"openapi-fetch@{npm_version('openapi-fetch')}"
    ),
    "@hey-api/openapi-ts": lambda: (
        f"npm install -D @hey-api/openapi-ts@{npm_version('@hey-api/openapi-ts')}"
    ),
    "orval (axios)": lambda: (
        f"npm install -D orval@{npm_version('orval')} axios@{npm_version('axios')}"
    ),
    "swagger-typescript-api": lambda: (
        f"npm install -D swagger-typescript-api@{npm_version('swagger-typescript-api')}"
    ),
    "openapi-typescript-codegen": lambda: (
        f"npm install -D openapi-typescript-codegen@{npm_version('openapi-typescript-codegen')}"
    ),
    "openapi-generator": lambda: (
        f"pip install openapi-generator-cli=={pip_version('openapi-generator-cli')}  # Java 11+"
    ),
    "openapi-python-client": lambda: (
        f"pip install openapi-python-client=={pip_version('openapi-python-client')}"
    ),
}


def user_commands(gen: Generator) -> list[str]:
    """The generation commands of ``gen`` as a user types them in their project."""
    lines = []
    for cmd in gen.generate(Path("openapi.yaml"), Path(".")):
        program = Path(cmd[0]).name
        if program in {"python", "ln"}:
            continue  # the matrix's own plumbing (renaming the package, linking folders)
        words = ["npx", program] if cmd[0].startswith(str(NODE_BIN)) else [program]
        words += ["generator-config.yaml" if arg == "config.yaml" else arg for arg in cmd[1:]]
        lines.append(shlex.join(words))
    return lines


def commands_section(gens: list[Generator]) -> str:
    """ "Generate a client in your language": each generator's exact commands."""
    parts = [
        "## Generate a client in your language",
        "",
        "The commands the matrix runs, as you would type them next to `openapi.yaml` (the",
        "client lands in `client/`). The settings in the table's notes are part of the",
        "recipe: the small programs in `interop/clients/` show each in use. For Python,",
        "`generator-config.yaml` is part of the spec: without it openapi-python-client drops",
        "the audio responses (see its two rows above).",
    ]
    for gen in gens:
        install = next((f() for key, f in INSTALLS.items() if gen.name.startswith(key)), None)
        parts += ["", f"### {gen.name}", "", "```sh"]
        if install:
            parts.append(install)
        parts += [*user_commands(gen), "```"]
        if gen.setting:
            parts += ["", f"Setting needed: {gen.setting}."]
    return "\n".join(parts) + "\n"


def write_doc(results: list[Result], variants: dict[str, list[Result]], elapsed: float) -> None:
    spec_sha = hashlib.sha256(SPEC.read_bytes()).hexdigest()[:12]
    table = "\n".join([HEADER, *map(row, results)])
    variant_tables = {}
    for name, rs in variants.items():
        variant_tables[name] = (
            sum(map(green, rs)),
            sum(map(green_open, rs)),
            len(rs),
            "\n".join([HEADER, *map(row, rs)]),
        )
    DOC.write_text(
        render(
            table,
            variant_tables,
            spec_sha,
            elapsed,
            sum(map(green, results)),
            sum(map(green_open, results)),
            len(results),
        )
        + "\n"
        + commands_section([r.gen for r in results])
    )


if __name__ == "__main__":
    sys.exit(main())
