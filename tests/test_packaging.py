"""The package layout: every folder under model/ is installed, under the one namespace `cowopt`.

A sub-package missing from pyproject's `packages` list would pass in the editable install the
tests use and then be absent from a wheel; a top-level `model` or `cli` module would shadow
other projects' names.
"""

from __future__ import annotations

import importlib
import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_folder_under_model_is_a_listed_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {"cowopt" + ("." + ".".join(p.parent.relative_to(ROOT / "model").parts) if p.parent != ROOT / "model" else "")
             for p in (ROOT / "model").rglob("__init__.py")}
    found |= {"cowopt.cli"}
    assert found == listed
    for name in sorted(listed):
        assert importlib.import_module(name) is not None


def test_folders_hold_only_packages_and_assets():
    for folder in (ROOT / "model").iterdir():
        if folder.is_dir() and folder.name not in ("assets", "__pycache__"):
            assert (folder / "__init__.py").exists(), f"{folder} is not a package"


def test_no_top_level_model_or_cli_module_is_installed(tmp_path):
    # from a folder outside the repository, so only what is installed can be found
    import subprocess
    import sys

    probe = "import importlib.util as u; print([n for n in ('model', 'cli', 'families', 'optimise') if u.find_spec(n)])"
    child = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[]"


def test_no_module_of_the_workbook_step_imports_data_back_at_import_time():
    """data.py validates with scenarios.py and places.py; they must not import data.py back
    (the old data <-> scenarios circle), except for type names under TYPE_CHECKING."""
    import ast

    for name in ("scenarios", "places", "cells", "schema", "files", "container"):
        tree = ast.parse((ROOT / "model" / "workbook" / f"{name}.py").read_text())
        top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        imported = {node.module for node in top_level if isinstance(node, ast.ImportFrom)}
        assert "cowopt.workbook.data" not in imported, name
