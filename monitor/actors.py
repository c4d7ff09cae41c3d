"""The actor lexicon: which side a phrase names (for the outlet's leaning), and the claim words; no I/O but load."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from monitor.errors import ConfigError

UNKNOWN = "unknown"
# Capitals of up to this many letters are acronyms ("IS", "SDF"): matched case-sensitively, so "is" is no actor.
ACRONYM_MAX_LETTERS = 5
# A loaded word this close after a named actor ("ISIS terrorists") belongs to that actor.
MODIFIER_GAP_CHARS = 3
TOP_LEVEL_KEYS = {"sides", "phrases", "leanings", "claim_words"}


@dataclass(frozen=True, slots=True)
class ActorMention:
    """A phrase in a text that names a side."""

    side: str
    surface: str
    start: int
    end: int
    is_loaded: bool = False  # the side came from the outlet's leaning ("terrorists" in state media)


@dataclass(frozen=True, slots=True)
class ClaimWords:
    """Regular-expression fragments that make, hedge, dispute or date-back a control claim."""

    active: tuple[str, ...]
    passive: tuple[str, ...]
    nominal: tuple[str, ...]
    fell: tuple[str, ...]
    drove: tuple[str, ...]
    out_of: tuple[str, ...]
    withdrew: tuple[str, ...]
    hedges: tuple[str, ...]
    affirm_to: tuple[str, ...]
    disputes: tuple[str, ...]
    background: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Leaning:
    """An outlet leaning: the outlets that have it and the loaded phrases it gives a side."""

    name: str
    outlets: tuple[str, ...]
    phrases: tuple[tuple[str, str], ...]  # (phrase, side)
    unnamed_gainer: str | None = None  # who takes a place when such an outlet names no one ("were liberated")


@dataclass(frozen=True, slots=True)
class Matcher:
    """The compiled phrases of one leaning: one regex, the side of each folded phrase, the loaded ones."""

    leaning: str
    pattern: re.Pattern[str]
    sides: tuple[tuple[str, str], ...]  # (folded phrase, side)
    loaded: frozenset[str]


@dataclass(frozen=True, slots=True)
class ActorLexicon:
    """Sides, the phrases naming them, outlet leanings and claim words, with matchers compiled at load."""

    sides: tuple[str, ...]
    phrases: tuple[tuple[str, str], ...]  # (phrase, side)
    leanings: tuple[Leaning, ...]
    words: ClaimWords
    matchers: tuple[Matcher, ...]  # one per leaning, plus the neutral one (leaning "")
    outlet_keys: tuple[tuple[str, str], ...]  # (folded outlet name, leaning)

    def leaning_of(self, outlet: str | None) -> str:
        """Return the leaning name of an outlet ("" when none is known)."""
        if not outlet:
            return ""
        folded = f" {fold_phrase(outlet)} "
        return next((leaning for key, leaning in self.outlet_keys if f" {key} " in folded), "")

    def unnamed_gainer(self, outlet: str | None) -> str | None:
        """Return the side an outlet means when it reports a place taken without naming who took it."""
        leaning = self.leaning_of(outlet)
        return next((lean.unnamed_gainer for lean in self.leanings if lean.name == leaning), None)

    def find_actors(self, text: str, outlet: str | None = None) -> list[ActorMention]:
        """Return the side-naming phrases of `text`, longest match first, loaded words read for `outlet`."""
        leaning = self.leaning_of(outlet)
        matcher = next(m for m in self.matchers if m.leaning == leaning)
        folded_sides = dict(matcher.sides)
        mentions: list[ActorMention] = []
        for match in matcher.pattern.finditer(text):
            key = fold_phrase(match.group("phrase"))
            side = folded_sides.get(key, UNKNOWN)
            is_loaded = key in matcher.loaded
            previous = mentions[-1] if mentions else None
            if is_loaded and previous and match.start() - previous.end <= MODIFIER_GAP_CHARS:
                mentions[-1] = ActorMention(
                    previous.side, text[previous.start : match.end()], previous.start, match.end()
                )
                continue
            mentions.append(ActorMention(side, match.group(0), match.start(), match.end(), is_loaded))
        return mentions

    def side_of(self, phrase: str, outlet: str | None = None) -> str:
        """Return the side the first actor of `phrase` names, or "unknown"."""
        mentions = self.find_actors(phrase, outlet)
        return mentions[0].side if mentions else UNKNOWN


@lru_cache(maxsize=65536)
def fold_phrase(text: str) -> str:
    """Lower-case a phrase, drop apostrophes and a possessive s, and treat hyphens as spaces."""
    text = re.sub(r"['’]s?\b", "", text.lower())
    return " ".join(re.sub(r"[-\s]+", " ", text).split())


def phrase_regex(phrase: str) -> str:
    """Return a regex fragment for one lexicon phrase: spaces and hyphens interchangeable, acronyms exact."""
    tokens = [re.escape(token).replace("'", "['’]?") for token in re.split(r"[\s-]+", phrase.strip())]
    body = r"[\s\-]*".join(tokens)
    letters = phrase.replace(" ", "")
    if letters.isupper() and letters.isalpha() and len(letters) <= ACRONYM_MAX_LETTERS:
        return f"(?-i:{body})"
    return body


def compile_matcher(phrases: list[str]) -> re.Pattern[str]:
    """Compile phrases into one case-insensitive regex, longest first, with a possessive allowed."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    alternation = "|".join(phrase_regex(p) for p in ordered)
    return re.compile(rf"(?<![\w-])(?P<phrase>{alternation})(?:['’]s|['’]|s)?(?!\w)", re.IGNORECASE)


def load_actors(path: Path) -> ActorLexicon:
    """Read and validate the actor lexicon TOML at `path`; raise ConfigError listing every problem."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"cannot read actor lexicon: {exc}"], path=str(path)) from exc
    problems: list[str] = [f"{key}: unknown key" for key in data if key not in TOP_LEVEL_KEYS]
    sides = read_sides(data.get("sides"), problems)
    phrases = read_phrase_table(data.get("phrases"), "phrases", sides, problems)
    leanings = read_leanings(data.get("leanings", {}), sides, problems)
    words = read_claim_words(data.get("claim_words"), problems)
    if problems or words is None:
        raise ConfigError(problems, path=str(path))
    return build_lexicon(sides, phrases, leanings, words)


def build_lexicon(
    sides: tuple[str, ...], phrases: list[tuple[str, str]], leanings: list[Leaning], words: ClaimWords
) -> ActorLexicon:
    """Assemble a lexicon and compile one matcher per leaning (plus the neutral one)."""
    base = [phrase for phrase, _ in phrases]
    base_sides = tuple((fold_phrase(phrase), side) for phrase, side in phrases)
    matchers = [Matcher("", compile_matcher(base), base_sides, frozenset())]
    for leaning in leanings:
        loaded = [phrase for phrase, _ in leaning.phrases]
        folded = tuple((fold_phrase(phrase), side) for phrase, side in leaning.phrases)
        matcher = compile_matcher(base + loaded)
        matchers.append(Matcher(leaning.name, matcher, base_sides + folded, frozenset(f for f, _ in folded)))
    outlet_keys = tuple((fold_phrase(name), leaning.name) for leaning in leanings for name in leaning.outlets)
    return ActorLexicon(sides, tuple(phrases), tuple(leanings), words, tuple(matchers), outlet_keys)


def read_sides(table: object, problems: list[str]) -> tuple[str, ...]:
    """Return the declared side names plus "unknown"."""
    if not isinstance(table, dict) or not table:
        problems.append("sides: must be a table of side = description")
        return (UNKNOWN,)
    bad = [name for name in table if not re.fullmatch(r"[a-z][a-z0-9_]*", name)]
    problems += [f"sides.{name}: side names are lower-case words" for name in bad]
    return (*[name for name in table if name != UNKNOWN], UNKNOWN)


def read_phrase_table(table: object, key: str, sides: tuple[str, ...], problems: list[str]) -> list[tuple[str, str]]:
    """Return (phrase, side) pairs of a side -> [phrases] table, reporting unknown sides and clashes."""
    if not isinstance(table, dict):
        problems.append(f"{key}: must be a table of side = [phrases]")
        return []
    pairs: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for side, phrases in table.items():
        if side not in sides:
            problems.append(f"{key}.{side}: not a side declared in [sides]")
            continue
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
            problems.append(f"{key}.{side}: must be a list of non-empty strings")
            continue
        for phrase in phrases:
            folded = fold_phrase(phrase)
            if seen.get(folded, side) != side:
                problems.append(f"{key}.{side}: {phrase!r} is already a phrase of {seen[folded]}")
            seen[folded] = side
            pairs.append((phrase, side))
    return pairs


def read_leanings(table: object, sides: tuple[str, ...], problems: list[str]) -> list[Leaning]:
    """Return the outlet leanings: each a table with `outlets` and side = [loaded phrases]."""
    if not isinstance(table, dict):
        problems.append("leanings: must be a table of leaning tables")
        return []
    leanings = []
    for name, body in table.items():
        if not isinstance(body, dict) or not isinstance(body.get("outlets"), list):
            problems.append(f"leanings.{name}: needs outlets = [names] and side = [phrases]")
            continue
        outlets = tuple(str(outlet) for outlet in body["outlets"])
        gainer = body.get("unnamed_gainer")
        if gainer is not None and gainer not in sides:
            problems.append(f"leanings.{name}.unnamed_gainer: {gainer!r} is not a side declared in [sides]")
        loaded = {side: phrases for side, phrases in body.items() if side not in {"outlets", "unnamed_gainer"}}
        pairs = read_phrase_table(loaded, f"leanings.{name}", sides, problems)
        leanings.append(Leaning(name, outlets, tuple(pairs), gainer if isinstance(gainer, str) else None))
    return leanings


def read_claim_words(table: object, problems: list[str]) -> ClaimWords | None:
    """Return the claim words, each a list of valid regex fragments."""
    if not isinstance(table, dict):
        problems.append("claim_words: must be a table")
        return None
    values: dict[str, tuple[str, ...]] = {}
    for field in fields(ClaimWords):
        entries = table.get(field.name)
        if not isinstance(entries, list) or not entries or not all(isinstance(e, str) and e for e in entries):
            problems.append(f"claim_words.{field.name}: must be a non-empty list of strings")
            continue
        for entry in entries:
            try:
                re.compile(entry)
            except re.error as exc:
                problems.append(f"claim_words.{field.name}: {entry!r} is not a valid pattern ({exc})")
        values[field.name] = tuple(entries)
    known = {field.name for field in fields(ClaimWords)}
    problems += [f"claim_words.{key}: unknown key" for key in table if key not in known]
    return ClaimWords(**values) if len(values) == len(known) else None
