"""Packaging: the explicit package list in pyproject.toml matches the folders, and the built
wheel installs and imports from outside the checkout (tui/ and lessons/ included)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import tomllib

ROOT = Path(__file__).resolve().parent.parent
#: Where each top-level folder is installed (see [tool.setuptools.package-dir]).
FOLDERS = {"stepgrad": "stepgrad", "tui": "stepgrad.tui", "lessons": "stepgrad.lessons"}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def package_folders() -> set[str]:
    """Every folder with an __init__.py, under the name it is installed as."""
    found = set()
    for folder, package in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            if "__pycache__" not in parts:
                found.add(".".join((package, *parts)))
    return found


def test_package_list_matches_the_folders() -> None:
    setuptools = pyproject()["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    folders = package_folders()
    assert not folders - listed, f"add to [tool.setuptools] packages: {sorted(folders - listed)}"
    assert not listed - folders, f"listed but no such package: {sorted(listed - folders)}"
    assert setuptools["package-dir"] == {"stepgrad": "stepgrad", "stepgrad.tui": "tui",
                                         "stepgrad.lessons": "lessons"}


def test_wheel_installs_and_imports_outside_the_checkout(tmp_path: Path) -> None:
    source = tmp_path / "source"  # build from a copy, so the checkout gets no build/ folder
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    source.mkdir()
    for name in ("pyproject.toml", "README.md", *FOLDERS):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        elif (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    dist, target = tmp_path / "dist", tmp_path / "installed"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist),
                            str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("stepgrad-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for data in [*ROOT.glob("tui/**/*.tcss"), *ROOT.glob("lessons/data/*.npz")]:
        installed = FOLDERS[data.relative_to(ROOT).parts[0]].replace(".", "/")
        inside = f"{installed}/{data.relative_to(ROOT / data.relative_to(ROOT).parts[0])}"
        assert inside in names, f"{inside} is missing from the wheel (package-data)"
    done = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    # -S skips site-packages' .pth files, so the editable install of the checkout cannot
    # answer the imports; numpy's folder is put on the path by hand instead.
    site_packages = str(Path(np.__file__).resolve().parent.parent)
    check = ("import stepgrad, stepgrad.tui, stepgrad.lessons, stepgrad.nn, stepgrad.ops\n"
             "for m in (stepgrad, stepgrad.tui, stepgrad.lessons): print(m.__file__)\n"
             "x = stepgrad.tensor([[1.0, 2.0]], requires_grad=True)\n"
             "(x * x).sum().backward(); print(x.grad.tolist())\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), site_packages])}
    env.pop("STEPGRAD_DEBUG", None)
    ran = subprocess.run([sys.executable, "-S", "-c", check], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    *files, grad = ran.stdout.splitlines()
    assert grad == "[[2.0, 4.0]]"
    for file in files:
        assert Path(file).resolve().is_relative_to(target.resolve()), f"imported {file}"
