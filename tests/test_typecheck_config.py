"""`.ci/typecheck.py` hands mypy every file under the name it is installed as."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_script():  # noqa: ANN201
    pytest.importorskip("mypy")
    spec = importlib.util.spec_from_file_location("typecheck", ROOT / ".ci" / "typecheck.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["typecheck"] = module
    spec.loader.exec_module(module)
    return module


def test_every_source_file_gets_its_installed_module_name(monkeypatch) -> None:
    script = load_script()
    monkeypatch.chdir(ROOT)
    mapping = script.package_dirs()
    assert mapping["stepgrad.tui"] == "tui" and mapping["stepgrad.lessons"] == "lessons"
    names = {source.module: source.path for source in script.sources(mapping)}
    assert names["stepgrad.tui.app"] == "tui/app.py"
    assert names["stepgrad.lessons.base"] == "lessons/base.py"
    assert names["stepgrad.debug.commands"] == "stepgrad/debug/commands/__init__.py"
    python_files = {str(p.relative_to(ROOT)) for folder in ("stepgrad", "tui", "lessons")
                    for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts}
    assert python_files <= set(names.values()), sorted(python_files - set(names.values()))
