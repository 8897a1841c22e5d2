"""Versioned configs: the `$version` key, step-by-step migrations of older files, and the errors on the way."""

import pickle
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ataraxis_yamlconfig import (
    VERSION_KEY,
    ConfigClassError,
    ConfigMigrationWarning,
    ConfigTypeError,
    ConfigVersionError,
    Migration,
    MigrationError,
    Remove,
    Rename,
    Retype,
    UnknownFieldError,
    YamlConfig,
    _dialect,
)

GOLDEN = Path(__file__).with_name("golden")


@dataclass
class Camera:
    fps: float = 30.0
    exposure_us: int = 1000


def add_default_channels(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 had no channels; version 3 files list them, and older rigs had a lick sensor on channel 0."""
    data.setdefault("channels", {0: "lick"})
    return data


@dataclass
class Rig(
    YamlConfig,
    version=3,
    migrations=[
        Migration(1, 2, Rename("fps", "camera.fps"), Remove("legacy_mode")),
        Migration(
            2,
            3,
            Retype("camera.exposure_ms", lambda ms: round(ms * 1000)),
            Rename("camera.exposure_ms", "camera.exposure_us"),
            add_default_channels,
        ),
    ],
):
    """Settings of one rig."""

    name: str = "rig-1"
    camera: Camera = field(default_factory=Camera)
    channels: dict[int, str] = field(default_factory=dict)


EXPECTED = Rig(name="rig-7", camera=Camera(fps=60.0, exposure_us=2500), channels={0: "lick"})


def _copy_golden(name: str, folder: Path) -> Path:
    target = folder / name
    shutil.copyfile(GOLDEN / name, target)
    return target


def test_the_version_is_the_first_key_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    EXPECTED.to_yaml(file_path=path)

    assert path.read_text(encoding="utf-8") == (GOLDEN / "rig_v3.yaml").read_text(encoding="utf-8")
    assert VERSION_KEY == "$version"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Rig.from_yaml(file_path=path) == EXPECTED


@pytest.mark.parametrize(("name", "version"), [("rig_v1.yaml", 1), ("rig_v2.yaml", 2)])
def test_an_older_file_is_migrated_step_by_step_with_a_warning(tmp_path: Path, name: str, version: int) -> None:
    path = _copy_golden(name, tmp_path)
    before = path.read_bytes()

    with pytest.warns(ConfigMigrationWarning) as caught:
        config = Rig.from_yaml(file_path=path)

    assert config == EXPECTED
    assert path.read_bytes() == before
    [warning] = [record.message for record in caught]
    assert isinstance(warning, ConfigMigrationWarning)
    assert (warning.file_path, warning.from_version, warning.to_version, warning.rewritten) == (path, version, 3, False)
    assert str(pickle.loads(pickle.dumps(warning))) == str(warning)
    assert str(warning) == (
        f"{path}: migrated from version {version} to version 3 of Rig; the file itself is unchanged (load with "
        "upgrade_file=True, or save the config, to upgrade it)"
    )


UPGRADED_V1 = (
    "# Settings of one rig.\n\n"
    "# Settings of one rig (version 1: the frame rate at the top, exposure in milliseconds).\n\n"
    "$version: 3\nname: rig-7\n"
    "camera:\n  fps: 60.0\n  exposure_us: 2500\n\nchannels:\n  0: lick\n"
)
"""rig_v1.yaml rewritten as version 3: the layout of the version 1 file is kept (no blank line before `camera`), and
so is its header, which differs from the class's (a comment that is not the class's current text is kept)."""


def test_upgrade_file_rewrites_the_file_as_the_current_version(tmp_path: Path) -> None:
    path = _copy_golden("rig_v1.yaml", tmp_path)

    with pytest.warns(ConfigMigrationWarning, match="the file was rewritten as version 3") as caught:
        config = Rig.from_yaml(file_path=path, upgrade_file=True)

    assert caught[0].message.rewritten  # type: ignore[union-attr]
    assert config == EXPECTED
    assert path.read_text(encoding="utf-8") == UPGRADED_V1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Rig.from_yaml(file_path=path) == EXPECTED


def test_upgrade_file_writes_the_file_without_the_overrides(tmp_path: Path) -> None:
    path = _copy_golden("rig_v1.yaml", tmp_path)

    with pytest.warns(ConfigMigrationWarning):
        config = Rig.from_yaml(file_path=path, upgrade_file=True, overrides=["camera.fps=90", "name=override"])

    assert (config.camera.fps, config.name) == (90.0, "override")
    assert path.read_text(encoding="utf-8") == UPGRADED_V1


def test_upgrade_file_never_drops_keys_that_strict_false_ignored(tmp_path: Path) -> None:
    # The rewrite writes the config, which does not hold the ignored keys: it would delete them from the file.
    path = tmp_path / "rig.yaml"
    text = "name: rig-7\nfps: 60\nfuture_setting: 42  # read by the new acquisition code\ncamera: {gian: 2}\n"
    path.write_text(text, encoding="utf-8")

    with pytest.warns(ConfigMigrationWarning) as caught:
        config = Rig.from_yaml(file_path=path, upgrade_file=True, strict=False)

    assert config == Rig(name="rig-7", camera=Camera(fps=60.0), channels={0: "lick"})
    assert path.read_text(encoding="utf-8") == text
    warning = caught[0].message
    assert isinstance(warning, ConfigMigrationWarning)
    assert not warning.rewritten
    assert str(warning) == (
        f"{path}: migrated from version 1 to version 3 of Rig; the file itself is unchanged: it holds keys that Rig "
        "does not declare (future_setting, camera.gian), which rewriting it would delete; remove them, or save "
        "the config, to upgrade it"
    )
    assert str(pickle.loads(pickle.dumps(warning))) == str(warning)


def test_upgrade_file_keeps_the_comments_of_renamed_keys(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text(
        "# Settings of one rig.\n\nname: rig-7\n# doubled for the grooming study\nfps: 60  # Hz\n"
        "camera:\n  # measured on Monday\n  exposure_ms: 2.5  # ms, as the old driver wanted\n",
        encoding="utf-8",
    )

    with pytest.warns(ConfigMigrationWarning):
        Rig.from_yaml(file_path=path, upgrade_file=True)

    assert path.read_text(encoding="utf-8") == (
        "# Settings of one rig.\n\n$version: 3\nname: rig-7\ncamera:\n  # doubled for the grooming study\n"
        "  fps: 60.0  # Hz\n  # measured on Monday\n  exposure_us: 2500  # ms, as the old driver wanted\n"
        "\nchannels:\n  0: lick\n"
    )


def test_upgrade_file_puts_a_section_new_to_the_file_where_its_moved_key_was(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("# doubled for the grooming study\nfps: 60  # Hz\nname: rig-7  # by the window\n")

    with pytest.warns(ConfigMigrationWarning):
        Rig.from_yaml(file_path=path, upgrade_file=True)

    assert path.read_text(encoding="utf-8") == (
        "# Settings of one rig.\n\n$version: 3\ncamera:\n  # doubled for the grooming study\n  fps: 60.0  # Hz\n"
        "  exposure_us: 1000\n\nchannels:\n  0: lick\nname: rig-7  # by the window\n"
    )


def test_a_file_without_a_version_is_version_1(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("name: rig-7\nfps: 60\n", encoding="utf-8")

    with pytest.warns(ConfigMigrationWarning, match="from version 1 to version 3"):
        config = Rig.from_yaml(file_path=path)

    assert config == Rig(name="rig-7", camera=Camera(fps=60.0), channels={0: "lick"})


def test_a_newer_file_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("# written by next year's program\n$version: 4\nname: rig-7\n", encoding="utf-8")

    with pytest.raises(ConfigVersionError) as caught:
        Rig.from_yaml(file_path=path)

    assert (caught.value.found, caught.value.supported, caught.value.line) == (4, 3, 2)
    assert str(caught.value) == (
        f"{path}, line 2: $version: the file is version 4 of Rig, newer than the version this program reads (3): it "
        "was written by a newer version of the program; update this one to read it"
    )


@pytest.mark.parametrize("text", ["three", "true", "0", "-1", "2.0", "[3]", "null"])
def test_a_malformed_version_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text(f"name: rig-7\n$version: {text}\n", encoding="utf-8")

    with pytest.raises(ConfigVersionError, match=r"line 2: \$version: expected a version number"):
        Rig.from_yaml(file_path=path)


@dataclass
class Unversioned(YamlConfig):
    value: int = 1


def test_a_class_without_a_version_is_version_1(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    Unversioned().to_yaml(file_path=path)
    assert path.read_text(encoding="utf-8") == "value: 1\n"

    path.write_text("$version: 1\nvalue: 2\n", encoding="utf-8")
    assert Unversioned.from_yaml(file_path=path) == Unversioned(2)

    path.write_text("$version: 2\nvalue: 2\n", encoding="utf-8")
    with pytest.raises(ConfigVersionError, match="newer than the version this program reads"):
        Unversioned.from_yaml(file_path=path)


def test_a_failing_conversion_names_the_migration_step_path_and_value(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("$version: 2\ncamera:\n  exposure_ms: fast\n", encoding="utf-8")

    with pytest.raises(MigrationError) as caught:
        Rig.from_yaml(file_path=path)

    error = caught.value
    assert (error.from_version, error.to_version, error.step, error.file_path) == (2, 3, 1, path)
    assert str(error) == (
        f"{path}: migrating Rig from version 2 to 3, step 1 (Retype('camera.exposure_ms', <lambda>)): "
        "camera.exposure_ms: cannot convert 'fast' (str): TypeError: type str doesn't define __round__ method"
    )
    assert isinstance(error.__cause__, TypeError)


def _broken(data: dict[str, Any]) -> dict[str, Any]:
    raise KeyError("channels")


def _not_a_mapping(data: dict[str, Any]) -> Any:
    return [data]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (_broken, "step 2 (_broken): KeyError: 'channels'"),
        (
            _not_a_mapping,
            "step 2 (_not_a_mapping): the function returned [{'a': 1, 'b': 2, 'c': 5}] (list), not the migrated "
            "mapping",
        ),
        (Rename("a", "b"), "step 2 (Rename(old='a', new='b')): the file holds both a and b"),
        (Rename("a", "c.d"), "step 2 (Rename(old='a', new='c.d')): c holds 5 (int), not a mapping"),
    ],
)
def test_errors_of_other_steps_name_the_step(tmp_path: Path, step: Any, message: str) -> None:
    @dataclass
    class Broken(YamlConfig, version=2, migrations=[Migration(1, 2, Remove("x"), step)]):
        b: int = 0

    path = tmp_path / "broken.yaml"
    path.write_text("a: 1\nb: 2\nc: 5\n", encoding="utf-8")

    with pytest.raises(MigrationError) as caught:
        Broken.from_yaml(file_path=path)
    assert str(caught.value) == f"{path}: migrating Broken from version 1 to 2, {message}"


def test_a_problem_left_after_migration_says_the_file_was_migrated(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("name: rig-7\nfps: sixty\n", encoding="utf-8")

    with pytest.raises(ConfigTypeError) as caught:
        Rig.from_yaml(file_path=path)
    assert str(caught.value).endswith(
        "camera.fps: expected float, found 'sixty' (str) (in the file as migrated from version 1 to 3)"
    )


@dataclass
class Cameras(
    YamlConfig,
    version=2,
    migrations=[
        Migration(
            1,
            2,
            Rename("cameras[*].rate", "cameras[*].fps"),
            Remove("cameras[*].gain"),
            Retype("by_name[*].fps", float),
            Rename("labels['a.b']", "labels.ab"),
            Rename("old", "nested.deeper.new"),
            Rename("section", "section.inner"),
        ),
    ],
):
    cameras: list[Camera] = field(default_factory=list)
    by_name: dict[str, Camera] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    nested: dict[str, dict[str, int]] = field(default_factory=dict)
    section: dict[str, dict[str, int]] = field(default_factory=dict)


def test_paths_reach_list_items_mapping_values_quoted_keys_and_new_sections(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text(
        "cameras:\n  - {rate: 10, gain: 2}\n  - {rate: 20}\n"
        "by_name: {top: {fps: 5}}\n"
        "labels: {'a.b': x}\n"
        "old: 3\n"
        "section: {x: 1}\n",
        encoding="utf-8",
    )

    with pytest.warns(ConfigMigrationWarning):
        config = Cameras.from_yaml(file_path=path)

    assert config.cameras == [Camera(fps=10.0), Camera(fps=20.0)]
    assert config.by_name == {"top": Camera(fps=5.0)}
    assert config.labels == {"ab": "x"}
    assert config.nested == {"deeper": {"new": 3}}
    assert config.section == {"inner": {"x": 1}}


def test_steps_whose_paths_are_absent_do_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text("{}\n", encoding="utf-8")

    with pytest.warns(ConfigMigrationWarning):
        assert Cameras.from_yaml(file_path=path) == Cameras()


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (
            lambda: {"version": 2},
            "needs one migration from each of its older versions .1 to 1.: no migration from version 1",
        ),
        (lambda: {"version": 0}, "version must be an integer from 1 up, not 0"),
        (lambda: {"version": True}, "version must be an integer from 1 up, not True"),
        (lambda: {"migrations": [Migration(1, 2)]}, "version must be an integer from 1 up, not None"),
        (
            lambda: {"version": 2, "migrations": [Migration(1, 2), Migration(1, 2)]},
            "two migrations read the same version",
        ),
        (lambda: {"version": 2, "migrations": [Migration(2, 3), Migration(1, 2)]}, "which is not older than 2"),
        (lambda: {"version": 2, "migrations": ["rename"]}, "'rename', which is not a Migration"),
        (lambda: {"version": 2, "migrations": [Migration(1, 3)]}, r"must lead to the next version, 2"),
        (lambda: {"version": 2, "migrations": [Migration(0, 1)]}, "integers from 1 up, not 0"),
        (lambda: {"version": 2, "migrations": [Migration(1, 2, "x")]}, "'x' is not a migration step"),  # type: ignore[arg-type]
        (lambda: {"version": 2, "migrations": [Migration(1, 2, Rename("a..b", "c"))]}, "malformed path 'a..b'"),
        (lambda: {"version": 2, "migrations": [Migration(1, 2, Remove(""))]}, "malformed path ''"),
        (
            lambda: {"version": 2, "migrations": [Migration(1, 2, Rename("a[*].b", "c"))]},
            r"both paths must hold \[\*\] the same number of times",
        ),
    ],
)
def test_a_wrong_declaration_is_an_error_when_the_class_is_defined(declare: Any, message: str) -> None:
    with pytest.raises(ConfigClassError, match=message):

        @dataclass
        class Wrong(YamlConfig, **declare()):
            value: int = 0


@dataclass(slots=True, frozen=True)
class Slotted(YamlConfig, version=2, migrations=[Migration(1, 2, Rename("old", "new"))]):
    new: int = 0


@dataclass
class Child(Rig):
    extra: int = 0


def test_slotted_classes_and_subclasses_keep_the_version(tmp_path: Path) -> None:
    path = tmp_path / "slotted.yaml"
    path.write_text("old: 4\n", encoding="utf-8")
    with pytest.warns(ConfigMigrationWarning):
        assert Slotted.from_yaml(file_path=path) == Slotted(new=4)

    Child(extra=1).to_yaml(file_path=path)
    assert path.read_text(encoding="utf-8").startswith("$version: 3\nname: rig-1\n")
    path.write_text("fps: 50\nextra: 2\n", encoding="utf-8")
    with pytest.warns(ConfigMigrationWarning):
        assert Child.from_yaml(file_path=path) == Child(camera=Camera(fps=50.0), channels={0: "lick"}, extra=2)


def test_the_schema_describes_the_version_key(tmp_path: Path) -> None:
    schema = Rig.json_schema()
    path = tmp_path / "rig.yaml"
    EXPECTED.to_yaml(file_path=path)
    validator = jsonschema.Draft202012Validator(schema)

    assert next(iter(schema["properties"])) == "$version"
    assert schema["properties"]["$version"]["const"] == 3
    assert schema["required"] == ["$version"]
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_dialect.Loader)
    validator.validate(data)
    assert not validator.is_valid({**data, "$version": 2})
    assert not validator.is_valid({key: value for key, value in data.items() if key != "$version"})
    assert Slotted.json_schema()["required"] == ["$version"]


def test_an_unknown_key_in_a_migrated_file_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("name: rig-7\nfsp: 60\n", encoding="utf-8")

    with pytest.raises(UnknownFieldError, match="unknown key 'fsp'"):
        Rig.from_yaml(file_path=path)


def _drop_gain_in_place(data: dict[str, Any]) -> None:
    data.pop("gain", None)


@dataclass
class Keys(
    YamlConfig,
    version=2,
    migrations=[
        Migration(
            1,
            2,
            Remove("channels[0]"),
            Retype("items[1]", str),
            Rename("items[0]", "first"),
            _drop_gain_in_place,
        )
    ],
):
    channels: dict[int, str] = field(default_factory=dict)
    items: list[Any] = field(default_factory=list)


def test_steps_reach_integer_keys_and_list_items_and_functions_may_change_the_mapping_in_place(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("channels: {0: lick, 1: wheel}\nitems: [1, 2]\ngain: 3\n", encoding="utf-8")

    with pytest.warns(ConfigMigrationWarning):
        config = Keys.from_yaml(file_path=path)

    # A list item has no key to rename: Rename leaves it alone.
    assert config == Keys(channels={1: "wheel"}, items=[1, "2"])
    assert repr(Keys._yamlconfig_versioning.migrations[0]).startswith(  # type: ignore[attr-defined]
        "Migration(1, 2, Remove(path='channels[0]'), Retype('items[1]', str), Rename("
    )


def test_a_rename_into_a_value_that_is_not_a_mapping_names_it(tmp_path: Path) -> None:
    @dataclass
    class Moving(YamlConfig, version=2, migrations=[Migration(1, 2, Rename("a", "b.c"))]):
        b: list[int] = field(default_factory=list)

    path = tmp_path / "moving.yaml"
    path.write_text("a: 1\nb: [1]\n", encoding="utf-8")
    with pytest.raises(MigrationError, match=r"step 1 \(Rename\(old='a', new='b.c'\)\): b holds \[1\] \(list\), not a"):
        Moving.from_yaml(file_path=path)
