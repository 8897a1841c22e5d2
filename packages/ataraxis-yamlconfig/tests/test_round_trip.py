"""Every type a config holds survives a save and a load through a real file, and the file holds only plain YAML."""

import datetime
import enum
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, NewType, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ataraxis_yamlconfig import ConfigTypeError, YamlConfig


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(enum.StrEnum):
    FAST = "fast"
    SLOW = "slow"


class Permission(enum.Flag):
    READ = 1
    WRITE = 2


class Scale(enum.Enum):
    HALF = 0.5
    OFF = None


PLUS_TWO_HOURS = datetime.timezone(datetime.timedelta(hours=2))
SessionName = NewType("SessionName", str)


@dataclass
class Camera:
    fps: float = 30.0
    name: str = "camera"
    size: tuple[int, int] = (640, 480)


@dataclass
class Stage(YamlConfig):
    position: list[float] = field(default_factory=lambda: [0.0, 0.0])
    camera: Camera = field(default_factory=Camera)


@dataclass(frozen=True)
class Frozen:
    label: str = "frozen"
    limits: tuple[float, ...] = (1.0, 2.0)


@dataclass
class Everything(YamlConfig):
    integer: int = -12
    big: int = 2**70
    real: float = 0.1
    whole_float: float = 3.0
    infinity: float = math.inf
    minus_infinity: float = -math.inf
    tiny: float = 5e-324
    huge: float = 1.7976931348623157e308
    text: str = "plain text"
    unicode: str = "Größe µm → 日本語 🐭"
    flag: bool = True
    off: bool = False
    nothing: None = None
    optional_int: Optional[int] = None  # noqa: UP045 (the old spelling must work too)
    optional_text: str | None = "set"
    either: int | str = "word"
    path: Path = Path("/data/session 1/raw")
    relative: Path = Path("relative/folder")
    posix: PurePosixPath = field(default_factory=lambda: PurePosixPath("/mnt/share"))
    color: Color = Color.GREEN
    level: Level = Level.HIGH
    mode: Mode = Mode.SLOW
    permission: Permission = Permission.READ | Permission.WRITE
    scale: Scale = Scale.OFF
    choice: Literal["left", "right"] = "right"
    number_choice: Literal[1, 2, 3] = 2
    pair: tuple[int, str] = (1, "one")
    triple: tuple[float, float, float] = (1.0, 2.5, -3.0)
    variadic: tuple[int, ...] = (1, 2, 3, 4)
    empty_tuple: tuple[()] = ()
    numbers: list[int] = field(default_factory=lambda: [3, 1, 2])
    nested_lists: list[list[float]] = field(default_factory=lambda: [[1.0, 2.0], [3.0]])
    sequence: Sequence[str] = field(default_factory=lambda: ["a", "b"])
    names: set[str] = field(default_factory=lambda: {"b", "a", "c"})
    frozen_names: frozenset[int] = frozenset({3, 1})
    by_name: dict[str, float] = field(default_factory=lambda: {"left": 0.5, "right": 1.5})
    by_number: dict[int, str] = field(default_factory=lambda: {1: "one", 20: "twenty"})
    by_color: dict[Color, int] = field(default_factory=lambda: {Color.RED: 1})
    by_path: Mapping[Path, bool] = field(default_factory=lambda: {Path("/a"): True})
    camera: Camera = field(default_factory=Camera)
    stage: Stage = field(default_factory=Stage)
    cameras: list[Camera] = field(default_factory=lambda: [Camera(), Camera(fps=60.0, name="side")])
    cameras_by_name: dict[str, Camera] = field(default_factory=lambda: {"top": Camera(size=(1, 2))})
    optional_camera: Camera | None = None
    frozen: Frozen = field(default_factory=Frozen)
    date: datetime.date = datetime.date(2024, 1, 1)
    moment: datetime.datetime = datetime.datetime(2024, 1, 1, 12, 30, 15, 250000)
    aware: datetime.datetime = datetime.datetime(2024, 1, 1, 12, 0, tzinfo=PLUS_TWO_HOURS)
    session: SessionName = SessionName("mouse-12")
    anything: Any = field(default_factory=lambda: {"a": [1, 2.5, None, True], "b": {"c": "d"}})


def _save_and_load(config: YamlConfig, path: Path) -> Any:
    config.to_yaml(file_path=path)
    return type(config).from_yaml(file_path=path)


def test_every_supported_type_round_trips(tmp_path: Path) -> None:
    config = Everything()
    loaded = _save_and_load(config, tmp_path / "everything.yaml")

    assert loaded == config
    for name in vars(config):
        assert type(getattr(loaded, name)) is type(getattr(config, name)), name


def test_values_keep_their_exact_types(tmp_path: Path) -> None:
    loaded = _save_and_load(Everything(), tmp_path / "everything.yaml")

    assert isinstance(loaded.pair, tuple)
    assert isinstance(loaded.names, set)
    assert isinstance(loaded.frozen_names, frozenset)
    assert isinstance(loaded.cameras[1], Camera)
    assert isinstance(loaded.stage, Stage)
    assert loaded.color is Color.GREEN
    assert loaded.permission is Permission.READ | Permission.WRITE
    assert loaded.scale is Scale.OFF
    assert loaded.aware.utcoffset() == datetime.timedelta(hours=2)


def test_nan_round_trips(tmp_path: Path) -> None:
    @dataclass
    class WithNan(YamlConfig):
        value: float = math.nan
        values: list[float] = field(default_factory=lambda: [math.nan, 1.0])

    loaded = _save_and_load(WithNan(), tmp_path / "nan.yaml")

    assert math.isnan(loaded.value)
    assert math.isnan(loaded.values[0])
    assert loaded.values[1] == 1.0
    assert "value: .nan" in (tmp_path / "nan.yaml").read_text()


def test_the_file_holds_plain_yaml_only(tmp_path: Path) -> None:
    path = tmp_path / "everything.yaml"
    Everything().to_yaml(file_path=path)
    text = path.read_text()

    assert "!!" not in text
    assert "!" not in text.replace("!=", "")
    assert not text.startswith("---")
    assert "\n..." not in text
    assert "path: /data/session 1/raw\n" in text
    assert "color: green\n" in text
    assert "level: 2\n" in text
    assert "pair: [1, one]\n" in text
    assert "unicode: Größe µm → 日本語 🐭\n" in text
    assert "'off': false\n" in text


def test_fields_are_written_in_declaration_order(tmp_path: Path) -> None:
    path = tmp_path / "everything.yaml"
    Everything().to_yaml(file_path=path)
    lines = path.read_text().splitlines()
    top_level_keys = [line.split(":")[0].strip("'") for line in lines if line and not line.startswith((" ", "-"))]

    assert top_level_keys == list(vars(Everything()))


def test_nesting_uses_two_space_indents(tmp_path: Path) -> None:
    path = tmp_path / "stage.yaml"
    Stage().to_yaml(file_path=path)

    assert path.read_text() == ("position: [0.0, 0.0]\n\ncamera:\n  fps: 30.0\n  name: camera\n  size: [640, 480]\n")


def test_long_lists_are_written_one_item_per_line(tmp_path: Path) -> None:
    @dataclass
    class Long(YamlConfig):
        values: list[int] = field(default_factory=lambda: list(range(20)))

    path = tmp_path / "long.yaml"
    loaded = _save_and_load(Long(), path)

    assert loaded == Long()
    assert path.read_text() == "values:\n" + "".join(f"  - {number}\n" for number in range(20))


def test_long_strings_are_never_folded(tmp_path: Path) -> None:
    @dataclass
    class Wide(YamlConfig):
        text: str = "word " * 200 + "end"

    path = tmp_path / "wide.yaml"
    loaded = _save_and_load(Wide(), path)

    assert loaded == Wide()
    assert len(path.read_text().splitlines()) == 1


def test_an_int_in_a_float_field_is_saved_and_loaded_as_a_float(tmp_path: Path) -> None:
    @dataclass
    class Rate(YamlConfig):
        hertz: float = 0.0

    path = tmp_path / "rate.yaml"
    loaded = _save_and_load(Rate(hertz=30), path)

    assert "hertz: 30.0" in path.read_text()
    assert loaded.hertz == 30.0
    assert type(loaded.hertz) is float


def test_an_empty_config_round_trips(tmp_path: Path) -> None:
    @dataclass
    class Empty(YamlConfig):
        pass

    path = tmp_path / "empty.yaml"
    assert _save_and_load(Empty(), path) == Empty()
    assert path.read_text() == "{}\n"


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".YAML"])
def test_both_suffixes_are_accepted(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"config{suffix}"
    assert _save_and_load(Stage(), path) == Stage()


def test_a_string_path_is_accepted(tmp_path: Path) -> None:
    path = str(tmp_path / "config.yaml")
    Stage().to_yaml(file_path=path)
    assert Stage.from_yaml(file_path=path) == Stage()


_PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4)
    ),
    max_leaves=12,
)


@dataclass
class Free(YamlConfig):
    data: Any = None


@settings(max_examples=150, deadline=None)
@given(data=_PLAIN)
def test_any_plain_data_round_trips(data: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "free.yaml"
        Free(data=data).to_yaml(file_path=path)

        assert Free.from_yaml(file_path=path) == Free(data=data)


@dataclass
class Moments(YamlConfig):
    start: datetime.datetime = datetime.datetime(2024, 1, 1)
    end: datetime.datetime = datetime.datetime(2024, 1, 2)
    days: list[datetime.date] = field(default_factory=list)
    extra: Any = None


def test_a_value_held_twice_is_written_twice_not_as_an_alias(tmp_path: Path) -> None:
    # An anchor and alias (`&id001`, `*id001`) would tie two settings together: editing one would change both.
    moment = datetime.datetime(2024, 5, 1, 12, 30)
    day = datetime.date(2024, 5, 1)
    config = Moments(start=moment, end=moment, days=[day, day], extra={"a": [day], "b": [day]})
    path = tmp_path / "moments.yaml"

    config.to_yaml(file_path=path)

    text = path.read_text()
    assert "&" not in text and "*" not in text
    assert text.count("2024-05-01 12:30:00") == 2
    assert Moments.from_yaml(file_path=path) == config


@pytest.mark.parametrize(
    "offset",
    [datetime.timedelta(hours=5, minutes=30, seconds=7), datetime.timedelta(microseconds=1)],
    ids=["seconds", "microseconds"],
)
def test_a_time_zone_offset_finer_than_minutes_is_refused_on_saving(tmp_path: Path, offset: datetime.timedelta) -> None:
    # Such offsets exist (Amsterdam's before 1937 was +00:19:32), but a YAML timestamp holds hours and minutes only.
    moment = datetime.datetime(1930, 1, 1, tzinfo=datetime.timezone(offset))
    path = tmp_path / "moments.yaml"
    Moments().to_yaml(file_path=path)
    before = path.read_bytes()

    with pytest.raises(ConfigTypeError, match=r"start: expected datetime, found .*; its time zone's offset \(") as a:
        Moments(start=moment).to_yaml(file_path=path)
    with pytest.raises(ConfigTypeError, match=r"extra\[0\]: expected a value YAML can hold, .*its time zone's offset"):
        Moments(extra=[moment]).to_yaml(file_path=path)

    assert "is not a whole number of minutes" in str(a.value)
    assert path.read_bytes() == before


def test_an_integer_too_long_for_yaml_readers_is_refused_on_saving(tmp_path: Path) -> None:
    # Python (and so PyYAML) refuses to read an integer of more than 4,300 digits: such a file would not load.
    @dataclass
    class Counts(YamlConfig):
        count: int = 0
        extra: Any = None

    path = tmp_path / "counts.yaml"
    longest = 10**4300 - 1
    Counts(count=longest, extra={-longest: [longest]}).to_yaml(file_path=path)
    assert Counts.from_yaml(file_path=path) == Counts(count=longest, extra={-longest: [longest]})
    before = path.read_bytes()

    with pytest.raises(ConfigTypeError, match=r"count: expected int, found .*; it has more than 4300 digits"):
        Counts(count=10**4300).to_yaml(file_path=path)
    with pytest.raises(ConfigTypeError, match=r"extra\[0\]: expected a value YAML can hold, .*more than 4300 digits"):
        Counts(extra=[-(10**5000)]).to_yaml(file_path=path)

    assert path.read_bytes() == before


class Switches(enum.IntFlag):
    FAST = 1
    QUIET = 2


@pytest.mark.parametrize("text", ["-1", "-5"])
def test_a_negative_number_for_a_flag_is_refused(tmp_path: Path, text: str) -> None:
    # Python turns a negative value into the complement of its bits: -5 would silently mean READ | WRITE.
    @dataclass
    class Flags(YamlConfig):
        permission: Permission = Permission.READ
        mode: Switches = Switches.FAST

    path = tmp_path / "flags.yaml"
    for field_name in ("permission", "mode"):
        path.write_text(f"{field_name}: {text}\n")
        with pytest.raises(ConfigTypeError, match=rf"{field_name}: expected one of .*, found {text} \(int\)"):
            Flags.from_yaml(file_path=path)
    path.write_text("permission: 3\nmode: 3\n")
    assert Flags.from_yaml(file_path=path) == Flags(Permission.READ | Permission.WRITE, Switches.FAST | Switches.QUIET)


class Conforming(enum.Flag, boundary=enum.CONFORM):
    """A flag that drops unknown bits: the default boundary of `Flag` before Python 3.11.4."""

    READ = 1
    WRITE = 2


class Keeping(enum.Flag, boundary=enum.KEEP):
    READ = 1
    WRITE = 2


def test_bits_a_flag_would_drop_are_refused_and_kept_bits_load(tmp_path: Path) -> None:
    # Conforming(4) is Conforming(0): the value in the file would be lost without a word.
    @dataclass
    class Flags(YamlConfig):
        conforming: Conforming = Conforming.READ
        keeping: Keeping = Keeping.READ

    path = tmp_path / "flags.yaml"
    path.write_text("conforming: 5\n")
    with pytest.raises(ConfigTypeError, match=r"conforming: expected one of .*, found 5 \(int\)"):
        Flags.from_yaml(file_path=path)
    path.write_text("conforming: 3\nkeeping: 5\n")
    loaded = Flags.from_yaml(file_path=path)
    assert loaded.conforming == Conforming.READ | Conforming.WRITE
    assert loaded.keeping.value == 5

    schema = Flags.json_schema()["properties"]
    assert schema["conforming"]["enum"] == [0, 1, 2, 3]
    assert schema["keeping"]["type"] == "integer"
