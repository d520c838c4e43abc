"""The gazetteer and place resolution on constructed articles (no model: entities are written by hand,
as the model would return them; the gazetteer is the real embedded one)."""

from __future__ import annotations

import pytest

from service.api.mapping import tag_response
from service.tagging.places import find_dateline, gazetteer, place_key, resolve_places, roles
from service.tagging.types import Coverage, Entity, Mention, ModelInfo, TagResult, Topic

LABELS = ["political leader", "person", "country", "organization", "location"]


def ent(text: str, name: str, label: str, score: float = 0.9, nth: int = 0) -> Entity:
    """An entity of ``name`` at its ``nth`` occurrence in ``text`` (every occurrence when nth < 0)."""
    starts, i = [], text.find(name)
    while i >= 0:
        starts.append(i)
        i = text.find(name, i + 1)
    assert starts, name
    chosen = starts if nth < 0 else [starts[nth]]
    mentions = [Mention(s, s + len(name), name, score) for s in chosen]
    return Entity(name, label, score, 0.5, mentions)


def run(text: str, entities: list[Entity], labels: list[str] = LABELS, **kw) -> dict[str, Entity]:
    out = resolve_places(entities, labels, text, **kw)
    for e in out:
        for m in [*e.mentions, *e.evidence]:
            assert text[m.start : m.end] == m.text
    return {f"{e.text}/{e.label}": e for e in out}


def country_codes(found: dict[str, Entity]) -> set[str]:
    return {e.country.code for e in found.values() if e.label == "country" and e.country}


# --------------------------------------------------------------------------- the data


def test_place_key_folds_accents_case_and_dots():
    assert place_key("Córdoba") == "cordoba"
    assert place_key("St. Louis") == "st louis"
    assert place_key("U.S.") == "us"
    assert place_key("B.C.") == "bc"


def test_gazetteer_knows_countries_states_cities_and_their_ids():
    g = gazetteer()
    us = g.lookup("U.S.")[0]
    assert (us.kind, us.country, us.ids()) == ("country", "US", {"geonames": "6252001", "iso3166": "US"})
    texas = g.lookup("Texas")
    assert [(p.kind, p.iso) for p in texas] == [("state", "US-TX")]
    assert {p.kind for p in g.lookup("Georgia")} == {"country", "state"}
    assert {p.country for p in g.lookup("Victoria")} >= {"AU", "CA"}
    assert g.qualifier("Colo.").iso == "US-CO"
    assert g.qualifier("B.C.").iso == "CA-BC"
    assert g.demonym("Argentines") == "AR"
    assert g.demonym("Chinese") == "CN"


def test_text_search_skips_common_words_and_trims_possessives():
    g = gazetteer()
    text = "Chicago's mayor and Tulsa police were on Mobile Street, reading the news."
    found = [text[s:e] for s, e in g.find_places(text)]
    assert "Chicago" in found and "Tulsa" in found
    assert "Mobile" not in found


@pytest.mark.parametrize(
    ("text", "city", "region"),
    [
        ("DENVER, Colo., May 4 - Police said", "DENVER", "Colo."),
        ("TORONTO (Reuters) - Shares fell", "TORONTO", None),
        ("MILAN, May 4 - Fashion week", "MILAN", None),
        ("Lagos, Nigeria (AP) -- Fuel prices", "Lagos", "Nigeria"),
        ("NEW DELHI \u2014 India's parliament", "NEW DELHI", None),
    ],
)
def test_datelines(text, city, region):
    d = find_dateline(text)
    assert d is not None and text[d.start : d.end] == city
    assert (d.region[2] if d.region else None) == region


def test_a_sentence_is_not_a_dateline():
    assert find_dateline("The mayor - who spoke first - said no.") is None
    assert find_dateline("Toronto - the city said") is None  # title case needs a date or an agency


def test_roles_of_labels():
    r = roles(["US state", "city", "country", "nationality", "government agency"])
    assert r.country == "country" and r.nationality == "nationality"
    assert r.place_label("state") == "US state" and r.place_label("city") == "city"
    assert "government agency" in r.orgs
    assert not roles(["person", "drug"]).active


# --------------------------------------------------------------------------- ambiguous names


def test_georgia_with_atlanta_is_the_us_state():
    text = "Georgia's governor signed the bill in Atlanta on Tuesday."
    found = run(text, [ent(text, "Georgia", "country"), ent(text, "Atlanta", "location")])
    georgia = found["Georgia/location"]  # the model's "country" corrected
    assert georgia.ids["iso3166_2"] == "US-GA" and georgia.country.code == "US"
    assert georgia.confidence >= 0.75
    us = found["United States/country"]
    assert us.derived and not us.mentions
    assert {c.text for c in us.evidence} == {"Georgia", "Atlanta"}


def test_georgia_with_tbilisi_is_the_country():
    text = "Protesters filled Tbilisi as Georgia's parliament voted."
    found = run(text, [ent(text, "Georgia", "country"), ent(text, "Tbilisi", "location")])
    georgia = found["Georgia/country"]
    assert georgia.ids == {"geonames": "614540", "iso3166": "GE"} and not georgia.derived
    assert [c.text for c in georgia.evidence] == ["Tbilisi"]
    assert "United States/country" not in found


@pytest.mark.parametrize(
    ("text", "name", "country"),
    [
        ("Police in Paris, Texas, closed the road.", "Paris", "US"),
        ("Tourists crowded Paris as the Louvre reopened.", "Paris", "FR"),
        ("Floods hit Lima, Ohio, and the Allen County sheriff said roads closed.", "Lima", "US"),
        ("Protests in Lima grew as Peruvian lawmakers voted.", "Lima", "PE"),
        ("A tornado hit Birmingham, Ala., overnight.", "Birmingham", "US"),
        ("Birmingham and Alabama officials met in Montgomery.", "Birmingham", "US"),
        ("Birmingham, Manchester and London face new rail cuts.", "Birmingham", "GB"),
        ("Ferries to Victoria, B.C., were cancelled.", "Victoria", "CA"),
        ("Bushfires in Victoria forced Melbourne and Geelong to issue alerts.", "Victoria", "AU"),
        ("Córdoba and Seville saw record heat in Andalusia.", "Córdoba", "ES"),
        ("Córdoba's governor met Argentine farmers.", "Córdoba", "AR"),
    ],
)
def test_ambiguous_places_resolve_from_the_article(text, name, country):
    others = [w for w in ("Louvre", "Montgomery", "Manchester", "London", "Melbourne", "Geelong", "Seville",
                          "Alabama") if w in text]
    ents = [ent(text, name, "location"), *(ent(text, w, "location") for w in others)]
    found = run(text, ents)
    place = found[f"{name}/location"]
    assert place.country.code == country, (text, place)
    assert 0.0 < place.confidence <= 1.0


# --------------------------------------------------------------------------- corrections


def test_us_states_are_not_countries():
    text = "Texas and California sued the administration."
    found = run(text, [ent(text, "Texas", "country"), ent(text, "California", "country")])
    assert found["Texas/location"].ids["iso3166_2"] == "US-TX"
    assert found["California/location"].country.code == "US"
    assert found["United States/country"].derived


def test_a_state_labelled_country_goes_when_no_place_label_was_asked():
    text = "Texas sued the administration."
    found = run(text, [ent(text, "Texas", "country")], labels=["country", "person"])
    assert set(found) == {"United States/country"}


def test_brasilia_is_a_city_not_a_country():
    text = "Officials in Brasília said the talks would resume."
    found = run(text, [ent(text, "Brasília", "country")])
    assert found["Brasília/location"].country.code == "BR"


def test_a_country_labelled_location_becomes_a_country():
    text = "Aid reached Ukraine on Monday."
    found = run(text, [ent(text, "Ukraine", "location")])
    assert found["Ukraine/country"].ids["iso3166"] == "UA"


def test_nationality_words_are_evidence_not_countries():
    text = "The Argentine president met Spanish officials."
    found = run(text, [ent(text, "Argentine", "country")])
    assert "Argentine/country" not in found
    assert country_codes(found) == {"AR", "ES"}
    assert all(e.derived for e in found.values())
    assert found["Argentina/country"].evidence[0].kind == "people"


def test_nationality_label_returns_the_words():
    text = "The Argentine president met Argentines and a Chinese trade team."
    found = run(text, [ent(text, "Argentine", "country")], labels=[*LABELS, "nationality"])
    argentine = found["Argentine/nationality"]
    assert [m.text for m in argentine.mentions] == ["Argentine", "Argentines"]
    assert argentine.country.code == "AR"
    assert found["Chinese/nationality"].country.code == "CN"


def test_one_nationality_word_before_a_common_noun_is_not_enough():
    text = "They ate at a Chinese restaurant in the old town."
    assert "China/country" not in run(text, [])


def test_people_of_a_city_are_not_a_location():
    text = "Chicagoans lined up for hours."
    found = run(text, [ent(text, "Chicagoans", "location")])
    assert "Chicagoans/location" not in found
    assert found["United States/country"].evidence[0].kind == "people"


# --------------------------------------------------------------------------- implied countries


def test_named_and_implied_mentions_of_one_country_are_one_entity():
    text = "Police in Denver said the United States would help. Denver is calm."
    found = run(text, [ent(text, "United States", "country"), ent(text, "Denver", "location", nth=-1)])
    us = [e for e in found.values() if e.label == "country"]
    assert len(us) == 1 and not us[0].derived
    assert [m.text for m in us[0].mentions] == ["United States"]
    assert [c.text for c in us[0].evidence] == ["Denver", "Denver"]


def test_derivation_can_be_turned_off():
    text = "Police in Tulsa said the United States would help. Tulsa is calm; Nigerian officials came."
    found = run(text, [ent(text, "United States", "country")], derive=False)
    assert country_codes(found) == {"US"}
    assert found["United States/country"].evidence  # evidence of named countries is kept


def test_datelines_give_a_place_and_its_country():
    text = "DENVER, Colo., May 4 - Police arrested two men after a shooting downtown."
    found = run(text, [])
    denver = found["Denver/location"]
    assert denver.mentions[0].text == "DENVER" and denver.country.code == "US"
    assert {c.kind for c in found["United States/country"].evidence} == {"dateline"}


def test_national_bodies_imply_their_country():
    text = "The U.S. Agriculture Department said the Pentagon would help."
    found = run(text, [ent(text, "U.S. Agriculture Department", "organization")])
    us = found["United States/country"]
    assert {c.kind for c in us.evidence} == {"body"}
    assert "U.S. Agriculture Department/organization" in found


def test_a_capital_standing_for_its_government_implies_the_country():
    text = "Beijing warned on Tuesday that the talks were over."
    found = run(text, [ent(text, "Beijing", "organization")])
    assert "China/country" in found


def test_derived_countries_need_the_threshold():
    text = "Tulsa police said the road was closed."
    assert "United States/country" in run(text, [], threshold=0.5)
    assert "United States/country" not in run(text, [], threshold=0.95)


def test_no_place_labels_no_change():
    text = "Tulsa police said Texas would pay."
    entities = [ent(text, "Texas", "organization")]
    assert resolve_places(entities, ["organization", "person"], text) == entities


# --------------------------------------------------------------------------- on the wire


def test_the_response_carries_ids_country_and_evidence_in_both_units():
    text = "😀 Police in Tulsa said."
    entities = run(text, [ent(text, "Tulsa", "location")])
    result = TagResult(list(entities.values()), [Topic("conflict, war and peace", 0.7, [])],
                       Coverage(len(text), 4, 1))
    body = tag_response(result, text=text, title=None, doc_id=None, entity_names=LABELS,
                        topic_names=["conflict, war and peace"], model=ModelInfo("m", "v"),
                        labels_version="x", timings_ms={})
    by_label = {e["label"]: e for e in body["entities"]}
    us, tulsa = by_label["country"], by_label["location"]
    assert us["derived"] is True and us["mentions"] == [] and us["country"] == {"code": "US",
                                                                               "name": "United States"}
    ev = us["evidence"][0]
    assert (ev["start"], ev["end"], ev["start_utf16"], ev["end_utf16"]) == (12, 17, 13, 18)
    assert ev["kind"] == "city" and ev["place"] == "Tulsa"
    assert tulsa["derived"] is False and tulsa["ids"]["geonames"] and "evidence" not in tulsa
    assert body["topics"][0]["id"] == "iptc-16000000"


def test_a_country_the_model_missed_but_the_text_names_is_named_not_derived():
    text = "NATO condemned North Korea's decision to send North Korean troops; North Korean soldiers fought."
    found = run(text, [])
    nk = found["North Korea/country"]
    assert not nk.derived and [m.text for m in nk.mentions] == ["North Korea"]
    assert [c.text for c in nk.evidence] == ["North Korean", "North Korean"]
