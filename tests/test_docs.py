"""The README and the packaging stay in step with the code."""

from __future__ import annotations

import tomllib
from pathlib import Path

from cowopt.workbook import schema

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MODEL_DOC = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
WORKBOOK_DOC = (ROOT / "docs" / "workbook.md").read_text(encoding="utf-8")


def test_every_sheet_column_and_setting_is_documented() -> None:
    missing = [s.name for s in schema.SHEETS if f"**{s.name}**" not in WORKBOOK_DOC]
    missing += [f"{s.name}.{c.name}" for s in schema.SHEETS for c in s.columns if f"`{c.name}`" not in WORKBOOK_DOC]
    missing += [k.key for k in schema.SETTINGS if f"`{k.key}`" not in WORKBOOK_DOC]
    assert missing == []


def test_the_contract_tables_are_the_generated_ones() -> None:
    """docs/workbook.md's tables are what docs/build_workbook_doc.py writes from the schema now
    (after changing model/schema.py: `.venv/bin/python docs/build_workbook_doc.py`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_workbook_doc", ROOT / "docs" / "build_workbook_doc.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    assert builder.generated_part(WORKBOOK_DOC) == builder.contract_markdown()
    assert "| `budget_meur` | M EUR | required |" in builder.contract_markdown()  # the generator writes real rows


def test_readme_is_a_front_page_whose_links_resolve() -> None:
    import re

    assert len(README.splitlines()) <= 150
    links = re.findall(r"\]\(([^)#]+)\)", README)
    assert "docs/workbook.md" in links and "docs/img/example-map.png" in links
    assert [link for link in links if not (ROOT / link).exists()] == []
    assert "requirements/lock.txt" in README and "make test-latest" in README


def test_readme_shows_the_two_commands_and_exit_codes() -> None:
    assert "make demo" in README and "make test" in README
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |"):
        assert code in README


def test_model_doc_names_the_model_components(tiny_tables: dict) -> None:
    import pyomo.environ as pyo

    import cowopt
    from cowopt.optimise import candidates
    from cowopt.optimise.formulation import build_model

    tiny_tables["Rules"] = {"rule_id": ["r1"], "item": ["sam"], "min_count": [1], "hard": [0]}
    data = cowopt.from_tables(tiny_tables).with_settings(require_core_lead=1, mission_troops_min=100)
    model, _ = build_model(data, candidates.build(data))
    names = {c.local_name for c in model.component_objects((pyo.Var, pyo.Constraint), descend_into=False)}
    undocumented = sorted(n for n in names if f"`{n}" not in MODEL_DOC)
    assert undocumented == []


def test_every_package_directory_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {"cowopt" + (("." + ".".join(p.parent.relative_to(ROOT / "model").parts)) if p.parent != ROOT / "model" else "")
               for p in (ROOT / "model").rglob("__init__.py")}
    on_disk |= {"cowopt.cli"}
    assert on_disk <= listed
