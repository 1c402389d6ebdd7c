"""The examples users copy are run exactly as written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "test_with_reference_server.py"


def test_the_testing_guide_shows_the_example_test_verbatim() -> None:
    guide = ROOT / "docs" / "guides" / "10-testing.md"
    assert f"```python\n{EXAMPLE.read_text()}```" in guide.read_text(encoding="utf-8")


def test_the_example_test_passes_with_the_installed_plugin(tmp_path: Path) -> None:
    # Outside this repository: only the installed package (and its pytest plugin) helps it.
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", EXAMPLE.name, "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
