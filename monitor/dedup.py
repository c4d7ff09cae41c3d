"""Copies of text, pure: repeated blocks in a page, MinHash LSH, shared passages (altered facts: `altered`).

Must not touch the database: `monitor.store.dedup` reads and writes what this module computes.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

# Re-exported: callers and tests import the whole copy-folding stage from here.
from monitor.altered import DEFAULT_SIDES, AlteredToken, altered_tokens
from monitor.normal_text import content_hash, normalise_text, text_words

__all__ = [
    "DEFAULT_SIDES", "AlteredToken", "DedupIndex", "NearMatch", "Overlap", "Passage", "PassageText", "RepeatResult",
    "altered_tokens", "collapse_repeats", "content_hash", "lsh_bands", "minhash_signature", "normalise_text",
    "passage_fingerprints", "passage_text", "shared_passages", "shingles", "text_words",
]  # fmt: skip

# Measured with `bench/eval_dedup.py` on 234 hand-labelled FA-KES pairs (tests/data/dedup/fakes_pairs.csv,
# 77 copies), MinHash estimate, precision/recall/F1 at thresholds 0.30 / 0.35 / 0.40:
#   1-word shingles 0.54/1.00/0.70  0.63/1.00/0.77  0.79/1.00/0.88  (reports of one event share vocabulary)
#   2-word          0.84/1.00/0.91  0.93/0.99/0.96  0.97/0.99/0.98
#   3-word          0.93/1.00/0.96  0.99/0.99/0.99  1.00/0.96/0.98
#   4-word          0.95/0.99/0.97  0.97/0.96/0.97  0.99/0.88/0.93
#   5-word          0.96/0.96/0.96  0.99/0.92/0.95  0.98/0.79/0.88  (light edits break long shingles)
# 3-word shingles at 0.35 give the best F1. The labels' rule (each text has ~40% of its words in shared
# passages) is close to what this measures, so the optimum is partly fitted to how the pairs were labelled.
SHINGLE_WORDS = 3
NEAR_THRESHOLD = 0.35
NUM_PERM = 128
# Banding: a pair at NEAR_THRESHOLD becomes a candidate with this probability (36 bands of 2 rows with the
# values above); candidates are then filtered on their estimated similarity, which is cheap.
LSH_RECALL = 0.99
MINHASH_SEED = 1

# Shared passages: word 8-grams, winnowed with a window of 12, so any shared run of >= 19 words
# (8 + 12 - 1, about one wire sentence) is guaranteed to leave a common fingerprint.
PASSAGE_GRAM = 8
WINNOW_WINDOW = 12
# Shortest shared run recorded. Measured on the labelled pairs (bench/eval_dedup.py): runs of >= 20 words
# link all 77 copies and 27 "partial" pairs (a wire report inside a longer article) and 54 of 130 pairs of
# different stories (outlets append the same background paragraphs); 12 words linked 61, 30 words lost
# 9 of the 27 partial pairs.
MIN_PASSAGE_WORDS = 20
# Prepared texts kept for later comparisons: about 30 KB each (a 350-word article).
PASSAGE_CACHE_TEXTS = 512

# Repeated blocks: a page "holds its text twice" when the dropped repeats are at least this share of it.
# In the seeds, 002's doubled body is 47% of the page; a repeated caption or title is 0.3-9% (004, 003, 001).
REPEATED_SHARE = 0.15

_GRAM_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: the polynomial hash stays a bijection per step
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class RepeatResult:
    """A page's text with repeated paragraphs kept once."""

    text: str
    is_repeated: bool  # the repeats were a substantial share of the page (REPEATED_SHARE)
    removed_blocks: int  # paragraphs dropped because an identical one came earlier
    removed_chars: int


@dataclass(frozen=True, slots=True)
class NearMatch:
    """A stored article whose MinHash signature is close to the one asked about."""

    article_id: int
    similarity: float  # estimated Jaccard of word shingles


@dataclass(frozen=True, slots=True)
class Passage:
    """A run of words that two texts share."""

    text: str  # the words as they read in the first text, lowercased
    words: int


@dataclass(frozen=True, slots=True)
class Overlap:
    """What one text shares with another: passages and the share of each text they cover."""

    shared_words: int
    shared_chars: int
    ratio: float  # shared words / words of the first text
    other_ratio: float  # shared words / words of the second text
    passages: tuple[Passage, ...]


def collapse_repeats(text: str) -> RepeatResult:
    """Keep each paragraph once: a page that prints its body (or a caption, a title) twice is stored once."""
    seen: set[str] = set()
    kept: list[str] = []
    removed_blocks = removed_chars = 0
    for line in text.split("\n"):
        key = normalise_text(line)
        if key and key in seen:
            removed_blocks += 1
            removed_chars += len(line) + 1
            continue
        if key:
            seen.add(key)
        kept.append(line)
    collapsed = _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip() if removed_blocks else text
    is_repeated = bool(text.strip()) and removed_chars >= REPEATED_SHARE * len(text.strip())
    return RepeatResult(collapsed, is_repeated, removed_blocks, removed_chars)


def shingles(words: Sequence[str], size: int = SHINGLE_WORDS) -> set[bytes]:
    """Return the set of word `size`-grams (the whole text as one shingle when it is shorter)."""
    if len(words) < size:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


@functools.cache
def _permutations(num_perm: int) -> np.ndarray:
    # Drawing the permutations costs more than hashing one article, so draw them once per process.
    return MinHash(num_perm=num_perm, seed=MINHASH_SEED).permutations


def minhash_signature(
    text: str | Sequence[str], shingle_words: int = SHINGLE_WORDS, num_perm: int = NUM_PERM
) -> np.ndarray:
    """Return the MinHash signature (uint32, datasketch "affine32" scheme) of the word shingles of `text`
    or of its `text_words`."""
    sketch = MinHash(num_perm=num_perm, permutations=_permutations(num_perm), scheme="affine32")
    sketch.update_batch(shingles(text_words(text) if isinstance(text, str) else text, shingle_words))
    return np.asarray(sketch.hashvalues, dtype=np.uint32)


def lsh_bands(threshold: float, num_perm: int, recall: float) -> tuple[int, int]:
    """Return (bands, rows): the most rows per band (fewest chance candidates) that still make a pair at
    `threshold` a candidate with probability >= `recall`."""
    for rows in range(num_perm, 0, -1):
        bands = (
            math.ceil(math.log1p(-recall) / math.log1p(-(threshold**rows))) if threshold**rows > 1e-12 else num_perm + 1
        )
        if bands * rows <= num_perm:
            return bands, rows
    return num_perm, 1


class DedupIndex:
    """In-memory MinHash LSH over stored articles: sorted band keys in numpy, plus a small unsorted tail.

    datasketch's MinHashLSH took 41 s and 840 MB (tracemalloc) to insert 100k signatures on this machine
    (insertion_session, threshold 0.5, 128 permutations), so the banding is kept in arrays: loading is a
    few vectorised sorts, a query is one binary search per band. Signatures come from datasketch MinHash.
    """

    def __init__(self, threshold: float = NEAR_THRESHOLD, num_perm: int = NUM_PERM) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = lsh_bands(threshold, num_perm, LSH_RECALL)
        rng = np.random.default_rng(MINHASH_SEED)
        self._mix = rng.integers(1, 2**63, size=(self.bands, self.rows), dtype=np.uint64) | np.uint64(1)
        self._ids = np.zeros(0, dtype=np.int64)
        self._signatures = np.zeros((0, num_perm), dtype=np.uint32)
        self._keys = np.zeros((self.bands, 0), dtype=np.uint64)
        self._order = np.zeros((self.bands, 0), dtype=np.int32)
        # Articles added since the last sort, compared one by one (a preallocated buffer, doubled when full).
        self._tail_ids = np.zeros(1024, dtype=np.int64)
        self._tail = np.zeros((1024, num_perm), dtype=np.uint32)
        self._tail_len = 0

    @classmethod
    def from_signatures(cls, ids: np.ndarray, signatures: np.ndarray, **kwargs: float) -> DedupIndex:
        """Build an index from aligned arrays of article ids and signatures (rows of uint32)."""
        index = cls(**kwargs)  # type: ignore[arg-type]
        index._ids = np.asarray(ids, dtype=np.int64)
        index._signatures = np.asarray(signatures, dtype=np.uint32).reshape(len(index._ids), index.num_perm)
        index._sort_bands()
        return index

    def __len__(self) -> int:
        return len(self._ids) + self._tail_len

    def add(self, article_id: int, signature: np.ndarray) -> None:
        """Index one article's signature; the sorted arrays are rebuilt when the tail grows."""
        if self._tail_len == len(self._tail_ids):
            self._tail_ids = np.concatenate([self._tail_ids, np.zeros_like(self._tail_ids)])
            self._tail = np.concatenate([self._tail, np.zeros_like(self._tail)])
        self._tail_ids[self._tail_len], self._tail[self._tail_len] = article_id, signature
        self._tail_len += 1
        if self._tail_len >= max(1024, len(self._ids) // 8):
            self._ids = np.concatenate([self._ids, self._tail_ids[: self._tail_len]])
            self._signatures = np.concatenate([self._signatures, self._tail[: self._tail_len]])
            self._tail_len = 0
            self._sort_bands()

    def find_near(self, signature: np.ndarray, limit: int = 10) -> list[NearMatch]:
        """Return up to `limit` indexed articles at or above the threshold, most similar first."""
        signature = np.asarray(signature, dtype=np.uint32)
        # One signature: all bands at once (the band-by-band loop is for loading many).
        values = signature[: self.bands * self.rows].reshape(self.bands, self.rows).astype(np.uint64)
        query_keys = (values * self._mix).sum(axis=1, dtype=np.uint64)
        rows = [
            self._order[band, np.searchsorted(keys, key, "left") : np.searchsorted(keys, key, "right")]
            for band, (keys, key) in enumerate(zip(self._keys, query_keys, strict=True))
        ]
        ids, sims = [], []
        if rows:
            candidates = _sorted_unique(np.concatenate(rows))
            ids.append(self._ids[candidates])
            sims.append((self._signatures[candidates] == signature).mean(axis=1))
        if self._tail_len:
            ids.append(self._tail_ids[: self._tail_len])
            sims.append((self._tail[: self._tail_len] == signature).mean(axis=1))
        if not ids:
            return []
        all_ids, all_sims = np.concatenate(ids), np.concatenate(sims)
        keep = np.flatnonzero(all_sims >= self.threshold)
        keep = keep[np.lexsort((all_ids[keep], -all_sims[keep]))][:limit]
        return [NearMatch(int(all_ids[i]), float(all_sims[i])) for i in keep]

    def _band_keys(self, signatures: np.ndarray) -> np.ndarray:
        # One uint64 per (band, row): a random odd-multiplier mix of the band's values, wrapping mod 2^64.
        # Band by band, so that loading 100k signatures needs no (rows x permutations) uint64 temporary.
        keys = np.empty((self.bands, len(signatures)), dtype=np.uint64)
        for band in range(self.bands):
            values = signatures[:, band * self.rows : (band + 1) * self.rows].astype(np.uint64)
            keys[band] = (values * self._mix[band]).sum(axis=1, dtype=np.uint64)
        return keys

    def _sort_bands(self) -> None:
        keys = self._band_keys(self._signatures)
        self._order = np.empty(keys.shape, dtype=np.int32)
        for band in range(self.bands):
            order = np.argsort(keys[band], kind="stable")
            self._order[band] = order
            keys[band] = keys[band][order]
        self._keys = keys


@dataclass(frozen=True, slots=True)
class PassageText:
    """A text prepared for passage comparison: its words and the hash of every word 8-gram."""

    words: tuple[str, ...]
    grams: np.ndarray  # int64, one per 8-gram start position
    sorted_grams: np.ndarray  # the same hashes sorted and unique, for lookups by binary search


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    # As np.unique, which hashes integer arrays in the numpy used here (2.4): ten times slower than a sort
    # for a few hundred values.
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


@functools.lru_cache(maxsize=200_000)
def _word_hash(word: str) -> int:
    # News vocabulary is small, so most words are hashed once per process.
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def passage_text(text: str | Sequence[str]) -> PassageText:
    """Return the words and word 8-gram hashes of `text` or of its `text_words` (stable across processes)."""
    if isinstance(text, str):
        return _passage_text_cached(text)
    words = tuple(text)
    word_hashes = np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))
    count = max(0, len(words) - PASSAGE_GRAM + 1)
    grams = np.zeros(count, dtype=np.uint64)
    for offset in range(PASSAGE_GRAM if count else 0):  # polynomial hash of the 8 word hashes, mod 2^64
        grams = grams * _GRAM_MULTIPLIER + word_hashes[offset : offset + count]
    grams = grams.view(np.int64)  # signed, so that SQLite INTEGER holds them unchanged
    sorted_grams = _sorted_unique(grams)
    grams.flags.writeable = sorted_grams.flags.writeable = False  # shared through the cache below
    return PassageText(words, grams, sorted_grams)


@functools.lru_cache(maxsize=PASSAGE_CACHE_TEXTS)
def _passage_text_cached(text: str) -> PassageText:
    # A stored article is compared again with each later article quoting it (a wire story runs for days),
    # and splitting its words is most of a comparison's cost.
    return passage_text(text_words(text))


def passage_fingerprints(text: str | PassageText) -> np.ndarray:
    """Return the winnowed word 8-gram hashes of `text` (sorted, unique, int64) for shared-passage lookup."""
    prepared = passage_text(text) if isinstance(text, str) else text
    if len(prepared.grams) <= WINNOW_WINDOW:
        return prepared.sorted_grams
    windows = np.lib.stride_tricks.sliding_window_view(prepared.grams, WINNOW_WINDOW)
    return _sorted_unique(windows.min(axis=1))


def _is_in(values: np.ndarray, sorted_unique: np.ndarray) -> np.ndarray:
    # np.isin sorts both arrays on every call; the other text's hashes are sorted once in PassageText.
    if not len(sorted_unique):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_unique, values).clip(max=len(sorted_unique) - 1)
    return sorted_unique[at] == values


def _covered_words(grams_found: np.ndarray, word_count: int) -> np.ndarray:
    # A word is covered when one of the 8-grams that contain it is found.
    return np.convolve(grams_found.astype(np.int8), np.ones(PASSAGE_GRAM, dtype=np.int8))[:word_count] > 0


def shared_passages(
    text: str | PassageText, other: str | PassageText, boilerplate: np.ndarray | None = None
) -> Overlap:
    """Return the runs of >= MIN_PASSAGE_WORDS words of `text` that also occur in `other`, in any order.

    Words under an 8-gram hash in `boilerplate` (sorted int64: text held by many articles) are not shared.
    """
    mine = passage_text(text) if isinstance(text, str) else text
    theirs = passage_text(other) if isinstance(other, str) else other
    passages: tuple[Passage, ...] = ()
    matched = _is_in(mine.grams, theirs.sorted_grams)
    if matched.any():  # a text shorter than one 8-gram shares nothing
        covered = _covered_words(matched, len(mine.words))
        if boilerplate is not None and len(boilerplate):
            # Only the winnowed hashes of boilerplate are known, one every few words: masking the words under
            # them leaves pieces of a footer shorter than MIN_PASSAGE_WORDS, and keeps a wire paragraph next to it.
            covered &= ~_covered_words(_is_in(mine.grams, boilerplate), len(mine.words))
        edges = np.flatnonzero(np.diff(np.concatenate(([0], covered.astype(np.int8), [0]))))
        passages = tuple(
            Passage(" ".join(mine.words[start:stop]), int(stop - start))
            for start, stop in zip(edges[::2], edges[1::2], strict=True)
            if stop - start >= MIN_PASSAGE_WORDS
        )
    shared = sum(p.words for p in passages)
    return Overlap(
        shared_words=shared,
        shared_chars=sum(len(p.text) for p in passages),
        ratio=shared / len(mine.words) if mine.words else 0.0,
        other_ratio=min(1.0, shared / len(theirs.words)) if theirs.words else 0.0,
        passages=passages,
    )
