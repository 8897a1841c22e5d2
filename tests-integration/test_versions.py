"""Every distribution reports, as `__version__`, the version its own pyproject.toml declares."""

import importlib
import tomllib
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parents[1] / "packages"
DISTRIBUTIONS = ("ataraxis-yamlconfig", "ataraxis-sharedarray", "ataraxis-datalogger", "ataraxis-data-structures")


def test_every_distribution_of_the_workspace_is_checked() -> None:
    assert sorted(path.parent.name for path in PACKAGES.glob("*/pyproject.toml")) == sorted(DISTRIBUTIONS)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_version_is_the_distribution_version(distribution: str) -> None:
    declared = tomllib.loads((PACKAGES / distribution / "pyproject.toml").read_text())["project"]["version"]
    module = importlib.import_module(distribution.replace("-", "_"))
    assert module.__version__ == declared
