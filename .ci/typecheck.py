"""Run mypy over stepgrad, tui and lessons under the module names they are installed as.

    python3 .ci/typecheck.py            # the [tool.mypy] settings of pyproject.toml apply

Why not plain `mypy stepgrad tui lessons`: pyproject.toml's package-dir installs tui/ as
stepgrad.tui and lessons/ as stepgrad.lessons, and mypy names a file after its folders
(tui/app.py would be `tui.app`, so `import stepgrad.tui.app` would not be found). Nor can
mypy see through the import hook an editable install uses for that mapping. So this script
gives mypy every file with its installed module name, read from the same mapping, and mypy
reports errors at the files' real paths. Exit status: 0 when there is no error, as mypy's.
"""

from __future__ import annotations

import os
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: mypy depends on tomli there
    import tomli as tomllib

from mypy import build
from mypy.main import process_options
from mypy.modulefinder import BuildSource


def package_dirs(pyproject: str = "pyproject.toml") -> dict[str, str]:
    """The installed package name of each source folder, from [tool.setuptools.package-dir]."""
    with open(pyproject, "rb") as file:
        config = tomllib.load(file)
    return dict(config["tool"]["setuptools"]["package-dir"])


def sources(mapping: dict[str, str]) -> list[BuildSource]:
    """Every .py file of every mapped folder (and its packages), named as installed."""
    found = []
    for package, folder in mapping.items():
        for dirpath, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            if not os.path.exists(os.path.join(dirpath, "__init__.py")):
                dirs[:] = []  # not a package (a data folder): nothing below is installed as code
                continue
            relative = os.path.relpath(dirpath, folder)
            prefix = package if relative == "." else f"{package}.{relative.replace(os.sep, '.')}"
            for name in sorted(files):
                if name.endswith(".py"):
                    module = prefix if name == "__init__.py" else f"{prefix}.{name[:-3]}"
                    found.append(BuildSource(os.path.join(dirpath, name), module))
    return found


def main() -> int:
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    # mypy's own option parser reads [tool.mypy]; the target it requires is not used
    _, options = process_options([*sys.argv[1:], "stepgrad"])
    result = build.build(sources(package_dirs()), options)
    for line in result.errors:
        print(line)
    errors = sum(": error:" in line for line in result.errors)
    print(f"mypy: {errors} errors" if errors else "mypy: no errors", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
