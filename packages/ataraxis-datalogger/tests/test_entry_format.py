import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ataraxis_datalogger import EntryFormatError
from ataraxis_datalogger._format.entry import (
    EntryName,
    decode_entry,
    encode_entry_prefix,
    entry_file_name,
    parse_entry_file_name,
)


@given(
    source_id=st.integers(0, 255),
    time_stamp=st.integers(0, 2**64 - 1),
    duplicate_index=st.integers(0, 10_000),
)
def test_file_names_round_trip(source_id: int, time_stamp: int, duplicate_index: int) -> None:
    name = entry_file_name(source_id, time_stamp, duplicate_index)
    assert parse_entry_file_name(name) == EntryName(source_id, time_stamp, duplicate_index)


def test_first_entry_name_is_the_documented_one() -> None:
    assert entry_file_name(1, 42) == "001_00000000000000000042.npy"
    assert entry_file_name(1, 42, 2) == "001_00000000000000000042_2.npy"


@pytest.mark.parametrize(
    "name",
    [
        "1_00000000000000000042.npy",
        "001_42.npy",
        "001_00000000000000000042.npz",
        "256_00000000000000000042.npy",
        "001_99999999999999999999.npy",
        "notes.npy",
        "001_00000000000000000042_.npy",
    ],
)
def test_foreign_names_are_not_entries(name: str) -> None:
    assert parse_entry_file_name(name) is None


@given(source_id=st.integers(0, 255), time_stamp=st.integers(0, 2**64 - 1), payload=st.binary(max_size=300))
def test_encoded_entries_match_numpy_save_and_decode(source_id: int, time_stamp: int, payload: bytes) -> None:
    encoded = encode_entry_prefix(source_id, time_stamp, len(payload)) + payload
    expected = np.frombuffer(bytes([source_id]) + time_stamp.to_bytes(8, "little") + payload, dtype=np.uint8)
    saved = io.BytesIO()
    np.save(saved, expected)
    assert encoded == saved.getvalue()
    assert np.array_equal(np.load(io.BytesIO(encoded)), expected)
    decoded = decode_entry(encoded)
    assert (decoded.source_id, decoded.time_stamp, bytes(decoded.payload)) == (source_id, time_stamp, payload)


def test_npy_files_with_a_foreign_header_decode_through_numpy(tmp_path: Path) -> None:
    body = np.frombuffer(bytes([7]) + (123).to_bytes(8, "little") + b"abc", dtype=np.uint8)
    path = tmp_path / "entry.npy"
    with path.open("wb") as file:
        np.lib.format.write_array(file, body, version=(2, 0))
    decoded = decode_entry(path.read_bytes())
    assert (decoded.source_id, decoded.time_stamp, bytes(decoded.payload)) == (7, 123, b"abc")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not a .npy file"),
        (b"hello world, not numpy", "not a .npy file"),
        (encode_entry_prefix(1, 2, 3)[:-5], "not a .npy file"),
    ],
)
def test_damaged_bytes_raise_entry_format_error(content: bytes, reason: str) -> None:
    with pytest.raises(EntryFormatError, match=reason):
        decode_entry(content)


def test_a_file_without_the_numpy_magic_is_called_so_not_a_pickle() -> None:
    # NumPy itself takes such bytes for a pickle and advises loading them with allow_pickle: a misleading reason.
    with pytest.raises(EntryFormatError, match=r"not a \.npy file") as caught:
        decode_entry(b"hello world, not numpy")
    assert "pickle" not in str(caught.value)
    assert "NumPy" in str(caught.value)


def test_arrays_of_another_type_or_too_short_are_rejected() -> None:
    for array, reason in [(np.zeros(12, dtype=np.float64), "uint8"), (np.zeros(4, dtype=np.uint8), "at least 9")]:
        buffer = io.BytesIO()
        np.save(buffer, array)
        with pytest.raises(EntryFormatError, match=reason):
            decode_entry(buffer.getvalue())
