"""The code base stays ruff-clean (ruff is part of the test extra)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed (pip install -e '.[test]' brings it)")
    proc = subprocess.run([ruff, "check", "simlab", "tests", "bench"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_print_in_library_code() -> None:
    offenders = [str(p) for p in (ROOT / "simlab").rglob("*.py") if "print(" in p.read_text(encoding="utf-8")
                 and p.name != "__main__.py"]
    assert offenders == [], offenders


def test_no_pickle_or_unsafe_yaml_in_library_code() -> None:
    for p in (ROOT / "simlab").rglob("*.py"):
        text = p.read_text(encoding="utf-8")
        assert "import pickle" not in text and "joblib.load" not in text, p
        assert "yaml.load(" not in text and "yaml.unsafe_load" not in text, p
    assert sys.version_info >= (3, 11)
