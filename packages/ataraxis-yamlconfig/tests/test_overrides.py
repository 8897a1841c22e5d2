"""Overrides from `path=value` strings and environment variables: checked like the file, errors name the override."""

import enum
import os
import pickle
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ataraxis_yamlconfig import (
    ConfigMigrationWarning,
    ConfigTypeError,
    ConfigValidationError,
    Migration,
    OverrideError,
    Rename,
    UnknownFieldError,
    YamlConfig,
)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Camera:
    fps: float = 30.0
    name: str = "camera"


@dataclass
class Rig(YamlConfig):
    name: str = "rig-1"
    camera: Camera = field(default_factory=lambda: Camera(fps=20.0, name="side"))
    cameras: list[Camera] = field(default_factory=lambda: [Camera(), Camera()])
    optional_camera: Camera | None = None
    channels: dict[int, str] = field(default_factory=lambda: {0: "lick"})
    gains: dict[str, float] = field(default_factory=lambda: {"left": 0.5})
    by_color: dict[Color, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    output: Path = Path("/data")
    note: str | None = "none"
    either: int | str = 0
    enabled: bool = True
    extra: Any = field(default_factory=lambda: {"a": 1})
    size: tuple[int, int] = (640, 480)

    def __post_init__(self) -> None:
        if self.camera.fps > 1000:
            raise ValueError("fps above 1000")


@pytest.fixture
def rig_file(tmp_path: Path) -> Path:
    path = tmp_path / "rig.yaml"
    path.write_text("name: rig-7\ncameras:\n  - {fps: 10.0}\n  - {fps: 11.0}\n", encoding="utf-8")
    return path


def test_overrides_set_values_anywhere_in_the_config(rig_file: Path) -> None:
    config = Rig.from_yaml(
        file_path=rig_file,
        overrides=[
            "camera.fps=60",
            "cameras[1].fps=61",
            "cameras.0.name=front",
            "channels[2]=reward",
            "channels.0=water",
            "gains.right=1.5",
            "by_color.red=3",
            "tags=[a, 'yes']",
            "output=/mnt/rig 2",
            "note=",
            "either=word",
            "enabled=no",
            "extra.b=[1, 2]",
            "optional_camera.fps=5",
        ],
    )

    assert config.name == "rig-7"
    assert config.camera == Camera(fps=60.0, name="side")  # the section's other defaults are kept
    assert config.cameras == [Camera(fps=10.0, name="front"), Camera(fps=61.0)]
    assert config.channels == {0: "water", 2: "reward"}
    assert config.gains == {"left": 0.5, "right": 1.5}
    assert config.by_color == {Color.RED: 3}
    assert config.tags == ["a", "yes"]
    assert config.output == Path("/mnt/rig 2")
    assert config.note is None
    assert config.either == "word"
    assert config.enabled is False
    assert config.extra == {"a": 1, "b": [1, 2]}
    assert config.optional_camera == Camera(fps=5.0)


def test_a_later_override_wins_and_a_whole_section_can_be_set(rig_file: Path) -> None:
    config = Rig.from_yaml(file_path=rig_file, overrides=["camera.fps=1", "camera.fps=2", "cameras=[{fps: 3}]"])

    assert config.camera.fps == 2.0
    assert config.cameras == [Camera(fps=3.0)]


def test_a_value_of_the_wrong_type_names_the_override(rig_file: Path) -> None:
    with pytest.raises(ConfigTypeError) as caught:
        Rig.from_yaml(file_path=rig_file, overrides=["camera.fps=fast"])

    error = caught.value
    assert str(error) == "override 'camera.fps=fast': camera.fps: expected float, found 'fast' (str)"
    assert (error.source, error.file_path, error.line, error.path) == (
        "override 'camera.fps=fast'",
        None,
        None,
        ("camera", "fps"),
    )
    revived = pickle.loads(pickle.dumps(error))
    assert str(revived) == str(error)


def test_a_problem_inside_an_overridden_section_names_the_override(rig_file: Path) -> None:
    with pytest.raises(UnknownFieldError) as caught:
        Rig.from_yaml(file_path=rig_file, overrides=["camera={fsp: 1}"])
    assert str(caught.value).startswith("override 'camera={fsp: 1}': camera.fsp: unknown key 'fsp'")


def test_a_problem_in_the_file_still_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("name: rig-7\nenabled: maybe\n", encoding="utf-8")

    with pytest.raises(ConfigTypeError) as caught:
        Rig.from_yaml(file_path=path, overrides=["camera.fps=60"])
    assert str(caught.value) == f"{path}, line 2: enabled: expected bool, found 'maybe' (str)"


def test_post_init_sees_the_overridden_values(rig_file: Path) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        Rig.from_yaml(file_path=rig_file, overrides=["camera.fps=5000", "name=x"])
    assert str(caught.value) == (
        f"{rig_file}, line 1: Rig rejected the values: ValueError: fps above 1000 "
        "(with override 'camera.fps=5000', override 'name=x')"
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("camera.fsp=1", "camera.fsp: unknown key 'fsp': Camera declares no such field (did you mean 'fps'?)"),
        ("nmae=x", "nmae: unknown key 'nmae': Rig declares no such field (did you mean 'name'?)"),
        ("cameras[5].fps=1", "cameras[5]: cameras has 2 items, so '5' names none of them"),
        ("cameras.x.fps=1", "cameras.x: cameras has 2 items, so 'x' names none of them"),
        ("camera.fps.x=1", "camera.fps.x: camera.fps holds float, which has no part 'x'"),
        ("name.first=1", "name.first: name holds str, which has no part 'first'"),
        ("optional_camera.fsp=1", "optional_camera.fsp: unknown key 'fsp': Camera declares no such field (did you"),
        ("either.x=1", "either.x: either holds int | str, which has no part 'x'"),
    ],
)
def test_a_path_that_names_no_field_is_an_unknown_field_error(rig_file: Path, override: str, message: str) -> None:
    for strict in (True, False):
        with pytest.raises(UnknownFieldError) as caught:
            Rig.from_yaml(file_path=rig_file, overrides=[override], strict=strict)
        assert str(caught.value).startswith(f"override {override!r}: {message}")
        assert str(caught.value).endswith("check the override's path against the class's fields")


def test_a_mapping_key_of_the_wrong_type_is_refused(rig_file: Path) -> None:
    with pytest.raises(ConfigTypeError) as caught:
        Rig.from_yaml(file_path=rig_file, overrides=["channels.two=x"])
    assert str(caught.value) == "override 'channels.two=x': channels.two: expected a key of type int, found 'two' (str)"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("camera.fps", "expected 'path=value' (such as 'camera.fps=60'), found no '='"),
        ("camera..fps=1", "malformed path 'camera..fps': an empty part at character 8"),
        ("=1", "malformed path '': nothing"),
        ("cameras[1.fps=1", "an unclosed or empty bracket"),
        ("name=a: b", "the value is not readable as YAML (mapping values are not allowed"),
        ("tags=[a, b", "the value is not readable as YAML"),
        ("name=!!python/object/apply:os.getcwd []", "the value is not readable as YAML"),
        ("name=*alias", "the value is not readable as YAML"),
        ("enabled=!!bool maybe", "the value is not readable as YAML"),
        ("either=!!int abc", "the value is not readable as YAML"),
        ("note=2024-02-30", "the value is not readable as YAML"),
        ("either=" + "9" * 5000, "the value is not readable as YAML"),
        ("extra=&a [*a]", "the value is not readable as YAML"),
        ("extra=" + "[" * 200 + "]" * 200, "the value is not readable as YAML"),
    ],
)
def test_a_malformed_override_is_an_override_error(rig_file: Path, override: str, message: str) -> None:
    with pytest.raises(OverrideError) as caught:
        Rig.from_yaml(file_path=rig_file, overrides=[override])
    assert str(caught.value).startswith(f"override {override!r}: ")
    assert message in str(caught.value)


def test_values_read_as_yaml_so_quotes_keep_text(rig_file: Path) -> None:
    config = Rig.from_yaml(file_path=rig_file, overrides=["name='a: b'", "tags=['1e3', \"on\"]"])
    assert (config.name, config.tags) == ("a: b", ["1e3", "on"])

    with pytest.raises(ConfigTypeError, match="write it in quotes"):
        Rig.from_yaml(file_path=rig_file, overrides=["name=yes"])
    with pytest.raises(ConfigTypeError, match=r"tags\[1\]: expected str, found 1000.0"):
        Rig.from_yaml(file_path=rig_file, overrides=["tags=['1e3', 1e3]"])


def test_with_overrides_applies_to_an_instance_without_a_file() -> None:
    config = Rig()

    changed = config.with_overrides(["camera.fps=90", "channels.1=wheel"])

    assert changed.camera == Camera(fps=90.0, name="side")
    assert changed.channels == {0: "lick", 1: "wheel"}
    assert config == Rig()
    with pytest.raises(ConfigTypeError, match=r"override 'camera\.fps=x': camera\.fps: expected float"):
        config.with_overrides(["camera.fps=x"])


@dataclass(frozen=True, slots=True)
class Frozen(YamlConfig):
    value: int = 1
    names: tuple[str, ...] = ("a",)


def test_with_overrides_works_on_frozen_slotted_configs() -> None:
    assert Frozen().with_overrides(["value=2", "names=[x, y]"]) == Frozen(2, ("x", "y"))


def test_environment_variables_with_the_prefix_override_the_file(
    rig_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIG_CAMERA__FPS", "60")
    monkeypatch.setenv("rig_cameras__1__NAME", "side")
    monkeypatch.setenv("RIG_GAINS__LEFT", "0.7")
    monkeypatch.setenv("RIG_GAINS__Centre", "0.1")
    monkeypatch.setenv("RIG_CHANNELS__3", "'yes'")
    monkeypatch.setenv("RIGGED_NAME", "not read: another prefix")

    config = Rig.from_yaml(file_path=rig_file, env_prefix="RIG_")

    assert config.camera.fps == 60.0
    assert config.cameras[1].name == "side"
    assert config.gains == {"left": 0.7, "Centre": 0.1}  # an existing key matches without regard to case
    assert config.channels == {0: "lick", 3: "yes"}
    assert config.name == "rig-7"


def test_overrides_win_over_environment_variables(rig_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIG_CAMERA__FPS", "60")

    config = Rig.from_yaml(file_path=rig_file, env_prefix="RIG_", overrides=["camera.fps=70"])

    assert config.camera.fps == 70.0
    assert Rig().with_overrides(env_prefix="RIG_").camera.fps == 60.0


def test_an_environment_variable_that_names_no_field_is_refused_unless_not_strict(
    rig_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIG_CAMERA__FSP", "60")

    with pytest.raises(UnknownFieldError) as caught:
        Rig.from_yaml(file_path=rig_file, env_prefix="RIG_")
    assert str(caught.value).startswith(
        "environment variable RIG_CAMERA__FSP: camera.FSP: unknown key 'FSP': Camera declares no such field"
    )
    assert Rig.from_yaml(file_path=rig_file, env_prefix="RIG_", strict=False).camera.fps == 20.0


def test_a_wrongly_typed_environment_variable_names_the_variable(
    rig_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIG_ENABLED", "maybe")

    with pytest.raises(ConfigTypeError) as caught:
        Rig.from_yaml(file_path=rig_file, env_prefix="RIG_")
    assert str(caught.value) == "environment variable RIG_ENABLED: enabled: expected bool, found 'maybe' (str)"


def test_an_empty_prefix_or_an_empty_name_part_is_refused(rig_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OverrideError, match="env_prefix must not be empty"):
        Rig.from_yaml(file_path=rig_file, env_prefix="")
    monkeypatch.setenv("RIG_CAMERA____FPS", "1")
    with pytest.raises(OverrideError, match="RIG_CAMERA____FPS: the name has an empty part"):
        Rig.from_yaml(file_path=rig_file, env_prefix="RIG_")


@dataclass
class Versioned(YamlConfig, version=2, migrations=[Migration(1, 2, Rename("fps", "camera.fps"))]):
    camera: Camera = field(default_factory=Camera)


def test_overrides_apply_to_the_migrated_file(tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text("fps: 10\n", encoding="utf-8")

    with pytest.warns(ConfigMigrationWarning):
        config = Versioned.from_yaml(file_path=path, overrides=["camera.name=top"])

    assert config.camera == Camera(fps=10.0, name="top")


CHILD = textwrap.dedent(
    """
    import sys
    from dataclasses import dataclass, field
    from ataraxis_yamlconfig import YamlConfig

    @dataclass
    class Camera:
        fps: float = 30.0

    @dataclass
    class Rig(YamlConfig):
        camera: Camera = field(default_factory=Camera)
        name: str = "rig"

    config = Rig.from_yaml(sys.argv[1], env_prefix="RIG_", overrides=sys.argv[2:])
    print(config.camera.fps, config.name)
    """
)


def test_a_child_process_reads_its_own_environment(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("camera: {fps: 10}\n", encoding="utf-8")
    environment = {**os.environ, "RIG_CAMERA__FPS": "75", "RIG_NAME": "from-env"}

    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), "name=from-argv"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["75.0", "from-argv"]

    environment["RIG_CAMERA__FPS"] = "fast"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "ConfigTypeError: environment variable RIG_CAMERA__FPS: camera.fps: expected float, found 'fast'" in (
        result.stderr
    )


@dataclass
class Loose(YamlConfig):
    items: Any = field(default_factory=lambda: [1, 2])
    either: dict[str, int] | list[int] = field(default_factory=lambda: [1, 2])


@pytest.mark.parametrize(
    ("text", "override", "message"),
    [
        ("camera: 5\n", "camera.fps=1", "camera.fps: camera holds int, not Camera's fields"),
        ("gains: [1]\n", "gains.x=1", "gains.x: gains holds list, not a mapping"),
        ("cameras: 5\n", "cameras.0.fps=1", "cameras[0]: cameras holds int, not a list"),
        ("size: [1, 2, 3]\n", "size.2=1", "size[2]: size holds tuple[int, int], which has 2 items"),
    ],
)
def test_a_path_through_a_value_of_the_wrong_shape_is_refused(
    tmp_path: Path, text: str, override: str, message: str
) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(UnknownFieldError) as caught:
        Rig.from_yaml(file_path=path, overrides=[override])
    assert str(caught.value).startswith(f"override {override!r}: {message}")


def test_paths_reach_into_any_values_and_union_members() -> None:
    config = Loose().with_overrides(["items.1=20", "either.0=10"])
    assert (config.items, config.either) == ([1, 20], [10, 2])

    config = Loose(either={"a": 1}).with_overrides(["either.b=2"])
    assert config.either == {"a": 1, "b": 2}


def test_an_override_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(OverrideError, match="an override is a 'path=value' string, not 5"):
        Rig().with_overrides([5])  # type: ignore[list-item]
    with pytest.raises(OverrideError, match=r"put the single 'camera\.fps=60' in a list"):
        Rig().with_overrides("camera.fps=60")
