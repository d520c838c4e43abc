"""The concept inventory the embedded model is trained to read: names, wordings, parents, held-out set.

Each concept has a parent (or none) and several wordings. In training a span is labelled with the most
specific concept of its chain that the prompt asks for, so "politician" falls back to "person" when
only "person" is asked. Concepts in HELD_OUT are never shown to the model, not even as negatives:
evaluation asks for them to measure whether the model reads label names it has never seen.
"""

from __future__ import annotations

# concept -> (parent, wordings); the first wording is the concept's name.
CONCEPTS: dict[str, tuple[str | None, list[str]]] = {
    # people
    "person": (None, ["person", "people", "person name", "individual", "human being", "name of a person"]),
    "politician": ("person", ["politician", "political leader", "political figure", "lawmaker",
                              "elected official", "government minister"]),
    "head of state": ("politician", ["head of state", "head of government", "world leader", "president",
                                     "prime minister or president", "national leader"]),
    "athlete": ("person", ["athlete", "sportsperson", "player", "sports player", "sportsman or sportswoman"]),
    "business executive": ("person", ["business executive", "executive", "business leader", "chief executive",
                                      "company boss", "businessperson"]),
    "music artist": ("person", ["music artist", "musician", "singer", "band or musician",
                                 "recording artist"]),
    "actor": ("person", ["actor", "actress", "film star", "performer", "actor or actress"]),
    "writer": ("person", ["writer", "author", "novelist", "poet", "author of books"]),
    "coach": ("person", ["coach", "manager of a team", "sports coach", "team manager"]),
    "religious leader": ("person", ["religious leader", "cleric", "church leader", "spiritual leader"]),
    "royal": ("person", ["royal", "member of a royal family", "prince or princess", "monarch or royal"]),
    "criminal suspect": ("person", ["criminal suspect", "suspect", "accused person", "defendant"]),
    # organizations
    "organization": (None, ["organization", "organisation", "institution", "organization name", "body",
                            "group or organization"]),
    "company": ("organization", ["company", "business", "firm", "corporation", "brand or company",
                                 "company name", "tech company"]),
    "government agency": ("organization", ["government agency", "government department", "ministry",
                                           "public agency", "federal agency", "regulator"]),
    "political party": ("organization", ["political party", "party", "party name", "political movement"]),
    "sports team": ("organization", ["sports team", "team", "club", "football club", "sports club"]),
    "news outlet": ("organization", ["news outlet", "media outlet", "newspaper", "broadcaster",
                                     "news organization", "news agency"]),
    "international organization": ("organization", ["international organization", "intergovernmental body",
                                                    "international body", "global institution"]),
    "trade union": ("organization", ["trade union", "labor union", "union", "workers' union"]),
    "police force": ("organization", ["police force", "police", "police department", "law enforcement"]),
    # places
    "location": (None, ["location", "place", "geographic location", "geographical area", "area",
                        "place name"]),
    "country": ("location", ["country", "nation", "sovereign state", "country name", "nation state"]),
    "city": ("location", ["city", "town", "city or town", "municipality", "urban area"]),
    "capital city": ("city", ["capital city", "capital", "national capital"]),
    "state or province": ("location", ["state or province", "province", "state", "administrative region",
                                       "federal state"]),
    "us state": ("state or province", ["US state", "American state", "state of the United States"]),
    "region": ("location", ["region", "geographic region", "territory", "area of a country"]),
    "continent": ("location", ["continent", "world region", "continental region"]),
    "building or facility": ("location", ["building or facility", "building", "facility", "venue",
                                          "stadium or building", "landmark", "airport or station"]),
    "street or road": ("location", ["street or road", "street", "road", "address"]),
    # events
    "event": (None, ["event", "named event", "occasion", "happening"]),
    "election": ("event", ["election", "vote", "ballot", "poll", "elections", "election campaign"]),
    "war": ("event", ["war", "armed conflict", "military conflict", "battle or war"]),
    "sports event": ("event", ["sports event", "tournament", "competition", "championship", "sporting event",
                               "match or tournament"]),
    # works
    "creative work": (None, ["creative work", "work of art", "title of a work", "artwork"]),
    "movie": ("creative work", ["movie", "film", "film title", "motion picture"]),
    "tv show": ("creative work", ["TV show", "television programme", "TV series", "television show"]),
    "song": ("creative work", ["song", "single", "track", "song title"]),
    "album": ("creative work", ["album", "record album", "LP"]),
    "book": ("creative work", ["book", "novel", "book title", "publication"]),
    "video game": ("creative work", ["video game", "computer game", "game title"]),
    # things
    "law": (None, ["law", "bill", "legislation", "act of parliament", "law or bill", "statute"]),
    "product": (None, ["product", "consumer product", "device", "gadget", "brand of product",
                       "product name"]),
    "award": (None, ["award", "prize", "honour", "award name"]),
    "language": (None, ["language", "spoken language", "natural language"]),
    "nationality": (None, ["nationality", "demonym", "national group", "ethnic or national group"]),
    "religious group": (None, ["religious group", "religion", "faith", "religious community"]),
    "date": (None, ["date", "date or period", "day", "year", "time period"]),
    "time": (None, ["time", "time of day", "clock time"]),
    "money": (None, ["money", "amount of money", "sum of money", "price", "monetary value"]),
    "percentage": (None, ["percentage", "percent", "rate in percent"]),
    "quantity": (None, ["quantity", "measurement", "distance or weight", "amount with unit"]),
    "number": (None, ["number", "count", "numeral", "cardinal number"]),
    "ordinal": (None, ["ordinal", "ordinal number", "rank"]),
    "drug": (None, ["drug", "medicine", "narcotic", "medication", "illegal drug", "pharmaceutical"]),
    "vehicle": (None, ["vehicle", "car", "means of transport", "aircraft or vehicle"]),
    "food": (None, ["food", "dish", "foodstuff", "food or drink"]),
    "animal": (None, ["animal", "species", "creature", "wildlife"]),
    "sport": (None, ["sport", "sporting discipline", "kind of sport", "game or sport"]),
    "crime": (None, ["crime", "offence", "criminal offence", "type of crime"]),
    "occupation": (None, ["occupation", "job", "profession", "job title", "role or profession"]),
}

# Whole concepts never shown in training (nor as negatives): evaluation asks for them by these names.
HELD_OUT = ["journalist", "judge", "university", "bank", "court", "treaty", "protest", "disease", "weapon",
            "currency", "body of water", "armed group"]

# Labels that never occur in news copy: asking for them must return nothing.
NEGATIVES = ["programming language", "chemical compound", "musical instrument", "email address",
             "phone number", "software version", "gene", "mineral", "file format", "mathematical formula",
             "protein", "chemical element", "galaxy", "recipe ingredient", "plant species", "font"]


def chain(concept: str) -> list[str]:
    """The concept and its ancestors, most specific first."""
    out = [concept]
    while (parent := CONCEPTS[out[-1]][0]) is not None:
        out.append(parent)
    return out


def children(concept: str) -> list[str]:
    """Direct children of ``concept``."""
    return [c for c, (p, _) in CONCEPTS.items() if p == concept]


def check() -> None:
    """Fail loudly if a held-out concept leaks into a training wording or negative."""
    words = {w.lower() for _, ws in CONCEPTS.values() for w in ws} | {n.lower() for n in NEGATIVES}
    for held in HELD_OUT:
        leaks = [w for w in words if held in w]
        if leaks:
            raise ValueError(f"held-out concept {held!r} appears in training labels: {leaks}")


def export() -> dict:
    """The inventory as the service reads it (service/tagging/data/concepts.json)."""
    return {"concepts": {c: ws for c, (_, ws) in CONCEPTS.items()},
            "parents": {c: p for c, (p, _) in CONCEPTS.items() if p}}
