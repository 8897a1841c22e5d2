"""What a user expects of dataclasses keeps working: subclasses, defaults, frozen and slotted classes, ClassVars."""

import sys
import typing
from dataclasses import KW_ONLY, InitVar, dataclass, field
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

import pytest

from ataraxis_yamlconfig import ConfigTypeError, YamlConfig


@dataclass
class Base(YamlConfig):
    name: str = "base"
    tags: list[str] = field(default_factory=list)


@dataclass
class Child(Base):
    level: int = 1


def test_from_yaml_builds_the_class_it_is_called_on(tmp_path: Path) -> None:
    path = tmp_path / "child.yaml"
    Child(name="c", level=3).to_yaml(file_path=path)

    loaded = Child.from_yaml(file_path=path)

    assert type(loaded) is Child
    assert loaded == Child(name="c", level=3)
    assert path.read_text() == "name: c\ntags: []\nlevel: 3\n"


def test_a_subclass_file_is_refused_by_the_base_class_in_strict_mode(tmp_path: Path) -> None:
    path = tmp_path / "child.yaml"
    Child().to_yaml(file_path=path)

    with pytest.raises(ValueError, match="unknown key 'level'"):
        Base.from_yaml(file_path=path)
    assert Base.from_yaml(file_path=path, strict=False) == Base()


def test_default_factories_give_each_loaded_config_its_own_objects(tmp_path: Path) -> None:
    path = tmp_path / "base.yaml"
    path.write_text("name: x\n")

    first = Base.from_yaml(file_path=path)
    second = Base.from_yaml(file_path=path)
    first.tags.append("changed")

    assert second.tags == []


def test_a_missing_dataclass_decorator_is_reported() -> None:
    class Undecorated(YamlConfig):
        value: int = 0

    class UndecoratedChild(Base):
        extra: int = 0

    with pytest.raises(TypeError, match="Undecorated subclasses YamlConfig but is not a dataclass"):
        Undecorated().to_yaml(file_path="never.yaml")
    with pytest.raises(TypeError, match="UndecoratedChild subclasses YamlConfig but is not a dataclass"):
        UndecoratedChild.from_yaml(file_path="never.yaml")
    with pytest.raises(TypeError, match="YamlConfig subclasses YamlConfig but is not a dataclass"):
        YamlConfig.from_yaml(file_path="never.yaml")


def test_an_undecorated_class_between_two_dataclasses_is_reported(tmp_path: Path) -> None:
    # @dataclass collects fields only from bases that are dataclasses: Middle's would be silently left out.
    class Middle(Base):
        middle: int = 0

    @dataclass
    class Leaf(Middle):
        leaf: int = 0

    with pytest.raises(TypeError, match="Middle subclasses YamlConfig but is not a dataclass"):
        Leaf().to_yaml(file_path=tmp_path / "leaf.yaml")
    assert not (tmp_path / "leaf.yaml").exists()


def test_a_keyword_only_marker_is_not_taken_for_a_missing_decorator(tmp_path: Path) -> None:
    @dataclass
    class Marked(YamlConfig):
        rate: float = 1.0
        _: KW_ONLY
        gain: int = 2

    path = tmp_path / "marked.yaml"
    Marked(gain=3).to_yaml(file_path=path)

    assert Marked.from_yaml(file_path=path) == Marked(gain=3)


def test_an_init_only_variable_is_not_saved_and_loads_as_its_default(tmp_path: Path) -> None:
    @dataclass
    class Scaled(YamlConfig):
        base: int = 1
        factor: InitVar[int] = 2
        scaled: int = field(init=False, default=0)

        def __post_init__(self, factor: int) -> None:
            self.scaled = self.base * factor

    path = tmp_path / "scaled.yaml"
    Scaled(base=3, factor=10).to_yaml(file_path=path)

    assert path.read_text() == "base: 3\n"
    assert Scaled.from_yaml(file_path=path).scaled == 6


def test_frozen_slotted_and_keyword_only_configs_work(tmp_path: Path) -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Strict(YamlConfig):
        rate: float
        channels: tuple[int, ...] = (1, 2)

    path = tmp_path / "strict.yaml"
    Strict(rate=2.5).to_yaml(file_path=path)

    assert Strict.from_yaml(file_path=path) == Strict(rate=2.5)


def test_class_variables_are_not_saved(tmp_path: Path) -> None:
    @dataclass
    class WithConstant(YamlConfig):
        VERSION: ClassVar[int] = 2
        value: int = 0

    path = tmp_path / "constant.yaml"
    WithConstant().to_yaml(file_path=path)

    assert path.read_text() == "value: 0\n"
    assert WithConstant.from_yaml(file_path=path) == WithConstant()


def test_a_subclass_instance_whose_extra_fields_would_be_lost_is_refused(tmp_path: Path) -> None:
    @dataclass
    class Holder(YamlConfig):
        inner: Base = field(default_factory=Base)

    path = tmp_path / "holder.yaml"
    Holder(inner=Base(name="plain")).to_yaml(file_path=path)  # an instance of the declared class is fine

    with pytest.raises(ConfigTypeError, match=r"inner: expected Base, found Child\(.*\) \(Child\)"):
        Holder(inner=Child()).to_yaml(file_path=path)
    assert Holder.from_yaml(file_path=path) == Holder(inner=Base(name="plain"))


def test_a_value_of_the_wrong_type_is_refused_on_save(tmp_path: Path) -> None:
    path = tmp_path / "base.yaml"

    with pytest.raises(ConfigTypeError) as caught:
        Base(name=Path("/not/a/str")).to_yaml(file_path=path)  # type: ignore[arg-type]

    assert str(caught.value) == f"cannot save {path}: name: expected str, found PosixPath('/not/a/str') (PosixPath)"
    assert caught.value.saving
    assert not path.exists()


Item = TypeVar("Item")


@dataclass
class Box(Generic[Item]):
    item: Item
    label: str = "box"


def test_a_generic_dataclass_with_its_type_argument_saves_and_loads(tmp_path: Path) -> None:
    @dataclass
    class Shelf(YamlConfig):
        box: Box[int] = field(default_factory=lambda: Box(1))
        boxes: list[Box[str]] = field(default_factory=list)

    config = Shelf(box=Box(5, "five"), boxes=[Box("a"), Box("b", "second")])
    path = tmp_path / "shelf.yaml"
    config.to_yaml(file_path=path)

    assert Shelf.from_yaml(file_path=path) == config
    assert Shelf.json_schema()["properties"]["box"]["$ref"] == "#/$defs/Box"


@pytest.mark.skipif(sys.version_info < (3, 12), reason="type aliases (the `type` statement) are new in Python 3.12")
def test_a_type_alias_saves_and_loads_as_its_value(tmp_path: Path) -> None:
    gains_type = typing.TypeAliasType("Gains", dict[str, float])  # type: ignore[attr-defined,unused-ignore]
    maybe_type = typing.TypeAliasType("MaybeGains", gains_type | None)  # type: ignore[attr-defined,unused-ignore]

    @dataclass
    class Amplifier(YamlConfig):
        gains: gains_type = field(default_factory=lambda: {"left": 1.0})  # type: ignore[valid-type]
        spare: maybe_type = None  # type: ignore[valid-type]

    config = Amplifier(gains={"left": 2.0, "right": 3}, spare={"a": 1.0})
    path = tmp_path / "amplifier.yaml"
    config.to_yaml(file_path=path)

    assert Amplifier.from_yaml(file_path=path) == config
    assert Amplifier.json_schema()["properties"]["gains"]["type"] == "object"
