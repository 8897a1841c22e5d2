"""libyaml's C loader is used when present, and the pure-Python fallback reads files the same way."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ataraxis_yamlconfig import _dialect

ROUND_TRIP_MODULE = Path(__file__).with_name("test_round_trip.py")


def test_the_c_loader_is_used_when_pyyaml_has_libyaml() -> None:
    if not yaml.__with_libyaml__:
        pytest.fail("this environment's PyYAML was built without libyaml, so the C loader cannot be checked")
    assert issubclass(_dialect.Loader, yaml.CSafeLoader)


def test_each_loader_reads_plain_values_as_the_dumper_expects(loader: type) -> None:
    text = "a: 1e3\nb: '1e3'\nc: 0x10\nd: yes\ne: ~\nf: 2024-01-01\ng: -2E-2\nh: 1_000\n"

    values = yaml.load(text, Loader=loader)

    assert values == {"a": 1000.0, "b": "1e3", "c": 16, "d": True, "e": None, "f": values["f"], "g": -0.02, "h": 1000}
    assert str(values["f"]) == "2024-01-01"


def test_each_loader_accepts_anchors_and_merge_keys(loader: type) -> None:
    text = "a: &x [1, 2]\nb: *x\nbase: &b {k: 1, j: 0}\nmerged: {<<: *b, j: 2}\n"

    assert yaml.load(text, Loader=loader) == {
        "a": [1, 2],
        "b": [1, 2],
        "base": {"k": 1, "j": 0},
        "merged": {"k": 1, "j": 2},
    }


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("a: 1\nb: 2\na: 3\n", "'a'", 1),
        ("base: &b {k: 1, j: 0}\nmerged: {<<: *b, j: 2,\n  j: 3}\n", "'j'", 2),  # a merge may be overridden once
        ("1: one\n1.0: two\n", "1.0", 1),  # equal as Python keys
    ],
)
def test_each_loader_refuses_repeated_keys(loader: type, text: str, key: str, line: int) -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match=rf"found the key {key} twice \(first on line {line}\)"):
        yaml.load(text, Loader=loader)


def _program(path: Path, *, without_libyaml: bool) -> str:
    return (
        "import importlib.util, sys\n"
        + (
            "sys.modules['yaml._yaml'] = None  # as if PyYAML had been built without libyaml\n"
            if without_libyaml
            else ""
        )
        + "import yaml\n"
        f"assert yaml.__with_libyaml__ is {not without_libyaml}\n"
        f"spec = importlib.util.spec_from_file_location('round_trip', {str(ROUND_TRIP_MODULE)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['round_trip'] = module\n"
        "spec.loader.exec_module(module)\n"
        f"path = {str(path)!r}\n"
        "loaded = module.Everything.from_yaml(file_path=path)\n"
        "assert loaded == module.Everything()\n"
        f"loaded.to_yaml(file_path={str(path.with_suffix('.yml'))!r})\n"
        "print(repr(loaded))\n"
    )


def test_the_pure_python_fallback_loads_and_saves_exactly_like_libyaml(tmp_path: Path) -> None:
    path = tmp_path / "everything.yaml"
    program = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('round_trip', {str(ROUND_TRIP_MODULE)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        f"module.Everything().to_yaml(file_path={str(path)!r})\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", program], check=True, timeout=60)

    outputs = []
    saved = []
    for without_libyaml in (False, True):
        result = subprocess.run(
            [sys.executable, "-W", "error", "-c", _program(path, without_libyaml=without_libyaml)],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONHASHSEED": "0"},  # the repr of a set depends on the hash seed
        )
        outputs.append(result.stdout)
        saved.append(path.with_suffix(".yml").read_bytes())

    assert outputs[0] == outputs[1]
    assert saved[0] == saved[1] == path.read_bytes()
