"""Loading checks every value against its declared type and names the file, line, field, value and type expected."""

import enum
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from ataraxis_yamlconfig import (
    ConfigTypeError,
    ConfigValidationError,
    MissingFieldError,
    UnknownFieldError,
    UnsupportedFieldTypeError,
    YamlConfig,
    YamlConfigError,
)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Camera:
    fps: int = 30
    exposure: float = 1.0


@dataclass
class Rig(YamlConfig):
    name: str = "rig"
    camera: Camera = field(default_factory=Camera)
    cameras: list[Camera] = field(default_factory=list)
    gains: dict[str, float] = field(default_factory=dict)
    channels: dict[int, str] = field(default_factory=dict)
    color: Color = Color.RED
    mode: Literal["fast", "slow"] = "fast"
    size: tuple[int, int] = (1, 2)
    output: Path = Path("/data")
    enabled: bool = True
    spare: Camera | None = None
    limit: int | str = 0


def _load(tmp_path: Path, text: str, *, strict: bool = True) -> Rig:
    path = tmp_path / "rig.yaml"
    path.write_text(text)
    return Rig.from_yaml(file_path=path, strict=strict)


def _error(tmp_path: Path, text: str, kind: type[Exception] = ConfigTypeError) -> ConfigValidationError:
    with pytest.raises(kind) as caught:
        _load(tmp_path, text)
    assert isinstance(caught.value, ConfigValidationError)
    return caught.value


def test_a_wrong_type_names_file_line_field_value_and_type(tmp_path: Path) -> None:
    error = _error(tmp_path, "name: rig\ncamera:\n  fps: thirty\n")

    assert str(error) == f"{tmp_path / 'rig.yaml'}, line 3: camera.fps: expected int, found 'thirty' (str)"
    assert error.field_path == "camera.fps"
    assert error.path == ("camera", "fps")
    assert error.line == 3
    assert error.file_path == tmp_path / "rig.yaml"
    assert isinstance(error, ConfigTypeError)
    assert error.value == "thirty"
    assert error.expected == "int"


def test_errors_are_value_errors_and_wrong_types_are_type_errors(tmp_path: Path) -> None:
    error = _error(tmp_path, "camera: {fps: 1.5}\n")

    assert isinstance(error, ValueError)
    assert isinstance(error, TypeError)
    assert isinstance(error, YamlConfigError)


def test_an_item_of_a_list_is_named_by_its_index(tmp_path: Path) -> None:
    error = _error(tmp_path, "cameras:\n  - fps: 1\n  - fps: 2\n    exposure: long\n")

    assert error.field_path == "cameras[1].exposure"
    assert error.line == 4
    assert "expected float, found 'long' (str)" in str(error)


def test_a_mapping_value_is_named_by_its_key(tmp_path: Path) -> None:
    assert _error(tmp_path, "gains:\n  left: 0.5\n  right: loud\n").field_path == "gains.right"
    assert _error(tmp_path, "gains:\n  left side: []\n").field_path == "gains['left side']"
    assert _error(tmp_path, "channels:\n  3: [x]\n").field_path == "channels[3]"


def test_a_mapping_key_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    error = _error(tmp_path, "channels:\n  three: x\n")

    assert error.field_path == "channels.three"
    assert "expected a key of type int, found 'three' (str)" in str(error)


def test_a_bool_is_not_an_int_and_a_float_is_not_an_int(tmp_path: Path) -> None:
    assert "expected int, found True (bool)" in str(_error(tmp_path, "camera: {fps: yes}\n"))
    assert "expected int, found 30.0 (float)" in str(_error(tmp_path, "camera: {fps: 30.0}\n"))


def test_an_int_is_accepted_for_a_float_and_becomes_a_float(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "camera: {exposure: 2}\n")

    assert loaded.camera.exposure == 2.0
    assert type(loaded.camera.exposure) is float


def test_a_bool_is_not_a_float(tmp_path: Path) -> None:
    assert "expected float, found False (bool)" in str(_error(tmp_path, "camera: {exposure: off}\n"))


def test_text_read_as_another_type_suggests_quotes(tmp_path: Path) -> None:
    message = str(_error(tmp_path, "name: no\n"))

    assert "name: expected str, found False (bool); write it in quotes to keep it as text" in message


@pytest.mark.parametrize(
    ("key", "found"),
    [
        ("yes", "True (bool)"),
        ("1e3", "1000.0 (float)"),
        ("12", "12 (int)"),
        ("2024-01-01", "(date)"),
        ("~", "None (NoneType)"),
    ],
)
def test_a_text_key_read_as_another_type_suggests_quotes(tmp_path: Path, key: str, found: str) -> None:
    message = str(_error(tmp_path, f"gains:\n  {key}: 1.0\n"))

    assert "expected a key of type str, found " in message
    assert f"{found}; write it in quotes to keep it as text" in message
    assert _load(tmp_path, f"gains:\n  '{key}': 1.0\n").gains == {key: 1.0}


def test_an_enum_value_must_be_one_of_its_members(tmp_path: Path) -> None:
    message = str(_error(tmp_path, "color: blue\n"))
    assert "color: expected one of 'red', 'green' (Color), found 'blue' (str)" in message

    assert "write the value 'red' of RED, not its name" in str(_error(tmp_path, "color: RED\n"))


def test_a_literal_value_must_be_one_of_its_choices(tmp_path: Path) -> None:
    assert "mode: expected one of 'fast', 'slow', found 'medium' (str)" in str(_error(tmp_path, "mode: medium\n"))


def test_a_fixed_tuple_needs_its_number_of_items(tmp_path: Path) -> None:
    message = str(_error(tmp_path, "size: [1, 2, 3]\n"))

    assert "size: expected tuple[int, int] (2 items), found [1, 2, 3] (list)" in message


def test_a_path_must_be_a_string(tmp_path: Path) -> None:
    assert "output: expected Path, found 5 (int)" in str(_error(tmp_path, "output: 5\n"))


def test_a_nested_dataclass_must_be_a_mapping(tmp_path: Path) -> None:
    assert "camera: expected a mapping of Camera's fields, found 30 (int)" in str(_error(tmp_path, "camera: 30\n"))


def test_an_error_inside_an_optional_dataclass_is_reported_precisely(tmp_path: Path) -> None:
    assert _error(tmp_path, "spare:\n  fps: fast\n").field_path == "spare.fps"
    assert _load(tmp_path, "spare: null\n").spare is None


def test_a_union_lists_its_members(tmp_path: Path) -> None:
    assert "limit: expected int | str, found [1] (list)" in str(_error(tmp_path, "limit: [1]\n"))
    assert _load(tmp_path, "limit: 5\n").limit == 5
    assert _load(tmp_path, "limit: five\n").limit == "five"


def test_an_unknown_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    error = _error(tmp_path, "name: rig\ncamera:\n  fsp: 30\n", UnknownFieldError)

    assert isinstance(error, UnknownFieldError)
    assert error.key == "fsp"
    assert error.field_path == "camera.fsp"
    assert error.line == 3
    assert "unknown key 'fsp': Camera declares no such field (did you mean 'fps'?)" in str(error)
    assert "strict=False" in str(error)


def test_unknown_keys_are_ignored_when_not_strict(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "removed: 1\ncamera:\n  fps: 12\n  old: 2\ncameras: [{fps: 1, older: 3}]\n", strict=False)

    assert loaded == Rig(camera=Camera(fps=12), cameras=[Camera(fps=1)])


def test_a_missing_field_takes_its_default(tmp_path: Path) -> None:
    assert _load(tmp_path, "camera: {}\n") == Rig()
    assert _load(tmp_path, "{}\n") == Rig()
    assert _load(tmp_path, "# only a comment\n") == Rig()


def test_a_missing_field_without_default_is_named(tmp_path: Path) -> None:
    @dataclass
    class Subject:
        name: str
        weight: float

    @dataclass
    class Session(YamlConfig):
        subject: Subject
        notes: str = ""

    path = tmp_path / "session.yaml"
    path.write_text("notes: x\nsubject:\n  name: mouse\n")

    with pytest.raises(MissingFieldError) as caught:
        Session.from_yaml(file_path=path)
    assert caught.value.field_path == "subject.weight"
    assert caught.value.line == 3
    assert "missing required field 'weight' of Subject (it has no default)" in str(caught.value)

    path.write_text("notes: x\n")
    with pytest.raises(MissingFieldError, match="missing required field 'subject' of Session"):
        Session.from_yaml(file_path=path)


def test_a_computed_field_cannot_be_set_from_a_file(tmp_path: Path) -> None:
    @dataclass
    class Derived(YamlConfig):
        width: int = 2
        area: int = field(init=False, default=0)

        def __post_init__(self) -> None:
            self.area = self.width * self.width

    path = tmp_path / "derived.yaml"
    Derived(width=3).to_yaml(file_path=path)
    assert path.read_text() == "width: 3\n"
    assert Derived.from_yaml(file_path=path).area == 9

    path.write_text("width: 3\narea: 100\n")
    with pytest.raises(UnknownFieldError, match=r"'area' is computed by Derived \(field\(init=False\)\)"):
        Derived.from_yaml(file_path=path)
    assert Derived.from_yaml(file_path=path, strict=False).area == 9


def test_post_init_validation_runs_on_load(tmp_path: Path) -> None:
    @dataclass
    class Positive:
        value: int = 1

        def __post_init__(self) -> None:
            if self.value <= 0:
                raise ValueError(f"value must be positive, got {self.value}")

    @dataclass
    class Holder(YamlConfig):
        inner: Positive = field(default_factory=Positive)

    path = tmp_path / "holder.yaml"
    path.write_text("inner:\n  value: -4\n")

    with pytest.raises(ConfigValidationError) as caught:
        Holder.from_yaml(file_path=path)
    assert str(caught.value) == (
        f"{path}, line 2: inner: Positive rejected the values: ValueError: value must be positive, got -4"
    )
    assert isinstance(caught.value.__cause__, ValueError)


def test_post_init_can_name_the_field_it_rejects_and_the_error_cites_that_fields_line(tmp_path: Path) -> None:
    @dataclass
    class Channel:
        name: str = "left"
        rate: float = 1.0

        def __post_init__(self) -> None:
            if not self.rate > 0:
                raise ConfigValidationError(f"must be positive, got {self.rate!r}", path=("rate",))

    @dataclass
    class Board(YamlConfig):
        label: str = "board"
        channels: list[Channel] = field(default_factory=list)

        def __post_init__(self) -> None:
            names = [channel.name for channel in self.channels]
            for position, name in enumerate(names):
                if name in names[:position]:
                    raise ConfigValidationError(f"{name!r} is used twice", path=("channels", position, "name"))

    path = tmp_path / "board.yaml"
    path.write_text("label: board\nchannels:\n  - name: left\n    rate: 2.0\n  - name: right\n    rate: -1.0\n")
    with pytest.raises(ConfigValidationError) as caught:
        Board.from_yaml(file_path=path)
    assert (caught.value.line, caught.value.field_path) == (6, "channels[1].rate")
    assert str(caught.value) == f"{path}, line 6: channels[1].rate: must be positive, got -1.0"

    path.write_text("label: board\nchannels:\n  - name: left\n  - name: left\n")
    with pytest.raises(ConfigValidationError) as caught:
        Board.from_yaml(file_path=path)
    assert str(caught.value) == f"{path}, line 4: channels[1].name: 'left' is used twice"

    with pytest.raises(ConfigValidationError, match=r"^channels\[1\]\.name: 'left' is used twice$"):
        Board(channels=[Channel(), Channel()])


def test_errors_survive_pickling(tmp_path: Path) -> None:
    error = _error(tmp_path, "cameras:\n  - fps: x\n")

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is ConfigTypeError
    assert str(copy) == str(error)
    assert copy.path == error.path
    assert copy.value == "x"


def test_a_field_type_without_yaml_form_is_a_type_error(tmp_path: Path) -> None:
    @dataclass
    class Odd(YamlConfig):
        payload: bytes = b""

    with pytest.raises(UnsupportedFieldTypeError, match="payload: the type bytes has no YAML form"):
        Odd().to_yaml(file_path=tmp_path / "odd.yaml")
    (tmp_path / "odd.yaml").write_text("payload: abc\n")
    with pytest.raises(UnsupportedFieldTypeError, match="payload: the type bytes has no YAML form"):
        Odd.from_yaml(file_path=tmp_path / "odd.yaml")
    assert not isinstance(UnsupportedFieldTypeError(), ValueError)


def test_an_integer_too_large_for_a_float_is_refused(tmp_path: Path) -> None:
    message = str(_error(tmp_path, f"camera: {{exposure: {10**400}}}\n"))
    assert "camera.exposure: expected float" in message
    assert "the integer is too large for a float" in message

    with pytest.raises(ConfigTypeError, match="the integer is too large for a float"):
        Rig(camera=Camera(exposure=10**400)).to_yaml(file_path=tmp_path / "huge.yaml")


@dataclass
class Feed(YamlConfig):
    source: Camera | int | None = None


def test_saving_and_loading_a_union_report_the_same_problems(tmp_path: Path) -> None:
    # Both directions go through one union walk: the problem inside the member that matched the value's shape is
    # reported, else the union itself is named.
    path = tmp_path / "feed.yaml"
    with pytest.raises(ConfigTypeError) as saving:
        Feed(source=Camera(fps="fast")).to_yaml(file_path=path)  # type: ignore[arg-type]
    path.write_text("source:\n  fps: fast\n")
    with pytest.raises(ConfigTypeError) as loading:
        Feed.from_yaml(file_path=path)
    assert saving.value.field_path == loading.value.field_path == "source.fps"
    assert saving.value.problem == loading.value.problem == "expected int, found 'fast' (str)"

    with pytest.raises(ConfigTypeError) as saving:
        Feed(source="x").to_yaml(file_path=path)  # type: ignore[arg-type]
    path.write_text("source: x\n")
    with pytest.raises(ConfigTypeError) as loading:
        Feed.from_yaml(file_path=path)
    assert saving.value.problem == loading.value.problem == "expected Camera | int | None, found 'x' (str)"

    Feed(source=Camera(fps=5)).to_yaml(file_path=path)
    assert Feed.from_yaml(file_path=path) == Feed(source=Camera(fps=5))
    Feed(source=7).to_yaml(file_path=path)
    assert Feed.from_yaml(file_path=path) == Feed(source=7)
