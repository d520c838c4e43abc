"""One back-fill run: input blocks to the backend, records out in input order, progress, summary.

The input is read in blocks of ``block`` lines (a block is one call of the backend); up to the
backend's ``window`` blocks are in flight, and their records are written in input order as soon
as the oldest is done. Ctrl-C or SIGTERM stops the run between blocks: what was written stays, the
blocks in flight are dropped, and the same command resumes (:mod:`service.backfill.files`).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from service.backfill import files
from service.backfill.backends import Backend, Pending
from service.backfill.records import Line, encode, parse_line, record, words_of
from service.client import BatchItem


@dataclass
class Job:
    """What to back-fill, and how."""

    input: Path
    output: Path
    block: int = 8
    keep_timings: bool = False
    restart: bool = False
    progress: bool | None = None  # None: only when stderr is a terminal


@dataclass
class Summary:
    """What a run did; printed at the end, and written as JSON with ``--summary-json``."""

    input: str
    output: str
    backend: str = ""
    lines: int = 0  # in the input
    resumed_at: int = 0  # records kept from an earlier run
    done_now: int = 0  # records written by this run
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # by status
    words: int = 0
    load_s: float = 0.0
    seconds: float = 0.0
    words_per_s: float = 0.0
    articles_per_s: float = 0.0
    retried_503: int = 0
    complete: bool = False
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON data."""
        return asdict(self)

    def text(self) -> str:
        """The human summary printed at the end of a run."""
        if self.complete and not self.done_now:
            return (f"newsroom-tagger: {self.output} already holds all {self.lines:,} records; nothing to do "
                    "(--restart tags again)")
        state = "complete" if self.complete else ("interrupted" if self.interrupted else "stopped")
        errs = ", ".join(f"{n} x {status}" for status, n in sorted(self.errors.items())) or "none"
        resumed = f" (resumed after {self.resumed_at:,})" if self.resumed_at else ""
        lines = [
            f"newsroom-tagger: {state}: {self.resumed_at + self.done_now:,} of {self.lines:,} lines in "
            f"{self.output}{resumed}",
            f"  this run: {self.done_now:,} records, {self.ok:,} tagged, errors: {errs}",
            f"  {self.words:,} words in {self.seconds:.1f} s: {self.words_per_s:,.0f} words/s, "
            f"{self.articles_per_s:.2f} articles/s (model ready in {self.load_s:.1f} s; {self.backend})",
        ]
        if self.retried_503:
            lines.append(f"  503 answers waited out: {self.retried_503}")
        if self.interrupted:
            lines.append("  run the same command again to continue where this run stopped")
        return "\n".join(lines)


def blocks(path: Path, start: int, size: int) -> Iterator[list[Line]]:
    """The input after its first ``start`` lines, parsed, in blocks of ``size`` lines."""
    block: list[Line] = []
    for number, raw in files.read_lines(path, start):
        block.append(parse_line(number, raw))
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


class _Stop(Exception):
    """SIGTERM, turned into an orderly stop between blocks."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


def run(job: Job, make_backend: Callable[[], Backend], *, stderr: IO[str] | None = None) -> Summary:
    """Back-fill ``job.input`` into ``job.output`` with the backend ``make_backend`` builds."""
    err = stderr if stderr is not None else sys.stderr
    summary = Summary(input=str(job.input), output=str(job.output))
    summary.lines = files.count_lines(job.input)
    if job.restart and job.output.exists():
        job.output.unlink()
    keep = files.resume_point(job.output, total=summary.lines, block=job.block)
    files.truncate_to(job.output, keep)
    summary.resumed_at = keep
    if keep == summary.lines:
        summary.complete = True
        return summary

    backend = make_backend()
    summary.backend = backend.description
    summary.load_s = round(backend.load_seconds, 2)
    writer = files.Writer(job.output)
    progress = _progress(job, summary, err)
    statuses: Counter[int] = Counter()
    # SIGTERM (a scheduler's stop) ends the run between blocks like Ctrl-C; only the main thread may set it
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main else None
    t0 = time.perf_counter()
    try:
        pending: deque[tuple[list[Line], Pending[list[BatchItem]]]] = deque()
        for block in blocks(job.input, keep, job.block):
            pending.append((block, backend.submit([ln.doc for ln in block if ln.problem is None])))
            while len(pending) >= backend.window:
                _write(pending.popleft(), writer, job, summary, statuses, progress, t0)
        while pending:
            _write(pending.popleft(), writer, job, summary, statuses, progress, t0)
        summary.complete = True
    except (KeyboardInterrupt, _Stop):
        summary.interrupted = True
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        progress.close()
        writer.close()
        backend.close()
        summary.seconds = round(time.perf_counter() - t0, 2)
        summary.errors = {str(s): n for s, n in sorted(statuses.items()) if s != 200}
        summary.ok = statuses.get(200, 0)
        summary.words_per_s = round(summary.words / summary.seconds, 1) if summary.seconds else 0.0
        summary.articles_per_s = round(summary.done_now / summary.seconds, 3) if summary.seconds else 0.0
        summary.retried_503 = backend.retried_503()
    return summary


def _write(
    entry: tuple[list[Line], Pending[list[BatchItem]]],
    writer: files.Writer,
    job: Job,
    summary: Summary,
    statuses: Counter[int],
    progress: Any,
    t0: float,
) -> None:
    block, future = entry
    answers = iter(future.result())
    recs = [
        record(ln, None if ln.problem is not None else next(answers), source=job.input.name,
               keep_timings=job.keep_timings)
        for ln in block
    ]
    writer.write_block([encode(r) for r in recs])
    words = sum(words_of(r) for r in recs)
    summary.done_now += len(recs)
    summary.words += words
    statuses.update(r["status"] for r in recs)
    elapsed = max(time.perf_counter() - t0, 1e-9)
    errors = sum(statuses.values()) - statuses[200]
    progress.set_postfix_str(f"{summary.words / elapsed:,.0f} words/s, {errors} errors", refresh=False)
    progress.update(len(recs))


def _progress(job: Job, summary: Summary, err: IO[str]) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=summary.lines,
        initial=summary.resumed_at,
        unit="art",
        desc=job.input.name,
        file=err,
        disable=None if job.progress is None else not job.progress,
        dynamic_ncols=True,
        smoothing=0.05,
    )
