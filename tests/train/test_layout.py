"""The folders of `train/` show its architecture, and imports point one way (an AST scan, as
tests/test_imports.py does for the library):

    train/<program>.py   the programs: import train.core, never a study or another program
    train/studies/<x>    studies and tools: import the programs and train.core, never another study
    train/core/          the shared machinery: imports neither the programs nor the studies

and no module needs an import order of its own (`# noqa: E402`): `train/__init__.py`
selects tf-keras before anything loads TensorFlow, the one rule.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

TRAIN = pathlib.Path(__file__).resolve().parents[2] / "train"
PROGRAMS = ("train.elman", "train.dna", "train.mnist", "train.hardware", "train.export")


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(TRAIN.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: pathlib.Path) -> set[str]:
    """The `train.*` modules `path` imports (anywhere in it), `from train.x import y` counted as
    `train.x.y` when that is a module (else as `train.x`)."""
    known = {module_name(p) for p in TRAIN.rglob("*.py")}
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                         for alias in node.names)
    return {name for name in names if name in known}


def study_of(module: str) -> str | None:
    """`train.studies.experiments.jobs` -> `train.studies.experiments`; None outside the studies."""
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[:2] == ["train", "studies"] and len(parts) > 2 else None


MODULES = sorted(TRAIN.rglob("*.py"))


def test_the_layout_holds_the_programs_at_the_top():
    top = sorted(module_name(p) for p in TRAIN.glob("*.py") if p.name != "__init__.py")
    assert top == sorted(PROGRAMS)
    assert (TRAIN / "core" / "__init__.py").exists() and (TRAIN / "studies" / "__init__.py").exists()


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_imports_point_one_way(path):
    module = module_name(path)
    targets = imported(path)
    programs = {t for t in targets if t in PROGRAMS}
    studies = {t for t in targets if t.startswith("train.studies") and study_of(t) != study_of(module)}
    if module.startswith("train.core") or module == "train":
        assert programs == set() and studies == set(), f"{module} imports {sorted(programs | studies)}"
    elif module in PROGRAMS:
        assert programs - {module} == set() and studies == set(), f"{module} imports {sorted(programs | studies)}"
    else:  # a study (or the studies' package): the programs and train.core, and its own modules
        assert module.startswith("train.studies") and studies == set(), f"{module} imports the studies {sorted(studies)}"


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_no_module_needs_an_import_order_of_its_own(path):
    assert "noqa: E402" not in path.read_text()


def test_there_is_no_import_cycle():
    edges = {module_name(p): imported(p) for p in MODULES}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for target in edges.get(start, ()):
            if target == goal or (target not in seen and reaches(target, goal, seen | {target})):
                return True
        return False

    assert [module for module in edges if reaches(module, module, set())] == []
