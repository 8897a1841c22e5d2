"""Each field's help text is written as a comment above its key, and the commented file loads."""

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ataraxis_yamlconfig import YamlConfig


@dataclass
class Camera:
    """One camera of the rig."""

    fps: float = 30.0
    """Frames per second."""
    exposure_us: int = field(default=1000, metadata={"help": "Exposure time, in microseconds."})
    binning: int = 1


@dataclass
class Rig(YamlConfig):
    """Settings of one acquisition rig.

    Edit the values; the comments are written anew on every save.
    """

    name: str = "rig-1"
    """The rig's name, as the logs show it."""
    output: Path = Path("/data/sessions")
    """Where sessions are saved.

    Each session gets its own folder here.
    """
    camera: Camera = field(default_factory=Camera)
    """The main camera."""
    cameras: list[Camera] = field(default_factory=lambda: [Camera()])
    """Extra cameras."""
    trials: int = field(default=10, metadata={"help": "Trials per session (overrides the docstring)."})
    """This docstring is not used: the metadata wins."""
    speed: float = 1.0


EXPECTED = """\
# Settings of one acquisition rig.

# The rig's name, as the logs show it.
name: rig-1

# Where sessions are saved.
#
# Each session gets its own folder here.
output: /data/sessions

# The main camera.
camera:
  # Frames per second.
  fps: 30.0
  # Exposure time, in microseconds.
  exposure_us: 1000
  binning: 1

# Extra cameras.
cameras:
  - fps: 30.0
    exposure_us: 1000
    binning: 1

# Trials per session (overrides the docstring).
trials: 10
speed: 1.0
"""


def test_help_text_is_written_as_comments(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    Rig().to_yaml(file_path=path)

    assert path.read_text() == EXPECTED


def test_the_commented_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    Rig(name="rig-2", camera=Camera(fps=60.0)).to_yaml(file_path=path)

    assert Rig.from_yaml(file_path=path) == Rig(name="rig-2", camera=Camera(fps=60.0))
    assert yaml.safe_load(path.read_text())["camera"]["fps"] == 60.0


def test_comments_added_by_hand_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "rig.yaml"
    path.write_text("# my notes\nname: rig-3  # renamed on Monday\ncamera:\n  # faster\n  fps: 90.0\n")

    assert Rig.from_yaml(file_path=path) == Rig(name="rig-3", camera=Camera(fps=90.0))


def test_help_of_inherited_fields_is_kept(tmp_path: Path) -> None:
    @dataclass
    class ExtendedRig(Rig):
        lights: bool = True
        """Whether the lights are on."""

    path = tmp_path / "extended.yaml"
    ExtendedRig().to_yaml(file_path=path)
    text = path.read_text()

    assert "# The rig's name, as the logs show it.\nname: rig-1\n" in text
    assert text.endswith("speed: 1.0\n\n# Whether the lights are on.\nlights: true\n")
    assert not text.startswith("# Settings")  # ExtendedRig has no docstring of its own, so no header


def test_help_text_cannot_break_the_file(tmp_path: Path) -> None:
    @dataclass
    class Hostile(YamlConfig):
        value: int = field(default=1, metadata={"help": "line\rnext: 2\x85other: 3\u2028x: 4\x00\tend\n\nlast"})

    path = tmp_path / "hostile.yaml"
    Hostile().to_yaml(file_path=path)

    assert path.read_text() == "# line\n# next: 2\n# other: 3\n# x: 4   end\n#\n# last\nvalue: 1\n"
    assert Hostile.from_yaml(file_path=path) == Hostile()


def test_classes_without_source_get_no_comments_and_still_work(tmp_path: Path) -> None:
    program = (
        "from dataclasses import dataclass, field\n"
        "from ataraxis_yamlconfig import YamlConfig\n"
        "@dataclass\n"
        "class Config(YamlConfig):\n"
        "    '''Settings.'''\n"
        "    rate: float = 1.0\n"
        "    '''Sampling rate; its source cannot be read in python -c.'''\n"
        "    count: int = field(default=2, metadata={'help': 'Metadata help needs no source.'})\n"
        f"path = {str(tmp_path / 'config.yaml')!r}\n"
        "Config().to_yaml(file_path=path)\n"
        "assert Config.from_yaml(file_path=path) == Config()\n"
        "print(open(path).read(), end='')\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", program], check=True, capture_output=True, text=True, timeout=60
    )

    assert result.stdout == "# Settings.\n\nrate: 1.0\n\n# Metadata help needs no source.\ncount: 2\n"
