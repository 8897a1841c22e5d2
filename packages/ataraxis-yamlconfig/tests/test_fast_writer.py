"""The direct writer of simple fields produces, byte for byte, what PyYAML's emitter writes for the same value."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ataraxis_yamlconfig._dialect import dump
from ataraxis_yamlconfig._fast import entry_lines

_WORDS = st.text(alphabet="abcxyzAZ019_./+- :#'\"\\yesnoONnul~\t", max_size=12)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | _WORDS
    | st.sampled_from(["yes", "No", "on", "null", "~", "1e3", "0x1F", "0o17", "1_000", "2024-01-01", "12:30", ".5"])
    | st.sampled_from(["y", "n", "=", "<<", "-", "--- x", "a b", "a  b", "a - b", "/data/x", "x" * 200, "1.2.3"])
)
_VALUES = (
    _SCALARS
    | st.lists(_SCALARS, max_size=15)
    | st.dictionaries(_SCALARS.filter(lambda key: key == key), _SCALARS, max_size=5)  # NaN keys cannot be looked up
)
_KEYS = st.sampled_from(["name", "'on'", "fps", "a_long_field_name"])


@settings(max_examples=1000, deadline=None)
@given(key=_KEYS, value=_VALUES)
def test_every_entry_written_directly_is_what_the_emitter_writes(key: str, value: Any) -> None:
    lines = entry_lines(key, value)
    if lines is None:
        return
    assert lines == dump({key.strip("'"): value}).split("\n")[:-1]


def test_the_common_fields_are_written_directly() -> None:
    for value in (None, True, 3, -2.5, float("inf"), float("nan"), 1e17, "rig-1", "/data/sessions", [0, 0, 640, 480]):
        assert entry_lines("key", value) is not None, value
    assert entry_lines("key", {"lick": 0, "wheel": 1}) == ["key:", "  lick: 0", "  wheel: 1"]
    assert entry_lines("key", list(range(30)))[:2] == ["key:", "  - 0"]  # type: ignore[index]
    for value in ("yes", "1e3", "2024-01-01", "a: b", " padded", "", "naïve", [[1]], {"a": [1]}):
        assert entry_lines("key", value) is None, value
