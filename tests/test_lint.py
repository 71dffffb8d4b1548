"""The code base stays ruff-clean (ruff is part of the test extra)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    """ruff runs from this interpreter (the test extra pins its version), never skipped."""
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "simlab", "tests", "bench", "labs"],
                          cwd=ROOT, capture_output=True, text=True)
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


def test_no_absolute_machine_paths_in_the_repository() -> None:
    """No file refers to a directory of one machine (a fresh clone must not depend on it)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile("/(" + "|".join(["wo" + "rk", "ro" + "ot", "ho" + "me"]) + r")/")  # not itself a hit
    hits = [f for f in files if (ROOT / f).is_file() and not f.endswith((".png", ".skops"))
            and pattern.search((ROOT / f).read_text(encoding="utf-8", errors="replace"))]
    assert hits == [], hits
