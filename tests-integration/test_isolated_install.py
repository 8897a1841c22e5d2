"""Each distribution installs from its wheel alone, with only its own dependencies, and works there.

The wheels are built from the workspace with `uv build --all-packages`; each distribution is installed into a
fresh virtual environment together with the wheels of the siblings it depends on (never from the package index,
which holds an unrelated older `ataraxis-data-structures`), and a short program proves it imports, works and did
not drag in what it must not need (`ataraxis-yamlconfig` must not pull in NumPy).
"""

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest

WORKSPACE = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


class Distribution(NamedTuple):
    """What one isolated install holds and what it must prove."""

    wheels: tuple[str, ...]
    """The workspace distributions whose wheels are installed (the distribution itself and its siblings)."""
    absent: tuple[str, ...]
    """Top-level modules that must NOT be importable in this environment."""
    smoke: str
    """A program that must run without error inside the environment."""


YAMLCONFIG_SMOKE = """
import enum, sys, tempfile
from dataclasses import dataclass, field
from pathlib import Path
from ataraxis_yamlconfig import UnknownFieldError, YamlConfig

class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"

@dataclass
class Camera:
    fps: float = 30.0
    size: tuple[int, int] = (640, 480)

@dataclass
class Rig(YamlConfig):
    output: Path = Path("/data/sessions")
    mode: Mode = Mode.FAST
    camera: Camera = field(default_factory=Camera, metadata={"help": "The main camera."})

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "configs" / "rig.yaml"
    config = Rig(output=Path("/mnt/rig 2"), mode=Mode.SLOW, camera=Camera(fps=60.0))
    config.to_yaml(file_path=path)
    text = path.read_text()
    assert "# The main camera." in text and "!!" not in text, text
    assert Rig.from_yaml(file_path=path) == config
    path.write_text(text.replace("fps:", "fsp:"))
    try:
        Rig.from_yaml(file_path=path)
    except UnknownFieldError as error:
        assert error.field_path == "camera.fsp", error
    else:
        sys.exit("a misspelt key was accepted")
assert "numpy" not in sys.modules
print("ataraxis-yamlconfig works without NumPy")
"""
"""Saves and reloads a config holding a Path, an Enum and a nested dataclass, and refuses a misspelt key."""


DISTRIBUTIONS: dict[str, Distribution] = {
    "ataraxis-yamlconfig": Distribution(
        wheels=("ataraxis-yamlconfig",),
        absent=("numpy", "ataraxis_sharedarray", "ataraxis_datalogger", "ataraxis_data_structures"),
        smoke=YAMLCONFIG_SMOKE,
    ),
    "ataraxis-sharedarray": Distribution(
        wheels=("ataraxis-sharedarray",),
        absent=("yaml", "tqdm", "ataraxis_yamlconfig", "ataraxis_datalogger", "ataraxis_data_structures"),
        smoke=(
            "import os, numpy as np\n"
            "from ataraxis_sharedarray import SharedMemoryArray\n"
            "name = f'atx_isolated_{os.getpid()}'\n"
            "sma = SharedMemoryArray.create_array(name, np.arange(4, dtype=np.uint16))\n"
            "sma.write_data((1, 3), [7, 8])\n"
            "assert SharedMemoryArray.attach(name).read_data((0,), convert_output=True) == [0, 7, 8, 3]\n"
            "sma.destroy()\n"
            "assert not os.path.exists(f'/dev/shm/{name}')\n"
        ),
    ),
    "ataraxis-datalogger": Distribution(
        wheels=("ataraxis-datalogger", "ataraxis-sharedarray"),
        absent=("yaml", "ataraxis_yamlconfig", "ataraxis_data_structures"),
        smoke=(
            "import pathlib, tempfile\n"
            "from ataraxis_datalogger import DataLogger, LogPackage, read_logs\n"
            "with tempfile.TemporaryDirectory() as folder:\n"
            "    with DataLogger(pathlib.Path(folder), 'isolated') as logger:\n"
            "        for index in range(3):\n"
            "            logger.input_queue.put(LogPackage(1, index, bytes([index])))\n"
            "    assert len(list(logger.output_directory.glob('*.npy'))) == 3\n"
            "    assert logger.statistics.written == 3\n"
            "    assert logger.compress_logs(remove_sources=True).sources[1].entries_archived == 3\n"
            "    with read_logs(logger.output_directory)[1] as reader:\n"
            "        assert [(t, p.tobytes()) for t, p in reader] == [(i, bytes([i])) for i in range(3)]\n"
        ),
    ),
    "ataraxis-data-structures": Distribution(
        wheels=("ataraxis-data-structures", "ataraxis-yamlconfig", "ataraxis-sharedarray", "ataraxis-datalogger"),
        absent=(),
        smoke="import ataraxis_data_structures; print(ataraxis_data_structures.__version__)",
    ),
}


@pytest.fixture(scope="module")
def wheel_directory(tmp_path_factory: pytest.TempPathFactory, uv_executable: str) -> Path:
    """Builds every workspace distribution's wheel once for this module."""
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [uv_executable, "build", "--all-packages", "--wheel", "--out-dir", str(out), "--quiet"],
        cwd=WORKSPACE,
        check=True,
    )
    return out


def _wheel_of(directory: Path, distribution: str) -> Path:
    (wheel,) = directory.glob(f"{distribution.replace('-', '_')}-*.whl")
    return wheel


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_distribution_installs_and_works_alone(
    distribution: str, wheel_directory: Path, tmp_path: Path, uv_executable: str
) -> None:
    spec = DISTRIBUTIONS[distribution]
    venv = tmp_path / "venv"
    subprocess.run([uv_executable, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    wheels = [str(_wheel_of(wheel_directory, name)) for name in spec.wheels]
    subprocess.run([uv_executable, "pip", "install", "--quiet", "--python", str(python), *wheels], check=True)

    subprocess.run([str(python), "-W", "error", "-c", spec.smoke], check=True, cwd=tmp_path)

    check_absent = (
        "import importlib.util, sys\n"
        f"present = [name for name in {spec.absent!r} if importlib.util.find_spec(name) is not None]\n"
        "sys.exit(f'installed but not needed: {present}' if present else 0)\n"
    )
    subprocess.run([str(python), "-c", check_absent], check=True, cwd=tmp_path)
    subprocess.run([uv_executable, "pip", "check", "--quiet", "--python", str(python)], check=True)


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_wheel_carries_the_licence(distribution: str, wheel_directory: Path) -> None:
    """Every wheel holds the GPL text, identical to the repository's own LICENSE."""
    with zipfile.ZipFile(_wheel_of(wheel_directory, distribution)) as wheel:
        licences = [name for name in wheel.namelist() if name.endswith("/LICENSE") and ".dist-info/" in name]
        assert licences, f"no LICENSE in the {distribution} wheel"
        assert wheel.read(licences[0]) == (WORKSPACE / "LICENSE").read_bytes()


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_package_licence_copy_matches_the_root(distribution: str) -> None:
    """Each package folder's LICENSE (hatchling takes licence files from the package folder) equals the root one."""
    assert (WORKSPACE / "packages" / distribution / "LICENSE").read_bytes() == (WORKSPACE / "LICENSE").read_bytes()
