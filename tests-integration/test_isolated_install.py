"""Each distribution installs from its wheel alone, with only its own dependencies, and works there.

The wheels are built from the workspace with `uv build --all-packages`; each distribution is installed into a
fresh virtual environment together with the wheels of the siblings it depends on (never from the package index,
which holds an unrelated older `ataraxis-data-structures`), and a short program proves it imports, works and did
not drag in what it must not need (`ataraxis-yamlconfig` must not pull in NumPy, `ataraxis-datalogger` neither
pyarrow nor mcap). The datalogger is also installed with its extras, `[arrow,mcap]`, which bring pyarrow and mcap
from the package index: its exports work there, and without the extras they fail naming the extra to install.
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
    extras: str = ""
    """The extras to install with the first wheel, as in `[arrow,mcap]` (none by default)."""


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


DATALOGGER_SMOKE = """
import pathlib, tempfile
from ataraxis_datalogger import DataLogger, LogPackage, read_logs
folder = tempfile.mkdtemp()
with DataLogger(pathlib.Path(folder), 'isolated') as logger:
    for index in range(3):
        logger.input_queue.put(LogPackage(1, index, bytes([index])))
assert len(list(logger.output_directory.glob('*.npy'))) == 3
assert logger.statistics.written == 3
assert logger.compress_logs(remove_sources=True).sources[1].entries_archived == 3
with read_logs(logger.output_directory)[1] as reader:
    assert [(t, p.tobytes()) for t, p in reader] == [(i, bytes([i])) for i in range(3)]
"""
"""Logs, compresses and reads back three entries (leaves `logger` and `folder` for the programs below)."""

DATALOGGER_WITHOUT_EXTRAS = """
import sys
from ataraxis_datalogger import OptionalDependencyError, export_logs
assert "pyarrow" not in sys.modules and "mcap" not in sys.modules
with read_logs(logger.output_directory) as readers:
    try:
        readers.to_arrow()
    except OptionalDependencyError as error:
        assert "pip install 'ataraxis-datalogger[arrow]'" in str(error), error
    else:
        sys.exit("to_arrow worked without pyarrow")
try:
    export_logs(logger.output_directory, pathlib.Path(folder) / "log.mcap", "mcap")
except OptionalDependencyError as error:
    assert "pip install 'ataraxis-datalogger[mcap]'" in str(error), error
else:
    sys.exit("an MCAP export worked without mcap")
"""
"""Without the extras, the calls that need them name the extra to install."""

DATALOGGER_WITH_EXTRAS = """
import pyarrow.dataset as ds
from mcap.reader import make_reader
from ataraxis_datalogger import export_logs
with read_logs(logger.output_directory) as readers:
    assert readers.to_arrow().column("payload").to_pylist() == [bytes([i]) for i in range(3)]
export_logs(logger.output_directory, pathlib.Path(folder) / "dataset")
table = ds.dataset(pathlib.Path(folder) / "dataset", partitioning="hive").to_table()
assert table.column("timestamp").to_pylist() == [0, 1, 2]
export_logs(logger.output_directory, pathlib.Path(folder) / "log.mcap", "mcap")
with open(pathlib.Path(folder) / "log.mcap", "rb") as stream:
    assert [m.log_time for _, _, m in make_reader(stream).iter_messages()] == [0, 1, 2]
"""
"""With the extras, a Parquet dataset and an MCAP file are written and read back."""


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
        absent=("yaml", "ataraxis_yamlconfig", "ataraxis_data_structures", "pyarrow", "mcap"),
        smoke=DATALOGGER_SMOKE + DATALOGGER_WITHOUT_EXTRAS,
    ),
    "ataraxis-datalogger[arrow,mcap]": Distribution(
        wheels=("ataraxis-datalogger", "ataraxis-sharedarray"),
        absent=("yaml", "ataraxis_yamlconfig", "ataraxis_data_structures"),
        smoke=DATALOGGER_SMOKE + DATALOGGER_WITH_EXTRAS,
        extras="[arrow,mcap]",
    ),
    "ataraxis-data-structures": Distribution(
        wheels=("ataraxis-data-structures", "ataraxis-yamlconfig", "ataraxis-sharedarray", "ataraxis-datalogger"),
        absent=("pyarrow", "mcap"),
        smoke="import ataraxis_data_structures; print(ataraxis_data_structures.__version__)",
    ),
}
DISTRIBUTION_NAMES = sorted({name.partition("[")[0] for name in DISTRIBUTIONS})
"""The workspace distributions, without extras."""


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
    name = distribution.partition("[")[0]
    (wheel,) = directory.glob(f"{name.replace('-', '_')}-*.whl")
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
    wheels[0] += spec.extras
    subprocess.run([uv_executable, "pip", "install", "--quiet", "--python", str(python), *wheels], check=True)

    subprocess.run([str(python), "-W", "error", "-c", spec.smoke], check=True, cwd=tmp_path)

    check_absent = (
        "import importlib.util, sys\n"
        f"present = [name for name in {spec.absent!r} if importlib.util.find_spec(name) is not None]\n"
        "sys.exit(f'installed but not needed: {present}' if present else 0)\n"
    )
    subprocess.run([str(python), "-c", check_absent], check=True, cwd=tmp_path)
    subprocess.run([uv_executable, "pip", "check", "--quiet", "--python", str(python)], check=True)


@pytest.mark.parametrize("distribution", DISTRIBUTION_NAMES)
def test_wheel_carries_the_licence(distribution: str, wheel_directory: Path) -> None:
    """Every wheel holds the GPL text, identical to the repository's own LICENSE."""
    with zipfile.ZipFile(_wheel_of(wheel_directory, distribution)) as wheel:
        licences = [name for name in wheel.namelist() if name.endswith("/LICENSE") and ".dist-info/" in name]
        assert licences, f"no LICENSE in the {distribution} wheel"
        assert wheel.read(licences[0]) == (WORKSPACE / "LICENSE").read_bytes()


@pytest.mark.parametrize("distribution", DISTRIBUTION_NAMES)
def test_package_licence_copy_matches_the_root(distribution: str) -> None:
    """Each package folder's LICENSE (hatchling takes licence files from the package folder) equals the root one."""
    assert (WORKSPACE / "packages" / distribution / "LICENSE").read_bytes() == (WORKSPACE / "LICENSE").read_bytes()
