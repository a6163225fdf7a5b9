"""``labkit release`` where there is no course to release must say so, not succeed silently.

Outside any course folder ``labkit release`` falls back to the checkout labkit was
installed from. When labkit was installed without a checkout (``pip install .`` or a
wheel: only the package lands in site-packages, no ``labs/``), that fallback holds no
labs. Before this test, ``labkit release`` there printed nothing and exited 0 (every lab
of none was "released"), and ``labkit release 3`` said only ``no lab called '3' (labs:
none)``, without saying which folder it had looked in or how to name the right one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import labkit.errors
from labkit.grading import release, repo_root


@pytest.fixture()
def installed_without_checkout(tmp_path: Path) -> dict[str, str]:
    """An environment whose ``labkit`` is a copy of the package alone, as a wheel installs it."""
    site = tmp_path / "site-packages"
    shutil.copytree(repo_root() / "labkit", site / "labkit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return {**os.environ, "PYTHONPATH": str(site)}


@pytest.mark.parametrize("labs", [[], ["3"]], ids=["all", "one"])
def test_release_outside_a_course_without_a_checkout_is_exit_2(tmp_path, installed_without_checkout,
                                                               labs):
    somewhere = tmp_path / "home"
    somewhere.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "release", "--no-db", *labs],
        cwd=somewhere, env=installed_without_checkout, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    err = proc.stderr
    assert "--root" in err and "nbgrader_config.py" in err, err
    assert str(tmp_path / "site-packages") in err, "the message should name the folder it looked in"
    assert "Traceback" not in err
    assert not (tmp_path / "site-packages" / "release").exists()


def test_release_of_a_folder_without_labs_is_a_usage_error(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n", encoding="utf-8")
    with pytest.raises(labkit.errors.UsageError, match="no labs"):
        release(root=tmp_path, database=False)
    assert not (tmp_path / "release").exists()
