"""Altered copies, pure: the facts (numbers, sides, names) a near-copy swapped in place against its original."""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from monitor.normal_text import QUOTES, WORD

# Only small in-place substitutions count; a rewritten sentence is an edit, not a swap.
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

_SENTENCE_START = re.compile(r"(?:^|[.!?:\"\n(\[])\s*$")
_YEAR = re.compile(r"(?:19|20)\d\d")


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


@dataclass(frozen=True, slots=True)
class _Words:
    """A text's words and their match keys; the rest of a token is read only for the few spans compared."""

    text: str  # NFKC-normalised, straight quotes
    words: list[str]
    keys: list[str]
    starts: list[int]  # character offset of each word
    line_starts: list[int]

    def line(self, index: int) -> int:
        """Return the line number of word `index`."""
        return bisect.bisect_right(self.line_starts, self.starts[index])

    def tokens(self, start: int, stop: int) -> list[_Token]:
        """Return words `start` to `stop` as tokens."""
        # Only the few characters before a word tell whether a sentence starts there.
        return [
            _Token(
                self.words[i],
                self.keys[i],
                bool(_SENTENCE_START.search(self.text, max(0, self.starts[i] - 4), self.starts[i])),
                self.line(i),
            )
            for i in range(start, stop)
        ]


def _words(text: str) -> _Words:
    text = unicodedata.normalize("NFKC", text).translate(QUOTES)
    matches = list(WORD.finditer(text))
    words = [m.group() for m in matches]
    line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    keys = [word.casefold().replace("'", "") for word in words]
    return _Words(text, words, keys, [m.start() for m in matches], line_starts)


def _is_whole_line(words: _Words, start: int, stop: int) -> bool:
    # A replaced line (headline, "Source: ..." footer) is layout; facts are swapped inside a sentence.
    line = words.line(start)
    before = start == 0 or words.line(start - 1) != line
    after = stop == len(words.keys) or words.line(stop) != line
    return before and after and words.line(stop - 1) == line


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
    return " ".join(word.replace("'", "") for word in WORD.findall(phrase.casefold()))


def altered_tokens(original: str, copy: str, sides: Mapping[str, str] | None = None) -> list[AlteredToken]:
    """Return the facts (numbers, sides, capitalised names) swapped in place between `original` and `copy`.

    `sides` maps a phrase (one or more words, any case) to a side name; the default is DEFAULT_SIDES.
    """
    side_of = {_phrase_key(phrase): side for phrase, side in (sides or DEFAULT_SIDES).items()}
    old, new = _words(original), _words(copy)
    old_words, new_words = set(old.keys), set(new.keys)
    found: list[AlteredToken] = []
    if old_words == new_words:  # every swap below would be of words both texts have: layout, not facts
        return found
    matcher = difflib.SequenceMatcher(None, old.keys, new.keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "replace" or i2 - i1 > MAX_ALTERED_SPAN or j2 - j1 > MAX_ALTERED_SPAN:
            continue
        # A swap is news only if one side's fact is absent from the other text: a headline or dateline
        # reworded with words the body also has ("Damascus", "NNA") is layout, not a changed fact.
        if new_words.issuperset(old.keys[i1:i2]) and old_words.issuperset(new.keys[j1:j2]):
            continue
        if _is_whole_line(old, i1, i2) or _is_whole_line(new, j1, j2):
            continue
        was, now = old.tokens(i1, i2), new.tokens(j1, j2)
        swap = _swapped_kind(_facts(was, side_of), _facts(now, side_of))
        if swap is None or (swap[1] <= new_words and swap[2] <= old_words):
            continue
        token = AlteredToken(swap[0], " ".join(t.text for t in was), " ".join(t.text for t in now))
        if token not in found:
            found.append(token)
    return found
