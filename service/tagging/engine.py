"""The tagging engine: whole articles in, grouped entities and topics out. No web framework here.

``Tagger`` loads the GLiNER model once (see :mod:`service.tagging.loading`: float32 on CPU, our word
splitter, warm-up, self-test) and the topic scorer once. Per request it

1. prepares the entity labels once (names, prompts, the sub-word cost of the label prompt), in one
   canonical order (:func:`service.tagging.names.canonical_order`), and in several groups when their
   prompt would leave a window fewer than ``MIN_TEXT_TOKENS`` for text (many long labels);
2. cuts the text (and the title) into sentence-aligned overlapping windows
   (:mod:`service.tagging.windows`) that fit the model's 384 words and 512 sub-word tokens;
3. runs the windows of every document of the request through the model in batches, sorted by
   length so padding stays small, under ``torch.inference_mode`` (and bf16 autocast where the CPU
   has it, see :mod:`service.tagging.precision`), checking the deadline between batches;
4. maps each span back to document offsets (window start + offset in the window), merges what the
   overlaps found twice and groups, labels and ranks the entities (:mod:`service.tagging.entities`);
5. resolves places with the embedded gazetteer: ids, countries, corrections, datelines and the
   countries the article implies (:mod:`service.tagging.places`);
6. scores topics with the topic scorer (:mod:`service.tagging.topics`), when it is installed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from service.tagging.entities import RawMention, build_entities
from service.tagging.labels import default_labels
from service.tagging.loading import LoadedModel, load_model, set_threads
from service.tagging.names import ConceptIndex, as_labels, canonical_order, load_concepts
from service.tagging.places import Gazetteer, gazetteer, resolve_places
from service.tagging.text import sentence_spans, words
from service.tagging.topics import TopicScorer
from service.tagging.types import (
    Coverage,
    DeadlineExceeded,
    Document,
    Label,
    LabelReport,
    ModelInfo,
    TagResult,
    Topic,
)
from service.tagging.windows import Window, split_windows

LabelsIn = Sequence[Label | str] | None
MENTION_FLOOR_RATIO = 0.5  # mentions are kept from threshold * this
MIN_FLOOR = 0.05  # never ask the model for every span
# Sub-word tokens a window keeps for text at least; past that the labels are split into groups.
MIN_TEXT_TOKENS = 128


@dataclass(frozen=True)
class _LabelPlan:
    """Entity labels prepared once per distinct label list."""

    names: tuple[str, ...]
    prompts: Any  # list of names, or {name: description} when descriptions are used
    prompt_tokens: int  # sub-word tokens the label prompt takes in the encoder input


@dataclass
class _Job:
    """One window of one field of one document, queued for the model."""

    doc: int
    field: str
    window: Window


class Tagger:
    """Tags news articles with entities and topics; load once, call :meth:`tag` or :meth:`tag_many`.

    ``model`` is a folder or a hub id (the ``TAGGER_MODEL`` setting). ``threads`` sets torch's
    threads (``None``: the CPUs this process may use). ``window_words`` and ``overlap`` shape the
    windows; ``batch_size`` is the number of windows per forward pass. ``use_descriptions`` sends a
    label's description to the model instead of its name (off by default: the embedded model is
    trained on label names, models/README.md "How it is made"). ``topics=False`` skips loading the
    topic scorer. ``fast_span_head=False`` keeps GLiNER's stock span scoring (see
    :func:`service.tagging.gliner_patches.install_fast_span_head`; same output, slower).
    ``precision`` (``TAGGER_PRECISION``): ``auto`` runs the entity model and the topic sentence
    encoder under bf16 autocast where the CPU multiplies bf16 natively, else fp32
    (:func:`service.tagging.precision.resolve_precision`).
    ``doc_encoder_path`` adds a whole-article encoder to topic scoring (``TAGGER_TOPIC_DOC_ENCODER``;
    :mod:`service.tagging.doc_encoder`).
    ``places=False`` skips the gazetteer (no ids, countries, corrections or implied countries).
    """

    def __init__(
        self,
        model: str,
        *,
        threads: int | None = None,
        threshold: float = 0.5,
        window_words: int = 100,
        overlap: int = 1,
        batch_size: int = 8,
        use_descriptions: bool = False,
        encoder_path: str | None = None,
        doc_encoder_path: str | None = None,
        topics: bool = True,
        self_test: bool = True,
        fast_span_head: bool = True,
        precision: str = "auto",
        setting: str = "TAGGER_MODEL",
        places: bool = True,
    ) -> None:
        t0 = time.perf_counter()
        self.threads = set_threads(threads)
        self.loaded: LoadedModel = load_model(
            model,
            setting=setting,
            threads=self.threads,
            run_self_test=self_test,
            fast=fast_span_head,
            precision=precision,
        )
        self.threshold = threshold
        self.window_words = min(window_words, self.loaded.max_len)
        self.overlap = overlap
        self.batch_size = batch_size
        self.use_descriptions = use_descriptions
        self._tokenizer = self.model.data_processor.transformer_tokenizer
        self._word_cost = lru_cache(maxsize=200_000)(self._count_subwords)
        self.topic_scorer: TopicScorer | None = None
        if topics:
            # the topic encoder runs in the precision the entity model settled on (bf16 on BBC:
            # top-1 0.911 against 0.912 in fp32; bench/README.md, "Tag quality (`make eval`)")
            self.topic_scorer = TopicScorer(
                encoder_path,
                threads=self.threads,
                doc_encoder_path=doc_encoder_path,
                precision=self.loaded.precision,
            )
        # the trained concepts' wordings, embedded once with the topic scorer's sentence encoder
        self.concepts: ConceptIndex | None = None
        inventory = load_concepts()
        if inventory and self.topic_scorer is not None:
            self.concepts = ConceptIndex(
                self.topic_scorer.encoder, inventory["concepts"], str(inventory.get("version", ""))
            )
        self._plans: dict[tuple, _LabelPlan] = {}
        t_places = time.perf_counter()
        self.gazetteer: Gazetteer | None = gazetteer() if places else None
        self.places_load_seconds = time.perf_counter() - t_places
        self.load_seconds = time.perf_counter() - t0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> Tagger:
        """The engine the service's settings describe (``MODEL``, ``TORCH_THREADS``, ``THRESHOLD``,
        ``PRECISION``, ``TOPIC_DOC_ENCODER``: :mod:`service.config`), with keyword ``overrides``."""
        kwargs: dict[str, Any] = {
            "threads": config["TORCH_THREADS"] or None,
            "threshold": config["THRESHOLD"],
            "precision": config.get("PRECISION", "auto"),
            "doc_encoder_path": config.get("TOPIC_DOC_ENCODER") or None,
            "setting": "TAGGER_MODEL",
        }
        return cls(config["MODEL"], **{**kwargs, **overrides})

    # ------------------------------------------------------------------ public

    @property
    def model(self) -> Any:
        """The GLiNER object the engine runs: the loaded one, unless :meth:`running_on` swapped it."""
        return self.loaded.model

    @contextmanager
    def running_on(self, model: Any) -> Iterator[None]:
        """Run on another GLiNER object of the same model for a while (benchmarks: the stock span
        head, an ONNX Runtime session), then on the loaded one again."""
        old = self.loaded.model
        self.loaded.model = model
        try:
            yield
        finally:
            self.loaded.model = old

    @property
    def info(self) -> ModelInfo:
        """Name and version of the entity model."""
        return self.loaded.info

    def tag(
        self,
        text: str,
        entity_labels: LabelsIn = None,
        topic_labels: LabelsIn = None,
        *,
        title: str | None = None,
        threshold: float | None = None,
        topic_threshold: float | None = None,
        deadline: float | None = None,
        derive_countries: bool = True,
    ) -> TagResult:
        """Tag one article. ``deadline`` is a ``time.monotonic()`` instant; past it
        :class:`DeadlineExceeded` is raised. Labels ``None`` mean the defaults; ``[]`` means none.
        ``derive_countries=False``: no country entities the article only implies."""
        return self.tag_many(
            [Document(text, title)],
            entity_labels,
            topic_labels,
            threshold=threshold,
            topic_threshold=topic_threshold,
            deadline=deadline,
            derive_countries=derive_countries,
        )[0]

    def tag_many(
        self,
        documents: Sequence[Document],
        entity_labels: LabelsIn = None,
        topic_labels: LabelsIn = None,
        *,
        threshold: float | None = None,
        topic_threshold: float | None = None,
        deadline: float | None = None,
        derive_countries: bool = True,
    ) -> list[TagResult]:
        """Tag several articles with the same labels; their windows share the model's batches."""
        t0 = time.perf_counter()
        asked = as_labels(entity_labels, default_labels().entity_labels)
        # one order for any permutation of the labels: the model never sees the caller's order
        ent_labels = canonical_order(asked, default_labels().entity_labels)
        nearest = self.concepts.nearest([lab.name for lab in asked]) if self.concepts and asked else {}
        top_labels = as_labels(topic_labels, default_labels().topic_labels)
        thr = self.threshold if threshold is None else threshold

        # Mentions are collected down to half the threshold; the threshold applies to each entity's
        # aggregated score (two mentions at 0.4 make an entity at 0.52). Measured on held-out BBC
        # articles against the spaCy teachers: recall +1.8 points at equal precision (commit 570c7ca).
        floor = max(thr * MENTION_FLOOR_RATIO, MIN_FLOOR)
        raw, chunks, truncated = self._entities_raw(documents, ent_labels, floor, deadline)
        t_model = time.perf_counter()

        results: list[TagResult] = []
        names = [lab.name for lab in ent_labels]
        for i, doc in enumerate(documents):
            td = time.perf_counter()
            entities = build_entities(raw[i], names, doc.text, doc.title, threshold=thr) if names else []
            if names and self.gazetteer is not None:
                entities = resolve_places(
                    entities, names, doc.text, doc.title,
                    derive=derive_countries, threshold=thr, gaz=self.gazetteer,
                )
            t_ent = time.perf_counter()
            _check(deadline)
            topics = self._topics(doc, top_labels, topic_threshold)
            t_top = time.perf_counter()
            results.append(
                TagResult(
                    entities=entities,
                    topics=topics,
                    coverage=Coverage(
                        chars=len(doc.text),
                        words=len(words(doc.text)),
                        chunks=chunks[i],
                        truncated=truncated[i],
                    ),
                    timings_ms={
                        "model": round((t_model - t0) * 1000 / max(len(documents), 1), 1),
                        "entities": round((t_ent - td) * 1000, 1),
                        "topics": round((t_top - t_ent) * 1000, 1),
                    },
                    labels=_label_report(asked, entities, nearest),
                )
            )
        total = (time.perf_counter() - t0) * 1000
        for r in results:
            r.timings_ms["total"] = round(total / max(len(documents), 1), 1)
        return results

    def windows(self, text: str, entity_labels: LabelsIn = None) -> list[Window]:
        """The windows the engine feeds the model for ``text`` (for benchmarks and tests)."""
        defaults = default_labels().entity_labels
        plan = self._label_groups(canonical_order(as_labels(entity_labels, defaults), defaults))[0]
        return self._split(text, plan)

    # ------------------------------------------------------------------ internals

    def _count_subwords(self, word: str) -> int:
        return max(1, len(self._tokenizer.tokenize(word)))

    def _plan(self, labels: Sequence[Label]) -> _LabelPlan:
        key = tuple((lab.name, lab.description if self.use_descriptions else None) for lab in labels)
        plan = self._plans.get(key)
        if plan is None:
            names = tuple(lab.name for lab in labels)
            if self.use_descriptions and any(lab.description for lab in labels):
                prompts: Any = {lab.name: (lab.description or lab.name) for lab in labels}
                texts = list(prompts.values())
            else:
                prompts = list(names)
                texts = prompts
            # <<ENT>> + label tokens per label, <<SEP>>, [CLS], [SEP]
            cost = sum(1 + len(self._tokenizer.tokenize(t)) for t in texts) + 3
            plan = _LabelPlan(names, prompts, cost)
            if len(self._plans) > 256:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def _budget(self, plan: _LabelPlan) -> int:
        """Sub-word tokens left for the text once the label prompt is in the encoder's input."""
        return self.loaded.max_tokens - plan.prompt_tokens - 2

    def _split(self, text: str, plan: _LabelPlan) -> list[Window]:
        budget = self._budget(plan)
        if budget < 16:
            raise ValueError("the entity labels leave no room for text in the model's input")
        return split_windows(
            text, self.window_words, self.overlap, word_cost=self._word_cost, max_cost=budget
        )

    def _label_groups(self, labels: Sequence[Label]) -> list[_LabelPlan]:
        """The labels in groups whose prompts each leave a window ``MIN_TEXT_TOKENS`` for text: one
        group unless many long labels would crowd the text out of the encoder's 512 tokens (50 labels
        of 100 characters are inside the request limits and take about 1,300), then several, each run
        over the whole text. Labels are scored independently per span, so grouping keeps the spans."""
        plan = self._plan(labels)
        if self._budget(plan) >= MIN_TEXT_TOKENS or len(labels) == 1:
            return [plan]
        groups: list[list[Label]] = []
        current: list[Label] = []
        for lab in labels:
            if current and self._budget(self._plan([*current, lab])) < MIN_TEXT_TOKENS:
                groups.append(current)
                current = []
            current.append(lab)
        groups.append(current)
        return [self._plan(g) for g in groups]

    def _entities_raw(
        self,
        documents: Sequence[Document],
        labels: Sequence[Label],
        threshold: float,
        deadline: float | None,
    ) -> tuple[list[list[RawMention]], list[int], list[bool]]:
        """Run every window of every document through the model, once per label group; spans in
        document offsets. ``chunks`` counts the windows the model read (over all label groups)."""
        raw: list[list[RawMention]] = [[] for _ in documents]
        chunks = [0] * len(documents)
        truncated = [False] * len(documents)
        if not labels:
            return raw, chunks, truncated
        for plan in self._label_groups(labels):
            budget = self._budget(plan)
            jobs: list[_Job] = []
            for i, doc in enumerate(documents):
                wins = self._split(doc.text, plan)
                chunks[i] += len(wins)
                # only a single "word" longer than the encoder's input (thousands of characters
                # without a space) can overflow a window; the encoder reads its first part
                truncated[i] = truncated[i] or any(w.cost > budget for w in wins)
                jobs += [_Job(i, "text", w) for w in wins]
                if doc.title and doc.title.strip():
                    jobs += [_Job(i, "title", w) for w in self._split(doc.title, plan)]
            self._run(jobs, plan, threshold, deadline, raw)
        return raw, chunks, truncated

    def _run(
        self, jobs: list[_Job], plan: _LabelPlan, threshold: float, deadline: float | None,
        raw: list[list[RawMention]],
    ) -> None:
        """The model over ``jobs`` in batches, its spans appended to ``raw`` in document offsets."""
        # Similar lengths in one batch: little padding.
        jobs.sort(key=lambda j: j.window.words)
        with self.loaded.inference():
            for b in range(0, len(jobs), self.batch_size):
                _check(deadline)
                batch = jobs[b : b + self.batch_size]
                found = self.model.inference(
                    [j.window.text for j in batch],
                    plan.prompts,
                    threshold=threshold,
                    batch_size=len(batch),
                    return_class_probs=True,
                )
                for job, spans in zip(batch, found, strict=True):
                    off = job.window.start
                    for s in spans:
                        probs = tuple(
                            sorted((str(k), float(v)) for k, v in (s.get("class_probs") or {}).items())
                        )
                        raw[job.doc].append(
                            RawMention(
                                start=off + s["start"],
                                end=off + s["end"],
                                text=s["text"],
                                label=s["label"],
                                score=float(s["score"]),
                                field=job.field,
                                probs=probs,
                            )
                        )

    def _topics(self, doc: Document, labels: Sequence[Label], threshold: float | None) -> list[Topic]:
        if self.topic_scorer is None or not labels:
            return []
        return list(
            self.topic_scorer.score(
                doc.text, sentence_spans(doc.text), list(labels), title=doc.title, threshold=threshold
            )
        )


def _label_report(
    asked: Sequence[Label], entities: Sequence[Any], nearest: dict[str, Any]
) -> list[LabelReport]:
    """Per requested entity label, in the caller's order: entities found, nearest trained concept."""
    counts: dict[str, int] = {}
    for e in entities:
        counts[e.label] = counts.get(e.label, 0) + 1
    out = []
    for lab in asked:
        near = nearest.get(lab.name)
        out.append(LabelReport(lab.name, counts.get(lab.name, 0), near.concept if near else None,
                               near.similarity if near else None))
    return out


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded("the request's time budget ran out while tagging")
