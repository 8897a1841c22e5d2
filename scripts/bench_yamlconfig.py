"""Benchmarks YamlConfig's to_yaml and from_yaml against the original release's, on the same 33-field config.

The original `YamlConfig` lives in the `ataraxis-data-structures` releases on PyPI before the split into
distributions. This script installs 7.2 (the release the issue measured; it needs Python 3.12 or newer) or, where the
interpreter cannot run it, the newest release that installs, into a throwaway virtual environment under `.cache/`,
then times both implementations on the same config class, each in its own process, in alternating rounds. Both
sides run on the same interpreter: the one running this script, or the one `--python` names (ours is then installed
from the workspace into a second throwaway environment). Every figure is the
median over all timed calls of all rounds; the ratios are ours divided by the original's, measured in this one run,
so they mean the same on a busy or an idle machine (absolute times do not).

Both sides write to and read from a file in the same temporary folder. Ours validates every value on both paths,
writes atomically and is timed with each fsync policy (`durable=False`, the default, and `durable=True`); the
original writes the file in place with no fsync and checks no types on loading.

Usage: uv run python scripts/bench_yamlconfig.py [--quick] [--python /path/to/python3.12]
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
WANTED = "ataraxis-data-structures==7.2.*"
"""The release the issue measured; the newest reachable release is used when it is not on the index."""

WORKER = textwrap.dedent(
    '''
    import json, statistics, sys, tempfile, time
    from dataclasses import dataclass, field
    from pathlib import Path

    import os, secrets
    implementation, calls, durable, where = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if implementation == "original":
        from ataraxis_data_structures import YamlConfig
    else:
        from ataraxis_yamlconfig import YamlConfig

    @dataclass
    class Lens:
        focal_mm: float = 25.0
        aperture: float = 1.4
        model: str = "C-mount"
        motorized: bool = False

    @dataclass
    class Settings(YamlConfig):
        """A 33-field config: numbers, text, flags, lists, mappings and one nested dataclass."""

        session_name: str = "mouse-042"
        """The session's name."""
        experimenter: str = "A. Person"
        project: str = "navigation"
        rig_name: str = "rig-3"
        output_folder: str = "/data/sessions"
        camera_model: str = "acA1920"
        notes: str = "baseline session"
        frame_rate: int = 30
        """Frames per second."""
        exposure_us: int = 1000
        width: int = 1920
        height: int = 1080
        binning: int = 1
        trials: int = 120
        seed: int = 12345
        buffer_frames: int = 512
        gain_db: float = 6.5
        gamma: float = 1.0
        reward_ul: float = 5.0
        lick_threshold_v: float = 0.35
        wheel_diameter_cm: float = 15.0
        iti_s: float = 2.5
        temperature_c: float = 22.4
        humidity: float = 0.45
        record_video: bool = True
        record_audio: bool = False
        enable_reward: bool = True
        dry_run: bool = False
        roi: list[int] = field(default_factory=lambda: [0, 0, 1920, 1080])
        valve_durations_ms: list[float] = field(default_factory=lambda: [35.0, 36.5, 34.2, 35.9])
        cue_frequencies_hz: list[int] = field(default_factory=lambda: [4000, 8000, 12000])
        channel_names: dict[str, int] = field(default_factory=lambda: {"lick": 0, "wheel": 1, "reward": 2})
        calibration: dict[str, float] = field(default_factory=lambda: {"offset": 0.01, "scale": 1.02})
        lens: Lens = field(default_factory=Lens)

    assert len(Settings.__dataclass_fields__) == 33
    folder = Path(tempfile.mkdtemp(dir=where or None))
    path = folder / "settings.yaml"
    config = Settings()
    save_options = {} if implementation == "original" else {"durable": durable == "durable"}
    config.to_yaml(file_path=path, **save_options)
    assert Settings.from_yaml(file_path=path) == config, "the config does not round-trip"

    def timed(action):
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    for _ in range(max(calls // 10, 5)):  # warm the caches: the first call of each class parses its source once
        config.to_yaml(file_path=path, **save_options)
        Settings.from_yaml(file_path=path)
    saving = timed(lambda: config.to_yaml(file_path=path, **save_options))
    loading = timed(lambda: Settings.from_yaml(file_path=path))
    content = path.read_bytes()

    def in_place():  # what the original does: truncate and write the file itself
        with open(path, "wb") as stream:
            stream.write(content)

    def replace():  # the least an atomic save does: a new file in the same folder, renamed over the old one
        temporary = folder / f".settings.{secrets.token_hex(6)}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.write(descriptor, content)
        os.close(descriptor)
        os.replace(temporary, path)

    figures = {"to_yaml": saving, "from_yaml": loading, "bytes": path.stat().st_size}
    figures.update(in_place=timed(in_place), replace=timed(replace))
    print(json.dumps(figures))
    '''
)


def _interpreter_version(python: Path) -> str:
    command = [str(python), "-c", "import platform; print(platform.python_version())"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def _environment(name: str, interpreter: Path) -> tuple[Path, bool]:
    """Creates a throwaway environment (once per interpreter version); returns its Python and whether it is new."""
    folder = CACHE / f"bench-yamlconfig-{name}-{_interpreter_version(interpreter)}"
    python = folder / "bin" / "python"
    if python.exists():
        return python, False
    uv = shutil.which("uv") or "uv"
    subprocess.run([uv, "venv", "--quiet", "--python", str(interpreter), str(folder)], check=True)
    return python, True


def _our_python(interpreter: Path) -> Path:
    """Returns a Python that imports this workspace's ataraxis_yamlconfig on the given interpreter."""
    if interpreter == Path(sys.executable):
        return interpreter
    python, new = _environment("ours", interpreter)
    if new:
        uv = shutil.which("uv") or "uv"
        package = ROOT / "packages" / "ataraxis-yamlconfig"
        subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), str(package)], check=True)
    return python


def _original_python(interpreter: Path) -> tuple[Path, str]:
    """Creates the throwaway environment holding the original release (once) and returns its Python and version."""
    python, new = _environment("original", interpreter)
    if new:
        uv = shutil.which("uv") or "uv"
        installed = subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), WANTED], check=False)
        if installed.returncode != 0:
            print(f"{WANTED} does not install on Python {_interpreter_version(interpreter)} (7.2 needs 3.12 or newer):")
            print("installing the newest release that does; pass --python with a Python 3.12 to measure 7.2")
            subprocess.run(
                [uv, "pip", "install", "--quiet", "--python", str(python), "ataraxis-data-structures"], check=True
            )
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('ataraxis-data-structures'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return python, version


def _run(python: Path, implementation: str, calls: int, durable: str, folder: str) -> dict[str, float]:
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "worker.py"
        script.write_text(WORKER)
        result = subprocess.run(
            [str(python), str(script), implementation, str(calls), durable, folder],
            check=True,
            capture_output=True,
            text=True,
            env=environment,
        )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    """Runs the rounds and prints medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds (a smoke test, noisy figures)")
    parser.add_argument("--folder", default="", help="where the files go (default: the system's temporary folder)")
    parser.add_argument(
        "--python", type=Path, default=Path(sys.executable), help="the interpreter both sides run on (default: this)"
    )
    arguments = parser.parse_args()
    calls, rounds = (50, 2) if arguments.quick else (400, 5)

    original_python, original_version = _original_python(arguments.python)
    our_python = _our_python(arguments.python)
    sides = {
        f"original ({original_version})": (original_python, "original", "-"),
        "ours, durable=False (default)": (our_python, "ours", "fast"),
        "ours, durable=True": (our_python, "ours", "durable"),
    }
    measures = ("to_yaml", "from_yaml", "in_place", "replace")
    samples: dict[str, dict[str, list[float]]] = {name: {measure: [] for measure in measures} for name in sides}
    sizes: dict[str, int] = {}
    for _ in range(rounds):
        for name, (python, implementation, durable) in sides.items():
            figures = _run(python, implementation, calls, durable, arguments.folder)
            for measure in measures:
                samples[name][measure].append(figures[measure])
            sizes[name] = int(figures["bytes"])

    interpreter = _interpreter_version(arguments.python)
    print(
        f"Python {interpreter} on {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"33-field config, {calls} timed calls per process, {rounds} alternating rounds; medians in milliseconds\n")
    baseline = next(iter(sides))
    print(f"{'implementation':32} {'to_yaml':>9} {'ratio':>7} {'from_yaml':>10} {'ratio':>7} {'file bytes':>11}")
    for name in sides:
        save = statistics.median(samples[name]["to_yaml"]) * 1e3
        load = statistics.median(samples[name]["from_yaml"]) * 1e3
        save_ratio = save / (statistics.median(samples[baseline]["to_yaml"]) * 1e3)
        load_ratio = load / (statistics.median(samples[baseline]["from_yaml"]) * 1e3)
        print(f"{name:32} {save:9.3f} {save_ratio:6.2f}x {load:10.3f} {load_ratio:6.2f}x {sizes[name]:11d}")
    print("\nratio: ours / original (below 1.00x: ours is faster)")
    in_place = statistics.median(value for name in sides for value in samples[name]["in_place"]) * 1e3
    replace = statistics.median(value for name in sides for value in samples[name]["replace"]) * 1e3
    folder = arguments.folder or tempfile.gettempdir()
    print(f"\nthe file system alone, in {folder}, for the same bytes (median of all processes):")
    print(f"  write the file in place (the original's way):        {in_place:.3f} ms")
    print(f"  write a new file and rename it over the old one:     {replace:.3f} ms")


if __name__ == "__main__":
    main()
