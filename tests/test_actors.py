"""Tests for monitor.actors: sides of phrases, outlet leanings, and every problem of a bad lexicon reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.actors import ActorLexicon, load_actors
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
LEXICON = ROOT / "front" / "actors.toml"


@pytest.fixture(scope="module")
def actors() -> ActorLexicon:
    return load_actors(LEXICON)


def sides(actors: ActorLexicon, text: str, outlet: str | None = None) -> list[tuple[str, str]]:
    return [(mention.surface, mention.side) for mention in actors.find_actors(text, outlet)]


def test_default_sides_are_declared(actors: ActorLexicon) -> None:
    assert actors.sides == ("government", "rebels", "isis", "kurdish", "turkey", "other", "unknown")


@pytest.mark.parametrize(
    ("phrase", "side"),
    [
        ("the Syrian army", "government"),
        ("Free Syrian Army", "rebels"),
        ("forces loyal to President Assad", "government"),
        ("Hezbollah fighters", "government"),
        ("al-Nusra Front", "rebels"),
        ("Jaish al Fateh", "rebels"),
        ("Islamic State group", "isis"),
        ("Daesh", "isis"),
        ("the Syrian Democratic Forces", "kurdish"),
        ("Turkish-backed rebels", "turkey"),
        ("Israeli forces", "other"),
        ("the regime's troops", "government"),
        ("regimes forces", "government"),  # possessive with its apostrophe stripped, as in some archives
        ("a bakery", "unknown"),
    ],
)
def test_side_of_phrase(actors: ActorLexicon, phrase: str, side: str) -> None:
    assert actors.side_of(phrase) == side


def test_acronyms_match_only_in_capitals(actors: ActorLexicon) -> None:
    assert sides(actors, "IS fighters said the town is lost") == [("IS", "isis")]


def test_longest_phrase_wins(actors: ActorLexicon) -> None:
    assert sides(actors, "Free Syrian Army and Syrian army") == [
        ("Free Syrian Army", "rebels"),
        ("Syrian army", "government"),
    ]


def test_loaded_words_follow_the_outlet_leaning(actors: ActorLexicon) -> None:
    text = "terrorists attacked the checkpoint"
    assert actors.leaning_of("SANA") == "pro-government"
    assert sides(actors, text, "SANA") == [("terrorists", "rebels")]
    assert sides(actors, text, "manar") == [("terrorists", "rebels")]
    assert sides(actors, text, "Reuters") == []
    assert sides(actors, "regime militias shelled the town", "Zaman al-Wasl") == [("regime militias", "government")]


def test_loaded_word_after_a_named_actor_takes_its_side(actors: ActorLexicon) -> None:
    assert sides(actors, "Nusra terrorists retreated", "SANA") == [("Nusra terrorists", "rebels")]
    assert sides(actors, "Kurdish-led terrorists", "SANA")[0][1] == "kurdish"


def test_unnamed_gainer_comes_from_the_leaning(actors: ActorLexicon) -> None:
    assert actors.unnamed_gainer("SANA") == "government"
    assert actors.unnamed_gainer("Reuters") is None
    assert actors.unnamed_gainer(None) is None


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "actors.toml"
    path.write_text(text, encoding="utf-8")
    return path


def bad_variant(old: str, new: str) -> str:
    original = LEXICON.read_text(encoding="utf-8")
    assert old in original
    return original.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[phrases]\n", '[phrases]\nwizards = ["mages"]\n', "phrases.wizards: not a side declared in [sides]"),
        (
            'isis = [\n    "Islamic State"',
            'isis = [\n    "Syrian army"',
            "'Syrian army' is already a phrase of government",
        ),
        ('unnamed_gainer = "government"', 'unnamed_gainer = "army"', "unnamed_gainer: 'army' is not a side"),
        ('fell = ["fell"', 'fell = ["fell("', "claim_words.fell: 'fell(' is not a valid pattern"),
        ("hedges = [", "hedgez = [", "claim_words.hedges: must be a non-empty list"),
        ("[sides]\n", 'colour = "red"\n[sides]\n', "colour: unknown key"),
    ],
)
def test_bad_lexicon_names_the_problem(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_actors(write(tmp_path, bad_variant(old, new)))
    assert any(message in problem for problem in raised.value.problems), raised.value.problems
    assert raised.value.context["path"].endswith("actors.toml")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = bad_variant("[phrases]\n", '[phrases]\nwizards = ["mages"]\n').replace('fell = ["fell"', 'fell = ["fell("')
    with pytest.raises(ConfigError) as raised:
        load_actors(write(tmp_path, text))
    assert len(raised.value.problems) >= 2


def test_unreadable_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read actor lexicon"):
        load_actors(write(tmp_path, "[sides\n"))
    with pytest.raises(ConfigError, match="cannot read actor lexicon"):
        load_actors(tmp_path / "missing.toml")
