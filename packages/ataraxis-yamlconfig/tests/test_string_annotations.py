"""Classes whose annotations are strings (`from __future__ import annotations`) save and load like any other."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ataraxis_yamlconfig import UnsupportedFieldTypeError, YamlConfig


class Shape(enum.Enum):
    ROUND = "round"
    SQUARE = "square"


@dataclass
class Arena:
    shape: Shape = Shape.ROUND
    """The arena's shape."""
    size_cm: float = 30.0


@dataclass
class Experiment(YamlConfig):
    arena: Arena = field(default_factory=Arena)
    arenas: list[Arena] = field(default_factory=list)
    spare: Arena | None = None
    folder: Path = Path("/data")


def test_string_annotations_are_resolved(tmp_path: Path) -> None:
    path = tmp_path / "experiment.yaml"
    config = Experiment(arenas=[Arena(shape=Shape.SQUARE)], spare=Arena(size_cm=10))

    config.to_yaml(file_path=path)
    loaded = Experiment.from_yaml(file_path=path)

    assert loaded == config
    assert loaded.arenas[0].shape is Shape.SQUARE
    assert "  # The arena's shape.\n  shape: round\n" in path.read_text()


def test_a_string_annotation_that_cannot_be_resolved_is_explained(tmp_path: Path) -> None:
    @dataclass
    class Local:
        value: int = 0

    @dataclass
    class Outer(YamlConfig):
        local: Local = field(default_factory=Local)

    with pytest.raises(
        UnsupportedFieldTypeError, match=r"cannot resolve the field annotations of .*Outer: name 'Local'"
    ):
        Outer().to_yaml(file_path=tmp_path / "outer.yaml")
