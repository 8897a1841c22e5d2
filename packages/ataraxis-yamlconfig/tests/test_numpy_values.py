"""NumPy scalars and arrays are saved as plain numbers and lists, although the package never imports NumPy."""

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ataraxis_yamlconfig import ConfigTypeError, YamlConfig


@dataclass
class Acquisition(YamlConfig):
    rate: float = 0.0
    count: int = 0
    enabled: bool = False
    label: str = ""
    gains: list[float] = field(default_factory=list)
    frame: list[list[int]] = field(default_factory=list)
    origin: tuple[float, float] = (0.0, 0.0)
    anything: Any = None


def test_numpy_values_are_saved_as_plain_yaml_and_load_as_python_values(tmp_path: Path) -> None:
    path = tmp_path / "acquisition.yaml"
    config = Acquisition(
        rate=np.float32(0.5),
        count=np.int64(7),
        enabled=np.True_,
        label=np.str_("left"),
        gains=np.array([0.25, 1.5]),
        frame=np.arange(6, dtype=np.uint8).reshape(2, 3),
        origin=np.array([1.0, -1.0]),
        anything={"scalar": np.uint16(3), "array": np.array([1, 2], dtype=np.int32), "nested": [np.float64(2.5)]},
    )

    config.to_yaml(file_path=path)
    loaded = Acquisition.from_yaml(file_path=path)

    assert path.read_text() == (
        "rate: 0.5\n"
        "count: 7\n"
        "enabled: true\n"
        "label: left\n"
        "gains: [0.25, 1.5]\n"
        "frame:\n"
        "  - [0, 1, 2]\n"
        "  - [3, 4, 5]\n"
        "origin: [1.0, -1.0]\n"
        "anything:\n"
        "  scalar: 3\n"
        "  array: [1, 2]\n"
        "  nested: [2.5]\n"
    )
    assert loaded == Acquisition(
        rate=0.5,
        count=7,
        enabled=True,
        label="left",
        gains=[0.25, 1.5],
        frame=[[0, 1, 2], [3, 4, 5]],
        origin=(1.0, -1.0),
        anything={"scalar": 3, "array": [1, 2], "nested": [2.5]},
    )
    assert type(loaded.count) is int
    assert type(loaded.rate) is float


def test_a_numpy_value_of_the_wrong_kind_is_refused_on_save(tmp_path: Path) -> None:
    path = tmp_path / "acquisition.yaml"
    with pytest.raises(ConfigTypeError, match=r"count: expected int, found np\.float64\(1\.5\) \(float64\)"):
        Acquisition(count=np.float64(1.5)).to_yaml(file_path=path)
    assert not path.exists()


def test_saving_and_loading_never_imports_numpy(tmp_path: Path) -> None:
    program = (
        "import sys\n"
        "from dataclasses import dataclass, field\n"
        "from pathlib import Path\n"
        "from ataraxis_yamlconfig import ConfigTypeError, YamlConfig\n"
        "@dataclass\n"
        "class Config(YamlConfig):\n"
        "    values: list[float] = field(default_factory=lambda: [1.0, 2.0])\n"
        "    folder: Path = Path('/data')\n"
        f"path = Path({str(tmp_path / 'config.yaml')!r})\n"
        "Config().to_yaml(file_path=path)\n"
        "assert Config.from_yaml(file_path=path) == Config()\n"
        "assert 'numpy' not in sys.modules, 'numpy was imported'\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", program], check=True, timeout=60)
