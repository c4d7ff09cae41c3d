"""SQL for copies: MinHash signatures, clusters and shared wire text.

How "not stored twice" works: an exact copy (same normalised text as a stored article) keeps its row, so the
control logic still sees which outlet published it and when, but its `text` is NULL and `duplicate_of` names
the first-seen article of the cluster. Everything else keeps its (repeat-collapsed) text. A page whose
canonical URL was stored before but whose text changed is linked as `url` and keeps its text: the change may
be the news. Near and altered copies keep their text so their claims are still read.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import sqlite_utils

from monitor.dedup import (
    MINHASH_SEED,
    NUM_PERM,
    SHINGLE_WORDS,
    AlteredToken,
    DedupIndex,
    PassageText,
    altered_tokens,
    collapse_repeats,
    content_hash,
    minhash_signature,
    passage_fingerprints,
    passage_text,
    shared_passages,
    text_words,
)
from monitor.errors import StoreError
from monitor.store.schema import migrations

log = logging.getLogger(__name__)

# Signatures made with other shingle/permutation settings cannot be compared; load_index skips them.
SIGNATURE_SCHEME = f"affine32-w{SHINGLE_WORDS}-p{NUM_PERM}-s{MINHASH_SEED}"
# Stored articles sharing the most fingerprints that get a full passage comparison: each costs about half a
# millisecond (mostly re-reading its words), and a story is rarely quoted by more outlets within the archive's
# window than this (12 of the 804 FA-KES articles reach it; lowering it would drop their shared-text rows).
MAX_PASSAGE_CANDIDATES = 8
# A passage fingerprint held by more stored articles than this is boilerplate (a newsletter footer, "Source: ...
# and news agencies", a background paragraph every outlet appends), not one wire story quoted by a few outlets:
# it is ignored at lookup, masked out of shared passages, and no more holders are stored for it. Replaying FA-KES
# (bench/eval_dedup.py): no fingerprint has over 19 of its 804 holders (a TRT World footer 19, "related news"
# 15, "said the Syrian Observatory for Human Rights" 14-16); 10 is the lowest limit keeping every labelled copy
# and partial pair linked (5 loses a copy pair), and drops 5 of 38 links between different stories. Keep it
# above the number of followed outlets that carry one wire story.
MAX_FINGERPRINT_HOLDERS = 10
# A stored article becomes a passage candidate when it shares this many rare fingerprints with the new text.
# One is guaranteed by a shared run of 19 words, two by one of 31 (or by two runs): a lone 8-gram that only a
# few articles happened to winnow (boilerplate next to text of their own) no longer brings in a candidate.
# On FA-KES, 2 keeps every labelled copy and partial pair linked (bench/eval_dedup.py).
MIN_SHARED_FINGERPRINTS = 2


@migrations(name="m003_dedup")
def m003_dedup(db: sqlite_utils.Database) -> None:
    """Signatures of stored articles, winnowed passage fingerprints, shared text, and a view of clusters."""
    db.table("article_signatures").create(
        {"article_id": int, "scheme": str, "minhash": bytes},
        pk="article_id",
        foreign_keys=[("article_id", "articles", "id")],
        not_null={"scheme", "minhash"},
    )
    db.execute(
        "CREATE TABLE passage_fingerprints (fingerprint INTEGER NOT NULL, article_id INTEGER NOT NULL "
        "REFERENCES articles(id), PRIMARY KEY (fingerprint, article_id)) WITHOUT ROWID"
    )
    db.table("shared_passages").create(
        {
            "article_id": int,
            "other_id": int,
            "shared_words": int,
            "shared_chars": int,
            "shared_ratio": float,  # shared words / words of article_id's text
            "other_ratio": float,  # shared words / words of other_id's text
            "is_same_cluster": int,  # 1: a copy of one story; 0: different stories quoting the same text
            "passages": str,  # JSON list of the shared runs, as they read in article_id's text
        },
        pk=("article_id", "other_id"),
        foreign_keys=[("article_id", "articles", "id"), ("other_id", "articles", "id")],
    )
    db.table("shared_passages").create_index(["other_id"])
    db.create_view(
        "cluster_copies",
        """SELECT a.cluster_id, root.title AS cluster_title, a.id AS article_id, a.outlet, a.url, a.title,
       a.published_at, COALESCE(a.duplicate_kind, 'original') AS kind, a.duplicate_of,
       a.duplicate_similarity, a.altered_tokens, a.is_text_repeated, a.text IS NOT NULL AS is_text_stored,
       (SELECT COUNT(*) FROM shared_passages s WHERE s.article_id = a.id) AS shares_text_with
FROM articles a LEFT JOIN articles root ON root.id = a.cluster_id
WHERE a.cluster_id IS NOT NULL
ORDER BY a.cluster_id, a.id""",
    )


@migrations(name="m003b_fingerprint_counts")
def m003b_fingerprint_counts(db: sqlite_utils.Database) -> None:
    """How many stored articles hold each passage fingerprint, so that boilerplate can be told from wire text."""
    db.execute(
        "CREATE TABLE fingerprint_counts (fingerprint INTEGER PRIMARY KEY, holders INTEGER NOT NULL) WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO fingerprint_counts (fingerprint, holders) "
        "SELECT fingerprint, COUNT(*) FROM passage_fingerprints GROUP BY fingerprint"
    )


@dataclass(frozen=True, slots=True)
class SharedText:
    """Text one article shares with another stored article."""

    other_id: int
    shared_words: int
    shared_ratio: float
    other_ratio: float
    is_same_cluster: bool


@dataclass(frozen=True, slots=True)
class DedupOutcome:
    """What record_article decided and wrote for one article."""

    article_id: int
    kind: str  # original | exact | url | near | altered
    cluster_id: int
    duplicate_of: int | None
    similarity: float | None
    altered: tuple[AlteredToken, ...]
    is_text_repeated: bool
    is_text_stored: bool
    shared: tuple[SharedText, ...]


def load_index(db: sqlite_utils.Database, chunk: int = 10_000) -> DedupIndex:
    """Rebuild the in-memory index from the stored signatures (run once at start)."""
    query = "FROM article_signatures WHERE scheme = ?"
    try:
        (count,) = db.execute(f"SELECT COUNT(*) {query}", [SIGNATURE_SCHEME]).fetchone()
        ids = np.empty(count, dtype=np.int64)
        signatures = np.empty((count, NUM_PERM), dtype=np.uint32)
        cursor = db.execute(f"SELECT article_id, minhash {query} ORDER BY article_id", [SIGNATURE_SCHEME])
        loaded = 0
        # Filled chunk by chunk: holding 100k rows of bytes at once would double the memory of the load.
        while rows := cursor.fetchmany(chunk)[: count - loaded]:
            ids[loaded : loaded + len(rows)] = [r[0] for r in rows]
            block = np.frombuffer(b"".join(r[1] for r in rows), dtype="<u4")
            signatures[loaded : loaded + len(rows)] = block.reshape(len(rows), NUM_PERM)
            loaded += len(rows)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read signatures: {exc}", hint="run the migrations (open_db)") from exc
    log.info("dedup index loaded signatures=%d scheme=%s", loaded, SIGNATURE_SCHEME)
    return DedupIndex.from_signatures(ids[:loaded], signatures[:loaded])


def record_article(
    db: sqlite_utils.Database,
    index: DedupIndex,
    article_id: int,
    text: str,
    canonical_url: str | None = None,
    sides: Mapping[str, str] | None = None,
) -> DedupOutcome:
    """Collapse repeats, link the article to its copies, store its signature and shared text (one transaction)."""
    repeats = collapse_repeats(text)
    body, digest = repeats.text, content_hash(repeats.text)
    try:
        with db.atomic():
            signature = None
            outcome: DedupOutcome | None
            if not body.strip():  # nothing to compare: an empty page is not a copy of another empty page
                outcome = _outcome(article_id, "original", article_id, None)
            else:
                outcome = _link_exact(db, article_id, digest, canonical_url)
            if outcome is None:
                mine = passage_text(body)  # its words also make the signature
                signature = minhash_signature(mine.words)
                outcome = _link_near(db, index, article_id, body, signature, sides)
                shared = _record_shared_text(db, article_id, mine, outcome.cluster_id)
                db.execute(
                    "INSERT OR REPLACE INTO article_signatures (article_id, scheme, minhash) VALUES (?, ?, ?)",
                    [article_id, SIGNATURE_SCHEME, signature.astype("<u4").tobytes()],
                )
                outcome = replace(outcome, shared=shared)
            outcome = replace(outcome, is_text_repeated=repeats.is_repeated)
            _write_columns(db, outcome, body, digest)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot record copies: {exc}", article_id=article_id, hint="check the database") from exc
    if signature is not None:  # exact and URL copies are represented by their original
        index.add(article_id, signature)
    log.info(
        "dedup article=%d kind=%s cluster=%d similarity=%s shared_with=%d repeated=%s",
        article_id, outcome.kind, outcome.cluster_id, outcome.similarity, len(outcome.shared),
        outcome.is_text_repeated,
    )  # fmt: skip
    return outcome


def _outcome(article_id: int, kind: str, cluster_id: int, duplicate_of: int | None, **rest: object) -> DedupOutcome:
    fields: dict[str, object] = {"similarity": None, "altered": (), "is_text_stored": True, "shared": (), **rest}
    return DedupOutcome(article_id, kind, cluster_id, duplicate_of, is_text_repeated=False, **fields)  # type: ignore[arg-type]


def _cluster_of(db: sqlite_utils.Database, article_id: int) -> int:
    row = db.execute("SELECT COALESCE(cluster_id, id) FROM articles WHERE id = ?", [article_id]).fetchone()
    return int(row[0]) if row else article_id


def _link_exact(
    db: sqlite_utils.Database, article_id: int, digest: str, canonical_url: str | None
) -> DedupOutcome | None:
    row = db.execute(
        "SELECT id FROM articles WHERE content_hash = ? AND id != ? ORDER BY id LIMIT 1", [digest, article_id]
    ).fetchone()
    if row:
        root = _cluster_of(db, row[0])
        return _outcome(article_id, "exact", root, root, similarity=1.0, is_text_stored=False)
    if canonical_url:
        row = db.execute(
            "SELECT id FROM articles WHERE canonical_url = ? AND id != ? ORDER BY id LIMIT 1",
            [canonical_url, article_id],
        ).fetchone()
        if row:
            root = _cluster_of(db, row[0])
            return _outcome(article_id, "url", root, root)
    return None


def _link_near(
    db: sqlite_utils.Database,
    index: DedupIndex,
    article_id: int,
    body: str,
    signature: np.ndarray,
    sides: Mapping[str, str] | None,
) -> DedupOutcome:
    matches = [m for m in index.find_near(signature) if m.article_id != article_id]
    if not matches:
        return _outcome(article_id, "original", article_id, None)
    closest = matches[0]
    row = db.execute("SELECT COALESCE(cluster_id, id), text FROM articles WHERE id = ?", [closest.article_id])
    found = row.fetchone()
    if found is None:  # the signature outlived its article
        return _outcome(article_id, "original", article_id, None)
    root, original_text = int(found[0]), found[1]
    altered = tuple(altered_tokens(original_text, body, sides)) if original_text else ()
    kind = "altered" if altered else "near"
    return _outcome(article_id, kind, root, root, similarity=round(closest.similarity, 4), altered=altered)


def _record_shared_text(
    db: sqlite_utils.Database, article_id: int, mine: PassageText, cluster_id: int
) -> tuple[SharedText, ...]:
    if db.execute("SELECT 1 FROM article_signatures WHERE article_id = ?", [article_id]).fetchone():
        _forget_fingerprints(db, article_id)
    candidates, boilerplate = _passage_candidates(db, article_id, mine)
    shared: list[SharedText] = []
    rows: list[tuple[object, ...]] = []
    for other_id, other_text, other_cluster in candidates:
        theirs = passage_text(other_text)
        forward = shared_passages(mine, theirs, boilerplate)
        if not forward.passages:
            continue
        same = other_cluster == cluster_id
        backward = shared_passages(theirs, mine, boilerplate)
        for a, b, overlap in ((article_id, other_id, forward), (other_id, article_id, backward)):
            rows.append(
                (a, b, overlap.shared_words, overlap.shared_chars, round(overlap.ratio, 4),
                 round(overlap.other_ratio, 4), int(same), json.dumps([p.text for p in overlap.passages]))
            )  # fmt: skip
        shared.append(SharedText(other_id, forward.shared_words, forward.ratio, forward.other_ratio, same))
    db.conn.executemany(
        "INSERT OR REPLACE INTO shared_passages (article_id, other_id, shared_words, shared_chars, "
        "shared_ratio, other_ratio, is_same_cluster, passages) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    _store_fingerprints(db, [(article_id, passage_fingerprints(mine).tolist())])
    return tuple(shared)


def _store_fingerprints(db: sqlite_utils.Database, articles: list[tuple[int, list[int]]]) -> None:
    # Every holder is counted; holder rows are kept only while a fingerprint is rare, which bounds both the
    # table and the rows a lookup can match. A batch counts all its articles first: a fingerprint that the
    # batch takes past the limit gets no rows from it, and is ignored at lookup either way.
    db.conn.executemany(
        "INSERT INTO fingerprint_counts (fingerprint, holders) VALUES (?, 1) "
        "ON CONFLICT (fingerprint) DO UPDATE SET holders = holders + 1",
        [(f,) for _, prints in articles for f in prints],
    )
    db.conn.executemany(
        "INSERT OR IGNORE INTO passage_fingerprints (fingerprint, article_id) SELECT c.fingerprint, ? "
        "FROM json_each(?) AS g CROSS JOIN fingerprint_counts AS c ON c.fingerprint = g.value WHERE c.holders <= ?",
        [(article_id, json.dumps(prints), MAX_FINGERPRINT_HOLDERS) for article_id, prints in articles],
    )


def _forget_fingerprints(db: sqlite_utils.Database, article_id: int) -> None:
    # Recorded before (a re-run). Rare, so passage_fingerprints has no index by article. A fingerprint that was
    # already boilerplate has no row for the article and stays counted once more: it is ignored either way.
    db.execute(
        "UPDATE fingerprint_counts SET holders = holders - 1 WHERE fingerprint IN "
        "(SELECT fingerprint FROM passage_fingerprints WHERE article_id = ?)",
        [article_id],
    )
    db.execute("DELETE FROM passage_fingerprints WHERE article_id = ?", [article_id])


def _passage_candidates(
    db: sqlite_utils.Database, article_id: int, mine: PassageText
) -> tuple[list[tuple[int, str, int]], np.ndarray]:
    """Return the stored articles sharing the most rare fingerprints, and the boilerplate hashes of the text."""
    # Every 8-gram of the new text is looked up (unique, so a join counts each once), so that a stored
    # text's winnowed fingerprints are hit wherever the two share a run long enough to hold one.
    grams = json.dumps(mine.sorted_grams.tolist())
    known = db.execute(
        "SELECT c.fingerprint, c.holders FROM json_each(?) AS g CROSS JOIN fingerprint_counts AS c "
        "ON c.fingerprint = g.value",
        [grams],
    ).fetchall()
    rare = [f for f, holders in known if holders <= MAX_FINGERPRINT_HOLDERS]
    boilerplate = np.sort(np.array([f for f, holders in known if holders > MAX_FINGERPRINT_HOLDERS], dtype=np.int64))
    counts = db.execute(
        "SELECT p.article_id FROM json_each(?) AS g CROSS JOIN passage_fingerprints AS p ON p.fingerprint = g.value "
        "WHERE p.article_id != ? GROUP BY p.article_id HAVING COUNT(*) >= ? ORDER BY COUNT(*) DESC, p.article_id "
        "LIMIT ?",
        [json.dumps(rare), article_id, MIN_SHARED_FINGERPRINTS, MAX_PASSAGE_CANDIDATES],
    ).fetchall()
    candidates = db.execute(
        "SELECT id, text, COALESCE(cluster_id, id) FROM articles "
        "WHERE id IN (SELECT value FROM json_each(?)) AND text IS NOT NULL ORDER BY id",
        [json.dumps([r[0] for r in counts])],
    ).fetchall()
    return candidates, boilerplate


def _write_columns(db: sqlite_utils.Database, outcome: DedupOutcome, body: str, digest: str) -> None:
    altered = None
    if outcome.altered:
        altered = json.dumps(
            {
                "compared_with": outcome.duplicate_of,
                "tokens": [{"kind": t.kind, "original": t.original, "copy": t.copy} for t in outcome.altered],
            }
        )
    # Written only when it changed: the full-text index re-reads the whole text on every update of it.
    text = body if outcome.is_text_stored else None
    db.execute("UPDATE articles SET text = ? WHERE id = ? AND text IS NOT ?", [text, outcome.article_id, text])
    db.execute(
        "UPDATE articles SET content_hash = ?, is_text_repeated = ?, cluster_id = ?, duplicate_of = ?, "
        "duplicate_kind = ?, duplicate_similarity = ?, altered_tokens = ? WHERE id = ?",
        [
            digest,
            int(outcome.is_text_repeated),
            outcome.cluster_id,
            outcome.duplicate_of,
            None if outcome.kind == "original" else outcome.kind,
            outcome.similarity,
            altered,
            outcome.article_id,
        ],
    )


def shared_text_of(db: sqlite_utils.Database, article_id: int) -> list[SharedText]:
    """Return the stored articles that share passages with `article_id`, most shared first."""
    rows = db.execute(
        "SELECT other_id, shared_words, shared_ratio, other_ratio, is_same_cluster FROM shared_passages "
        "WHERE article_id = ? ORDER BY shared_words DESC, other_id",
        [article_id],
    ).fetchall()
    return [SharedText(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]


def index_stored_articles(db: sqlite_utils.Database, batch_size: int = 1000) -> int:
    """Store signatures and passage fingerprints for stored texts that have none (bulk import, new scheme).

    Links nothing: copies among the articles indexed this way are found only for articles recorded later.
    """
    done, last_id = 0, -1
    while True:
        rows = db.execute(
            "SELECT a.id, a.text FROM articles a LEFT JOIN article_signatures s ON s.article_id = a.id "
            "AND s.scheme = ? WHERE a.text IS NOT NULL AND s.article_id IS NULL AND a.id > ? ORDER BY a.id LIMIT ?",
            [SIGNATURE_SCHEME, last_id, batch_size],
        ).fetchall()
        if not rows:
            return done
        prepared = [(i, passage_text(text_words(t))) for i, t in rows]  # by words: past the passage cache
        signatures = [(i, SIGNATURE_SCHEME, minhash_signature(p.words).astype("<u4").tobytes()) for i, p in prepared]
        fingerprints = [(i, passage_fingerprints(p).tolist()) for i, p in prepared]
        with db.atomic():
            db.conn.executemany(
                "INSERT OR REPLACE INTO article_signatures (article_id, scheme, minhash) VALUES (?, ?, ?)", signatures
            )
            _store_fingerprints(db, fingerprints)
        done, last_id = done + len(rows), rows[-1][0]
