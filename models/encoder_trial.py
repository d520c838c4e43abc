"""Encoder trial: the recipe's training mix on a chosen backbone, from an untrained span head.

Issue 12 asks whether the bigger encoder the registries carry (all-mpnet-base-v2, 110 M parameters,
assembled by ``make doc-encoder``) pays for itself against the default's all-MiniLM-L6-v2 (22 M). The
embedded model cannot answer that: it is nine stages of MiniLM training deep. Here both backbones
start alike, from their pretrained encoder and a fresh GLiNER head, and train the same steps on the
same examples as ``models.build`` (its windows, posts, prompts and schedule), so the two exports differ
only in the encoder. Score them with ``models.evaluate``::

    python -m models.encoder_trial --encoder minilm --steps 300 --out .cache/models/trial-minilm
    python -m models.encoder_trial --encoder mpnet --steps 300 --out .cache/models/trial-mpnet
    python -m models.evaluate --model .cache/models/trial-mpnet --sections gold,wnut9 --threads 2

It needs the windows ``models.build`` made (``models/work/windows.json``) and the training extras.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

from models import build, posts

ENCODERS = {"minilm": (build.MINILM, 384), "mpnet": ("all-mpnet-base-v2", 768)}
log = logging.getLogger("models.encoder_trial")


def encoder_path(name: str) -> str:
    """The local folder of a backbone: the MiniLM package, or the folder ``make doc-encoder`` builds."""
    if name == "minilm":
        from service.tagging.embedder import default_encoder_path

        return str(default_encoder_path())
    from service.tagging.doc_encoder import DEFAULT_DEST

    folder = Path(os.environ.get("DOC_ENCODER", build.HERE.parent / DEFAULT_DEST))
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"{folder} holds no encoder: run `make doc-encoder` first")
    return str(folder)


def main(argv: list[str] | None = None) -> int:
    """Train one backbone for --steps and export it."""
    build.fixed_hash_seed("models.encoder_trial", argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", choices=sorted(ENCODERS), required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    ap.add_argument("--encoder-lr", type=float, default=build.RECIPE["encoder_lr"])
    ap.add_argument("--head-lr", type=float, default=build.RECIPE["head_lr"])
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    import torch
    from transformers import set_seed

    data_file = build.WORK / "windows.json"
    if not data_file.exists():
        raise FileNotFoundError(f"{data_file} is missing: `make model-build` makes it")
    torch.set_num_threads(args.threads)
    seed = build.RECIPE["train_seeds"][0]
    set_seed(seed)
    windows = json.loads(data_file.read_text())["windows"]
    model = build.build_model(encoder_path(args.encoder), ENCODERS[args.encoder][1])
    params = sum(p.numel() for p in model.parameters())
    t0 = time.perf_counter()
    ckpt = args.out.with_name(args.out.name + ".checkpoint.pt")
    social, events = posts.Posts(), posts.Posts(posts.NEWS_EVENTS, news=True)
    history = build.train(model, windows, social, events, args.steps, ckpt, args.resume, seed,
                          (args.encoder_lr, args.head_lr))
    seconds = time.perf_counter() - t0
    meta = {"name": f"encoder-trial-{args.encoder}", "encoder": ENCODERS[args.encoder][0],
            "parameters": params, "steps": args.steps, "threads": args.threads,
            "learning_rates": {"encoder": args.encoder_lr, "head": args.head_lr},
            "seconds_train": round(seconds),
            "loss": build.loss_summary(history)}
    build.export(model, args.out, meta, backbone=ENCODERS[args.encoder][0])
    log.info("wrote %s: %s", args.out, json.dumps(meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
