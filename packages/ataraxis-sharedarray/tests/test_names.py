"""Array names: only portable ones are accepted, and an accepted one never leaks, even when its owner is killed."""

import re
import signal
import subprocess
from collections.abc import Callable

import numpy as np
import pytest

from ataraxis_sharedarray import ArrayNameError, SharedMemoryArray

SCRIPT_END = "\n        os.kill(os.getpid(), signal.SIGKILL)\n"


@pytest.mark.parametrize(
    ("suffix", "character"),
    [
        (":x", "':'"),
        ("\nx", r"'\\n'"),
        ("\rx", r"'\\r'"),
        ("_caf\u00e9", "'\u00e9'"),
        ("_\u30c7\u30fc\u30bf", "'\u30c7'"),
        (" x", "' '"),
        ("\\x", r"'\\\\'"),
        ("*", "'\\*'"),
        ("\tx", r"'\\t'"),
        ("%", "'%'"),
    ],
)
def test_a_name_with_a_character_outside_the_portable_set_is_refused_before_anything_is_created(
    derived_name: Callable[[str], str], suffix: str, character: str
) -> None:
    name = derived_name(suffix)
    expected = f"name {re.escape(repr(name))} contains {character}.*only A-Z, a-z, 0-9, '.', '_' and '-'"
    with pytest.raises(ArrayNameError, match=expected) as caught:
        SharedMemoryArray.create_array(name, np.zeros(2))
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ArrayNameError, match=expected):
        SharedMemoryArray.attach(name)


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("a/b", "contains '/'"),
        ("", "non-empty"),
        (".", "'.'"),
        ("..", "'..'"),
        ("nul\x00name", r"contains '\\x00'"),
        ("x" * 247, "247 characters long; this platform allows at most 246"),
        ("sem.x.lock", "name 'sem.x.lock' starts with 'sem.', which is reserved"),
        ("sem.mp-abc123", "'sem.mp-abc123'.*reserved"),
    ],
)
def test_other_invalid_names_are_refused(name: str, pattern: str) -> None:
    with pytest.raises(ArrayNameError, match=pattern):
        SharedMemoryArray.create_array(name, np.zeros(2))
    with pytest.raises(ArrayNameError, match=pattern):
        SharedMemoryArray.attach(name)


def test_a_name_that_is_not_a_str_is_refused() -> None:
    with pytest.raises(ArrayNameError, match="must be a str, not bytes") as caught:
        SharedMemoryArray.create_array(b"bytes", np.zeros(2))  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError)


def test_every_portable_character_and_the_longest_name_work(array_name: str) -> None:
    for name in (f"{array_name}.AZaz09-_", (array_name + "_" + "n" * 246)[:246]):
        sma = SharedMemoryArray.create_array(name, np.zeros(2))
        try:
            assert SharedMemoryArray.attach(name).shape == (2,)
        finally:
            sma.destroy()


def test_a_killed_owner_cannot_leak_a_name_the_resource_tracker_cannot_read(
    derived_name: Callable[[str], str],
    run_python: Callable[[str], subprocess.CompletedProcess[str]],
    removed: Callable[[str], list[str]],
) -> None:
    # The resource tracker splits its protocol lines on ':' and on newlines: an array with either in its name,
    # created and then orphaned by a SIGKILL, would stay in /dev/shm for good. Such names are refused up front.
    names = [derived_name(":x"), derived_name("\nx")]
    result = run_python(
        f"""
        import os, signal
        import numpy as np
        from ataraxis_sharedarray import ArrayNameError, SharedMemoryArray
        for name in {names!r}:
            try:
                SharedMemoryArray.create_array(name, np.zeros(3))
            except ArrayNameError:
                print("refused", flush=True)
    """
        + SCRIPT_END
    )
    assert (result.returncode, result.stdout) == (-signal.SIGKILL, "refused\nrefused\n")
    assert [removed(name, 5.0) for name in names] == [[], []]


def test_a_killed_owner_with_an_accepted_name_leaves_nothing(
    array_name: str,
    run_python: Callable[[str], subprocess.CompletedProcess[str]],
    removed: Callable[[str], list[str]],
) -> None:
    name = f"{array_name}.AZaz09-_"
    result = run_python(
        f"""
        import os, signal
        import numpy as np
        from ataraxis_sharedarray import SharedMemoryArray
        SharedMemoryArray.create_array({name!r}, np.zeros(3))
        print("created", flush=True)
    """
        + SCRIPT_END
    )
    assert (result.returncode, result.stdout) == (-signal.SIGKILL, "created\n")
    assert removed(name) == [], "the resource tracker did not remove the killed creator's array"
