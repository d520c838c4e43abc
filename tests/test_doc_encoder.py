"""Assembling the optional document encoder from its split-zip pieces (fake pieces written here)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from service.tagging import doc_encoder


def _pieces(tmp_path: Path, members: dict[str, bytes], n: int = 3) -> list[Path]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    blob = buf.getvalue()
    size = len(blob) // n + 1
    out = []
    for i in range(n):
        p = tmp_path / f"model.zip.{i + 1:03d}"
        p.write_bytes(blob[i * size : (i + 1) * size])
        out.append(p)
    return out


def test_assemble_joins_the_pieces_and_unpacks_the_model_folder(tmp_path: Path) -> None:
    pieces = _pieces(
        tmp_path,
        {
            "all-mpnet-base-v2/config.json": b'{"model_type": "mpnet"}',
            "all-mpnet-base-v2/1_Pooling/config.json": b"{}",
            "all-mpnet-base-v2/model.safetensors": bytes(range(256)) * 400,
        },
    )
    dest = tmp_path / "enc" / "mpnet"
    assert doc_encoder.assemble(dest, pieces) == dest
    assert (dest / "config.json").read_bytes() == b'{"model_type": "mpnet"}'
    assert (dest / "model.safetensors").read_bytes() == bytes(range(256)) * 400
    assert sorted(p.name for p in dest.parent.iterdir()) == ["mpnet"]  # no temporary files left
    # a second call keeps what is there and does not need the pieces
    assert doc_encoder.assemble(dest, [tmp_path / "missing"]) == dest


def test_assemble_refuses_paths_outside_the_folder(tmp_path: Path) -> None:
    pieces = _pieces(tmp_path, {"../evil/config.json": b"{}"}, n=1)
    with pytest.raises(ValueError, match="unsafe path"):
        doc_encoder.assemble(tmp_path / "out", pieces)
    assert not (tmp_path / "out").exists()


def test_assemble_wants_a_config(tmp_path: Path) -> None:
    pieces = _pieces(tmp_path, {"folder/readme.txt": b"hi"}, n=2)
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        doc_encoder.assemble(tmp_path / "out", pieces)


def test_missing_part_packages_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError, match=r"pip install -e '\.\[doc-encoder\]'"):
        doc_encoder.part_files(("no-such-package-for-the-tagger-tests",))
