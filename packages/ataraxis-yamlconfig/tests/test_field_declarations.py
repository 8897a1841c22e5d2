"""Field declarations common in 3.x configs: a `None` default without `Optional`, and fields named like builtins."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ataraxis_yamlconfig import ConfigTypeError, YamlConfig


@dataclass
class NoneDefaults(YamlConfig):
    param: list = None  # type: ignore[assignment]
    names: list[str] = None  # type: ignore[assignment]
    gain: float = None  # type: ignore[assignment]
    path: Path = None  # type: ignore[assignment]
    count: int = 3


def test_a_none_default_without_optional_saves_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"

    NoneDefaults().to_yaml(file_path=path)

    assert "param: null\n" in path.read_text()
    assert NoneDefaults.from_yaml(file_path=path) == NoneDefaults()


def test_a_none_default_field_still_checks_its_type(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    NoneDefaults(names=["a", "b"], gain=2, path=Path("/data")).to_yaml(file_path=path)

    assert NoneDefaults.from_yaml(file_path=path) == NoneDefaults(names=["a", "b"], gain=2.0, path=Path("/data"))
    path.write_text("gain: fast\n")
    with pytest.raises(ConfigTypeError, match=r"gain: expected float, found 'fast'"):
        NoneDefaults.from_yaml(file_path=path)
    with pytest.raises(ConfigTypeError, match=r"count: expected int, found None"):
        NoneDefaults(count=None).to_yaml(file_path=path)  # type: ignore[arg-type]


@dataclass
class BuiltinNames(YamlConfig):
    list: list = None  # type: ignore[assignment]
    dict: dict = field(default_factory=dict)
    type: str = "camera"
    id: int = 0
    str: str = "text"
    float: float = 1.5
    values: list[int] = field(default_factory=lambda: [1, 2])
    extra: Any = None


def test_fields_named_like_builtins_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    config = BuiltinNames(list=[1, "a"], dict={"k": 1}, type="lens", id=7, str="s", float=2.5, values=[3])

    config.to_yaml(file_path=path)

    assert BuiltinNames.from_yaml(file_path=path) == config
    assert BuiltinNames.from_yaml(file_path=tmp_path / "config.yaml").values == [3]
    BuiltinNames().to_yaml(file_path=path)
    assert BuiltinNames.from_yaml(file_path=path) == BuiltinNames()
