"""The built wheel is the product: build it, install it cleanly, run the docs' example."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from breeze_blue import __version__
from breeze_blue.testing import TEST_API_KEY, ReferenceServer, tone_wav

ROOT = Path(__file__).parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the pinned hatchling is already in the dev environment.
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("breeze_blue-*.whl")
    return built


def test_the_wheel_carries_both_packages_and_the_type_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in [
        "breeze_blue/__init__.py",
        "breeze_blue/py.typed",
        "breeze_blue/testing/_server.py",
        "_breeze_blue_api/__init__.py",
        "_breeze_blue_api/api/history/download_history_audio.py",
        "_breeze_blue_api/models/error_envelope.py",
    ]:
        assert required in names, required
    assert not any(name.startswith(("tests/", "generated/", "examples/")) for name in names)


def test_the_docs_example_runs_from_a_clean_install(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "examples" / "quickstart.py", work / "quickstart.py")
    clean_env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}

    where = subprocess.run(
        [str(python), "-c", "import breeze_blue, _breeze_blue_api; print(breeze_blue.__file__)"],
        cwd=work,
        env=clean_env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert str(env_dir) in where.stdout, "breeze_blue was not imported from the clean install"

    with ReferenceServer() as server:
        run = subprocess.run(
            [str(python), "quickstart.py"],
            check=False,
            cwd=work,
            env={**clean_env, "BREEZE_API_KEY": TEST_API_KEY, "BREEZE_BASE_URL": server.url},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    assert (work / "history.mp3").read_bytes() == tone_wav()

    # The console script is installed, and works without the [cli] extra's rich.
    version = subprocess.run(
        [str(env_dir / "bin" / "breeze-blue"), "--version"],
        env=clean_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == f"breeze-blue {__version__}"
    metadata = subprocess.run(
        [str(python), "-c", "from importlib.metadata import entry_points;"
         "print([e.value for e in entry_points(group='pytest11')])"],
        env=clean_env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "breeze_blue.testing._plugin" in metadata.stdout
