"""JSON Lines in and out, gzip by extension (``.gz``), and where a stopped run resumes.

The output is written a block of records at a time, each block flushed (a gzip block with a sync
flush, so everything written so far decompresses) and synced to disk. A run killed at any moment
leaves complete records plus at most one partial line (or an undecodable gzip tail); the next run
keeps the complete records that fall on a block boundary and drops the rest. Keeping block
boundaries matters: the engine batches the windows of a block's articles together, and the same
articles in the same batches give the same floats, so a resumed output is identical to an
uninterrupted one.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


class OutputMismatch(Exception):
    """The output file holds something that is not this input's back-fill: it is never truncated."""


def is_gzip(path: Path) -> bool:
    """Whether ``path`` is read and written as gzip (its name ends in ``.gz``)."""
    return path.name.endswith(".gz")


def _open_read(path: Path) -> BinaryIO:
    return gzip.GzipFile(path, "rb") if is_gzip(path) else open(path, "rb")  # type: ignore[return-value]


def count_lines(path: Path) -> int:
    """The number of lines in ``path`` (a last line without a newline counts)."""
    n = 0
    last = b"\n"
    with _open_read(path) as f:
        while chunk := f.read(CHUNK):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def read_lines(path: Path, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """``(line number from 1, line without its end)`` of ``path``, after the first ``start`` lines."""
    with _open_read(path) as f:
        for number, raw in enumerate(f, 1):
            if number > start:
                yield number, raw.rstrip(b"\r\n")


def _decoded(path: Path) -> Iterator[bytes]:
    """The bytes of ``path``, gunzipped as far as they decode (a killed writer leaves a torn tail)."""
    with open(path, "rb") as f:
        if not is_gzip(path):
            while chunk := f.read(CHUNK):
                yield chunk
            return
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        while chunk := f.read(CHUNK):
            while chunk:
                try:
                    yield d.decompress(chunk)
                except zlib.error:
                    return
                if not d.eof:
                    break
                # a member ended: the next starts in what is left (each run appends one member)
                chunk = d.unused_data
                d = zlib.decompressobj(zlib.MAX_WBITS | 16)


def _complete_lines(path: Path) -> Iterator[bytes]:
    """The newline-terminated lines of ``path``, without the newline (a torn last line is left out)."""
    rest = b""
    for data in _decoded(path):
        rest += data
        *lines, rest = rest.split(b"\n")
        yield from lines


def records_done(path: Path) -> list[int]:
    """Byte length (newline included) of each complete record in the output ``path``, in order.

    Raises :class:`OutputMismatch` when a complete line is not the record of input line N at position N.
    """
    sizes: list[int] = []
    for raw in _complete_lines(path):
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if not isinstance(record, dict) or record.get("line") != len(sizes) + 1:
            raise OutputMismatch(
                f"{path}: line {len(sizes) + 1} is not the back-fill record of input line {len(sizes) + 1}"
            )
        sizes.append(len(raw) + 1)
    return sizes


def resume_point(path: Path, *, total: int, block: int) -> int:
    """How many records of a previous run to keep in ``path``: all when it finished, else whole blocks."""
    if not path.exists():
        return 0
    done = len(records_done(path))
    if done > total:
        raise OutputMismatch(f"{path} has {done} records but the input has only {total} lines")
    return done if done == total else done - done % block


def truncate_to(path: Path, keep: int) -> None:
    """Cut ``path`` to its first ``keep`` records (gzip: rewritten, since deflate cannot be cut)."""
    if not path.exists():
        return
    if not is_gzip(path):
        size = sum(records_done(path)[:keep])
        with open(path, "r+b") as f:
            f.truncate(size)
        return
    tmp = path.with_name(path.name + ".resume-tmp")
    with gzip.GzipFile(tmp, "wb", mtime=0) as out:
        for i, raw in enumerate(_complete_lines(path)):
            if i >= keep:
                break
            out.write(raw + b"\n")
    os.replace(tmp, path)


class Writer:
    """Appends blocks of records to the output, each block flushed and synced before the next."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(path, "ab")  # noqa: SIM115 - closed in close()
        # a new gzip member per run; mtime 0 so the same records give the same bytes
        self._out: BinaryIO = self._raw
        if is_gzip(path):
            self._out = gzip.GzipFile(fileobj=self._raw, mode="ab", mtime=0)  # type: ignore[assignment]

    def write_block(self, lines: list[bytes]) -> None:
        """Write ``lines`` (each one JSON record without newline) and make them durable."""
        self._out.write(b"".join(line + b"\n" for line in lines))
        self._out.flush()  # GzipFile: a zlib sync flush, so the block decodes without the trailer
        if self._out is not self._raw:
            self._raw.flush()
        os.fsync(self._raw.fileno())

    def close(self) -> None:
        """Finish the gzip member (if any) and close the file."""
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()
