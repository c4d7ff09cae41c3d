"""Claim sentences: split an article into sentences, find the words that claim a capture, drop hedged ones."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Protocol

from monitor.actors import ActorLexicon, ClaimWords


def word_set(words: str) -> frozenset[str]:
    """A frozenset of the space-separated words of a constant."""
    return frozenset(words.split())


# Words before a period that do not end a sentence.
ABBREVIATIONS = word_set("gen col lt maj capt sgt dr mr mrs ms st no vs etc") | word_set(
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
# Words that open a new clause: the gainer of a verb is looked for clause by clause, nearest first.
CLAUSE_OPENERS = (
    "said|says|say|told|reported|stated|announced|claimed|added|that|which|who|when|while|after|before|since|as"
    "|because|but|although|though|where|whereas"
)
# Base forms ("capture") report news only in headlines; in body text they follow "to", "will" or "and".
BASE_FORMS = word_set("capture seize take retake recapture regain liberate free overrun wrest win")
ADJECTIVE_LEADS = word_set("the a an newly recently its their")


class PlaceFinder(Protocol):
    """What claims need from the gazetteer: find place names in text and resolve one name."""

    def find_places(self, text: str) -> list[Any]:
        """Return place mentions (with .place, .surface, .start) in text order."""
        ...

    def resolve_place(self, name: str) -> Any | None:
        """Return the place (with .id, .name, .kind) one written name refers to, or None."""
        ...


@dataclass(frozen=True, slots=True)
class Trigger:
    """The words that make a sentence a claim, their kind and span within the sentence."""

    kind: str  # active | passive | nominal | fell | drove | withdrew
    surface: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Context:
    """What one article gives each sentence: date, outlet, lexicon, gazetteer, places named so far."""

    published: date | None
    outlet: str | None
    actors: ActorLexicon
    gazetteer: PlaceFinder
    mentions: tuple[tuple[int, str, Any], ...]  # (offset in article, surface, place or None), in text order
    sentence_offset: int = 0
    document: str = ""
    next_sentence: str = ""  # where "14 villages" may be named: "Among the villages are A and B"
    next_offset: int = 0
    previous_sentence: str = ""  # whose subject "they" and "its forces" point back to


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Split text into (offset, sentence) pairs at line breaks and sentence-final punctuation."""
    sentences = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        for end in re.finditer(r"[.!?]+[\"”’)]*(?=\s+[\"“(]?[A-Z0-9])", line.group()):
            word = re.search(r"(\S+)$", line.group()[: end.start()])
            token = (word.group(1) if word else "").lower().rstrip(".")
            if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()) or "." in token:
                continue
            sentences.append((start, text[start : line.start() + end.end()]))
            start = line.start() + end.end()
        sentences.append((start, text[start : line.end()]))
    return [(offset + len(s) - len(s.lstrip()), s.strip()) for offset, s in sentences if s.strip()]


def is_headline(sentence: str) -> bool:
    """True for a Title Case line, where capitals say nothing about which words are names."""
    words = [w for w in re.findall(r"[A-Za-z]+", sentence) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) >= 0.7


@lru_cache(maxsize=8)
def trigger_patterns(words: ClaimWords) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Compile the claim words into one regex per trigger kind, most specific kinds first."""

    def compiled(body: str) -> re.Pattern[str]:
        return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)

    def alternation(entries: tuple[str, ...]) -> str:
        return "|".join(sorted(entries, key=len, reverse=True))

    return (
        ("drove", compiled(alternation(words.drove))),
        ("withdrew", compiled(alternation(words.withdrew))),
        ("fell", compiled(rf"(?:{alternation(words.fell)})\s+(?:in)?to")),
        ("nominal", compiled(rf"(?:{alternation(words.nominal)})\s+of")),
        ("active", compiled(alternation(words.active))),
    )


def find_triggers(
    sentence: str, words: ClaimWords, headline: bool, subject_ends: frozenset[int] = frozenset()
) -> list[Trigger]:
    """Return the non-overlapping claim triggers of a sentence, in order, without adjectival uses.

    `subject_ends` are the offsets where actor names end: "rebels seize X" is a present-tense report.
    """
    found: list[Trigger] = []
    for kind, pattern in trigger_patterns(words):
        for match in pattern.finditer(sentence):
            if any(t.start < match.end() and match.start() < t.end for t in found):
                continue
            after_subject = len(sentence[: match.start()].rstrip()) in subject_ends
            if not is_verb_use(sentence, match, kind, headline, after_subject):
                continue
            passive = kind == "active" and is_passive(sentence, match, words)
            found.append(Trigger("passive" if passive else kind, match.group(0), match.start(), match.end()))
    return sorted(found, key=lambda t: t.start)


def is_verb_use(sentence: str, match: re.Match[str], kind: str, headline: bool, after_subject: bool = False) -> bool:
    """False for a capitalised word inside a name ("Liberated Province"), an adjective, or a bare base form."""
    first = match.group(0).split()[0]
    if not headline and match.start() > 0 and first[0].isupper():
        return False
    before = sentence[: match.start()].split()[-1:]
    if kind == "active" and before and before[0].lower() in ADJECTIVE_LEADS:
        return False
    affirmed = re.search(r"\b(?:managed|succeeded|able)\s+to(?:\s+\w+ly)?\s*$", sentence[: match.start()])
    return headline or after_subject or kind != "active" or first.lower() not in BASE_FORMS or bool(affirmed)


def is_passive(sentence: str, match: re.Match[str], words: ClaimWords) -> bool:
    """True when a participle is passive: after be/been, or followed by "by" with no object between."""
    if match.group(0).lower() not in {w.lower() for w in words.passive}:
        return False
    before = sentence[: match.start()].lower().split()[-2:]
    if any(word in {"was", "were", "is", "are", "been", "being", "be", "got"} for word in before):
        return True
    return bool(re.match(r"\s+(?:\w+ly\s+)?(?:back\s+)?by\b", sentence[match.end() :]))


def hedge_before(sentence: str, trigger: Trigger, words: ClaimWords) -> str | None:
    """Return the hedge or negation that makes the trigger no claim ("failed to", "not", "would"), or None."""
    window = " ".join(re.findall(r"[\w'’-]+", sentence[: trigger.start].lower())[-6:])
    adverb = r"(?:\s+(?:the|\w+ly|soon|also|still|then|now|eventually|finally|further))*"
    for hedge in sorted(words.hedges, key=len, reverse=True):
        found = re.search(rf"(?:^|\s)(?P<lead>[\w'’-]+\s+)?{re.escape(hedge)}{adverb}$", window)
        if found and not (hedge == "to" and (found["lead"] or "").strip() in words.affirm_to):
            return hedge
    if trigger.kind == "passive" and re.search(r"\b(?:not|never)\b", window):
        return "not"
    after = sentence[trigger.end : trigger.end + 90]
    if trigger.kind == "nominal" and re.search(r"\b(?:would|could|might|will|may)\b", after):
        return "a modal after the noun"
    purpose = re.search(r"\b(?:for|toward|towards|at)\s+(?:the\s+)?(?:[\w-]+\s+)?$", sentence[: trigger.start])
    if trigger.kind == "nominal" and purpose:
        return "a purpose before the noun"  # "in preparation for the final liberation of X"
    return None
