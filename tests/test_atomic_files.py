"""A file written atomically: the old one or the whole new one, its folder made, nothing left
beside it."""

from __future__ import annotations

from pathlib import Path

from nbmlops.atomic_files import write_atomic


def test_a_file_is_written_whole_in_a_new_folder_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.json"
    write_atomic(path, b"first")
    assert path.read_bytes() == b"first"
    write_atomic(path, b"second, longer")
    assert path.read_bytes() == b"second, longer"
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]
