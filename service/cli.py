"""``newsroom-tagger``: the command line of the tagging service, for archive back-fills.

    newsroom-tagger tag IN.jsonl OUT.jsonl                      # in-process: loads the model once
    newsroom-tagger tag IN.jsonl.gz OUT.jsonl.gz --url http://tagger:8000 --api-key KEY
    newsroom-tagger tag IN.jsonl OUT.jsonl --workers 4          # a local Dask cluster ([backfill] extra)
    newsroom-tagger tag IN.jsonl OUT.jsonl --scheduler tcp://scheduler:8786

Each input line is a ``TagRequest`` (``text`` required); each output line is a record of the line it
answers (:mod:`service.backfill.records`). Stop it (Ctrl-C, SIGTERM, even SIGKILL) and run the
same command again: it resumes. ``docs/backfill.md`` has the details and what to expect per core.
Exit status: 0 done, 130 stopped before the end, 2 a usage or set-up error (nothing is tagged).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.backfill.backends import Backend, InProcess, Remote
from service.backfill.files import OutputMismatch
from service.backfill.runner import Job, run
from service.client import ProblemError

MAX_BATCH = 32  # the service's default TAGGER_MAX_BATCH: a block is one /v1/tag/batch call


def _labels(value: str) -> list[str]:
    """A comma-separated label list; an empty string means no labels."""
    return [part.strip() for part in value.split(",") if part.strip()]


def _unit(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not in [0, 1]")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return number


def parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    top = argparse.ArgumentParser(prog="newsroom-tagger", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    tag = sub.add_parser(
        "tag",
        help="tag a JSON Lines archive (gzip by .gz extension), resumably",
        description="Tag every line of IN (one JSON TagRequest a line) into OUT (one record a line, "
        "in input order). Re-running the same command resumes a stopped run.",
    )
    tag.add_argument("input", type=Path, metavar="IN", help="input .jsonl or .jsonl.gz")
    tag.add_argument("output", type=Path, metavar="OUT",
                     help="output .jsonl or .jsonl.gz (resumed if present)")
    where = tag.add_argument_group("where to tag (default: in this process)")
    where.add_argument("--url", help="a running service's base URL, e.g. http://127.0.0.1:8000")
    where.add_argument("--api-key", default=os.environ.get("TAGGER_API_KEY"),
                       help="API key for --url (default: $TAGGER_API_KEY)")
    where.add_argument("--concurrency", type=_positive, default=2,
                       help="--url: batch calls in flight (default 2; about the service's worker count)")
    where.add_argument("--workers", type=_positive,
                       help="tag on a local Dask cluster of N worker processes (needs the [backfill] extra)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="tag on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786)")
    where.add_argument("--model", help="in-process and Dask: the model folder or hub id (default: "
                       "$TAGGER_MODEL, else the embedded model)")
    what = tag.add_argument_group("what to tag (options of every line that does not set its own)")
    what.add_argument("--entity-labels", type=_labels, metavar="A,B,...",
                      help="entity labels, comma-separated; '' for none (default: the service's defaults)")
    what.add_argument("--topic-labels", type=_labels, metavar="A,B,...",
                      help="topic labels, comma-separated; '' for none (default: the defaults)")
    what.add_argument("--no-topics", action="store_true", help="no topics (= --topic-labels '')")
    what.add_argument("--threshold", type=_unit, help="entity score threshold in [0, 1]")
    what.add_argument("--topic-threshold", type=_unit, help="topic score threshold in [0, 1]")
    how = tag.add_argument_group("how")
    how.add_argument("--batch-size", type=_positive, default=8,
                     help=f"articles per batch call, at most {MAX_BATCH} (default 8)")
    how.add_argument("--keep-timings", action="store_true",
                     help="ask for and keep each result's timings_ms (left out by default: they differ "
                          "run to run)")
    how.add_argument("--restart", action="store_true", help="start OUT afresh instead of resuming it")
    how.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="the progress bar (default: when stderr is a terminal)")
    how.add_argument("--summary-json", type=Path, metavar="FILE", help="also write the summary as JSON")
    return top


def options_of(args: argparse.Namespace) -> dict[str, Any]:
    """The batch-level options (``/v1/tag/batch``) the arguments ask for."""
    options: dict[str, Any] = {}
    if args.entity_labels is not None:
        options["entity_labels"] = args.entity_labels
    if args.no_topics:
        options["topic_labels"] = []
    elif args.topic_labels is not None:
        options["topic_labels"] = args.topic_labels
    if args.threshold is not None:
        options["threshold"] = args.threshold
    if args.topic_threshold is not None:
        options["topic_threshold"] = args.topic_threshold
    return options


def backend_of(args: argparse.Namespace) -> Backend:
    """The backend the arguments name; loads the model or connects (may take a while)."""
    options: dict[str, Any] = options_of(args)
    if args.keep_timings:
        options["timings"] = True  # TaggerClient.tag_batch asks for timings_ms (?timings=true)
    overrides = {"MODEL": args.model} if args.model else {}
    if args.url:
        return Remote(args.url, api_key=args.api_key, options=options, max_batch=args.batch_size,
                      concurrency=args.concurrency)
    if args.workers or args.scheduler:
        try:
            from service.backfill.cluster import DaskCluster
        except ImportError as exc:
            raise SystemExit(
                f"newsroom-tagger: error: --workers/--scheduler need Dask: pip install "
                f"'newsroom-tagger[backfill]' ({exc})"
            ) from exc
        return DaskCluster(workers=args.workers or 1, scheduler=args.scheduler, overrides=overrides,
                           options=options, max_batch=args.batch_size)
    return InProcess(overrides, options=options, max_batch=args.batch_size)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``newsroom-tagger``; returns the exit status."""
    ap = parser()
    args = ap.parse_args(argv)
    if args.url and (args.workers or args.scheduler):
        ap.error("--url tags against a service; --workers/--scheduler tag on Dask: choose one")
    if args.batch_size > MAX_BATCH:
        ap.error(f"--batch-size is at most {MAX_BATCH} (the service's TAGGER_MAX_BATCH)")
    if not args.input.is_file():
        ap.error(f"{args.input}: no such file")
    if args.input.resolve() == args.output.resolve():
        ap.error("IN and OUT are the same file")
    job = Job(args.input, args.output, block=args.batch_size, keep_timings=args.keep_timings,
              restart=args.restart, progress=args.progress)
    try:
        summary = run(job, lambda: backend_of(args))
    except OutputMismatch as exc:
        print(f"newsroom-tagger: error: {exc}; use another OUT, or --restart to overwrite it",
              file=sys.stderr)
        return 2
    except ProblemError as exc:
        # a refusal that would hit every line: wrong key, bad options, no model, a service that stays down
        print(f"newsroom-tagger: error: cannot tag: {exc}", file=sys.stderr)
        return 2
    except ConnectionError as exc:
        print(f"newsroom-tagger: error: cannot reach the service: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # while the model was loading: nothing was written
        print("newsroom-tagger: stopped before tagging began", file=sys.stderr)
        return 130
    print(summary.text(), file=sys.stderr)
    if args.summary_json:
        args.summary_json.parent.mkdir(parents=True, exist_ok=True)
        args.summary_json.write_text(json.dumps(summary.as_dict(), indent=2) + "\n", "utf-8")
    return 0 if summary.complete else 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
