"""Copies of text, pure: repeated blocks in a page, fingerprints, MinHash LSH, shared passages, altered facts.

Must not touch the database: `monitor.store.dedup` reads and writes what this module computes.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash
from rapidfuzz import fuzz

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

# Repeated blocks: a page "holds its text twice" when the dropped repeats are at least this share of it.
# In the seeds, 002's doubled body is 47% of the page; a repeated caption or title is 0.3-9% (004, 003, 001).
REPEATED_SHARE = 0.15
# Altered facts: only small in-place substitutions count; a rewritten sentence is an edit, not a swap.
# Not tuned: the fact swaps read in FA-KES copies replace 1-5 words.
MAX_ALTERED_SPAN = 6
ACRONYM_MAX_LETTERS = 5  # as the actor lexicon: short all-capital phrases match in capitals only
NAME_VARIANT_RATIO = 75  # rapidfuzz partial_ratio at or above which two names are spellings of one name

# fmt: off
NUMBER_WORDS = frozenset({
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
    "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "hundreds", "thousand", "thousands",
    "million", "millions", "dozen", "dozens",
})
# Generic words -> side, so that "government forces" -> "regime forces" is not a change of side but
# "rebels" -> "regime forces" is. The pipeline passes the actor lexicon of this front instead.
DEFAULT_SIDES = {
    **dict.fromkeys(("regime", "government", "pro-government", "army", "troops", "soldiers"), "government"),
    **dict.fromkeys(("rebel", "rebels", "opposition", "insurgents", "insurgent"), "rebels"),
    **dict.fromkeys(("IS", "ISIS", "ISIL", "Daesh", "Islamic State"), "isis"),
}
# Capitalised but not names: a dateline's month or weekday differs between copies of one report.
CALENDAR_WORDS = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
})
# fmt: on

_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_WORD = re.compile(r"\w+(?:['.,-]\w+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:\"\n(\[])\s*$")
_GRAM_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: the polynomial hash stays a bijection per step
_YEAR = re.compile(r"(?:19|20)\d\d")
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


@dataclass(frozen=True, slots=True)
class AlteredToken:
    """A fact swapped in place between an original and its copy."""

    kind: str  # number | side | name
    original: str
    copy: str


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    key: str
    is_sentence_start: bool
    line: int


def normalise_text(text: str) -> str:
    """Return `text` NFKC-normalised, with straight quotes, casefolded and single-spaced."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return " ".join(text.split())


def content_hash(text: str) -> str:
    """Return the SHA-256 hex digest of the normalised text (equal for exact copies)."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def text_words(text: str) -> list[str]:
    """Return the normalised words of `text` (numbers such as 1,200 and names such as al-Akrad stay whole)."""
    # Apostrophes go: outlets write "Syria's", "Syrias" and "Syria s" for one word.
    return [word.replace("'", "") for word in _WORD.findall(normalise_text(text))]


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


def minhash_signature(text: str, shingle_words: int = SHINGLE_WORDS, num_perm: int = NUM_PERM) -> np.ndarray:
    """Return the MinHash signature (uint32, datasketch "affine32" scheme) of the text's word shingles."""
    sketch = MinHash(num_perm=num_perm, permutations=_permutations(num_perm), scheme="affine32")
    sketch.update_batch(shingles(text_words(text), shingle_words))
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
        query_keys = self._band_keys(signature[None, :])[:, 0]
        rows = [
            self._order[band, np.searchsorted(keys, key, "left") : np.searchsorted(keys, key, "right")]
            for band, (keys, key) in enumerate(zip(self._keys, query_keys, strict=True))
        ]
        ids, sims = [], []
        if rows:
            candidates = np.unique(np.concatenate(rows))
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


@functools.lru_cache(maxsize=200_000)
def _word_hash(word: str) -> int:
    # News vocabulary is small, so most words are hashed once per process.
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def passage_text(text: str) -> PassageText:
    """Return the words and word 8-gram hashes of `text` (stable across processes: stored in SQLite)."""
    words = tuple(text_words(text))
    word_hashes = np.fromiter((_word_hash(w) for w in words), dtype=np.uint64, count=len(words))
    count = max(0, len(words) - PASSAGE_GRAM + 1)
    grams = np.zeros(count, dtype=np.uint64)
    for offset in range(PASSAGE_GRAM if count else 0):  # polynomial hash of the 8 word hashes, mod 2^64
        grams = grams * _GRAM_MULTIPLIER + word_hashes[offset : offset + count]
    return PassageText(words, grams.view(np.int64))  # signed, so that SQLite INTEGER holds them unchanged


def passage_fingerprints(text: str | PassageText) -> np.ndarray:
    """Return the winnowed word 8-gram hashes of `text` (sorted, unique, int64) for shared-passage lookup."""
    hashes = (passage_text(text) if isinstance(text, str) else text).grams
    if len(hashes) <= WINNOW_WINDOW:
        return np.unique(hashes)
    windows = np.lib.stride_tricks.sliding_window_view(hashes, WINNOW_WINDOW)
    return np.unique(windows.min(axis=1))


def shared_passages(text: str | PassageText, other: str | PassageText) -> Overlap:
    """Return the runs of >= MIN_PASSAGE_WORDS words of `text` that also occur in `other`, in any order."""
    mine = passage_text(text) if isinstance(text, str) else text
    theirs = passage_text(other) if isinstance(other, str) else other
    matched = np.isin(mine.grams, theirs.grams)
    # A word is shared when one of the 8-grams covering it is found in the other text.
    covered = np.convolve(matched.astype(np.int8), np.ones(PASSAGE_GRAM, dtype=np.int8))[: len(mine.words)] > 0
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


def _tokens(text: str) -> list[_Token]:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    # Only the few characters before a word tell whether a sentence starts there.
    return [
        _Token(
            m.group(),
            m.group().casefold().replace("'", ""),
            bool(_SENTENCE_START.search(text, max(0, m.start() - 4), m.start())),
            bisect.bisect_right(line_starts, m.start()),
        )
        for m in _WORD.finditer(text)
    ]


def _is_whole_line(tokens: Sequence[_Token], start: int, stop: int) -> bool:
    # A replaced line (headline, "Source: ..." footer) is layout; facts are swapped inside a sentence.
    line = tokens[start].line
    before = start == 0 or tokens[start - 1].line != line
    after = stop == len(tokens) or tokens[stop].line != line
    return before and after and tokens[stop - 1].line == line


@dataclass(frozen=True, slots=True)
class _Facts:
    numbers: frozenset[str]
    sides: frozenset[str]
    side_words: frozenset[str]
    names: frozenset[str]


def _side_phrases(tokens: Sequence[_Token], sides: Mapping[str, str]) -> tuple[frozenset[str], set[int]]:
    # Longest phrase first, so that "Free Syrian Army" is read before "army".
    found: set[str] = set()
    used: set[int] = set()
    for length in range(len(tokens), 0, -1):
        for start in range(len(tokens) - length + 1):
            span = range(start, start + length)
            keys, texts = (" ".join(getattr(tokens[i], part) for i in span) for part in ("key", "text"))
            side = _side_of(keys, sides) or _side_of(texts, sides)
            if side and not used.intersection(span):
                found.add(side)
                used.update(span)
    return frozenset(found), used


def _side_of(phrase: str, sides: Mapping[str, str]) -> str | None:
    # A possessive written without its apostrophe ("regimes", "ISs") names the side too.
    return sides.get(phrase) or (sides.get(phrase[:-1]) if phrase.endswith("s") else None)


def _facts(tokens: Sequence[_Token], sides: Mapping[str, str]) -> _Facts:
    found_sides, used = _side_phrases(tokens, sides)
    numbers = frozenset(
        t.key
        for t in tokens
        if (any(c.isdigit() for c in t.key) or t.key in NUMBER_WORDS) and not _YEAR.fullmatch(t.key)
    )
    names = frozenset(
        t.key
        for i, t in enumerate(tokens)
        if t.text[0].isupper() and not t.is_sentence_start and i not in used and t.key not in CALENDAR_WORDS
    )
    return _Facts(numbers, found_sides, frozenset(tokens[i].key for i in used), names)


def _swapped_kind(old: _Facts, new: _Facts) -> tuple[str, frozenset[str], frozenset[str]] | None:
    # A fact must be replaced by another of its kind: "rebels" -> "they", "Kansaba" -> "the town" or
    # "20" -> "many" is rewording, and spelling variants ("Raqa" / "Raqqa", "Shia" / "Shiite") are not swaps.
    if old.numbers and new.numbers and old.numbers != new.numbers:
        return "number", old.numbers, new.numbers
    if old.sides and new.sides and old.sides != new.sides:
        return "side", old.side_words, new.side_words
    was, now = (" ".join(sorted(name.replace(".", "") for name in facts.names)) for facts in (old, new))
    if was and now and was != now and fuzz.partial_ratio(was, now) < NAME_VARIANT_RATIO:
        return "name", old.names, new.names
    return None


def _phrase_key(phrase: str) -> str:
    # Acronyms (IS, SAA, NDF) keep their capitals so that the verb "is" is not a side.
    if phrase.isupper() and len(phrase) <= ACRONYM_MAX_LETTERS:
        return phrase
    return " ".join(word.replace("'", "") for word in _WORD.findall(phrase.casefold()))


def altered_tokens(original: str, copy: str, sides: Mapping[str, str] | None = None) -> list[AlteredToken]:
    """Return the facts (numbers, sides, capitalised names) swapped in place between `original` and `copy`.

    `sides` maps a phrase (one or more words, any case) to a side name; the default is DEFAULT_SIDES.
    """
    side_of = {_phrase_key(phrase): side for phrase, side in (sides or DEFAULT_SIDES).items()}
    old, new = _tokens(original), _tokens(copy)
    matcher = difflib.SequenceMatcher(None, [t.key for t in old], [t.key for t in new], autojunk=False)
    old_words, new_words = {t.key for t in old}, {t.key for t in new}
    found: list[AlteredToken] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "replace" or i2 - i1 > MAX_ALTERED_SPAN or j2 - j1 > MAX_ALTERED_SPAN:
            continue
        if _is_whole_line(old, i1, i2) or _is_whole_line(new, j1, j2):
            continue
        swap = _swapped_kind(_facts(old[i1:i2], side_of), _facts(new[j1:j2], side_of))
        # A swap is news only if one side's fact is absent from the other text: a headline or dateline
        # reworded with words the body also has ("Damascus", "NNA") is layout, not a changed fact.
        if swap is None or (swap[1] <= new_words and swap[2] <= old_words):
            continue
        token = AlteredToken(swap[0], " ".join(t.text for t in old[i1:i2]), " ".join(t.text for t in new[j1:j2]))
        if token not in found:
            found.append(token)
    return found
