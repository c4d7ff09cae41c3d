"""Near-copy detection on FA-KES against hand-labelled pairs: precision/recall, threshold and shingle sweep.

.venv/bin/python bench/eval_dedup.py candidates   # (re)draw the sample of pairs to label
.venv/bin/python bench/eval_dedup.py show 0 40    # print pairs 0..39 of the sample for reading
.venv/bin/python bench/eval_dedup.py              # evaluate against tests/data/dedup/fakes_pairs.csv
"""

from __future__ import annotations

import csv
import random
import sys
import tempfile
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import dedup  # noqa: E402
from monitor.store import dedup as store_dedup  # noqa: E402
from monitor.store import open_db  # noqa: E402

FAKES = ROOT.parent / "shared" / "data" / "fa-kes" / "fakes.csv"
DATA = ROOT / "tests" / "data" / "dedup"
CANDIDATES = DATA / "fakes_candidates.csv"
LABELS = DATA / "fakes_pairs.csv"
# Sample design (see tests/data/dedup/SOURCE.md): strata of word-3-gram containment, the generous method.
STRATA = (("high", 0.5, 1.01, None), ("mid", 0.2, 0.5, 70), ("low", 0.05, 0.2, 40))
SEED = 20261122


def load_fakes() -> list[dict[str, str]]:
    """Return the FA-KES rows; the key of an article is its row index (unit_id repeats)."""
    with FAKES.open(encoding="latin-1", newline="") as handle:
        return list(csv.DictReader(handle))


def containment_pairs(texts: list[str], size: int = 3) -> dict[tuple[int, int], tuple[float, float]]:
    """Return {(i, j): (containment, jaccard)} of exact word-3-gram sets for every pair sharing a gram."""
    grams = [dedup.shingles(dedup.text_words(t), size) for t in texts]
    postings: dict[bytes, list[int]] = {}
    for i, g in enumerate(grams):
        for gram in g:
            postings.setdefault(gram, []).append(i)
    shared: Counter[tuple[int, int]] = Counter()
    for ids in postings.values():
        if len(ids) <= 60:  # grams in more articles are boilerplate ("the syrian observatory")
            shared.update(combinations(ids, 2))
    return {
        (i, j): (n / max(1, min(len(grams[i]), len(grams[j]))), n / max(1, len(grams[i] | grams[j])))
        for (i, j), n in shared.items()
    }


def draw_candidates() -> None:
    """Write the stratified sample of pairs to label, plus random pairs sharing no 3-gram run."""
    rows = load_fakes()
    pairs = containment_pairs([r["article_content"] for r in rows])
    rng = random.Random(SEED)
    sample: list[tuple[int, int, str, float, float]] = []
    for name, low, high, count in STRATA:
        inside = sorted(p for p, (c, _) in pairs.items() if low <= c < high)
        chosen = inside if count is None else rng.sample(inside, min(count, len(inside)))
        sample += [(i, j, name, *pairs[(i, j)]) for i, j in sorted(chosen)]
        print(f"stratum {name}: {len(inside)} pairs, {len(chosen)} sampled")
    others = 0
    while others < 15:
        i, j = sorted(rng.sample(range(len(rows)), 2))
        if pairs.get((i, j), (0.0, 0.0))[0] < 0.05:
            sample.append((i, j, "none", *pairs.get((i, j), (0.0, 0.0))))
            others += 1
    with CANDIDATES.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["row_a", "row_b", "stratum", "containment3", "jaccard3"])
        out.writerows([(i, j, s, round(c, 3), round(jc, 3)) for i, j, s, c, jc in sample])
    print(f"wrote {len(sample)} pairs to {CANDIDATES}")


def show(start: int, stop: int) -> None:
    """Print pairs of the sample side by side for reading: source, date, title, text openings, differences."""
    rows = load_fakes()
    with CANDIDATES.open(newline="") as handle:
        sample = list(csv.DictReader(handle))[start:stop]
    for number, pair in enumerate(sample, start):
        a, b = rows[int(pair["row_a"])], rows[int(pair["row_b"])]
        overlap = dedup.shared_passages(a["article_content"], b["article_content"])
        print(
            f"=== #{number} rows {pair['row_a']}/{pair['row_b']} {pair['stratum']} c3={pair['containment3']}"
            f" j3={pair['jaccard3']} shared={overlap.ratio:.2f}/{overlap.other_ratio:.2f}"
        )
        for row, other in ((a, b), (b, a)):
            words = dedup.text_words(row["article_content"])
            head = f"[{row['source']} {row['date']} label={row['label']} words={len(words)}]"
            print(f"  {head} {row['article_title'][:90]}")
            print(f"    {row['article_content'][:300]}")
            print(f"    ONLY HERE: {unshared_words(row['article_content'], other['article_content'])[:300]}")
        changed = dedup.altered_tokens(a["article_content"], b["article_content"])
        print("  altered:", [(t.original, t.copy) for t in changed][:8])


def unshared_words(text: str, other: str) -> str:
    """Return the words of `text` not covered by passages shared with `other`, gaps marked with |."""
    dedup.MIN_PASSAGE_WORDS, kept = 1, dedup.MIN_PASSAGE_WORDS
    shared = dedup.shared_passages(text, other)
    dedup.MIN_PASSAGE_WORDS = kept
    rest = " ".join(dedup.text_words(text))
    for passage in shared.passages:
        rest = rest.replace(passage.text, " |", 1)
    return rest


def load_labels() -> list[tuple[int, int, str, str]]:
    """Return the hand labels: (row_a, row_b, stratum, label) with label copy | partial | distinct."""
    with LABELS.open(newline="") as handle:
        return [(int(r["row_a"]), int(r["row_b"]), r["stratum"], r["label"]) for r in csv.DictReader(handle)]


def scores(predicted: set[tuple[int, int]], labels: list[tuple[int, int, str, str]]) -> tuple[float, float, float]:
    """Return precision, recall and F1 of `predicted` over the labelled pairs (positives: copy)."""
    tp = sum(1 for a, b, _, lab in labels if lab == "copy" and (a, b) in predicted)
    fp = sum(1 for a, b, _, lab in labels if lab != "copy" and (a, b) in predicted)
    fn = sum(1 for a, b, _, lab in labels if lab == "copy" and (a, b) not in predicted)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def sweep(texts: list[str], labels: list[tuple[int, int, str, str]]) -> None:
    """Print P/R/F1 of MinHash-estimated Jaccard over shingle sizes and thresholds."""
    thresholds = [round(0.05 * t, 2) for t in range(4, 15)]
    print("\nsweep: P/R/F1 on labelled pairs, MinHash (128 perm) estimate of word-shingle Jaccard")
    print("shingle " + " ".join(f"{t:>14}" for t in thresholds))
    for size in (1, 2, 3, 4, 5):
        signatures = [dedup.minhash_signature(t, shingle_words=size) for t in texts]
        similarity = {(a, b): float((signatures[a] == signatures[b]).mean()) for a, b, _, _ in labels}
        cells = []
        for threshold in thresholds:
            predicted = {pair for pair, value in similarity.items() if value >= threshold}
            cells.append("{:.2f}/{:.2f}/{:.2f}".format(*scores(predicted, labels)))
        print(f"{size:>7} " + " ".join(f"{c:>14}" for c in cells))


def index_run(texts: list[str], labels: list[tuple[int, int, str, str]]) -> set[tuple[int, int]]:
    """Feed FA-KES through DedupIndex in row order, as the daemon would; return the pairs it links."""
    index = dedup.DedupIndex()
    found: set[tuple[int, int]] = set()
    started = time.perf_counter()
    for row, text in enumerate(texts):
        signature = dedup.minhash_signature(text)
        found |= {(m.article_id, row) for m in index.find_near(signature, limit=1000)}
        index.add(row, signature)
    elapsed = time.perf_counter() - started
    labelled = {(a, b) for a, b, _, _ in labels}
    precision, recall, f1 = scores(found, labels)
    print(
        f"\nDedupIndex (shingle {dedup.SHINGLE_WORDS}, threshold {dedup.NEAR_THRESHOLD}, "
        f"{index.bands} bands x {index.rows} rows): {len(found)} near-copy pairs linked among "
        f"{len(texts)} articles in {elapsed:.2f} s; {len(found & labelled)} of them are labelled"
    )
    print(f"  on the labelled pairs: precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f}")
    missed = [(a, b) for a, b, _, lab in labels if lab == "copy" and (a, b) not in found]
    wrong = [(a, b, lab) for a, b, _, lab in labels if lab != "copy" and (a, b) in found]
    print(f"  missed copies: {missed}")
    print(f"  wrongly linked: {wrong}")
    unlabelled = sorted(found - labelled)
    print(f"  linked but not in the sample (read them to check): {unlabelled[:20]}")
    return found


def altered_report(texts: list[str], labels: list[tuple[int, int, str, str]], found: set[tuple[int, int]]) -> None:
    """Print how many linked copies are flagged altered, with examples."""
    copies = [(a, b) for a, b, _, lab in labels if lab == "copy" and (a, b) in found]
    flagged = {(a, b): dedup.altered_tokens(texts[a], texts[b]) for a, b in copies}
    flagged = {pair: tokens for pair, tokens in flagged.items() if tokens}
    kinds = Counter(t.kind for tokens in flagged.values() for t in tokens)
    print(f"\naltered: {len(flagged)} of {len(copies)} linked labelled copies flagged; token kinds {dict(kinds)}")
    for (a, b), tokens in flagged.items():
        print(f"  {a}/{b}: {[(t.original, t.copy) for t in tokens][:5]}")


def passage_report(texts: list[str], labels: list[tuple[int, int, str, str]]) -> None:
    """Print, per label and shortest run kept, the share of pairs that get a shared-passage record."""
    print("\nshared passages: pairs with at least one shared run of >= N words (N = MIN_PASSAGE_WORDS)")
    dedup.MIN_PASSAGE_WORDS, kept = 1, dedup.MIN_PASSAGE_WORDS  # measure every run, then restore
    longest = {(a, b): max((p.words for p in dedup.shared_passages(texts[a], texts[b]).passages), default=0)
               for a, b, _, _ in labels}  # fmt: skip
    dedup.MIN_PASSAGE_WORDS = kept
    for label in ("copy", "partial", "distinct"):
        pairs = [(a, b) for a, b, _, lab in labels if lab == label]
        cells = [f"N={n}: {sum(1 for p in pairs if longest[p] >= n)}/{len(pairs)}" for n in (12, 16, 20, 25, 30)]
        print(f"  {label:>8}: " + "  ".join(cells))


def replay_shared(texts: list[str], labels: list[tuple[int, int, str, str]], holders: int) -> tuple[dict, Counter]:
    """Record FA-KES in row order through record_article with MAX_FINGERPRINT_HOLDERS = `holders`; return the
    labelled pairs given a shared_passages row, by label, and the fingerprint holder counts."""
    store_dedup.MAX_FINGERPRINT_HOLDERS, kept = holders, store_dedup.MAX_FINGERPRINT_HOLDERS
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = open_db(Path(tmp) / "replay.db")
            index = store_dedup.load_index(db)
            for row, text in enumerate(texts):
                db["articles"].insert({"id": row + 1, "outlet": "fakes", "text": text})
                store_dedup.record_article(db, index, row + 1, text)
            linked = {(a - 1, b - 1) for a, b in db.execute("SELECT article_id, other_id FROM shared_passages")}
            counts = Counter(dict(db.execute("SELECT holders, COUNT(*) FROM fingerprint_counts GROUP BY holders")))
            db.conn.close()
    finally:
        store_dedup.MAX_FINGERPRINT_HOLDERS = kept
    by_label = {
        label: (sum(1 for a, b, _, lab in labels if lab == label and ((a, b) in linked or (b, a) in linked)),
                sum(1 for *_, lab in labels if lab == label))
        for label in ("copy", "partial", "distinct")
    }  # fmt: skip
    by_label["rows"] = (len(linked), len(linked))
    return by_label, counts


def boilerplate_report(texts: list[str], labels: list[tuple[int, int, str, str]]) -> None:
    """Print, per MAX_FINGERPRINT_HOLDERS (then per MIN_SHARED_FINGERPRINTS), the labelled pairs that
    record_article links by shared passages."""
    print("\nshared passages through record_article (FA-KES in row order), by MAX_FINGERPRINT_HOLDERS:")
    for holders in (3, 5, 10, 20, 30, 50, 10**9):
        by_label, counts = replay_shared(texts, labels, holders)
        cells = "  ".join(f"{k} {v[0]}/{v[1]}" if k != "rows" else f"rows {v[0]}" for k, v in by_label.items())
        print(f"  N={holders if holders < 10**9 else 'none':>4}: {cells}")
    for least in (1, 2, 3):
        store_dedup.MIN_SHARED_FINGERPRINTS, kept = least, store_dedup.MIN_SHARED_FINGERPRINTS
        try:
            by_label, _ = replay_shared(texts, labels, store_dedup.MAX_FINGERPRINT_HOLDERS)
        finally:
            store_dedup.MIN_SHARED_FINGERPRINTS = kept
        cells = "  ".join(f"{k} {v[0]}/{v[1]}" if k != "rows" else f"rows {v[0]}" for k, v in by_label.items())
        print(f"  N={store_dedup.MAX_FINGERPRINT_HOLDERS}, MIN_SHARED_FINGERPRINTS={least}: {cells}")
    total = sum(counts.values())
    above = "  ".join(f">{n}: {sum(c for h, c in counts.items() if h > n)}" for n in (2, 5, 10, 20, 30, 50))
    print(f"  fingerprints {total}, held by more than N articles: {above}; most held {max(counts)}")


def llm_variants() -> None:
    """Print similarity and altered flags for the LLM fact-changed rewrites of FA-KES articles."""
    csv.field_size_limit(10**8)
    path = ROOT.parent / "shared" / "data" / "fa-kes-llm-variants" / "synthetic_fake_news.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for column in ("Between_article", "Changed_article"):
        sims, near, altered = [], 0, 0
        for row in rows:
            a, b = row["Original_article"], row[column]
            sim = float((dedup.minhash_signature(a) == dedup.minhash_signature(b)).mean())
            sims.append(sim)
            if sim >= dedup.NEAR_THRESHOLD:
                near += 1
                altered += bool(dedup.altered_tokens(a, b))
        sims.sort()
        print(
            f"\nLLM variants Original vs {column} ({len(rows)} pairs): median similarity "
            f"{sims[len(sims) // 2]:.2f}; {near} folded as near-copies, {altered} of those flagged altered"
        )


def evaluate() -> None:
    """Run every measurement against the labels."""
    texts = [r["article_content"] for r in load_fakes()]
    labels = load_labels()
    counts = Counter((stratum, lab) for _, _, stratum, lab in labels)
    print(f"labelled pairs: {len(labels)}; by (stratum, label): {dict(sorted(counts.items()))}")
    sweep(texts, labels)
    found = index_run(texts, labels)
    altered_report(texts, labels, found)
    passage_report(texts, labels)
    boilerplate_report(texts, labels)
    llm_variants()


if __name__ == "__main__":
    if sys.argv[1:2] == ["candidates"]:
        draw_candidates()
    elif sys.argv[1:2] == ["show"]:
        show(int(sys.argv[2]), int(sys.argv[3]))
    else:
        evaluate()
