"""Saving over an existing file keeps the comments, blank lines and key order a person typed there."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ataraxis_yamlconfig import YamlConfig, _dialect


@dataclass
class Camera:
    fps: float = 30.0
    """Frames per second."""
    exposure_us: int = 1000
    roi: list[int] = field(default_factory=lambda: [0, 0, 640, 480])


@dataclass
class Rig(YamlConfig):
    """Settings of one acquisition rig."""

    name: str = "rig-1"
    """The rig's name."""
    camera: Camera = field(default_factory=Camera)
    channels: list[str] = field(default_factory=lambda: ["lick", "wheel"])
    notes: str = "first line\nsecond line\n"
    enabled: bool = True


HAND_EDITED = """\
# Settings of one acquisition rig.

# Maintained by the imaging team: ask before changing.

# The rig's name.
name: rig-7  # the one by the window

camera:  # the behaviour camera
  # Frames per second.
  fps: 60.0  # doubled for the grooming study

  # measured on 2024-03-02
  exposure_us: 800
  roi: [0, 0, 320, 240]  # half frame

# one per lick port
channels: [lick, wheel]  # in port order
notes: |  # free text
  first line
  second line
enabled: false  # off until the lens is fixed

# end of file: keep this
"""


def _save_over(tmp_path: Path, text: str, config: YamlConfig) -> str:
    path = tmp_path / "rig.yaml"
    path.write_text(text)
    config.to_yaml(file_path=path)
    return path.read_text()


def test_a_file_saved_unchanged_is_written_back_identically(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text(HAND_EDITED)

    Rig.from_yaml(file_path=path).to_yaml(file_path=path)

    assert path.read_text() == HAND_EDITED


def test_changed_values_keep_their_comments(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text(HAND_EDITED)
    config = Rig.from_yaml(file_path=path)
    config.camera.fps = 90.0
    config.camera.roi = [0, 0, 100, 100]
    config.channels = ["lick", "wheel", "reward"]
    config.notes = "one line"

    config.to_yaml(file_path=path)

    text = path.read_text()
    assert "  fps: 90.0  # doubled for the grooming study\n" in text
    assert "  roi: [0, 0, 100, 100]  # half frame\n" in text
    assert "# one per lick port\nchannels: [lick, wheel, reward]  # in port order\n" in text
    assert "notes: one line  # free text\n" in text
    assert Rig.from_yaml(file_path=path) == config


def test_saving_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    Rig().to_yaml(file_path=path)
    first = path.read_text()

    Rig().to_yaml(file_path=path)

    assert path.read_text() == first


def test_a_removed_key_takes_its_comments_with_it(tmp_path: Path) -> None:
    @dataclass
    class Smaller(YamlConfig):
        name: str = "rig-1"
        camera: Camera = field(default_factory=Camera)
        enabled: bool = True

    text = _save_over(tmp_path, HAND_EDITED.replace("  exposure_us: 800\n", ""), Smaller())

    assert "one per lick port" not in text
    assert "free text" not in text
    assert "measured on 2024-03-02" in text  # it was above exposure_us, so now above roi
    assert "# end of file: keep this\n" in text
    assert "enabled: true  # off until the lens is fixed\n" in text


def test_the_file_key_order_is_kept_and_new_keys_follow_their_class_predecessor(tmp_path: Path) -> None:
    reordered = "enabled: true  # first\nname: x\n\n# cam\ncamera:\n  roi: [1, 2, 3, 4]\n  fps: 5.0\n"

    text = _save_over(tmp_path, reordered, Rig())

    keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith(("#", " "))]
    assert keys == ["enabled", "name", "camera", "channels", "notes"]
    nested = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith("  ") and ":" in line]
    assert nested[:3] == ["roi", "fps", "exposure_us"]
    assert "enabled: true  # first\n" in text
    assert "\n# cam\ncamera:\n" in text


def test_the_current_help_and_header_are_not_duplicated(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("# Settings of one acquisition rig.\n\n# The rig's name.\nname: rig-2\n")

    Rig().to_yaml(file_path=path)
    Rig().to_yaml(file_path=path)

    text = path.read_text()
    assert text.startswith("# Settings of one acquisition rig.\n\n# The rig's name.\nname: rig-1\n")
    assert text.count("# Settings of one acquisition rig.") == 1
    assert text.count("# The rig's name.") == 1


def test_an_older_help_text_or_header_is_kept_as_a_comment(tmp_path: Path) -> None:
    # Comments that are not the current help cannot be told apart from a person's own: they stay.
    old = "# Old summary.\n\n# my own note\n\n# An older help text\n# of two lines.\nname: rig-2\n"
    path = tmp_path / "rig.yaml"
    path.write_text(old)

    Rig().to_yaml(file_path=path)
    first = path.read_text()
    Rig().to_yaml(file_path=path)

    assert first.startswith(
        "# Settings of one acquisition rig.\n\n# Old summary.\n\n# my own note\n\n"
        "# An older help text\n# of two lines.\n# The rig's name.\nname: rig-1\n"
    )
    assert path.read_text() == first  # saving again neither adds nor removes anything


def test_a_note_at_the_top_of_the_file_survives_a_save(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("# my note\n\nname: rig-2\n")

    Rig().to_yaml(file_path=path)
    first = path.read_text()
    Rig().to_yaml(file_path=path)

    assert first.startswith("# Settings of one acquisition rig.\n\n# my note\n\n# The rig's name.\nname: rig-1\n")
    assert path.read_text() == first


def test_a_note_next_to_the_header_or_a_help_text_stays_where_it_is(tmp_path: Path) -> None:
    text = (
        "# Settings of one acquisition rig.\n# my note under the header\n\n"
        "# The rig's name.\n# my note under the help\nname: rig-2\n"
    )

    saved = _save_over(tmp_path, text, Rig())

    assert saved.startswith(text.replace("rig-2", "rig-1"))


def test_comments_at_the_top_stay_at_the_top_when_a_field_is_new_to_the_file(tmp_path: Path) -> None:
    text = _save_over(tmp_path, "# about this rig\n\n# the lens\nenabled: false\n", Rig())

    assert text.startswith("# Settings of one acquisition rig.\n\n# about this rig\n\n# The rig's name.\nname: rig-1\n")
    assert "\n# the lens\nenabled: true\n" in text


def test_a_header_without_its_blank_line_is_not_written_twice(tmp_path: Path) -> None:
    text = _save_over(tmp_path, "# Settings of one acquisition rig.\nname: rig-2\n", Rig())

    assert text.count("# Settings of one acquisition rig.") == 1
    assert Rig.from_yaml(file_path=tmp_path / "rig.yaml") == Rig()


def test_a_file_of_only_comments_keeps_them(tmp_path: Path) -> None:
    text = _save_over(tmp_path, "# to be filled in by the imaging team\n# (ask Ana)\n", Rig())

    header = "# Settings of one acquisition rig.\n\n"
    assert text.startswith(f"{header}# to be filled in by the imaging team\n# (ask Ana)\n\n")
    assert Rig.from_yaml(file_path=tmp_path / "rig.yaml") == Rig()


def test_a_note_right_above_the_current_help_stays(tmp_path: Path) -> None:
    old = "# Settings of one acquisition rig.\n\n# my note\n# The rig's name.\nname: rig-2\n"

    text = _save_over(tmp_path, old, Rig())

    assert text.startswith("# Settings of one acquisition rig.\n\n# my note\n# The rig's name.\nname: rig-1\n")


@pytest.mark.parametrize("value", ["first line\nsecond line\n", "\nafter a blank line"])
def test_blank_lines_and_comments_after_a_literal_block_are_kept(tmp_path: Path, value: str) -> None:
    # A literal block's end mark lies after the blank lines that follow it, which belong to the file, not the value.
    path = tmp_path / "rig.yaml"
    Rig(notes=value, channels=[value]).to_yaml(file_path=path)
    text = path.read_text()
    text = text.replace("\nenabled:", "\n\n# the switch\nenabled:").replace("\nnotes:", "\n\nnotes:")
    path.write_text(text)

    Rig(notes=value, channels=[value]).to_yaml(file_path=path)

    assert path.read_text() == text


def test_comments_among_the_keys_of_a_mapping_are_kept(tmp_path: Path) -> None:
    @dataclass
    class Wiring(YamlConfig):
        channels: dict[int, str] = field(default_factory=lambda: {0: "lick", 1: "wheel"})
        extra: Any = None

    text = (
        "channels:\n  # the lick port\n  0: lick\n\n  1: wheel  # the encoder\n"
        "extra:\n  gains:  # measured\n    # left first\n    left: 1.5\n    right: [1, 2]\n  mode: fast\n"
    )
    config = Wiring(channels={0: "lick", 1: "rotary", 2: "reward"}, extra={"gains": {"left": 2.0, "right": []}})

    saved = _save_over(tmp_path, text, config)

    assert saved == (
        "channels:\n  # the lick port\n  0: lick\n\n  1: rotary  # the encoder\n  2: reward\n"
        "extra:\n  gains:  # measured\n    # left first\n    left: 2.0\n    right: []\n"
    )
    assert Wiring.from_yaml(file_path=tmp_path / "rig.yaml") == config


def test_keys_new_to_a_commented_mapping_follow_their_predecessors(tmp_path: Path) -> None:
    # Many new keys (a mapping of 20,000 entries saved over a short commented one): placed in one pass, in order.
    @dataclass
    class Table(YamlConfig):
        values: dict[str, int] = field(default_factory=dict)

    path = tmp_path / "table.yaml"
    path.write_text("values:\n  k3: 0  # third\n  # the first\n  k0: 0\n")
    config = Table(values={f"k{index}": index for index in range(20_000)})

    config.to_yaml(file_path=path)

    lines = path.read_text().splitlines()
    assert lines[:6] == ["values:", "  k3: 3  # third", "  k4: 4", "  k5: 5", "  k6: 6", "  k7: 7"]
    assert lines[-5:] == ["  k19999: 19999", "  # the first", "  k0: 0", "  k1: 1", "  k2: 2"]
    assert Table.from_yaml(file_path=path) == config


def test_comments_that_look_like_yaml_in_a_block_scalar_stay_text(tmp_path: Path) -> None:
    @dataclass
    class Notes(YamlConfig):
        notes: str = "a\n"
        after: int = 0

    config = Notes(notes="first\n\n# not a comment\nlast\n")
    path = tmp_path / "notes.yaml"
    path.write_text("notes: x\n    # indented comment of mine\nafter: 1\n")

    config.to_yaml(file_path=path)
    config.to_yaml(file_path=path)

    assert Notes.from_yaml(file_path=path) == config
    assert path.read_text().count("# indented comment of mine") == 1


@pytest.mark.parametrize(
    "content",
    ["", "just text\n", "- a list\n", "{flow: mapping}\n", "a: [unclosed\n", "a: 1\n---\nb: 2\n", "name: &a [*a]\n"],
)
def test_a_file_without_a_readable_block_mapping_is_replaced_plainly(tmp_path: Path, content: str) -> None:
    path = tmp_path / "fresh.yaml"
    Rig().to_yaml(file_path=path)
    expected = path.read_text()

    assert _save_over(tmp_path, content, Rig()) == expected


def test_odd_but_valid_files_keep_loading(tmp_path: Path) -> None:
    @dataclass
    class Loose(YamlConfig):
        base: Any = None
        copy: Any = None
        deep: dict[str, Any] = field(default_factory=dict)

    odd = (
        "%YAML 1.1\n---\nbase: &b {gain: 2}  # anchored\ncopy: *b  # aliased\n"
        "deep:\n  ? long\n  : [1,\n     2]  # a flow list over two lines\n  'on': yes\n"
    )
    path = tmp_path / "odd.yaml"
    path.write_text(odd)
    config = Loose.from_yaml(file_path=path)

    config.to_yaml(file_path=path)

    assert Loose.from_yaml(file_path=path) == config
    assert path.read_text().startswith("base:  # anchored\n  gain: 2\ncopy:\n")


def test_the_pure_python_loader_reads_the_same_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text(HAND_EDITED)
    monkeypatch.setattr("ataraxis_yamlconfig._layout.Loader", _dialect.PythonLoader)

    Rig.from_yaml(file_path=path).to_yaml(file_path=path)

    assert path.read_text() == HAND_EDITED


def test_a_block_list_keeps_the_comments_around_its_key(tmp_path: Path) -> None:
    @dataclass
    class Cameras(YamlConfig):
        cameras: list[Camera] = field(default_factory=lambda: [Camera(), Camera(fps=60.0)])
        spare: int = 0

    path = tmp_path / "cameras.yaml"
    Cameras().to_yaml(file_path=path)
    text = path.read_text().replace("cameras:\n", "# left, then right\ncameras:  # two of them\n")
    path.write_text(text)
    config = Cameras.from_yaml(file_path=path)
    config.cameras.append(Camera(fps=10.0))

    config.to_yaml(file_path=path)

    saved = path.read_text()
    assert saved.startswith("# left, then right\ncameras:  # two of them\n  - fps: 30.0\n")
    assert saved.count("- fps:") == 3
    assert Cameras.from_yaml(file_path=path) == config


@pytest.mark.parametrize("notes", ["a\n\n", "two\nlines", "ends with spaces  \nnext", "tab\there\nx"])
def test_an_end_comment_never_falls_inside_a_multi_line_value(tmp_path: Path, notes: str) -> None:
    config = Rig(notes=notes)

    text = _save_over(tmp_path, "notes: old  # my comment\n", config)

    assert Rig.from_yaml(file_path=tmp_path / "rig.yaml").notes == notes
    assert text.count("# my comment") <= 1


def test_a_layout_read_again_is_not_changed_by_what_a_save_did_to_the_last_one() -> None:
    # The last file's layout is kept for the next save of the same content; each save changes its copy in place.
    from ataraxis_yamlconfig._layout import move_key, read_layout

    content = b"# top note\n\n# about a\na: 1  # unit\nsection:\n  # about b\n  b: 2\n# footer\n"
    first = read_layout(content)
    assert first is not None
    move_key(first, ("a",), ("section", "a"))
    first.preamble.clear()
    first.footer.append("# added")
    first.keys["section"].above.append("# added")

    again = read_layout(content)
    fresh = read_layout(content + b"\n")  # other bytes: read from the text, not from the kept layout

    assert again == fresh
    assert again is not None
    assert again.preamble == ["# top note"]
    assert list(again.keys) == ["a", "section"]
    assert again.keys["a"].above == ["# about a"]
    assert again.keys["a"].end_comment == "  # unit"
    assert again.keys["section"].nested is not None
    assert list(again.keys["section"].nested.keys) == ["b"]
    assert again.footer == ["# footer"]
