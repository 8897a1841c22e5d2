import tomllib
from pathlib import Path

import ataraxis_yamlconfig

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def test_version_is_the_distribution_version() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    assert ataraxis_yamlconfig.__version__ == declared
