"""``nbmlops.load_model`` checks a saved model's pinned requirements and Python itself
(:func:`nbmlops.models.loading.mismatches`), a lookup per requirement, instead of MLflow's
check that maps every installed distribution first. (Loading for real: tests/test_models.py.)"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from nbmlops.models.loading import mismatches


def saved(folder: Path, requirements: str, python: str | None = None) -> Path:
    folder.mkdir()
    (folder / "requirements.txt").write_text(requirements)
    if python is not None:
        (folder / "MLmodel").write_text(
            f"flavors:\n  python_function:\n    python_version: {python}\n")
    return folder


def test_a_model_saved_with_this_environment_has_no_mismatch(tmp_path: Path) -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    pins = "\n".join(f"{name}=={metadata.version(name)}" for name in ("numpy", "pandas", "PyYAML"))
    folder = saved(tmp_path / "m", f"{pins}\n-r other.txt\n./wheels/x.whl\n"
                                   "pywin32==306; sys_platform == 'win32'\n", python=here)
    assert mismatches(folder) == []


@pytest.mark.parametrize(("line", "said"), [
    ("numpy==0.0.1", f"numpy (current: {metadata.version('numpy')}, required: numpy==0.0.1)"),
    ("numpy<1", f"numpy (current: {metadata.version('numpy')}, required: numpy<1)"),
    ("no-such-package-here==1.0",
     "no-such-package-here (current: not installed, required: no-such-package-here==1.0)"),
])
def test_each_requirement_the_environment_does_not_meet_is_said(
        tmp_path: Path, line: str, said: str) -> None:
    folder = saved(tmp_path / "m", f"pandas=={metadata.version('pandas')}\n{line}  # pinned\n")
    assert mismatches(folder) == [said]


def test_another_python_minor_version_is_said_a_patch_release_is_not(tmp_path: Path) -> None:
    major, minor = sys.version_info.major, sys.version_info.minor
    assert mismatches(saved(tmp_path / "a", "", python=f"{major}.{minor}.0")) == []
    assert mismatches(saved(tmp_path / "b", "", python=f"{major}.{minor + 1}.2")) == [
        f"python (current: {major}.{minor}, saved with: {major}.{minor + 1}.2)"]
    assert mismatches(tmp_path / "nothing") == []  # no files: nothing to say
