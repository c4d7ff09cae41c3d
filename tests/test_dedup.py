"""Copies: repeated blocks, exact/URL/near/altered copies, shared wire text, and the index after a restart."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import dedup
from monitor.normal_text import WORD
from monitor.store import open_db
from monitor.store.dedup import MAX_FINGERPRINT_HOLDERS, load_index, record_article, shared_text_of

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data" / "dedup"


def seed(prefix: str) -> tuple[str, str]:
    """Return (title, body) of the seed file whose name starts with `prefix`."""
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return title, body.strip()


def store(db: sqlite_utils.Database, body: str, outlet: str, url: str | None = None) -> int:
    """Insert an article row as the pipeline would before dedup; return its id."""
    return int(db["articles"].insert({"outlet": outlet, "text": body, "url": url, "canonical_url": url}).last_pk)


def row(db: sqlite_utils.Database, article_id: int) -> dict:
    return db["articles"].get(article_id)


def test_seed_002_text_is_stored_once(db: sqlite_utils.Database) -> None:
    _, body = seed("002")
    article_id = store(db, body, "Zaman al-Wasl")
    outcome = record_article(db, load_index(db), article_id, body)
    stored = row(db, article_id)
    paragraphs = [p for p in stored["text"].split("\n") if p.strip()]
    assert outcome.is_text_repeated and stored["is_text_repeated"] == 1
    assert len(paragraphs) == len(set(paragraphs))
    assert stored["text"].count("Rebels seized the strategic town of Kansaba") == 1
    assert body.count("Rebels seized the strategic town of Kansaba") == 2
    assert len(stored["text"]) < 0.6 * len(body)


def test_collapse_repeats_keeps_a_page_without_repeats() -> None:
    _, body = seed("000")
    result = dedup.collapse_repeats(body)
    assert result == dedup.RepeatResult(body, False, 0, 0)


def test_a_single_repeated_caption_is_dropped_but_not_called_a_repeated_page() -> None:
    _, body = seed("001")
    result = dedup.collapse_repeats(body)
    assert result.removed_blocks == 1
    assert not result.is_repeated


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="abcdefgh ", min_size=3, max_size=40), min_size=1, max_size=8, unique=True))
def test_a_doubled_body_collapses_to_the_body(lines: list[str]) -> None:
    lines = [line for line in dict.fromkeys(" ".join(x.split()) for x in lines) if line]
    body = "\n".join(lines)
    result = dedup.collapse_repeats(body + "\n" + body)
    assert result.text == body
    assert result.is_repeated == bool(body)
    assert dedup.collapse_repeats(result.text).text == result.text


def test_seeds_002_and_003_share_wire_text_both_ways(db: sqlite_utils.Database) -> None:
    index = load_index(db)
    ids = {}
    for prefix, outlet in (("002", "Zaman al-Wasl"), ("003", "unnamed")):
        _, body = seed(prefix)
        ids[prefix] = store(db, body, outlet)
        record_article(db, index, ids[prefix], body)
    forward = db["shared_passages"].get((ids["003"], ids["002"]))
    backward = db["shared_passages"].get((ids["002"], ids["003"]))
    assert forward["shared_words"] >= dedup.MIN_PASSAGE_WORDS
    assert backward["shared_words"] >= dedup.MIN_PASSAGE_WORDS
    assert forward["is_same_cluster"] == 0
    assert any("kansaba" in passage for passage in json.loads(forward["passages"]))
    assert 0 < forward["shared_ratio"] < 0.5
    assert row(db, ids["003"])["cluster_id"] == ids["003"]  # sharing paragraphs is not being a copy
    assert [s.other_id for s in shared_text_of(db, ids["002"])] == [ids["003"]]


NEWSLETTER_FOOTER = (
    "Sign up for our daily newsletter to receive the latest news and analysis from Syria and the wider region "
    "straight to your inbox every morning, and follow us on Facebook, Twitter and Instagram for live updates"
)


def own_story(rng: random.Random, vocabulary: list[str], words: int = 150) -> str:
    """Return text no other article shares: random words of the seeds, in paragraphs of 30."""
    picked = [rng.choice(vocabulary) for _ in range(words)]
    return "\n".join(" ".join(picked[i : i + 30]) for i in range(0, words, 30))


def test_boilerplate_held_by_many_articles_links_nothing_but_a_shared_wire_paragraph_does(
    db: sqlite_utils.Database,
) -> None:
    index = load_index(db)
    vocabulary = sorted(set(dedup.text_words(seed("000")[1] + "\n" + seed("004")[1])))
    (wire,) = [p for p in seed("002")[1].split("\n") if p.startswith("The al Qaeda-affiliated Nusra Front")][:1]
    rng = random.Random(4)

    def record(*paragraphs: str) -> int:
        body = "\n".join([own_story(rng, vocabulary), *paragraphs, NEWSLETTER_FOOTER])
        article_id = store(db, body, "outlet")
        assert record_article(db, index, article_id, body).kind == "original"
        return article_id

    for _ in range(MAX_FINGERPRINT_HOLDERS + 1):  # the outlet's footer becomes boilerplate
        record()
    first, second, footer_only = record(wire), record(wire), record()
    assert [s.other_id for s in shared_text_of(db, second)] == [first]
    assert shared_text_of(db, footer_only) == []
    passages = json.loads(db["shared_passages"].get((second, first))["passages"])
    assert any("kansaba" in p for p in passages)
    assert not any("newsletter" in p for p in passages)
    # The whole wire paragraph, and of the footer after it at most a stub too short to be a passage of its own.
    wire_words = len(dedup.text_words(wire))
    assert wire_words <= sum(len(p.split()) for p in passages) < wire_words + dedup.MIN_PASSAGE_WORDS
    # Counted for every holder, stored for no more than the limit.
    (most_held,) = db.execute("SELECT MAX(holders) FROM fingerprint_counts").fetchone()
    (most_rows,) = db.execute(
        "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM passage_fingerprints GROUP BY fingerprint)"
    ).fetchone()
    assert most_held == MAX_FINGERPRINT_HOLDERS + 4 and most_rows == MAX_FINGERPRINT_HOLDERS


def test_a_rerun_does_not_count_an_article_twice(db: sqlite_utils.Database) -> None:
    index = load_index(db)
    _, body = seed("003")
    article_id = store(db, body, "unnamed")
    record_article(db, index, article_id, body)
    before = db.execute("SELECT SUM(holders), COUNT(*) FROM fingerprint_counts").fetchone()
    record_article(db, index, article_id, body)
    assert db.execute("SELECT SUM(holders), COUNT(*) FROM fingerprint_counts").fetchone() == before
    assert before[0] == before[1] == db["passage_fingerprints"].count > 0


def test_exact_copy_is_linked_and_its_text_not_stored_twice(db: sqlite_utils.Database) -> None:
    index = load_index(db)
    _, body = seed("000")
    original = store(db, body, "Al Jazeera")
    record_article(db, index, original, body)
    copy = store(db, "  " + body.replace("\n", "\n\n") + "\n", "Mirror site")
    outcome = record_article(db, index, copy, row(db, copy)["text"])
    stored = row(db, copy)
    assert (outcome.kind, outcome.duplicate_of, outcome.is_text_stored) == ("exact", original, False)
    assert stored["text"] is None
    assert (stored["duplicate_kind"], stored["duplicate_of"], stored["cluster_id"]) == ("exact", original, original)
    assert stored["outlet"] == "Mirror site"
    assert row(db, original)["text"] == body


def test_same_canonical_url_is_linked_and_a_changed_text_kept(db: sqlite_utils.Database) -> None:
    index = load_index(db)
    url = "https://example.org/news/latakia"
    _, body = seed("004")
    first = store(db, body, "TRT World", url)
    record_article(db, index, first, body, canonical_url=url)
    updated = body + "\nUpdate: the army said it had also entered the village of Kinsibba."
    second = store(db, updated, "TRT World", url)
    outcome = record_article(db, index, second, updated, canonical_url=url)
    assert (outcome.kind, outcome.cluster_id) == ("url", first)
    assert row(db, second)["text"] == dedup.collapse_repeats(updated).text  # "Photo by: AFP" was printed twice
    assert row(db, second)["duplicate_kind"] == "url"


def test_near_copy_with_new_headline_and_boilerplate_is_folded(db: sqlite_utils.Database) -> None:
    index = load_index(db)
    _, body = seed("000")
    original = store(db, body, "Al Jazeera")
    record_article(db, index, original, body)
    paragraphs = body.split("\n\n")
    edited = "\n\n".join(
        ["Regime troops push north in Latakia (Wire report)", *paragraphs[1:-1], "Follow us on Twitter. (c) 2016"]
    )
    copy = store(db, edited, "Aggregator")
    outcome = record_article(db, index, copy, edited)
    stored = row(db, copy)
    assert outcome.kind == "near"
    assert (stored["duplicate_of"], stored["cluster_id"], stored["duplicate_kind"]) == (original, original, "near")
    assert dedup.NEAR_THRESHOLD <= stored["duplicate_similarity"] < 1
    assert stored["altered_tokens"] is None
    assert stored["text"] == edited
    assert row(db, original)["cluster_id"] == original
    cluster = list(db.query("SELECT article_id, kind FROM cluster_copies WHERE cluster_id = ?", [original]))
    assert cluster == [{"article_id": original, "kind": "original"}, {"article_id": copy, "kind": "near"}]


def test_altered_copy_is_folded_and_flagged_with_the_changed_facts(db: sqlite_utils.Database) -> None:
    index = load_index(db)
    original_text = (DATA / "llm262_original.txt").read_text(encoding="utf-8")
    altered_text = (DATA / "llm262_altered.txt").read_text(encoding="utf-8")
    original = store(db, original_text, "Al Arabiya")
    record_article(db, index, original, original_text)
    copy = store(db, altered_text, "unknown")
    outcome = record_article(db, index, copy, altered_text)
    stored = row(db, copy)
    changes = json.loads(stored["altered_tokens"])
    pairs = {(t["kind"], t["original"], t["copy"]) for t in changes["tokens"]}
    assert (stored["duplicate_kind"], stored["cluster_id"], changes["compared_with"]) == ("altered", original, original)
    assert ("number", "August 21", "December 15") in pairs
    assert ("side", "the Syrian government", "ISIS") in pairs
    assert outcome.altered and stored["text"] == altered_text


def test_altered_tokens_ignores_synonyms_of_one_side_and_spelling_variants() -> None:
    text = "Syrian government forces shelled Raqa on Sunday, killing 20 civilians, the monitor said."
    assert dedup.altered_tokens(text, text.replace("government", "regime").replace("Raqa", "Raqqa")) == []
    changed = dedup.altered_tokens(text, text.replace("20", "35").replace("government forces", "rebels"))
    assert {(t.kind, t.original, t.copy) for t in changed} == {
        ("number", "20", "35"),
        ("side", "government forces", "rebels"),
    }


def test_altered_tokens_reads_sides_from_a_given_lexicon() -> None:
    text = "The town was taken by Hezbollah on Friday after heavy fighting near the border."
    swapped = text.replace("Hezbollah", "Ahrar al-Sham")
    sides = {"Hezbollah": "government", "Ahrar al-Sham": "rebels", "NDF": "government"}
    assert [t.kind for t in dedup.altered_tokens(text, swapped, sides)] == ["side"]
    # An acronym is matched in capitals only, so the verb "is" names no side.
    assert dedup.altered_tokens("the town is held by the NDF now", "the town was held by the NDF now", sides) == []


def test_unrelated_articles_are_not_linked(db: sqlite_utils.Database) -> None:
    index = load_index(db)
    outcomes = []
    for prefix in ("000", "004"):
        _, body = seed(prefix)
        article_id = store(db, body, prefix)
        outcomes.append(record_article(db, index, article_id, body))
    assert [o.kind for o in outcomes] == ["original", "original"]
    assert [o.cluster_id for o in outcomes] == [o.article_id for o in outcomes]
    assert db["shared_passages"].count == 0


def test_a_duplicate_of_an_article_stored_before_a_restart_is_found(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _, body = seed("003")
    first_db = open_db(path)
    original = store(first_db, body, "unnamed")
    record_article(first_db, load_index(first_db), original, body)
    first_db.conn.close()

    db = open_db(path)
    index = load_index(db)
    assert len(index) == 1
    edited = body.replace("Syrian rebels advance further in Latakia countryside", "Rebels gain ground")
    copy = store(db, edited + "\nShare this article", "Aggregator")
    outcome = record_article(db, index, copy, edited + "\nShare this article")
    assert (outcome.kind, outcome.cluster_id) == ("near", original)


def test_index_finds_the_closest_signature_and_rebuilds_its_arrays() -> None:
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**32, size=dedup.NUM_PERM, dtype=np.uint32)
    index = dedup.DedupIndex.from_signatures(
        np.arange(2000), rng.integers(0, 2**32, size=(2000, dedup.NUM_PERM), dtype=np.uint32)
    )
    close, closer = base.copy(), base.copy()
    close[: dedup.NUM_PERM // 2] = 0  # half the values agree: similarity 0.5
    closer[: dedup.NUM_PERM // 8] = 0  # 7/8 agree
    index.add(5000, close)
    index.add(5001, closer)
    for article_id in range(6000, 6000 + 1100):  # crosses the tail limit, so the arrays are rebuilt
        index.add(article_id, rng.integers(0, 2**32, size=dedup.NUM_PERM, dtype=np.uint32))
    matches = index.find_near(base)
    assert [m.article_id for m in matches] == [5001, 5000]
    assert matches[0].similarity == pytest.approx(7 / 8)
    assert len(index) == 2000 + 2 + 1100


def test_content_hash_ignores_layout_and_quote_style() -> None:
    assert dedup.content_hash("Latakia’s  coast\n\n") == dedup.content_hash("latakia's coast")
    assert dedup.content_hash("Latakia coast") != dedup.content_hash("Tartus coast")


def test_lsh_bands_catch_pairs_at_the_threshold() -> None:
    bands, rows = dedup.lsh_bands(dedup.NEAR_THRESHOLD, dedup.NUM_PERM, dedup.LSH_RECALL)
    assert bands * rows <= dedup.NUM_PERM
    assert 1 - (1 - dedup.NEAR_THRESHOLD**rows) ** bands >= dedup.LSH_RECALL
    assert 1 - (1 - 0.02**rows) ** bands < 0.02  # unrelated articles rarely become candidates
    assert dedup.lsh_bands(0.9, 128, 0.99)[1] > rows  # a higher threshold affords longer bands


def test_empty_pages_are_not_copies_of_each_other(db: sqlite_utils.Database) -> None:
    index = load_index(db)
    outcomes = [record_article(db, index, store(db, "  \n", "x"), "  \n") for _ in range(2)]
    assert [o.kind for o in outcomes] == ["original", "original"]
    assert db["article_signatures"].count == 0


def test_load_index_reads_signatures_in_chunks(db: sqlite_utils.Database) -> None:
    index = load_index(db)
    ids = []
    for prefix in ("000", "001", "004"):
        _, body = seed(prefix)
        ids.append(store(db, body, prefix))
        record_article(db, index, ids[-1], body)
    reloaded = load_index(db, chunk=2)
    assert len(reloaded) == 3
    _, body = seed("001")
    assert [m.article_id for m in reloaded.find_near(dedup.minhash_signature(body))] == [ids[1]]


def test_index_tail_grows_past_its_first_buffer() -> None:
    rng = np.random.default_rng(11)
    index = dedup.DedupIndex.from_signatures(
        np.arange(9000), rng.integers(0, 2**32, size=(9000, dedup.NUM_PERM), dtype=np.uint32)
    )
    added = rng.integers(0, 2**32, size=(1100, dedup.NUM_PERM), dtype=np.uint32)
    for offset, signature in enumerate(added):  # 1100 < 9000 / 8: stays in the tail, past 1024 slots
        index.add(20_000 + offset, signature)
    assert len(index) == 10_100
    assert [m.article_id for m in index.find_near(added[1050])] == [21_050]
    assert [m.article_id for m in index.find_near(added[3])] == [20_003]


def test_a_text_shorter_than_one_passage_gram_shares_nothing() -> None:
    overlap = dedup.shared_passages("rebels seized the town", "rebels seized the town of Kansaba on Monday")
    assert overlap.passages == () and overlap.shared_words == 0 and overlap.ratio == 0.0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["rebels", "seized", "kansaba", "army", "20", "al-akrad", "town"]), max_size=80))
def test_passage_hashes_are_sorted_unique_and_equal_from_text_or_words(words: list[str]) -> None:
    text = " ".join(words)
    prepared = dedup.passage_text(text)
    from_words = dedup.passage_text(dedup.text_words(text))
    assert np.array_equal(prepared.grams, from_words.grams) and prepared.words == from_words.words
    assert np.array_equal(prepared.sorted_grams, np.unique(prepared.grams))
    size = dedup.WINNOW_WINDOW
    windows = [prepared.grams[i : i + size].min() for i in range(len(prepared.grams) - size + 1)]
    expected = np.unique(windows if len(prepared.grams) > dedup.WINNOW_WINDOW else prepared.grams)
    assert np.array_equal(dedup.passage_fingerprints(prepared), expected.astype(np.int64))


def test_full_text_index_follows_the_stored_text(db: sqlite_utils.Database) -> None:
    _, body = seed("002")
    first = store(db, body, "Zaman al-Wasl")
    copy = store(db, body, "mirror")
    index = load_index(db)
    record_article(db, index, first, body)
    record_article(db, index, copy, body)
    for article_id in (first, copy):
        (indexed,) = db.execute("SELECT text FROM articles_fts WHERE rowid = ?", [article_id]).fetchone()
        assert indexed == row(db, article_id)["text"]
    assert row(db, copy)["text"] is None and len(row(db, first)["text"]) < len(body)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab1'’-., \n\t\u00a0\u2028\u3000\x1cÉﬁ"), max_size=40))
def test_text_words_are_the_words_of_the_normalised_text(text: str) -> None:
    from_normalised = [word.replace("'", "") for word in WORD.findall(dedup.normalise_text(text))]
    assert dedup.text_words(text) == from_normalised
