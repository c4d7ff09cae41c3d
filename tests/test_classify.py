"""Tests for monitor.classify: seeds kept, passing mentions dropped, the reference follows the seed folder."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from monitor.classify import ClassifierSettings, Reference, build_reference, classify, load_reference
from monitor.config import build_section
from monitor.errors import ConfigError
from monitor.gazetteer import Gazetteer, load_gazetteer

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))

# Written for this test: an Aleppo battle report that names Latakia only as the home of Russia's air base.
OTHER_FRONT_TITLE = "Government forces tighten siege of eastern Aleppo"
OTHER_FRONT_TEXT = """Syrian government forces backed by Russian jets advanced in the south of Aleppo on Sunday, taking
the Ramouseh artillery base and cutting the last road into the rebel-held east of the city, the Syrian
Observatory for Human Rights said.

Residents of eastern Aleppo said bread and fuel were running out. Rebels in Idlib province launched a
counter-attack towards Aleppo from the south-west, near Khan Tuman, while air strikes hit Saraqib and Maarat
al-Numan.

Russia's jets fly from the Hmeimim base in Latakia province. Moscow says it strikes only terrorists.
The United Nations called for a 48-hour pause to bring aid into Aleppo."""

FRONT_TITLE = "Rebels seize hills near Kinsabba in Jabal al-Akrad"
FRONT_TEXT = """Rebel groups took several hilltops overlooking Kansaba and Salma in the Jabal al-Akrad area of
northern Latakia on Friday, a monitoring group said. Fighting also reached Durin and Marj Khokha."""


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer(ROOT / "front" / "gazetteer.csv")


@pytest.fixture(scope="module")
def reference() -> Reference:
    return load_reference(ROOT / "seeds")


def split_seed(path: Path) -> tuple[str, str]:
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return title, body


@pytest.mark.parametrize("seed", SEEDS, ids=[path.name for path in SEEDS])
def test_every_seed_is_kept_even_when_left_out_of_the_reference(seed: Path, gazetteer: Gazetteer) -> None:
    others = [path for path in SEEDS if path != seed]
    reference = build_reference([p.name for p in others], [p.read_text(encoding="utf-8") for p in others])
    verdict = classify(*split_seed(seed), reference, gazetteer)
    assert verdict.is_relevant, verdict.reason
    assert verdict.nearest_seed in {path.name for path in others}


def test_a_seed_is_nearest_to_itself(reference: Reference, gazetteer: Gazetteer) -> None:
    verdict = classify(*split_seed(SEEDS[2]), reference, gazetteer)
    assert verdict.nearest_seed == SEEDS[2].name
    assert verdict.seed_similarity > 0.95
    assert "Kinsabba" in verdict.places and "Salma" in verdict.places


def test_other_front_with_latakia_in_passing_is_dropped(reference: Reference, gazetteer: Gazetteer) -> None:
    verdict = classify(OTHER_FRONT_TITLE, OTHER_FRONT_TEXT, reference, gazetteer)
    assert not verdict.is_relevant, verdict.reason
    assert "Hmeimim air base" in verdict.places and "Aleppo" in verdict.places
    assert verdict.reason.startswith("dropped")


def test_front_article_is_kept_with_a_readable_reason(reference: Reference, gazetteer: Gazetteer) -> None:
    verdict = classify(FRONT_TITLE, FRONT_TEXT, reference, gazetteer)
    assert verdict.is_relevant
    assert 0.0 <= verdict.score <= 1.0
    assert verdict.places[:3] == ("Kinsabba", "Jabal al-Akrad", "Salma")
    assert verdict.reason.startswith("kept") and "Kinsabba" in verdict.reason and "\n" not in verdict.reason


def test_village_in_the_title_outweighs_the_same_village_in_passing(reference: Reference, gazetteer: Gazetteer) -> None:
    padding = " ".join(["The talks in Geneva continued without result."] * 40)
    in_title = classify("Army retakes Kinsabba", padding, reference, gazetteer)
    in_passing = classify("Talks continue in Geneva", padding + " Kinsabba was shelled.", reference, gazetteer)
    assert in_title.score > in_passing.score


def test_village_counts_more_than_governorate(reference: Reference, gazetteer: Gazetteer) -> None:
    village = classify("Clashes reported", "Clashes were reported near Kinsabba on Monday.", reference, gazetteer)
    province = classify(
        "Clashes reported", "Clashes were reported in Latakia province on Monday.", reference, gazetteer
    )
    assert village.score > province.score


def test_threshold_setting_decides_keep(reference: Reference, gazetteer: Gazetteer) -> None:
    strict = dataclasses.replace(ClassifierSettings(), threshold=0.999)
    lenient = dataclasses.replace(ClassifierSettings(), threshold=0.01)
    assert not classify(FRONT_TITLE, FRONT_TEXT, reference, gazetteer, strict).is_relevant
    assert classify(OTHER_FRONT_TITLE, OTHER_FRONT_TEXT, reference, gazetteer, lenient).is_relevant


def test_settings_are_checked_when_read_from_config() -> None:
    problems: list[str] = []
    raw = {"threshold": 1.5, "window_words": 0, "repeat_decay": 0.0, "village_weight": 4}
    assert build_section(ClassifierSettings, raw, "classifier", problems) is None
    assert problems == [
        "classifier.threshold: must be in (0, 1]",
        "classifier.window_words: must be greater than 0",
        "classifier.repeat_decay: must be in (0, 1]",
    ]
    problems.clear()
    settings = build_section(ClassifierSettings, {"threshold": 0.6, "village_weight": 4}, "classifier", problems)
    assert problems == [] and settings == ClassifierSettings(threshold=0.6, village_weight=4.0)


def test_adding_a_seed_file_changes_the_reference(tmp_path: Path, gazetteer: Gazetteer) -> None:
    seed_dir = tmp_path / "seeds"
    seed_dir.mkdir()
    for path in SEEDS[:2]:
        shutil.copy(path, seed_dir / path.name)
    before = load_reference(seed_dir)
    (seed_dir / "900_aleppo.txt").write_text(f"{OTHER_FRONT_TITLE}\n{OTHER_FRONT_TEXT}", encoding="utf-8")
    (seed_dir / "notes.md").write_text("not a seed", encoding="utf-8")
    after = load_reference(seed_dir)
    assert after.names == (*before.names, "900_aleppo.txt")
    assert after.idf != before.idf
    assert classify(OTHER_FRONT_TITLE, OTHER_FRONT_TEXT, after, gazetteer).nearest_seed == "900_aleppo.txt"
    assert classify(OTHER_FRONT_TITLE, OTHER_FRONT_TEXT, before, gazetteer).nearest_seed != "900_aleppo.txt"


def test_empty_seed_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no seed articles"):
        load_reference(tmp_path)
