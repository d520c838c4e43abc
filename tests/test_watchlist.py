"""The default watch-list on off-topic news: stories outside every watch-list beat (a football report,
a recipe, a council planning decision, a phone launch) get none of the beats that would be plainly
wrong, with the whole default list (IPTC topics and watch-list) asked for at the default threshold.

Written for issue 18: with each label standardised against the other labels asked for, lengthening the
watch-list shifted every score and a football report came back with "labour" and "war in Ukraine".
"""

from __future__ import annotations

import pytest

from service.tagging.labels import default_labels
from service.tagging.text import sentence_spans
from service.tagging.topics import TopicScorer

# title, text, and the watch-list beats an editor could accept on it (any other one is wrong)
ARTICLES: dict[str, tuple[str, str, set[str]]] = {
    "football": (
        "Late header sends Rovers top of the league",
        "Rovers came from behind to beat City 2-1 at a packed Riverside Stadium on Saturday.\n\n"
        "City led at half-time through a low strike from their captain after a quiet opening half hour.\n\n"
        "The substitute striker equalised with a volley on 70 minutes, and the centre-back headed the "
        "winner from a corner in stoppage time.\n\n"
        "The manager said his players had shown great character and that the fans had carried them.\n\n"
        "Rovers travel to Northfield next weekend, two points clear at the top of the table.",
        set(),
    ),
    "recipe": (
        "A one-pan lemon chicken for busy weeknights",
        "This lemon chicken takes thirty minutes and uses a single roasting tin.\n\n"
        "Rub the thighs with garlic, thyme, salt and a little olive oil, then lay them skin side up "
        "over sliced potatoes.\n\n"
        "Squeeze over two lemons, tuck the halves among the potatoes and roast at 200C until golden.\n\n"
        "Serve with a green salad and crusty bread; leftovers keep for two days in the fridge.\n\n"
        "The chef behind the dish says the secret is letting the chicken rest before carving.",
        set(),
    ),
    "council planning": (
        "Council approves new supermarket on old depot site",
        "Councillors have approved plans for a supermarket on the site of the former bus depot in "
        "Millbrook.\n\n"
        "The planning committee voted six to three in favour after a two-hour meeting on Tuesday "
        "evening.\n\n"
        "Residents had objected to the extra traffic on Station Road and the loss of trees along the "
        "boundary.\n\n"
        "The developer agreed to plant thirty new trees and to widen the junction before the store "
        "opens.\n\n"
        "Work is expected to start in the spring, and the store should open by the end of next year.",
        # a local-government decision: none of the national beats
        set(),
    ),
    "phone launch": (
        "Maker unveils slimmer phone with a bigger battery",
        "The company unveiled its new flagship phone at an event in California on Wednesday.\n\n"
        "The handset is thinner than last year's model, has a brighter screen and a battery that the "
        "company says lasts two days.\n\n"
        "Its camera has a larger sensor and a new zoom lens for low-light photography.\n\n"
        "The phone goes on sale next month in three colours, at the same price as its predecessor.\n\n"
        "Reviewers who tried it praised the design but said the charger is sold separately.",
        # a gadget story: an editor might accept the phone maker's AI features being tagged, no more
        {"artificial intelligence"},
    ),
}

WATCH_LIST = {t.label.name for t in default_labels().topics if t.group == "newsroom watch-list"}


@pytest.fixture(scope="module")
def scorer() -> TopicScorer:
    return TopicScorer(threads=1)


def test_the_watch_list_is_a_beat_list_of_forty_or_more() -> None:
    labels = default_labels()
    watch = [t for t in labels.topics if t.group == "newsroom watch-list"]
    assert len(watch) >= 40
    assert all(t.label.description for t in watch)
    assert len({t.id for t in labels.topics}) == len(labels.topics)
    assert len({t.label.name.lower() for t in labels.topics}) == len(labels.topics)
    # the frozen comparison set: today every default topic; one added later is not in it
    assert labels.reference_topic_labels == labels.topic_labels


# measured 2026-12-01 with labels 2026.12.1 (python -m pytest tests/test_watchlist.py -m encoder):
# strict, so the day a label or the calibration fixes one, this file says so
KNOWN_WRONG = {
    "council planning": '"trade unions and industrial action" 0.53 ("Work is expected to start")',
    "phone launch": '"inflation" 0.53 ("on sale ... at the same price")',
}


@pytest.mark.encoder
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[name]))
        if name in KNOWN_WRONG
        else name
        for name in ARTICLES
    ],
)
def test_off_topic_stories_get_no_wrong_watch_list_beat(scorer: TopicScorer, name: str) -> None:
    title, text, acceptable = ARTICLES[name]
    got = scorer.score(text, sentence_spans(text), default_labels().topic_labels, title=title)
    assert got, "every story gets at least one topic of the default list (its IPTC subject)"
    wrong = {t.label: t.score for t in got if t.label in WATCH_LIST and t.label not in acceptable}
    assert wrong == {}


@pytest.mark.encoder
def test_a_label_z_score_does_not_depend_on_the_labels_beside_it(scorer: TopicScorer) -> None:
    """Each label is standardised against the frozen reference, so asking for it alone, with the
    IPTC topics or with the whole default list gives it the same z-score (and calibrated score)."""
    title, text, _ = ARTICLES["football"]
    emb = scorer.encoder.encode([title] + [text[s:e] for s, e in sentence_spans(text)])
    topics = default_labels().topic_labels
    iptc = [t.label for t in default_labels().topics if t.group == "IPTC Media Topics"]
    names = [lab.name for lab in topics]
    everything = scorer.label_z(emb, topics)
    with_iptc = scorer.label_z(emb, [*iptc, topics[names.index("war in Ukraine")]])
    for name in ("sport", "war in Ukraine", "trade unions and industrial action"):
        alone = scorer.label_z(emb, [topics[names.index(name)]])[0]
        assert alone == pytest.approx(everything[names.index(name)], abs=1e-5)
    assert with_iptc[-1] == pytest.approx(everything[names.index("war in Ukraine")], abs=1e-5)
    # and the story's subject stands out: sport is the top label of the whole list
    assert names[int(everything.argmax())] == "sport"
