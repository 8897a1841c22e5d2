"""Shared fixtures of the integration tests."""

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def uv_executable() -> str:
    """The uv executable that runs this suite (uv exports its own path as `UV` to what it runs)."""
    found = os.environ.get("UV") or shutil.which("uv")
    if found is None:
        pytest.fail("the integration tests need uv: run them through scripts/test or `uv run`")
    return found
