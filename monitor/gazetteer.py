"""The front gazetteer: load the place list, find and resolve place names in text; no I/O beyond the load."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from rapidfuzz import fuzz, process

from monitor.errors import ConfigError

# fold_name, fold_token and is_generic_key are imported from here by callers too.
from monitor.place_names import (
    NAME_TOKEN,
    fold_name,
    fold_token,
    folded_set,
    is_arabic,
    is_generic_key,
    strip_possessive,
)

COLUMNS: tuple[str, ...] = (
    "id", "name", "variants", "arabic", "kind", "governorate", "lat", "lon", "parent", "source", "is_watched",
)  # fmt: skip
KINDS = frozenset(["governorate", "district", "area", "city", "town", "village", "hill", "base", "neighbourhood"])
KINDS |= {"crossing"}
GOVERNORATES = frozenset(
    ["Aleppo", "Damascus", "Daraa", "Deir ez-Zor", "Hama", "Hasakah", "Homs", "Idlib", "Latakia", "Quneitra"]
) | {"Raqqa", "Rif Dimashq", "Suwayda", "Tartus"}
_TRUE = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False, "": False}
_GAP_ADJACENT = re.compile(r"[ \t\-]*")
_MAX_FUZZ_CANDIDATES = 3
# A one-letter slip in a short name is usually another place ("Masqan" is not Maskanah): no fuzzy below this.
_MIN_FUZZY_LETTERS = 8
# How far (characters) another place may be to say which governorate a shared name is in.
_CONTEXT_REACH = 250

_FUNCTION_WORDS = (
    "in on at the from to near of and or for with into toward towards outside inside around across between"
    " via by about over under while after before since until as like including both but when where than"
    " then also"
    " northern southern eastern western north south east west rural greater old central coastal upper"
    " lower new"
    " syria syrias syrian jabal tal mount city town village province governorate countryside"
    " january february march april may june july august september october november december"
    " monday tuesday wednesday thursday friday saturday sunday"
)
# A capitalised word next to a one-word match that does not suggest a person's name.
LEADERS_OK = folded_set(_FUNCTION_WORDS)
FOLLOWERS_OK = folded_set(
    _FUNCTION_WORDS + " provinces district region area airport air airbase base port mountains hills hill plain"
    " front university health directorate military operations council media center centre office committee"
    " brigade brigades battalion division hospital governor police revolutionary coast highway road crossing"
    " countryside's is was has had said says will"
)


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer row: a named place with its spellings, kind, governorate and watch flag."""

    id: str
    name: str
    variants: tuple[str, ...]
    arabic: str
    kind: str
    governorate: str
    lat: float | None
    lon: float | None
    parent: str
    source: str
    is_watched: bool


@dataclass(frozen=True, slots=True)
class PlaceMention:
    """A place found in a text; start/end are character offsets into that text."""

    place: Place
    surface: str
    start: int
    end: int


class _Token(NamedTuple):
    key: str  # folded form; "" for an article (al-, el-, a-) that matching skips
    start: int
    end: int
    is_capital: bool
    is_latin: bool
    article: str  # "at-" for a capitalised article, which only names made of generic words use ("At Tall")


_Match = tuple[int, tuple[str, ...]]  # index after the last token, key


class Gazetteer:
    """All places plus an index from folded spellings to places, for fast matching."""

    __slots__ = ("_by_id", "_fuzzy_keys", "_index", "_prefixes", "_shared", "_single_keys", "places")

    def __init__(self, places: Iterable[Place]) -> None:
        self.places: tuple[Place, ...] = tuple(places)
        self._by_id = {place.id: place for place in self.places}
        every: dict[tuple[str, ...], list[Place]] = {}
        for place in self.places:
            for spelling in _spellings(place):
                key = _index_key(spelling)
                if key and place not in every.setdefault(key, []):
                    every[key].append(place)
        ranked = {key: sorted(found, key=lambda place: _preference(place, key)) for key, found in every.items()}
        self._index = {key: found[0] for key, found in ranked.items()}
        # Spellings several places share (Suran in Aleppo and in Hama): the text around a mention picks one.
        self._shared = {key: tuple(found) for key, found in ranked.items() if len(found) > 1}
        self._prefixes = {key[:length] for key in self._index for length in range(1, len(key) + 1)}
        self._single_keys: set[tuple[str, ...]] = {
            key for key, place in self._index.items() if len(key) == 1 and place.is_watched
        }
        self._fuzzy_keys = {" ".join(key): place for key, place in self._index.items() if len("".join(key)) >= 5}

    def get(self, place_id: str) -> Place | None:
        """Return the place with this id, or None."""
        return self._by_id.get(place_id)

    def find_places(self, text: str) -> list[PlaceMention]:
        """Return every place mention in text, in text order, longest match first and non-overlapping."""
        tokens = _tokenize(text)
        found: list[tuple[PlaceMention, tuple[str, ...]]] = []
        i = 0
        while i < len(tokens):
            match = self._longest_match(tokens, i)
            if match is None or not _is_plausible(text, tokens, i, match[0], self._single_keys):
                i += 1
                continue
            end_index, key = match
            start, end = tokens[i].start, tokens[end_index - 1].end
            if text.count("(", start, end) > text.count(")", start, end) and text[end : end + 1] == ")":
                end += 1  # "al-Mansura (Ghab)": the bracket belongs to the name
            found.append((PlaceMention(self._index[key], text[start:end], start, end), key))
            i = end_index
        return [self._in_context(mention, key, found) for mention, key in found]

    def governorates_named(self, text: str) -> frozenset[str]:
        """Return the governorates of the unambiguous places named in text (to pass to resolve_place)."""
        return frozenset(_governorates_of(mention for mention in self.find_places(text)
                                          if fold_name(mention.surface) not in self._shared))  # fmt: skip

    def resolve_place(self, name: str, near: Collection[str] = ()) -> Place | None:
        """Return the place a written name refers to; of places sharing it, one in a `near` governorate wins."""
        key = _index_key(name)
        if not key:
            return None
        for candidate in (key, _strip_descriptors(key)):
            if candidate and candidate in self._index:
                return _prefer_governorate(self._shared.get(candidate, (self._index[candidate],)), near)
        return self._resolve_fuzzy(" ".join(_strip_descriptors(key)))

    def _in_context(
        self, mention: PlaceMention, key: tuple[str, ...], found: list[tuple[PlaceMention, tuple[str, ...]]]
    ) -> PlaceMention:
        """Pick, for a name several places share, the one in a governorate another place nearby is in."""
        if key not in self._shared:
            return mention
        nearby = (other for other, other_key in found if other_key not in self._shared
                  and abs(other.start - mention.start) <= _CONTEXT_REACH)  # fmt: skip
        place = _prefer_governorate(self._shared[key], _governorates_of(nearby))
        return mention if place is mention.place else replace(mention, place=place)

    def _resolve_fuzzy(self, joined: str) -> Place | None:
        # Only long names, a high score and a clear winner: a fuzzy hit on a short name is a guess.
        if len(joined.replace(" ", "")) < _MIN_FUZZY_LETTERS:
            return None
        hits = process.extract(joined, self._fuzzy_keys.keys(), scorer=fuzz.ratio, limit=_MAX_FUZZ_CANDIDATES)
        hits = [hit for hit in hits if hit[1] >= 85]
        if not hits:
            return None
        best = self._fuzzy_keys[hits[0][0]]
        rivals = {self._fuzzy_keys[hit[0]].id for hit in hits if hits[0][1] - hit[1] < 5}
        return best if rivals == {best.id} else None

    def _longest_match(self, tokens: list[_Token], i: int) -> _Match | None:
        head = tokens[i].key or tokens[i].article
        if (head,) not in self._prefixes:
            return None  # the common case: no place name starts with this word
        key: tuple[str, ...] = (head,)
        best: _Match | None = (i + 1, key) if key in self._index else None
        for j in range(i + 1, len(tokens)):
            if not tokens[j].key:
                continue
            key = (*key, tokens[j].key)
            if key not in self._prefixes:
                break
            if key in self._index:
                best = (j + 1, key)
        if best is not None and not tokens[i].key:
            # "At Tall Kalakh" is Tall Kalakh: a name from the next word on wins when it reaches as far
            plain = self._longest_match(tokens, i + 1) if i + 1 < len(tokens) else None
            return None if plain is not None and plain[0] >= best[0] else best
        return best


def _preference(place: Place, key: tuple[str, ...]) -> tuple[int, int, int]:
    # When two places share a spelling, the watched one wins (this tool follows the front), then the one whose
    # own name it is ("Salakhid" the town, not a variant of Salkhad), then the larger kind, named more often.
    size = {"city": 0, "town": 1, "base": 2, "crossing": 2, "neighbourhood": 3, "village": 4, "hill": 4}
    return (0 if place.is_watched else 1, 0 if _index_key(place.name) == key else 1, size.get(place.kind, 5))


def _prefer_governorate(ranked: tuple[Place, ...], governorates: Collection[str]) -> Place:
    """The first place in a governorate the text names, else the first by preference."""
    return next((place for place in ranked if place.governorate in governorates), ranked[0])


def _governorates_of(mentions: Iterable[PlaceMention]) -> set[str]:
    return {mention.place.governorate for mention in mentions if mention.place.governorate}


def _spellings(place: Place) -> list[str]:
    return [place.name, *place.variants, *([place.arabic] if place.arabic else [])]


def _index_key(spelling: str) -> tuple[str, ...]:
    """The index key of a spelling; a name of only generic words keeps its article ("At Tall"), else none."""
    key = fold_name(spelling)
    if not key or not is_generic_key(key):
        return key
    head = NAME_TOKEN.match(spelling)
    article = head.group().lower() if head and not is_arabic(head.group()[:1]) else ""
    return (f"{article}-", *key) if article and not fold_token(article) else ()


_DESCRIPTORS = frozenset(
    {"village", "town", "city", "area", "district", "province", "governorate", "countryside", "region", "the"}
)


def _strip_descriptors(key: tuple[str, ...]) -> tuple[str, ...]:
    folded = {fold_token(word) for word in _DESCRIPTORS}
    trimmed = list(key)
    while trimmed and trimmed[-1] in folded:
        trimmed.pop()
    while trimmed and trimmed[0] in folded:
        trimmed.pop(0)
    return tuple(trimmed)


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    for match in NAME_TOKEN.finditer(text):
        raw = strip_possessive(match.group())
        first = raw[:1]
        key = fold_token(raw)
        article = f"{raw.lower()}-" if not key and first.isupper() else ""
        tokens.append(_Token(key, match.start(), match.end(), first.isupper(), not is_arabic(first), article))
    return tokens


def _is_plausible(text: str, tokens: list[_Token], i: int, end_index: int, places: set[tuple[str, ...]]) -> bool:
    """Reject a match that is a lower-case word or the first or last name of a person."""
    significant = [token for token in tokens[i:end_index] if token.key]
    if not significant[0].is_latin:
        return True  # Arabic script: no case to check and no Latin name collisions
    if not significant[0].is_capital:
        return False
    if len(significant) > 1:
        return True
    before, after = _neighbour(text, tokens, i, -1), _neighbour(text, tokens, end_index - 1, +1)
    # Next to a watched place it is a list whose commas were lost ("Kansaba Salma Dourin"), not a name.
    if any(token is not None and (token.key,) in places for token in (before, after)):
        return True
    return not (_is_name_part(text, before, LEADERS_OK) or _is_name_part(text, after, FOLLOWERS_OK))


def _neighbour(text: str, tokens: list[_Token], index: int, step: int) -> _Token | None:
    """The word right before (step -1) or after (+1) a token, if only spaces or an article separate them."""
    j = index + step
    while 0 <= j < len(tokens) and _is_attached_article(text, tokens[j]):  # "Ayman al-Kassab"
        j += step
    if not 0 <= j < len(tokens):
        return None
    near, far = (tokens[j], tokens[index]) if step < 0 else (tokens[index], tokens[j])
    gap = re.sub(r"\b(?:al|el)\b", "", text[near.end : far.start], flags=re.IGNORECASE)
    return tokens[j] if _GAP_ADJACENT.fullmatch(gap) else None


def _is_name_part(text: str, neighbour: _Token | None, allowed: frozenset[str]) -> bool:
    """True when the neighbour is a capitalised word that makes the match look like part of a person's name."""
    if neighbour is None or not (neighbour.is_latin and neighbour.is_capital) or neighbour.key in allowed:
        return False
    return not _looks_like_headline(text, neighbour.start)


def _is_attached_article(text: str, token: _Token) -> bool:
    raw = text[token.start : token.end].lower()
    return not token.key and (raw in {"al", "el"} or text[token.end : token.end + 1] == "-")


def _looks_like_headline(text: str, position: int) -> bool:
    """True when the line around position is in Title Case, where capitals say nothing about names."""
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    words = [word for word in re.findall(r"[A-Za-z]+", line) if len(word) > 3]
    return len(words) >= 3 and sum(word[0].isupper() for word in words) / len(words) >= 0.7


def load_gazetteer(path: Path) -> Gazetteer:
    """Read a gazetteer CSV; raise ConfigError naming the row and column of every bad value."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
            if missing:
                raise ConfigError([f"missing column(s) {', '.join(missing)}"], path=str(path))
            rows = list(enumerate(reader, start=2))
    except OSError as error:
        raise ConfigError([f"cannot read gazetteer: {error}"], path=str(path)) from error
    places: list[Place] = []
    problems: list[str] = []
    for line, row in rows:
        place = _parse_row(row, line, problems)
        if place is not None:
            places.append(place)
    problems += _check_ids(places, rows)
    if problems:
        raise ConfigError(problems, path=str(path))
    return Gazetteer(places)


def _parse_row(row: dict[str, str], line: int, problems: list[str]) -> Place | None:
    before = len(problems)
    cells = {column: (row.get(column) or "").strip() for column in COLUMNS}

    def bad(column: str, why: str) -> None:
        problems.append(f"row {line} column {column}: {why}")

    for column in ("id", "name", "kind"):
        if not cells[column]:
            bad(column, "must not be empty")
    if cells["kind"] and cells["kind"] not in KINDS:
        bad("kind", f"{cells['kind']!r} is not one of {', '.join(sorted(KINDS))}")
    if cells["governorate"] and cells["governorate"] not in GOVERNORATES:
        bad("governorate", f"{cells['governorate']!r} is not a Syrian governorate")
    if cells["is_watched"].lower() not in _TRUE:
        bad("is_watched", f"{cells['is_watched']!r} is not true or false")
    lat = _coordinate(cells["lat"], 32.0, 37.5, lambda why: bad("lat", why))
    lon = _coordinate(cells["lon"], 35.5, 42.5, lambda why: bad("lon", why))
    if (lat is None) != (lon is None) and len(problems) == before:
        bad("lat" if lat is None else "lon", "give both lat and lon or neither")
    if len(problems) > before:
        return None
    arabic, *more_arabic = [name.strip() for name in cells["arabic"].split("|")]
    variants = tuple(v.strip() for v in [*cells["variants"].split("|"), *more_arabic] if v.strip())
    return Place(
        cells["id"],
        cells["name"],
        variants,
        arabic,
        cells["kind"],
        cells["governorate"],
        lat,
        lon,
        cells["parent"],
        cells["source"],
        _TRUE[cells["is_watched"].lower()],
    )


def _coordinate(cell: str, low: float, high: float, report: Callable[[str], None]) -> float | None:
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        report(f"{cell!r} is not a number")
        return None
    if not low <= value <= high:
        report(f"{value} is outside Syria ({low}..{high})")
        return None
    return value


def _check_ids(places: list[Place], rows: list[tuple[int, dict[str, str]]]) -> list[str]:
    problems = []
    line_of: dict[str, int] = {}
    for line, row in rows:
        place_id = (row.get("id") or "").strip()
        if place_id in line_of:
            first = line_of[place_id]
            problems.append(f"row {line} column id: duplicate id {place_id!r} (first on row {first})")
        line_of.setdefault(place_id, line)
    for place in places:
        if place.parent and place.parent not in line_of:
            problems.append(f"row {line_of[place.id]} column parent: unknown place id {place.parent!r}")
    return problems
