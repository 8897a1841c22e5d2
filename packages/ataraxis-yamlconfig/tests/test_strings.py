"""Strings come back as the identical str, also when another YAML reader (YAML 1.2) reads the saved file."""

import io
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from ataraxis_yamlconfig import ConfigFileError, YamlConfig
from ataraxis_yamlconfig._parse import parse_file

TRICKY = [
    "yes",
    "no",
    "on",
    "off",
    "Yes",
    "NO",
    "On",
    "OFF",
    "y",
    "n",
    "Y",
    "N",
    "true",
    "False",
    "TRUE",
    "null",
    "Null",
    "NULL",
    "~",
    "",
    " ",
    "  leading",
    "trailing  ",
    "\t",
    "1e3",
    "1E3",
    "-2e-5",
    "+1e+3",
    "1.0e3",
    "1_000",
    "0x10",
    "0o17",
    "017",
    "0b101",
    "+12",
    "-0",
    "12:30:45",
    ".5",
    "5.",
    ".inf",
    "-.inf",
    ".nan",
    ".NaN",
    "inf",
    "nan",
    "3.14",
    "1,000",
    "2024-01-01",
    "2024-01-01 12:00:00",
    "2024-01-01T12:00:00Z",
    "line one\nline two",
    "ends with newline\n",
    "two newlines\n\n",
    "\n",
    "\nstarts with newline",
    "  indented first line\nsecond",
    "trailing space \nnext",
    "carriage\rreturn",
    "crlf\r\n",
    "- dash",
    "? question",
    ": colon",
    "key: value",
    "# hash",
    "a #b",
    "[list]",
    "{map}",
    "*alias",
    "&anchor",
    "!tag",
    "!!python/object:os.system",
    "|",
    ">",
    "'single'",
    '"double"',
    "`back`",
    "@at",
    "%percent",
    "=",
    "<<",
    "---",
    "...",
    "--- x",
    "tab\tinside",
    "nul\x00byte",
    "bell\x07",
    "del\x7f",
    "\x85next line",
    "line\u2028separator",
    "para\u2029separator",
    "bom\ufeff",
    "Größe µm",
    "日本語",
    "🐭 emoji",
    "\U00020000",
]


@dataclass
class Texts(YamlConfig):
    text: str = ""
    texts: list[str] = field(default_factory=list)
    keyed: dict[str, str] = field(default_factory=dict)


def _round_trip(config: Texts) -> tuple[Texts, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "texts.yaml"
        config.to_yaml(file_path=path)
        return Texts.from_yaml(file_path=path), path.read_text(encoding="utf-8")


def _read_as_yaml_1_2(text: str) -> object:
    return YAML(typ="safe", pure=True).load(io.StringIO(text))


@pytest.mark.parametrize("text", TRICKY)
def test_a_tricky_string_comes_back_identical(text: str) -> None:
    config = Texts(text=text, texts=[text, "x"], keyed={text: text})

    loaded, _ = _round_trip(config)

    assert loaded == config


@pytest.mark.parametrize("text", [text for text in TRICKY if text.isprintable() and "\ufeff" not in text])
def test_a_yaml_1_2_reader_reads_the_same_strings(text: str) -> None:
    config = Texts(text=text, texts=[text], keyed={text: text})
    _, saved = _round_trip(config)

    assert _read_as_yaml_1_2(saved) == {"text": text, "texts": [text], "keyed": {text: text}}


def test_strings_that_yaml_would_misread_are_quoted() -> None:
    words = ["yes", "no", "on", "off", "null", "~", "1e3", "0x10", "2024-01-01", ""]
    _, saved = _round_trip(Texts(texts=words))

    assert saved == (
        "text: ''\ntexts: ['yes', 'no', 'on', 'off', 'null', '~', '1e3', '0x10', '2024-01-01', '']\nkeyed: {}\n"
    )


def test_multi_line_strings_are_literal_blocks() -> None:
    _, saved = _round_trip(Texts(text="first line\nsecond line\n"))

    assert saved.startswith("text: |\n  first line\n  second line\n")


def test_an_unquoted_1e3_written_by_hand_is_a_float(tmp_path: Path) -> None:
    @dataclass
    class Exposure(YamlConfig):
        microseconds: float = 0.0
        scale: float = 0.0

    path = tmp_path / "exposure.yaml"
    path.write_text("microseconds: 1e3\nscale: -2.5E-2\n")

    assert Exposure.from_yaml(file_path=path) == Exposure(microseconds=1000.0, scale=-0.025)


@pytest.mark.parametrize(("text", "octal", "decimal"), [("017", 15, 17), ("-0100", -64, -100), ("+010", 8, 10)])
def test_a_number_with_a_leading_zero_that_yaml_versions_read_differently_is_refused(
    tmp_path: Path, loader: type, text: str, octal: int, decimal: int
) -> None:
    # YAML 1.1 (PyYAML) reads 017 as the octal 15, YAML 1.2 (editors, ruamel.yaml) as 17: neither can be assumed.
    @dataclass
    class Subject(YamlConfig):
        number: int = 0
        label: str = ""

    path = tmp_path / "subject.yaml"
    path.write_text(f"label: x\nnumber: {text}\n")

    with pytest.raises(ConfigFileError) as caught:
        parse_file(path, loader)
    assert caught.value.line == 2
    assert caught.value.problem == (
        f"{text} is the number {octal} (octal) in YAML 1.1, as PyYAML reads it, but {decimal} in YAML 1.2, as "
        f"editors read it: write {decimal} (or {octal}) without the leading zero, or '{text}' in quotes for text"
    )


@pytest.mark.parametrize(("text", "number"), [("0", 0), ("007", 7), ("-01", -1), ("00", 0), ("0x10", 16)])
def test_a_leading_zero_that_every_yaml_version_reads_alike_is_accepted(tmp_path: Path, text: str, number: int) -> None:
    @dataclass
    class Subject(YamlConfig):
        number: int = 0

    path = tmp_path / "subject.yaml"
    path.write_text(f"number: {text}\n")

    assert Subject.from_yaml(file_path=path).number == number


@settings(max_examples=150, deadline=None)
@given(text=st.text(), texts=st.lists(st.text(max_size=20), max_size=4), keys=st.lists(st.text(max_size=12)))
def test_any_string_round_trips(text: str, texts: list[str], keys: list[str]) -> None:
    config = Texts(text=text, texts=texts, keyed={key: key[::-1] for key in keys})

    loaded, _ = _round_trip(config)

    assert loaded == config


@settings(max_examples=100, deadline=None)
@given(text=st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"))))
def test_a_yaml_1_2_reader_reads_any_printable_string_back(text: str) -> None:
    _, saved = _round_trip(Texts(text=text))

    assert _read_as_yaml_1_2(saved)["text"] == text  # type: ignore[index]


@dataclass
class Numbers(YamlConfig):
    integer: int = 0
    real: float = 0.0
    reals: list[float] = field(default_factory=list)


@settings(max_examples=150, deadline=None)
@given(integer=st.integers(), real=st.floats(), reals=st.lists(st.floats(allow_nan=False), max_size=5))
def test_any_number_round_trips(integer: int, real: float, reals: list[float]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "numbers.yaml"
        Numbers(integer=integer, real=real, reals=reals).to_yaml(file_path=path)
        loaded = Numbers.from_yaml(file_path=path)

    assert loaded.integer == integer
    assert loaded.real == real or (math.isnan(real) and math.isnan(loaded.real))
    assert loaded.reals == reals
    assert all(type(value) is float for value in [loaded.real, *loaded.reals])


@dataclass
class Inner:
    text: str = field(default="", metadata={"help": "Nested text."})
    texts: list[str] = field(default_factory=list)


@dataclass
class Outer(YamlConfig):
    before: str = field(default="", metadata={"help": "Top-level text."})
    inner: Inner = field(default_factory=Inner)
    after: str = field(default="", metadata={"help": "More text."})


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(), min_size=4, max_size=4))
def test_strings_round_trip_inside_nested_and_commented_blocks(texts: list[str]) -> None:
    config = Outer(before=texts[0], inner=Inner(text=texts[1], texts=[texts[2]]), after=texts[3])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "outer.yaml"
        config.to_yaml(file_path=path)

        assert Outer.from_yaml(file_path=path) == config


def test_text_that_is_not_valid_unicode_is_refused_on_save(tmp_path: Path) -> None:
    path = tmp_path / "texts.yaml"

    with pytest.raises(ValueError, match=r"text: expected str, found 'broken\\ud800' \(str\); it is not valid Unicode"):
        Texts(text="broken\ud800").to_yaml(file_path=path)
    with pytest.raises(ValueError, match=r"keyed\['\\udfff'\]: expected str"):
        Texts(keyed={"\udfff": "key"}).to_yaml(file_path=path)
    assert not path.exists()
