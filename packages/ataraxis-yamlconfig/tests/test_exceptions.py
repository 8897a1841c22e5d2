"""Every error the public calls raise is exported, under the one root, and also the built-in class callers catch."""

import errno
import inspect
import pickle
from dataclasses import dataclass
from pathlib import Path

import pytest

import ataraxis_yamlconfig
from ataraxis_yamlconfig import (
    ConfigClassError,
    ConfigFileError,
    ConfigMigrationWarning,
    ConfigNotFoundError,
    ConfigPathError,
    ConfigTypeError,
    ConfigValidationError,
    ConfigVersionError,
    MigrationError,
    MissingFieldError,
    OverrideError,
    UnknownFieldError,
    UnsupportedFieldTypeError,
    YamlConfig,
    YamlConfigError,
)

HIERARCHY: dict[type[Exception], tuple[type[BaseException], ...]] = {
    YamlConfigError: (Exception,),
    ConfigPathError: (YamlConfigError, ValueError),
    ConfigNotFoundError: (YamlConfigError, FileNotFoundError),
    ConfigFileError: (YamlConfigError, ValueError),
    ConfigVersionError: (YamlConfigError, ValueError),
    MigrationError: (YamlConfigError, ValueError),
    OverrideError: (YamlConfigError, ValueError),
    ConfigValidationError: (YamlConfigError, ValueError),
    ConfigTypeError: (ConfigValidationError, TypeError),
    UnknownFieldError: (ConfigValidationError,),
    MissingFieldError: (ConfigValidationError,),
    ConfigClassError: (YamlConfigError, TypeError),
    UnsupportedFieldTypeError: (ConfigClassError,),
    ConfigMigrationWarning: (UserWarning,),
}


def test_the_hierarchy_is_pinned() -> None:
    for error, bases in HIERARCHY.items():
        assert error.__bases__ == bases, error


def test_every_exported_exception_is_in_the_hierarchy() -> None:
    exported = {
        value
        for name in ataraxis_yamlconfig.__all__
        if inspect.isclass(value := getattr(ataraxis_yamlconfig, name)) and issubclass(value, BaseException)
    }
    assert exported == set(HIERARCHY)


def test_a_class_mistake_is_not_a_value_error() -> None:
    # A TypeError callers catch for a wrong class must not be mistaken for a bad file (a ValueError).
    assert not issubclass(ConfigClassError, ValueError)
    assert not issubclass(YamlConfigError, ValueError)


def test_a_wrong_suffix_is_a_path_error(tmp_path: Path) -> None:
    @dataclass
    class Small(YamlConfig):
        value: int = 0

    with pytest.raises(ConfigPathError, match=r"must end with \.yaml or \.yml"):
        Small().to_yaml(file_path=tmp_path / "small.json")
    with pytest.raises(ValueError, match=r"must end with \.yaml or \.yml"):
        Small.from_yaml(file_path=tmp_path / "small.txt")


def test_a_missing_file_is_a_not_found_error_with_errno(tmp_path: Path) -> None:
    @dataclass
    class Small(YamlConfig):
        value: int = 0

    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigNotFoundError) as caught:
        Small.from_yaml(file_path=path)

    error = caught.value
    assert isinstance(error, FileNotFoundError)
    assert error.errno == errno.ENOENT
    assert error.filename == str(path)
    assert error.file_path == path
    assert str(error) == f"{path}: no YAML config file at this path"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ConfigNotFoundError
    assert (copy.errno, copy.filename, str(copy)) == (error.errno, error.filename, str(error))


def test_a_missing_dataclass_decorator_is_a_class_error(tmp_path: Path) -> None:
    class Undecorated(YamlConfig):
        value: int = 0

    with pytest.raises(ConfigClassError, match="Undecorated subclasses YamlConfig but is not a dataclass"):
        Undecorated().to_yaml(file_path=tmp_path / "x.yaml")
