"""Entity grouping, labelling, scoring and ranking on hand-made model spans (no model needed)."""

from __future__ import annotations

import re

import pytest

from service.tagging.entities import (
    RawMention,
    build_entities,
    clean,
    dedupe,
    entity_score,
    is_cased,
    key_of,
    strip_titles,
)

LABELS = ["political leader", "person", "country", "organization", "location"]


def span(
    text: str, sub: str, label: str, score: float = 0.8, nth: int = 0, field: str = "text"
) -> RawMention:
    """The ``nth`` occurrence of ``sub`` in ``text`` as a model span."""
    start = [m.start() for m in re.finditer(re.escape(sub), text)][nth]
    return RawMention(start, start + len(sub), sub, label, score, field)


def summary(entities):
    return [(e.text, e.label, [m.text for m in e.mentions]) for e in entities]


def check_offsets(entities, text, title=None):
    for e in entities:
        for m in e.mentions:
            src = title if m.field == "title" else text
            assert src[m.start : m.end] == m.text


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "stripped"),
    [
        ("President Joe Biden", "Joe Biden"),
        ("U.S. Secretary of State Antony Blinken", "Antony Blinken"),
        ("Chinese President Xi Jinping", "Xi Jinping"),
        ("former President Donald Trump", "Donald Trump"),
        ("Foreign Minister Wang Yi", "Wang Yi"),
        ("Mr Biden", "Biden"),
        ("Joe Biden", "Joe Biden"),
        ("Secretary of State", "Secretary of State"),  # nothing but a title: unchanged
    ],
)
def test_strip_titles(name, stripped):
    assert strip_titles(name) == stripped


def test_keys_ignore_case_punctuation_possessive_and_the():
    assert key_of("the United States") == key_of("United States") == "united states"
    assert key_of("Xi\u2019s", person=True) == key_of("XI", person=True) == "xi"
    assert key_of("President Biden", person=True) == "biden"
    assert key_of("President Biden") == "president biden"  # titles are stripped from people only


# ---------------------------------------------------------------- clean and dedupe


def test_clean_trims_possessive_punctuation_and_drops_junk():
    text = 'China\'s leader, "Reuters", the United States, U.S. and President ... .'
    fields = {"text": text}
    raw = [
        span(text, "China's", "country"),
        span(text, '"Reuters",', "organization"),
        span(text, "the United States,", "country"),
        span(text, "U.S.", "country"),
        span(text, "President", "political leader"),  # a title alone names nobody
        span(text, "...", "organization"),
    ]
    got = clean(raw, fields)
    assert [(m.text, text[m.start : m.end]) for m in got] == [
        ("China", "China"),
        ("Reuters", "Reuters"),
        ("United States", "United States"),
        ("U.S.", "U.S."),
    ]


def test_lower_case_names_survive_only_in_text_typed_without_capitals():
    post = "omg ray rice got cut by the ravens . cant believe it , going to walmart"
    news = "The Ravens released Ray Rice on Monday, officials said. China's support for Russia grew."
    assert not is_cased(post)
    assert is_cased(news)
    assert is_cased("date: 2024-11-16\nUS President Joe Biden met Xi Jinping in Lima.")
    got = clean([span(post, "ray rice", "person"), span(post, "walmart", "company"),
                 span(post, "it , going", "location")], {"text": post})
    assert [m.text for m in got] == ["ray rice", "walmart"]
    got = clean([span(news, "Ray Rice", "person"), span(news, "China's support for Russia", "country"),
                 span(news, "officials", "organization")], {"text": news})
    assert [m.text for m in got] == ["Ray Rice"]


def test_clean_trims_compound_adjective_tails_and_possessives_from_names():
    text = "Russia-linked hackers hit a St. Louis-based firm; Chicago\u2019s mayor, Chicago's police."
    raw = [
        span(text, "Russia-linked", "country"),
        span(text, "St. Louis-based", "location"),
        span(text, "Chicago\u2019s", "location"),
        span(text, "Chicago's", "location"),
    ]
    got = clean(raw, {"text": text})
    assert [m.text for m in got] == ["Russia", "St. Louis", "Chicago", "Chicago"]
    entities = build_entities(raw, LABELS, text)
    assert sorted(e.text for e in entities) == ["Chicago", "Russia", "St. Louis"]


def test_clean_trims_html_character_references_at_the_edges_of_a_name():
    text = "Kahlua &lt;3 with Shane &amp; Gwen at &quot;Madison Square Garden&quot; AT&T and R&B"
    raw = [
        span(text, "Kahlua &lt", "product"),
        span(text, "Shane &amp;", "person"),
        span(text, "&amp; Gwen", "person"),
        span(text, "quot;Madison Square Garden&quot", "location"),
        span(text, "AT&T", "organization"),
        span(text, "R&B", "organization"),
    ]
    got = clean(raw, {"text": text})
    assert [m.text for m in got] == ["Kahlua", "Shane", "Gwen", "Madison Square Garden", "AT&T", "R&B"]


def test_clean_trims_a_lower_case_word_of_time_from_the_end_of_a_name():
    text = "see Abby tonite at Wembley tonight lol, then USA Today and Ziggy Now"
    raw = [span(text, "Abby tonite", "person"), span(text, "Wembley tonight lol", "location"),
           span(text, "USA Today", "organization"), span(text, "Ziggy Now", "person")]
    got = clean(raw, {"text": text})
    assert [m.text for m in got] == ["Abby", "Wembley", "USA Today", "Ziggy Now"]


def test_dedupe_keeps_best_of_same_span_and_of_overlaps():
    a = RawMention(0, 9, "Joe Biden", "person", 0.6)
    b = RawMention(0, 9, "Joe Biden", "political leader", 0.9)  # same span from the next window
    c = RawMention(4, 9, "Biden", "person", 0.7)  # overlaps a better span
    d = RawMention(20, 25, "China", "country", 0.8)
    got = dedupe([a, c, b, d])
    assert [(m.start, m.end, m.label, m.score) for m in got] == [
        (0, 9, "political leader", 0.9),
        (20, 25, "country", 0.8),
    ]
    assert dict(got[0].probs) == {"person": 0.6, "political leader": 0.9}


# ---------------------------------------------------------------- grouping


def test_person_aliases_group_under_the_full_name():
    text = "President Joe Biden spoke. Later Joe Biden left. Biden said nothing. Mr Biden's aide agreed."
    raw = [
        span(text, "President Joe Biden", "person"),
        span(text, "Joe Biden", "person", nth=1),
        span(text, "Biden", "person", nth=2),
        span(text, "Mr Biden's", "person", 0.6),
    ]
    ents = build_entities(raw, ["person"], text)
    assert summary(ents) == [
        ("Joe Biden", "person", ["President Joe Biden", "Joe Biden", "Biden", "Mr Biden"])
    ]
    check_offsets(ents, text)


def test_family_name_first_joins_too():
    text = "Chinese President Xi Jinping met aides. Xi said the talks went well."
    raw = [span(text, "Xi Jinping", "political leader"), span(text, "Xi", "political leader", nth=1)]
    assert summary(build_entities(raw, LABELS, text)) == [
        ("Xi Jinping", "political leader", ["Xi Jinping", "Xi"])
    ]


def test_surname_joins_the_most_recent_namesake():
    text = "Hunter Biden spoke first. Then Joe Biden arrived. Biden said hello."
    raw = [
        span(text, "Hunter Biden", "person"),
        span(text, "Joe Biden", "person"),
        span(text, "Biden", "person", nth=2),
    ]
    ents = build_entities(raw, ["person"], text)
    assert sorted(summary(ents)) == [
        ("Hunter Biden", "person", ["Hunter Biden"]),
        ("Joe Biden", "person", ["Joe Biden", "Biden"]),
    ]


def test_country_short_forms_group():
    text = "The U.S. and the US Navy. The United States, America and the USA agree. China too."
    raw = [
        span(text, "U.S.", "country"),
        span(text, "US", "country"),
        span(text, "United States", "country"),
        span(text, "America", "location", 0.6),
        span(text, "USA", "country"),
        span(text, "China", "country"),
    ]
    ents = build_entities(raw, LABELS, text)
    assert summary(ents)[0] == ("United States", "country", ["U.S.", "US", "United States", "America", "USA"])
    assert summary(ents)[1] == ("China", "country", ["China"])
    check_offsets(ents, text)


def test_acronym_joins_long_form_linked_in_text():
    text = "The Department of Homeland Security (DHS) said so. DHS later added more."
    raw = [
        span(text, "Department of Homeland Security", "organization"),
        span(text, "DHS", "organization", 0.7),
        span(text, "DHS", "organization", 0.7, nth=1),
    ]
    assert summary(build_entities(raw, LABELS, text)) == [
        ("Department of Homeland Security", "organization", ["Department of Homeland Security", "DHS", "DHS"])
    ]


def test_acronym_joins_long_form_by_initials():
    text = "Officials of the U.S. Department of Homeland Security met. Later the DHS said no."
    raw = [
        span(text, "U.S. Department of Homeland Security", "organization"),
        span(text, "DHS", "organization"),
    ]
    ents = build_entities(raw, LABELS, text)
    assert summary(ents) == [
        (
            "U.S. Department of Homeland Security",
            "organization",
            ["U.S. Department of Homeland Security", "DHS"],
        )
    ]


def test_unrelated_acronym_stays_apart():
    text = "The Department of Homeland Security met the FBI."
    raw = [span(text, "Department of Homeland Security", "organization"), span(text, "FBI", "organization")]
    assert len(build_entities(raw, LABELS, text)) == 2


def test_suffix_of_longer_organisation_name_joins_it():
    text = "The Department of Homeland Security said so. Homeland Security officials agreed."
    raw = [
        span(text, "Department of Homeland Security", "organization"),
        span(text, "Homeland Security", "organization", nth=1),
    ]
    assert len(build_entities(raw, LABELS, text)) == 1


def test_hyphenated_compound_of_known_names_is_split():
    text = "Biden-Xi talks. Joe Biden and Xi Jinping met."
    raw = [
        span(text, "Biden-Xi", "person", 0.6),
        span(text, "Joe Biden", "person"),
        span(text, "Xi Jinping", "person"),
    ]
    ents = build_entities(raw, ["person"], text)
    assert sorted(summary(ents)) == [
        ("Joe Biden", "person", ["Biden", "Joe Biden"]),
        ("Xi Jinping", "person", ["Xi", "Xi Jinping"]),
    ]
    check_offsets(ents, text)


# ---------------------------------------------------------------- labels


def test_person_with_leader_title_is_political_leader_when_asked():
    text = "Prime Minister Rishi Sunak met the singer Adele. Sunak smiled."
    raw = [
        span(text, "Rishi Sunak", "person"),
        span(text, "Sunak", "person", nth=1),
        span(text, "Adele", "person"),
    ]
    assert summary(build_entities(raw, LABELS, text)) == [
        ("Rishi Sunak", "political leader", ["Rishi Sunak", "Sunak"]),
        ("Adele", "person", ["Adele"]),
    ]
    # not asked for: stays a person
    assert summary(build_entities(raw, ["person"], text))[0] == (
        "Rishi Sunak",
        "person",
        ["Rishi Sunak", "Sunak"],
    )


def test_leader_title_inside_the_span_or_in_apposition():
    text = "President Emmanuel Macron arrived. Olaf Scholz, Germany's chancellor, waited."
    raw = [span(text, "President Emmanuel Macron", "person"), span(text, "Olaf Scholz", "person")]
    assert [e.label for e in build_entities(raw, LABELS, text)] == ["political leader", "political leader"]


def test_no_leader_title_no_promotion():
    text = "Olaf Scholz, who met the president, waited."
    raw = [span(text, "Olaf Scholz", "person")]
    assert build_entities(raw, LABELS, text)[0].label == "person"


def test_label_is_voted_by_summed_scores():
    text = "Taiwan said. Taiwan agreed. Taiwan left."
    raw = [
        span(text, "Taiwan", "location", 0.9),
        span(text, "Taiwan", "country", 0.6, nth=1),
        span(text, "Taiwan", "country", 0.6, nth=2),
    ]
    (e,) = build_entities(raw, LABELS, text)
    assert (e.label, len(e.mentions)) == ("country", 3)


def test_only_requested_labels_come_back():
    text = "Reuters reported from Paris."
    raw = [span(text, "Reuters", "organization"), span(text, "Paris", "location")]
    assert summary(build_entities(raw, ["location"], text)) == [("Paris", "location", ["Paris"])]


# ---------------------------------------------------------------- scores and relevance


def test_entity_score_is_damped_noisy_or():
    assert entity_score([0.8]) == pytest.approx(0.8)
    assert entity_score([0.8, 0.6]) == pytest.approx(1 - 0.2 * 0.7)
    assert entity_score([0.8, 0.6, 0.6, 0.6]) == pytest.approx(1 - 0.2 * 0.7 * 0.7)
    assert entity_score([0.99] * 10) <= 0.999


def test_relevance_orders_by_frequency_position_and_title():
    body = "Paris is calm. " * 5 + "Reuters reported. " * 3 + "Berlin was mentioned once at the end."
    title = "Calm in Paris"
    raw = [span(body, "Paris", "location", nth=i) for i in range(5)]
    raw += [span(body, "Reuters", "organization", nth=i) for i in range(3)]
    raw += [span(body, "Berlin", "location"), span(title, "Paris", "location", field="title")]
    ents = build_entities(raw, LABELS, body, title)
    assert [e.text for e in ents] == ["Paris", "Reuters", "Berlin"]
    assert all(0.0 <= e.relevance <= 1.0 for e in ents)
    assert ents[0].relevance > ents[1].relevance > ents[2].relevance
    assert [m.field for m in ents[0].mentions] == ["title", "text", "text", "text", "text", "text"]
    check_offsets(ents, body, title)


def test_title_mention_lifts_relevance():
    body = "Berlin and Rome were discussed. " + "Filler sentence here. " * 30
    title = "Rome"
    raw = [span(body, "Berlin", "location"), span(body, "Rome", "location")]
    without = build_entities(raw, LABELS, body)
    with_title = build_entities([*raw, span(title, "Rome", "location", field="title")], LABELS, body, title)
    assert [e.text for e in without] == ["Berlin", "Rome"]
    assert [e.text for e in with_title] == ["Rome", "Berlin"]


# ---------------------------------------------------------------- rules added after reading model output


def test_phrase_like_spans_are_dropped_for_name_labels_only():
    text = "China's support for Russia grew. Russia, the problems in the (Taiwan) remain. Last week ended."
    raw = [
        span(text, "China's support for Russia", "country", 0.99),
        span(text, "Russia, the problems in the (Taiwan", "country", 0.9),
        span(text, "Last week", "date", 0.9),
    ]
    assert summary(build_entities(raw, [*LABELS, "date"], text)) == [("Last week", "date", ["Last week"])]


def test_one_word_name_typed_otherwise_joins_the_person_it_names():
    text = "Xi Jinping arrived. Xi said little."
    raw = [
        span(text, "Xi Jinping", "political leader", 0.8),
        RawMention(20, 22, "Xi", "organization", 0.7, probs=(("person", 0.3),)),
    ]
    assert summary(build_entities(raw, LABELS, text)) == [
        ("Xi Jinping", "political leader", ["Xi Jinping", "Xi"])
    ]


@pytest.mark.parametrize(
    "text, joins",
    [
        ("Deputy Secretary Kurt Campbell spoke. Later, Campbell said talks would go on.", True),
        ("Deputy Secretary Kurt Campbell spoke. \"We are ready,\" said Campbell on Friday.", True),
        # no verb of speech beside it: the model's organisation stands
        ("Deputy Secretary Kurt Campbell spoke. Later, Campbell shares rose.", False),
        # before the full name: not the surname of someone introduced yet
        ("Campbell said sales rose. Deputy Secretary Kurt Campbell spoke.", False),
    ],
)
def test_a_surname_typed_otherwise_joins_only_when_quoted_after_the_full_name(text, joins):
    full, short = "Kurt Campbell", [m.start() for m in re.finditer(r"\bCampbell\b(?! spoke)", text)][-1]
    if text.startswith("Campbell"):
        short = 0
    raw = [
        span(text, full, "political leader", 0.85),
        RawMention(short, short + 8, "Campbell", "organization", 0.8, probs=(("organization", 0.8),)),
    ]
    got = summary(build_entities(raw, LABELS, text))
    if joins:
        assert got == [("Kurt Campbell", "political leader", ["Kurt Campbell", "Campbell"])]
    else:
        assert ("Campbell", "organization", ["Campbell"]) in got


def test_country_short_form_read_as_organisation_is_still_a_country():
    text = "The DPRK said so. The DPRK agreed."
    raw = [span(text, "DPRK", "organization", 0.8), span(text, "DPRK", "organization", 0.8, nth=1)]
    assert summary(build_entities(raw, LABELS, text, threshold=0.5)) == [
        ("North Korea", "country", ["DPRK", "DPRK"])
    ]


@pytest.mark.parametrize(
    "text",
    [
        "It was the last meeting before Donald Trump takes office in January.",
        "Officials of the Donald Trump administration disagreed.",
        "Donald Trump was sworn in on Monday.",
    ],
)
def test_leader_context_after_the_name(text):
    raw = [span(text, "Donald Trump", "person")]
    assert build_entities(raw, LABELS, text)[0].label == "political leader"


def test_threshold_applies_to_the_aggregated_entity_score():
    text = "Kursk Oblast was shelled. Troops left Kursk Oblast. Lima was quiet."
    raw = [
        span(text, "Kursk Oblast", "location", 0.4),
        span(text, "Kursk Oblast", "location", 0.4, nth=1),
        span(text, "Lima", "location", 0.4),
    ]
    ents = build_entities(raw, LABELS, text, threshold=0.5)
    assert [(e.text, e.score) for e in ents] == [("Kursk Oblast", 0.52)]
    assert [e.text for e in build_entities(raw, LABELS, text, threshold=0.4)] == ["Kursk Oblast", "Lima"]


def test_canonical_name_drops_invisible_characters_and_folds_whitespace():
    text = "Joe Bi\u00adden spoke. Then Joe\nBiden left."
    raw = [span(text, "Joe Bi\u00adden", "person"), span(text, "Joe\nBiden", "person")]
    (e,) = build_entities(raw, ["person"], text)
    assert e.text in {"Joe Biden"}
    assert [m.text for m in e.mentions] == ["Joe Bi\u00adden", "Joe\nBiden"]  # mentions stay exact slices


def test_the_word_tables_hold_entries_the_code_can_match():
    # the code compares lower-cased, normalised words: an entry written otherwise would never match
    from service.tagging.entities import norm
    from service.tagging.names import WORDS

    for table in ("person_titles", "leader_titles", "stopwords", "person_words", "name_kind_words",
                  "connectors", "label_stopwords"):
        entries = getattr(WORDS, table)
        assert entries and all(e == e.lower() == e.strip() and e for e in entries), table
    assert len(set(WORDS.person_titles)) == len(WORDS.person_titles)
    assert all(norm(key) == key for key in WORDS.country_aliases)
    assert WORDS.country_aliases["u s"] == "United States"
