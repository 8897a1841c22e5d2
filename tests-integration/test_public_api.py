"""The meta-package re-exports the members' public API: the very same objects, and all of them."""

import importlib

import pytest

import ataraxis_data_structures

MEMBERS = ("ataraxis_yamlconfig", "ataraxis_sharedarray", "ataraxis_datalogger")


def _public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    return [name for name in module.__all__ if name != "__version__"]


@pytest.mark.parametrize("member", MEMBERS)
def test_meta_package_exports_every_public_name_of_each_member(member: str) -> None:
    missing = set(_public_names(member)) - set(ataraxis_data_structures.__all__)
    assert not missing, f"{member} exports {sorted(missing)} but ataraxis_data_structures does not"


@pytest.mark.parametrize("member", MEMBERS)
def test_meta_package_exports_are_the_members_own_objects(member: str) -> None:
    module = importlib.import_module(member)
    for name in _public_names(member):
        assert getattr(ataraxis_data_structures, name) is getattr(module, name), name


def test_meta_package_exports_nothing_that_does_not_exist() -> None:
    for name in ataraxis_data_structures.__all__:
        assert hasattr(ataraxis_data_structures, name), name
