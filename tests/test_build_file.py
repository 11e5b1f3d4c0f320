"""BUILD, MODULE.bazel, pyproject.toml and requirements.lock agree with the tree on disk.

BUILD files are Starlark, a subset of Python, so `ast` parses them; the globs are
evaluated here with `Path.glob` and compared with an independent walk of the folders.
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "BUILD"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _calls(tree: ast.AST, function: str) -> list[ast.Call]:
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function
    ]


def _keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {keyword.arg: keyword.value for keyword in call.keywords}


def _glob(call: ast.Call) -> set[str]:
    """Evaluate `glob([patterns], exclude=[...], allow_empty=...)` against the repository."""
    assert isinstance(call.func, ast.Name) and call.func.id == "glob", ast.unparse(call)
    include = ast.literal_eval(call.args[0])
    exclude = ast.literal_eval(_keywords(call).get("exclude", ast.List(elts=[])))
    found = {p.relative_to(ROOT).as_posix() for pattern in include for p in ROOT.glob(pattern) if p.is_file()}
    excluded = {p.relative_to(ROOT).as_posix() for pattern in exclude for p in ROOT.glob(pattern)}
    return found - excluded


def _walk(folder: str, keep) -> set[str]:
    """Files under `folder` whose name passes `keep`, skipping caches and hidden folders."""
    files = set()
    for directory, subdirs, names in os.walk(ROOT / folder):
        subdirs[:] = [d for d in subdirs if d != "__pycache__" and not d.startswith(".")]
        files |= {(Path(directory) / name).relative_to(ROOT).as_posix() for name in names if keep(name)}
    return files


@pytest.fixture(scope="module")
def build() -> ast.Module:
    return ast.parse(BUILD.read_text(), filename=str(BUILD))


def _target(build: ast.Module, rule: str, name: str) -> ast.Call:
    matches = [call for call in _calls(build, rule) if ast.literal_eval(_keywords(call)["name"]) == name]
    assert len(matches) == 1, f"expected one {rule}(name={name!r}) in {BUILD.name}, found {len(matches)}"
    return matches[0]


@pytest.mark.parametrize("name", ["qrnn_tfq", "data", "train"])
def test_library_covers_every_module(build: ast.Module, name: str) -> None:
    srcs = _glob(_keywords(_target(build, "py_library", name))["srcs"])
    on_disk = _walk(name, lambda file: file.endswith(".py"))
    assert on_disk - srcs == set(), f"modules missing from //:{name}"
    assert srcs - on_disk == set(), f"//:{name} lists files that are not modules of {name}/"


def test_data_library_ships_the_package_data(build: ast.Module) -> None:
    files = set(ast.literal_eval(_keywords(_target(build, "py_library", "data"))["data"]))
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert files == {f"data/{name}" for name in package_data["data"]}
    assert all((ROOT / file).is_file() for file in files), sorted(files)


def test_every_test_file_has_a_py_test(build: ast.Module) -> None:
    comprehensions = [
        node for node in ast.walk(build)
        if isinstance(node, ast.ListComp) and _calls(node.elt, "py_test")
    ]
    assert len(comprehensions) == 1, "expected one [py_test(...) for src in glob(...)] in BUILD"
    comprehension = comprehensions[0]
    variable = comprehension.generators[0].target.id
    sources = _glob(comprehension.generators[0].iter)
    on_disk = _walk("tests", lambda file: file.startswith("test_") and file.endswith(".py"))
    assert on_disk - sources == set(), "test files without a py_test target"
    assert sources - on_disk == set()

    test = _keywords(comprehension.elt)
    assert ast.unparse(test["srcs"].elts[0]) == variable, "each py_test must list its own file first"
    name = compile(ast.Expression(test["name"]), str(BUILD), "eval")
    names = [eval(name, {"__builtins__": {}, "len": len}, {variable: src}) for src in sorted(sources)]
    assert len(set(names)) == len(names), f"duplicate test target names: {sorted(names)}"
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", n) for n in names), names


def test_bazel_requirements_are_locked(build: ast.Module) -> None:
    module = ast.parse((ROOT / "MODULE.bazel").read_text())
    (parse,) = [node for node in ast.walk(module) if isinstance(node, ast.Call) and ast.unparse(node.func) == "pip.parse"]
    lock_label = ast.literal_eval(_keywords(parse)["requirements_lock"])
    lock = ROOT / lock_label.removeprefix("//:")
    locked = {
        _normalize(line.split("==")[0]) for line in lock.read_text().splitlines() if "==" in line
    }
    required = {_normalize(ast.literal_eval(call.args[0])) for call in _calls(build, "requirement")}
    assert required - locked == set(), f"requirement() names missing from {lock.name}"


def test_pyproject_pins_match_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [*project["dependencies"], *(p for extra in project["optional-dependencies"].values() for p in extra)]
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            lock[_normalize(name)] = version.strip()
    for pin in pins:
        name, version = pin.split("==")
        assert lock.get(_normalize(name)) == version, f"pyproject pins {pin}, requirements.lock has {lock.get(_normalize(name))}"
