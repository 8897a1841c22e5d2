import tomllib
from pathlib import Path

import ataraxis_data_structures

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def test_version_is_the_distribution_version() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    assert ataraxis_data_structures.__version__ == declared
