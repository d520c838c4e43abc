"""Zero-shot, multi-label topic scoring with sentence evidence.

Method (chosen by measurement with ``bench/topics_bbc.py``; figures in ``bench/README.md``, "Topics:
the method, and the BBC target"):

1. Every sentence of the article (and the title, when there is one) is encoded once by the
   packaged all-MiniLM-L6-v2 encoder (:mod:`service.tagging.embedder`).
2. A label is embedded as the mean of a few prompts made from its name and, when it has one,
   its description ("This news article is about {label}.", ...). A caller label without a
   description borrows the description of the default label of the same name, or of a default
   label whose name lists it ("entertainment" in "arts, culture, entertainment and media",
   "sports" for "sport"). Label vectors are cached (LRU keyed by name and description).
3. Each sentence's cosine to a label is standardised against that sentence's cosines to a frozen
   reference set of topics (``topic_reference`` in ``data/labels.json``: the 61 default topics of
   labels 2026.12.1): how much more the sentence is about this label than about the subjects a
   newsroom follows. Narrow beats in the reference (Taiwan beside South China Sea) keep a sentence
   about one from counting for its neighbour. A label's
   *lean* ``r`` (:func:`label_lean`) is the mean of these sentence z-scores over the article: how
   much more, sentence by sentence, the article is about this label than about the others.
   Every label is measured against the same reference, never against the other labels asked
   for: a label's score does not depend on which or how many labels the caller sends beside it,
   and a topic added to the default list later moves no other score (it is not in the reference).
   (Not the entities' *relevance*, :func:`service.tagging.entities.relevance`,
   which says how central an entity is to the article; a topic's only figure on the wire is its
   ``score``.)
   Standardising per sentence first gives every sentence one vote of the same size: a label most
   sentences lean towards outranks one that two or three sentences are strongly about (a technology
   story with two sentences on music stays technology), where a mean of raw cosines lets the few
   strong sentences decide. On BBC News this ranks better than the cosine of the mean sentence
   vector plus the three best sentences (top-1 0.912 against 0.903; ``bench/topics_bbc.py``).
4. ``r`` is standardised again against the reference labels' leans (the z-score: how far a label
   stands out)
   and mapped to a score in [0, 1] by a logistic fitted on BBC News (5 classes: for each article
   the true class is a positive, the other four negatives); never on the seed articles.
   Optional (``TAGGER_TOPIC_DOC_ENCODER``): a second, larger encoder (all-mpnet-base-v2,
   :mod:`service.tagging.doc_encoder`) reads the whole article (in chunks of 384 tokens); its
   cosines to the labels (same prompts) are z-scored against the same reference, added to the
   first z-scores, and the sum is standardised again (against the reference's sums) before the
   logistic. It is consulted only
   when the sentence encoder is unsure: when the caller's two best labels are less than
   ``DOC_MARGIN`` (one standard deviation) apart, or when there is a single label. On BBC News
   that is about a quarter of the articles, at the accuracy of reading every one.
5. Lexical evidence: when every content word of the label's name (light stemming; "AI" for
   "artificial intelligence"; any one part of a coordinated name such as "trade and tariffs")
   occurs in one sentence, the article names the label, and a lower score is lifted to
   ``0.5 + score / 10``: just over the default threshold, below labels the embeddings find alone.
   When some label is named, the label with the highest z (if above the reference mean) gets at
   least 0.6: a label merely named never outranks the article's dominant theme.

A topic comes back when its score reaches the threshold (default 0.5); its evidence is the
sentences that support it best (naming sentences first, then the closest ones that are about
this label more than about the others), at most three.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from service.tagging.embedder import SentenceEncoder
from service.tagging.labels import default_labels
from service.tagging.lru import LRU
from service.tagging.names import WORD, WORDS, acronym_of, as_labels, stem
from service.tagging.types import Evidence, Label, Topic

DEFAULT_THRESHOLD = 0.5
MAX_EVIDENCE = 3
DOC_MAX_TOKENS = 384  # the document encoder's input length; longer articles are read in chunks
# The document encoder reads an article when the sentence encoder's two best labels are closer than
# this (in z-score units). From cached BBC vectors: at 1.0 it reads 26% of the articles and top-1
# equals reading all of them (0.921); at 0.8, 21% with the same on the calibration subset.
DOC_MARGIN = 1.0
EVIDENCE_Z = 1.0

# Logistic calibration of the z-score, fitted by `python -m bench.topics_bbc --fit` on a stratified BBC
# News subset (50 articles per class; never on the seed articles).
Z_SLOPE = 1.8
Z_CENTER = 2.06

PROMPTS = (
    "This news article is about {}.",
    "A news story about {}.",
    "{} news",
    "The article covers {}.",
    "{}",
)



@dataclass(frozen=True)
class _Unit:
    """A sentence (or the title) the scorer reads: ``field[start:end] == text``."""

    field: str
    start: int
    end: int
    text: str


def _same_word(a: str, b: str) -> bool:
    """Whether two stemmed words are forms of one word ("diplomacy"/"diplomatic", "economy"/"economic")."""
    if a == b:
        return True
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    # a shared stem of five letters or more, and short endings on both ("-cy"/"-tic", "-y"/"-ic")
    return n >= 5 and max(len(a), len(b)) - n <= 4


def _content_words(name: str) -> list[str]:
    return [stem(w) for w in WORD.findall(name) if w.lower() not in WORDS.label_stopwords]


def _name_parts(name: str) -> list[str]:
    """The coordinated parts of a label name: "trade and tariffs" -> ["trade", "tariffs"]."""
    return [p.strip() for p in re.split(r",|;|/|&|\band\b|\bor\b", name) if p.strip()]


def _lexical_keys(name: str) -> list[tuple[list[str], str | None]]:
    """What must occur together in one sentence for each way of naming the label: its content
    words (stemmed) or its acronym; the whole name, or any one of its coordinated parts."""
    keys = []
    for part in dict.fromkeys([name, *_name_parts(name)]):
        words_ = _content_words(part)
        if words_:
            keys.append((words_, acronym_of(part)))
    return keys


def _norm_name(name: str) -> str:
    return " ".join(stem(w) for w in WORD.findall(name))


def borrowed_description(name: str) -> str | None:
    """The description a caller label without one borrows from the default taxonomy, if any.

    Exact name first (case-insensitive), then the same name up to plural ("sports"/"sport"), then a
    default label whose name lists the caller's as one of its parts ("business" in "economy,
    business and finance").
    """
    labels = default_labels()
    exact = labels.describe(name)
    if exact:
        return exact
    key = _norm_name(name)
    if not key:
        return None
    topics = [t.label for t in labels.topics]
    for lab in topics:
        if lab.description and _norm_name(lab.name) == key:
            return lab.description
    for lab in topics:
        parts = [p for p in re.split(r",|\band\b", lab.name) if p.strip()]
        if lab.description and len(parts) > 1 and any(_norm_name(p) == key for p in parts):
            return lab.description
    return None


class TopicScorer:
    """Scores zero-shot topic labels on an article; load once, call :meth:`score` per article."""

    def __init__(
        self,
        encoder_path: str | Path | None = None,
        threads: int | None = None,
        *,
        doc_encoder_path: str | Path | None = None,
        doc_margin: float = DOC_MARGIN,
        cache_size: int = 2048,
        precision: str = "fp32",
    ) -> None:
        if threads:
            torch.set_num_threads(int(threads))
        # precision: of the sentence encoder ("fp32" or "bf16"); the document encoder stays fp32
        self.encoder = SentenceEncoder(encoder_path, precision=precision)
        self.doc_margin = float(doc_margin)  # math.inf: the document encoder reads every article
        self._cache: LRU[tuple[str, str | None], np.ndarray] = LRU(cache_size)  # label vectors
        # frozen: every label's z-score is taken against these, whatever else is asked for
        self._reference_labels = self._resolve(default_labels().reference_topic_labels)
        self._reference = self.label_vectors(self._reference_labels)
        # optional second reader of the whole article (TAGGER_TOPIC_DOC_ENCODER, step 3b above)
        self.doc_encoder: SentenceEncoder | None = None
        if doc_encoder_path:
            self.doc_encoder = SentenceEncoder(doc_encoder_path, max_length=DOC_MAX_TOKENS)
            self._doc_cache: LRU[tuple[str, str | None], np.ndarray] = LRU(cache_size)
            self._doc_reference = self.label_vectors(self._reference_labels, self.doc_encoder)
        self.score("Warm-up: the encoder reads one sentence.", [(0, 40)], [Label("warm-up")])

    # ------------------------------------------------------------------ labels

    @staticmethod
    def _resolve(labels: Sequence[Label]) -> list[Label]:
        """Labels with a description: their own, or one borrowed from the default taxonomy."""
        out = []
        for lab in labels:
            desc = lab.description if lab.description else borrowed_description(lab.name)
            out.append(Label(lab.name, desc))
        return out

    def label_vectors(self, labels: Sequence[Label], encoder: SentenceEncoder | None = None) -> np.ndarray:
        """Unit vectors of (resolved) labels by ``encoder`` (default: the sentence encoder), from
        the cache or encoded in one batch."""
        enc = self.encoder if encoder is None or encoder is self.encoder else encoder
        cache = self._cache if enc is self.encoder else self._doc_cache
        vecs: list[np.ndarray | None] = [cache.get((lab.name, lab.description)) for lab in labels]
        missing = [i for i, v in enumerate(vecs) if v is None]
        if missing:
            texts: list[str] = []
            for i in missing:
                texts.extend(_prompts(labels[i]))
            per = len(texts) // len(missing)
            emb = enc.encode(texts)
            for j, i in enumerate(missing):
                v = emb[j * per : (j + 1) * per].mean(0)
                v = (v / (np.linalg.norm(v) + 1e-12)).astype(np.float32)
                cache.put((labels[i].name, labels[i].description), v)
                vecs[i] = v
        return np.stack([v for v in vecs if v is not None]) if labels else np.zeros((0, enc.dim))

    def encode_document(self, units: Sequence[_Unit]) -> np.ndarray | None:
        """The whole article (title, then text) as one vector of the document encoder, if any.

        The encoder reads at most ``DOC_MAX_TOKENS``; a longer article is cut into chunks of whole
        sentences that fit, and the chunk vectors are averaged, weighted by their token counts.
        """
        if self.doc_encoder is None or not units:
            return None
        texts = [u.text for u in units]
        budget = DOC_MAX_TOKENS - 2  # the encoder's two special tokens
        chunks: list[list[str]] = [[]]
        weights = [0]
        for text, n in zip(texts, self.doc_encoder.count_tokens(texts), strict=True):
            if chunks[-1] and weights[-1] + n + 1 > budget:
                chunks.append([])
                weights.append(0)
            chunks[-1].append(text)
            weights[-1] += n + 1
        vecs = self.doc_encoder.encode(["\n".join(c) for c in chunks])
        vec = (vecs * np.asarray(weights, dtype=np.float32)[:, None]).sum(0)
        return (vec / (np.linalg.norm(vec) + 1e-12)).astype(np.float32)

    # ------------------------------------------------------------------ scoring

    def score(
        self,
        text: str,
        sentences: Sequence[tuple[int, int]],
        labels: Sequence[Label],
        *,
        title: str | None = None,
        threshold: float | None = None,
    ) -> list[Topic]:
        """Topics among ``labels`` that apply to the article, best first, each with evidence."""
        labels = as_labels(labels)
        units = _units(text, sentences, title)
        if not labels or not units:
            return []
        emb = self.encoder.encode([u.text for u in units])
        doc_vec = self.encode_document(units) if self.needs_document(emb, labels) else None
        return self.score_embedded(units, emb, labels, threshold=threshold, doc_vec=doc_vec)

    def needs_document(self, emb: np.ndarray, labels: Sequence[Label]) -> bool:
        """Whether the document encoder should read this article: there is one, and the sentence
        encoder alone leaves the caller's best label less than ``doc_margin`` ahead of the next (or
        there is only one label to rank)."""
        if self.doc_encoder is None:
            return False
        if len(labels) < 2:
            return True
        z = np.sort(self.label_z(emb, labels))
        return bool(z[-1] - z[-2] < self.doc_margin)

    def label_z(
        self, emb: np.ndarray, labels: Sequence[Label], *, doc_vec: np.ndarray | None = None
    ) -> np.ndarray:
        """Each label's z-score against the reference (steps 3-4 above): how far it stands out."""
        cand = self.label_vectors(self._resolve(labels))
        return self._z(*_reference_z(emb @ cand.T, emb @ self._reference.T), labels, doc_vec)

    def _z(
        self,
        sent_z: np.ndarray,
        ref_sent_z: np.ndarray,
        labels: Sequence[Label],
        doc_vec: np.ndarray | None,
    ) -> np.ndarray:
        """:meth:`label_z` from the sentence z-scores of the caller's and of the reference labels."""
        z, ref_z = _reference_z(sent_z.mean(0), ref_sent_z.mean(0))  # label_lean(), standardised
        if doc_vec is not None and self.doc_encoder is not None:
            doc_z, doc_ref_z = _reference_z(
                self.label_vectors(self._resolve(labels), self.doc_encoder) @ doc_vec,
                self._doc_reference @ doc_vec,
            )
            # two readers, one vote each: standardise the sum so the scale (and the calibrated
            # logistic) stays that of one z-score
            z, _ = _reference_z(z + doc_z, ref_z + doc_ref_z)
        return z

    def score_embedded(
        self,
        units: Sequence[_Unit],
        emb: np.ndarray,
        labels: Sequence[Label],
        *,
        threshold: float | None = None,
        doc_vec: np.ndarray | None = None,
    ) -> list[Topic]:
        """Like :meth:`score`, on sentences already encoded (``emb`` has one row per unit; ``doc_vec``
        is :meth:`encode_document`'s vector, when there is a document encoder)."""
        thr = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        sims = emb @ self.label_vectors(self._resolve(labels)).T  # (units, labels)
        # per sentence: how far each label stands out against the reference (the evidence, and
        # the lean behind the labels' z-scores)
        sent_z, ref_sent_z = _reference_z(sims, emb @ self._reference.T)
        z = self._z(sent_z, ref_sent_z, labels, doc_vec)

        scores = 1.0 / (1.0 + np.exp(-Z_SLOPE * (z.astype(np.float64) - Z_CENTER)))
        hits = [_lexical_hits(_lexical_keys(lab.name), units) for lab in labels]
        named = [j for j, h in enumerate(hits) if h]
        for j in named:
            # named in the text: news copy often lists its topics once ("talks will cover
            # fentanyl, AI and ..."), so one naming sentence is enough to pass the default threshold
            scores[j] = max(scores[j], 0.5 + scores[j] / 10)
        top = int(np.argmax(z))
        if named and z[top] > 0:
            # a label merely named never outranks the article's dominant theme
            scores[top] = max(scores[top], 0.6)

        topics = []
        for j, lab in enumerate(labels):
            score = round(float(scores[j]), 4)
            if score < thr:
                continue
            topics.append(
                Topic(
                    label=lab.name, score=score, evidence=_evidence(units, sims[:, j], sent_z[:, j], hits[j])
                )
            )
        topics.sort(key=lambda t: -t.score)
        return topics


def _reference_z(x: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``ref`` standardised against the mean and spread of ``ref`` along the last axis
    (per sentence for rows of cosines; across labels for a vector of leans)."""
    mu = ref.mean(-1, keepdims=True)
    sd = ref.std(-1, keepdims=True) + 1e-6
    return (x - mu) / sd, (ref - mu) / sd


def sentence_z(sims: np.ndarray) -> np.ndarray:
    """Per sentence (row), its cosines to the labels (columns) standardised across the labels."""
    return (sims - sims.mean(1, keepdims=True)) / (sims.std(1, keepdims=True) + 1e-6)


def label_lean(emb: np.ndarray, label_vecs: np.ndarray) -> np.ndarray:
    """Per label, how far the article leans towards it: the mean over sentences (rows of ``emb``)
    of the sentence's z-score for the label among ``label_vecs`` (step 3 of the module docstring)."""
    return sentence_z(emb @ label_vecs.T).mean(0)



def _prompts(label: Label) -> list[str]:
    out = [p.format(label.name) for p in PROMPTS]
    if label.description:
        out += [p.format(f"{label.name}: {label.description}") for p in PROMPTS]
    else:
        out += out
    return out


def _units(text: str, sentences: Sequence[tuple[int, int]], title: str | None) -> list[_Unit]:
    units = []
    if title and title.strip():
        s = len(title) - len(title.lstrip())
        e = len(title.rstrip())
        units.append(_Unit("title", s, e, title[s:e]))
    for s, e in sentences:
        if 0 <= s < e <= len(text) and text[s:e].strip():
            units.append(_Unit("text", s, e, text[s:e]))
    return units


def _lexical_hits(keys: list[tuple[list[str], str | None]], units: Sequence[_Unit]) -> list[int]:
    """Indices of the units that name the label: all words of one key together, or its acronym."""
    if not keys:
        return []
    hits = []
    for i, u in enumerate(units):
        raw = WORD.findall(u.text)
        toks = [stem(w) for w in raw]
        # also joined neighbours: "cyber attacks" -> "cyberattack"
        toks += [a + b for a, b in itertools.pairwise(toks)]
        for words_, acronym in keys:
            if all(any(_same_word(w, t) for t in toks) for w in words_) or (acronym and acronym in raw):
                hits.append(i)
                break
    return hits


def _evidence(
    units: Sequence[_Unit], sims: np.ndarray, sent_z: np.ndarray, hits: list[int]
) -> list[Evidence]:
    """The sentences that name the label, then those closest to it; a sentence other than the
    closest one must be about this label more than about the others (z >= EVIDENCE_Z)."""
    hit_set = set(hits)
    order = sorted(range(len(units)), key=lambda i: (i not in hit_set, -float(sims[i])))
    chosen = [i for n, i in enumerate(order) if n == 0 or i in hit_set or sent_z[i] >= EVIDENCE_Z]
    return [
        Evidence(start=units[i].start, end=units[i].end, text=units[i].text, field=units[i].field)
        for i in chosen[:MAX_EVIDENCE]
    ]
