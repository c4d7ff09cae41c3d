"""Tests for monitor.claims and monitor.store.claims: seeds, data-driven cases, negatives, storage."""

from __future__ import annotations

import csv
import tomllib
from datetime import date
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.actors import ActorLexicon, load_actors
from monitor.claim_names import name_runs
from monitor.claim_places import list_items
from monitor.claim_sentences import split_sentences
from monitor.claims import Claim, extract_claims
from monitor.errors import StoreError
from monitor.gazetteer import Gazetteer, load_gazetteer
from monitor.store.claims import claims_for_article, create_claims_table, save_claims

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "claims"
CASES = tomllib.loads((DATA / "cases.toml").read_text(encoding="utf-8"))["case"]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer(ROOT / "front" / "gazetteer.csv")


@pytest.fixture(scope="module")
def actors() -> ActorLexicon:
    return load_actors(ROOT / "front" / "actors.toml")


def seed_claims(name_prefix: str, gazetteer: Gazetteer, actors: ActorLexicon) -> list[Claim]:
    lines = (ROOT / "seeds" / "published.csv").read_text(encoding="utf-8").splitlines()
    rows = {row["file"]: row for row in csv.DictReader(lines)}
    path = next((ROOT / "seeds").glob(f"{name_prefix}_*.txt"))
    row = rows[path.name]
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return extract_claims(title, body, date.fromisoformat(row["published"]), gazetteer, actors, row["outlet"])


def summary(claims: list[Claim]) -> set[tuple[str | None, str, str]]:
    return {(claim.town, claim.gained_by, claim.status) for claim in claims}


def test_seed_000_kinsabba_retaken_by_government_with_history_as_background(gazetteer, actors) -> None:
    claims = seed_claims("000", gazetteer, actors)
    assert summary(claims) == {
        ("Kinsabba", "government", "new"),
        ("Kinsabba", "government", "background"),
        ("Kinsabba", "rebels", "background"),
    }
    new = next(c for c in claims if c.status == "new")
    assert new.event_date == "2016-07-16"
    assert "Syrian Observatory for Human Rights" in (new.claimed_by or "")
    dates = {c.gained_by: c.event_date for c in claims if c.status == "background"}
    assert dates == {"government": "2016-02-01", "rebels": "2016-07-01"}
    july = next(c for c in claims if c.gained_by == "rebels")
    assert july.place == "Kinsabba"  # "the town" read as the town the article is about
    assert any("the place named last" in reason for reason in july.reasons)


def test_seed_002_kansaba_and_each_listed_village_taken_by_rebels(gazetteer, actors) -> None:
    claims = seed_claims("002", gazetteer, actors)
    new = {c.place for c in claims if c.status == "new" and c.gained_by == "rebels"}
    listed = {"Ayn al-Qantra", "Tellat al-Haddadeh", "Wadi Basour", "Tellat a-Malek", "Tellat Rasha"}
    assert {"Kansaba", "al-Qermil", "al-Hakoura", "Mzeghla"} | listed <= new
    assert next(c for c in claims if c.place == "Kansaba" and c.status == "new").town == "Kinsabba"
    background = [c for c in claims if c.status == "background"]
    assert [(c.place, c.gained_by, c.event_date) for c in background] == [("Kansaba", "government", "2016-02-01")]
    assert "had captured Kansaba in February" in background[0].quote


def test_seed_004_atshan_and_tel_skak_taken_by_government(gazetteer, actors) -> None:
    claims = seed_claims("004", gazetteer, actors)
    assert {(c.place, c.gained_by, c.lost_by, c.status) for c in claims} == {
        ("Atshan", "government", "rebels", "new"),
        ("Tel Skak", "government", "rebels", "new"),
    }
    assert all(c.event_date == "2015-10-10" for c in claims)
    assert all(c.claimed_by and "Syrian Observatory" in c.claimed_by for c in claims)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case_file(case: dict, gazetteer, actors) -> None:
    claims = extract_claims(
        "", case["text"], date.fromisoformat(case["published"]), gazetteer, actors, case.get("outlet")
    )
    got = [(c.place, c.gained_by, c.status) for c in claims]
    assert got == [tuple(expected[:3]) for expected in case["expect"]]
    for claim, expected in zip(claims, case["expect"], strict=True):
        if len(expected) > 3:
            assert claim.event_date == expected[3]


def test_reasons_name_the_words_behind_every_field(gazetteer, actors) -> None:
    text = "Regime forces on Saturday seized the village of Atshan from the Fatah Army, according to the SOHR."
    (claim,) = extract_claims("", text, date(2015, 10, 10), gazetteer, actors)
    joined = " | ".join(claim.reasons)
    for expected in (
        "claim: active 'seized'",
        "place: 'Atshan' -> Atshan",
        "gained_by: 'Regime forces'",
        "lost_by: 'Fatah Army' -> rebels",
        "status: new",
        "date: 'on Saturday' -> 2015-10-10",
    ):
        assert expected in joined
    assert claim.claimed_by == "the SOHR"
    assert claim.quote == text


def test_unresolved_place_keeps_its_name_and_says_why(gazetteer, actors) -> None:
    text = "Rebels captured the village of Qarqour Saghir on Friday."
    (claim,) = extract_claims("", text, date(2016, 7, 16), gazetteer, actors)
    assert (claim.place, claim.town_id, claim.town) == ("Qarqour Saghir", None, None)
    assert claim.unresolved_reason == "not in gazetteer"


def test_no_published_date_leaves_event_date_empty(gazetteer, actors) -> None:
    (claim,) = extract_claims("", "Rebels seized Kinsabba on Saturday.", None, gazetteer, actors)
    assert (claim.status, claim.event_date) == ("new", None)


def test_headline_claim_needs_a_known_place(gazetteer, actors) -> None:
    claims = extract_claims(
        "Rebels Capture Kinsabba As Monitor Sylvia Reports", "", date(2016, 7, 16), gazetteer, actors
    )
    assert [c.town for c in claims] == ["Kinsabba"]


def test_split_sentences_keeps_abbreviations_and_offsets() -> None:
    text = "Gen. Suleiman spoke on Sept. 30. Rebels seized Salma.\nA new line"
    sentences = split_sentences(text)
    assert [s for _, s in sentences] == ["Gen. Suleiman spoke on Sept. 30.", "Rebels seized Salma.", "A new line"]
    assert all(text[offset : offset + len(s)] == s for offset, s in sentences)


def test_list_items_and_name_runs_split_a_place_list() -> None:
    items = [item for _, item, _ in list_items("Ayn al-Qantra, Tellat a-Malek and Mzeghla villages")]
    assert items == ["Ayn al-Qantra", "Tellat a-Malek", "Mzeghla villages"]
    assert [name for _, name in name_runs("the strategic town of Jisr al Shughour and the Mallah Farms")] == [
        "Jisr al Shughour",
        "Mallah Farms",
    ]


def example_claim(place: str = "Kansaba", status: str = "new") -> Claim:
    return Claim(
        place,
        "gn167863",
        "Kinsabba",
        None,
        "rebels",
        "government",
        status,
        "2016-07-01",
        "Nusra Front",
        "Rebels seized Kansaba.",
        ("claim: active 'seized'", "place: 'Kansaba' -> Kinsabba"),
    )


def test_save_claims_replaces_the_claims_of_an_article(db: sqlite_utils.Database) -> None:
    db["articles"].insert_all([{"id": 1, "title": "one"}, {"id": 2, "title": "two"}])
    save_claims(db, 1, [example_claim(), example_claim("Salma", "background")])
    save_claims(db, 2, [example_claim("Rabia")])
    save_claims(db, 1, [example_claim("Kessab")])
    rows = claims_for_article(db, 1)
    assert [row["place"] for row in rows] == ["Kessab"]
    assert rows[0]["reasons"] == ["claim: active 'seized'", "place: 'Kansaba' -> Kinsabba"]
    assert rows[0]["created_at"].endswith("Z")
    assert [row["place"] for row in claims_for_article(db, 2)] == ["Rabia"]
    save_claims(db, 2, [])
    assert claims_for_article(db, 2) == []


def test_claims_table_works_on_a_plain_database(tmp_path: Path) -> None:
    plain = sqlite_utils.Database(tmp_path / "plain.db")
    create_claims_table(plain)
    save_claims(plain, 7, [example_claim()])
    (row,) = claims_for_article(plain, 7)
    assert {k: row[k] for k in ("place", "town_id", "gained_by", "lost_by", "status", "event_date", "claimed_by")} == {
        "place": "Kansaba",
        "town_id": "gn167863",
        "gained_by": "rebels",
        "lost_by": "government",
        "status": "new",
        "event_date": "2016-07-01",
        "claimed_by": "Nusra Front",
    }


def test_save_claims_without_the_table_raises_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot save claims"):
        save_claims(sqlite_utils.Database(tmp_path / "empty.db"), 1, [example_claim()])


SIDES = {"government", "rebels", "isis", "kurdish", "turkey", "other", "unknown"}
words_of_war = st.sampled_from(
    [
        "Rebels",
        "the army",
        "seized",
        "captured",
        "the town of",
        "Kinsabba",
        "Salma",
        "and",
        "on Friday",
        "fell to",
        "IS",
        "were liberated",
        "from",
        "the village",
        ".",
        ",",
        "\n",
        "in February",
        "denied",
        "failed to",
        "points 5",
    ]
)


@given(text=st.one_of(st.text(max_size=300), st.lists(words_of_war, max_size=40).map(" ".join)))
@settings(max_examples=150, deadline=None)
def test_extract_claims_never_raises_and_keeps_its_fields_valid(text: str, gazetteer, actors) -> None:
    for claim in extract_claims("", text, date(2016, 7, 16), gazetteer, actors):
        assert claim.gained_by in SIDES and claim.lost_by in SIDES
        assert claim.status in {"new", "background", "disputed"}
        assert claim.event_date is None or claim.event_date <= "2016-07-16"
        assert claim.place and claim.quote
