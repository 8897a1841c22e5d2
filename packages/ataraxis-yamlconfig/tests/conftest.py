"""Fixtures shared by the test modules of ataraxis-yamlconfig."""

import pytest

from ataraxis_yamlconfig import _dialect


@pytest.fixture(params=[_dialect.PythonLoader, _dialect.Loader], ids=["python", "default"])
def loader(request: pytest.FixtureRequest) -> type:
    """Each loader the package may use: the pure-Python one, then the default (libyaml's, when PyYAML has it)."""
    chosen: type = request.param
    return chosen
