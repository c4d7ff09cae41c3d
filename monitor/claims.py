"""Control claims ("rebels seized Kansaba"): who took which place, when, new or recalled; pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any, Protocol

from monitor.actors import UNKNOWN, ActorLexicon, ActorMention, ClaimWords
from monitor.dates import Period, find_date_expressions, resolve_period


def word_set(words: str) -> frozenset[str]:
    """A frozenset of the space-separated words of a constant."""
    return frozenset(words.split())


# A claim dated more than this many days before publication is history recalled, not news.
NEW_WITHIN_DAYS = 14
# Words before a period that do not end a sentence.
ABBREVIATIONS = word_set("gen col lt maj capt sgt dr mr mrs ms st no vs etc") | word_set(
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
DIRECTIONS = word_set("north south east west northeast northwest southeast southwest northern southern eastern western")
# Words that end a place name in a list item ("Tel Skak in Hama"); most of them also end the whole list.
OBJECT_STOPS = DIRECTIONS | word_set(
    "from by after before as which that who whom where while when since following during amid despite according"
    " said says saying on at with without to into toward towards killing leaving forcing causing but than because"
    " under within for through until across along against in near inside outside around was were is are has have"
    " had will would"
)
SPAN_STOPS = OBJECT_STOPS - {"in", "near", "inside", "outside", "around"} - DIRECTIONS
# Words that open a new clause: the gainer of a verb is looked for clause by clause, nearest first.
CLAUSE_OPENERS = (
    "said|says|say|told|reported|stated|announced|claimed|added|that|which|who|when|while|after|before|since|as"
    "|because|but|although|though|where|whereas"
)
RELATIVE_OPENERS = word_set("which who that where")
# Nouns after a name that belong to it ("Mallah Farms", "Tabqa air base"), and generic nouns that do not.
FACILITY_NOUNS = (
    r"(?:(?:military\s+|air\s+|gas\s+|oil\s+|border\s+)?(?:farms|road|street|hill|hills|hilltop|base|airbase"
    r"|airport|field|camp|dam|station|crossing|province|governorate|plain|mountain|heights|highway|prison|bridge))"
)
GENERIC_NOUNS = word_set(
    "town towns village villages city cities area areas region district districts locality localities neighbourhood"
    " neighbourhoods neighborhood neighborhoods countryside suburb suburbs positions points"
)
# Place-name heads that start a new name in a comma-less list ("Beit Khadour Beit Zaifa Tel alKhadar").
NAME_HEADS = word_set(
    "beit bayt tel tal tell tall tellat jabal jebel ain ayn ein kafr kfar deir dayr khan ras wadi qalaat jisr khirbet"
    " maarat"
)
PARTICLES = word_set("al el a as ash ad ar at az ez bin ibn bani of")
# Capitalised words that are never the place a capture verb takes.
NOT_PLACES = word_set(
    "the a an this that these those it its he she they we his her their our when meanwhile however but while after"
    " before since then also last next earlier later monday tuesday wednesday thursday friday saturday sunday january"
    " february march april may june july august september october november december monitor observatory reuters afp"
    " sana army forces control part parts most much all some several many large new syria syrias iraq turkey lebanon"
    " jordan israel iran russia egypt europe syrian iraqi turkish russian iranian lebanese jordanian israeli kurdish"
    " arab palestinian turkmen alawite sunni shiite christian druze kurd kurds"
)
# Lower-case words that may follow a place name without making it an adjective ("Handarat a camp").
FUNCTION_WORDS = word_set(
    "a an the and or which that who whom whose where when while as is was were has had have its their his her"
)
# Endings of a capitalised adjective used before a noun ("Kurdish civilians", "Syrias civil war").
ADJECTIVE_ENDINGS = ("ish", "ian", "an", "ese", "ic", "i", "s")
# Base forms ("capture") report news only in headlines; in body text they follow "to", "will" or "and".
BASE_FORMS = word_set("capture seize take retake recapture regain liberate free overrun wrest win")
ADJECTIVE_LEADS = word_set("the a an newly recently its their")
SPEECH_VERBS = r"said|says|reported|stated|announced|claimed|confirmed|told"
COREFERENCE = re.compile(
    r"^(?:the|this|that)\s+(?:[\w-]+\s+){0,2}?(?P<noun>town|city|village|district|base|airbase|neighbourhood"
    r"|neighborhood|camp)$",
    re.IGNORECASE,
)
# Which gazetteer kinds "the town", "the base" and so on may point back to (unresolved names fit any).
NOUN_KINDS = {
    "town": {"town", "village", "city"},
    "village": {"village", "town"},
    "city": {"city", "town"},
    "base": {"base"},
    "airbase": {"base"},
    "camp": {"base", "area"},
}
# Places named by numbers: "point 875", "points 9088 901", "the 101 102 and 103 gas fields".
NUMBERED = re.compile(
    r"(?:the\s+)?(?:(?P<before>points?)\s+)?(?P<numbers>\d+(?:\s+\d+)*)"
    r"(?:\s+(?P<after>(?:gas |oil )?fields?|bases?|points?))?",
    re.IGNORECASE,
)
# An item that starts a new stretch of a list even after a locative ended the last one ("... and points 856").
LIST_HEAD = re.compile(r"(?:the\s+)?(?:villages?|towns?|points?|hills?|hilltops?)\b", re.IGNORECASE)
COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
PRONOUN_SUBJECT = re.compile(r"\b(?:they|it|its forces|their forces|the group|he)\b", re.IGNORECASE)
# A name after these reads as a place ("in Khan al-Assal", "the town of X"), for "the town" to point back to.
NAMED_AFTER_PREPOSITION = re.compile(
    r"\b(?:in|at|near|into|of)\s+(?:the\s+)?(?:(?:town|village|city|district|area)\s+of\s+)?(?=[A-Z]|al-)"
)


class PlaceFinder(Protocol):
    """What claims need from the gazetteer: find place names in text and resolve one name."""

    def find_places(self, text: str) -> list[Any]:
        """Return place mentions (with .place, .surface, .start) in text order."""
        ...

    def resolve_place(self, name: str) -> Any | None:
        """Return the place (with .id, .name, .kind) one written name refers to, or None."""
        ...


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim that a side took a place, with the words that made each field."""

    place: str
    town_id: str | None
    town: str | None
    unresolved_reason: str | None
    gained_by: str
    lost_by: str
    status: str  # new | background | disputed
    event_date: str | None
    claimed_by: str | None
    quote: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Trigger:
    """The words that make a sentence a claim, their kind and span within the sentence."""

    kind: str  # active | passive | nominal | fell | drove | withdrew
    surface: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PlaceItem:
    """One place named in a claim: as written, its offset in the sentence, the gazetteer place and why."""

    surface: str
    start: int
    place: Any | None
    reason: str


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


def name_runs(text: str) -> list[tuple[int, str]]:
    """Return (offset, name) runs of capitalised words with inner particles ("Jisr al Shughour")."""
    article = r"(?:al|el|a|as|ash|ad|ar|at|az|an|ez)"
    token = rf"(?:{article}-?(?=[A-Z])[\w'’-]+|{article}-[a-z][\w'’-]+|[A-Z][\w'’-]*)"
    joiner = r"(?:\s+(?:(?:al|el|as|ash|ad|ar|at|az|ez|bin|ibn|bani|de|of)\s+)?)"
    runs = []
    numbered = r"(?:(?<=Base)|(?<=Regiment)|(?<=Division)|(?<=Brigade)|(?<=Point)|(?<=Hill))\s+\d+(?![\w-])"
    for match in re.finditer(
        rf"(?<![\w-]){token}(?:{joiner}{token})*(?:{numbered})?(?:\s+{FACILITY_NOUNS}(?![\w-]))?", text
    ):
        words = match.group(0).split()
        while words and (words[0].lower() in NOT_PLACES | PARTICLES or words[0].isdigit()):
            words.pop(0)
        while len(words) > 1 and words[-1].lower() in NOT_PLACES | PARTICLES:
            words.pop()  # "the city of Aleppo Syrias largest"
        if words and re.match(r"[A-Z]|[a-z]{1,3}-?[A-Z]|[a-z]{1,3}-", words[0]):
            runs.append((match.start() + match.group(0).index(words[0]), " ".join(words)))
    return runs


def split_run(offset: int, name: str, gazetteer: PlaceFinder) -> list[tuple[int, str]]:
    """Split a comma-less run of names at known places or name heads ("Beit Khadour Beit Zaifa")."""
    if gazetteer.resolve_place(name) is not None:
        return [(offset, name)]
    mentions = gazetteer.find_places(name)
    if len(mentions) >= 2 and not re.search(r"\s(?:of|al|el)\s", name):
        return [(offset + m.start, m.surface) for m in mentions]
    parts: list[tuple[int, str]] = []
    for word in re.finditer(r"\S+", name):
        previous = name[: word.start()].split()[-1:]
        starts_new = word.group().lower() in NAME_HEADS and previous and previous[0].lower() not in NAME_HEADS
        if not parts or (starts_new and previous[0].lower() not in PARTICLES):
            parts.append((offset + word.start(), word.group()))
        else:
            start = parts[-1][0]
            parts[-1] = (start, name[start - offset : word.end()])
    return parts


def list_items(span: str) -> list[tuple[int, str, bool]]:
    """Split a place list into (offset, item, starts afresh): "as well as" starts afresh after a locative."""
    items = []
    is_fresh = True
    pattern = r",|;|\band\b|\bas well as\b|\bincluding\b|\bnamely\b|\bsuch as\b|\s[-–—:]\s|\bor\b|\bplus\b"
    position = 0
    for separator in [*re.finditer(pattern, span), None]:
        end = separator.start() if separator else len(span)
        item = span[position:end]
        if item.strip():
            items.append((position + len(item) - len(item.lstrip()), item.strip(), is_fresh))
        is_fresh = separator is not None and separator.group().strip() in {"as well as", ";"}
        position = separator.end() if separator else end
    return items


def cut_item(item: str, from_right: bool = False) -> str:
    """Cut an item at the first stop word or date ("Tel Skak in Hama" -> "Tel Skak"), or keep what follows the last."""
    stops = [m for m in re.finditer(r"\s(\w+)\b", item) if m.group(1).lower() in OBJECT_STOPS]
    if from_right:
        return item[stops[-1].end() :] if stops else item
    end = stops[0].start() if stops else len(item)
    dates = find_date_expressions(item)
    return item[: min(end, dates[0].start if dates else end)]


def places_in(span: str, span_start: int, ctx: Context, is_left: bool = False) -> list[PlaceItem]:
    """Return the places a list names, one per item; "the town" resolves to the place named last."""
    found: list[PlaceItem] = []
    ended = False
    numbers: list[tuple[int, str]] = []  # "the 101 102 and 103 gas fields": numbers waiting for their noun
    noun = ""
    for offset, raw, is_fresh in list_items(span):
        if ended and not (is_fresh or LIST_HEAD.match(raw)):
            continue
        cut = cut_item(raw)
        numbered = NUMBERED.fullmatch(cut.strip())
        if numbered:
            noun = (numbered["before"] or numbered["after"] or noun).lower().rstrip("s")
            numbers += [(span_start + offset + n.start(), n.group()) for n in re.finditer(r"\d+", numbered["numbers"])]
            if noun:
                found += [described_place(f"{noun} {number}", position, ctx) for position, number in numbers]
                numbers = []
            ended = not is_left and len(cut.rstrip()) < len(raw.rstrip())
            continue
        items = item_places(cut, span_start + offset, ctx)
        if not items and is_left:
            tail = cut_item(raw, from_right=True)
            items = item_places(tail, span_start + offset + len(raw) - len(tail), ctx)
        found += items
        # "X in A and B": the list ended at "in"; A and B locate X, they were not taken
        ended = not is_left and len(cut.rstrip()) < len(raw.rstrip())
    return found


def item_places(raw: str, start: int, ctx: Context) -> list[PlaceItem]:
    """Return the places of one list item: a pointer back ("the town") or its capitalised names."""
    item = re.sub(r"['’]s$", "", raw.strip(" .\"'“”"))
    coreference = COREFERENCE.match(item)
    if coreference:
        place = recent_place(ctx, ctx.sentence_offset + start, coreference["noun"].lower())
        reason = f"place: {item!r} -> {place[1]!r}, the place named last" if place else ""
        return [PlaceItem(place[1], start, place[2], reason)] if place else []
    facility = re.search(rf"\b{FACILITY_NOUNS}\s+of\s+(?=[A-Z]|al-|el-)", item, re.IGNORECASE)
    found = []
    for offset, run in name_runs(item):
        for part_start, name in split_run(offset, run, ctx.gazetteer):
            if not is_place_name(name, item, part_start, start, ctx):
                continue
            # "the farms of al-Maleh" are the farms, unless the gazetteer knows the name itself ("hill of X")
            is_facility = facility is not None and 0 <= part_start - facility.end() <= 4
            if facility is not None and is_facility and ctx.gazetteer.resolve_place(name) is None:
                name, part_start = item[facility.start() : part_start + len(name)], facility.start()
            found.append(described_place(name, start + part_start, ctx))
    return found


def is_place_name(name: str, item: str, offset: int, item_start: int, ctx: Context) -> bool:
    """True when a capitalised run can be a place: no actor, month, country, adjective, acronym or first word."""
    if name.lower() in NOT_PLACES or len(name) < 3 or name.replace(" ", "").isdigit():
        return False
    if any(m.start == 0 and m.end >= len(name) - 2 for m in ctx.actors.find_actors(name, ctx.outlet)):
        return False
    if ctx.gazetteer.resolve_place(name) is not None:
        return True
    following = item[offset + len(name) :].split()[:1]
    is_adjective = bool(following) and following[0].isalpha() and following[0].islower() and " " not in name
    is_adjective = is_adjective and name.endswith(ADJECTIVE_ENDINGS)
    is_adjective = is_adjective and following[0] not in GENERIC_NOUNS | FUNCTION_WORDS
    is_acronym = name.isupper() and " " not in name
    is_first_word = item_start + offset == 0 and " " not in name
    return not (is_adjective or is_acronym or is_first_word)


def described_place(name: str, start: int, ctx: Context) -> PlaceItem:
    """Resolve one written name through the gazetteer and say how."""
    name = re.sub(r"\s+(?:village|villages|town|towns|city|area|areas)$", "", name, flags=re.IGNORECASE)
    place = ctx.gazetteer.resolve_place(name)
    if place is None:
        return PlaceItem(name, start, None, f"place: {name!r} is not in the gazetteer")
    return PlaceItem(name, start, place, f"place: {name!r} -> {place.name} ({place.id})")


def recent_place(ctx: Context, position: int, noun: str) -> tuple[int, str, Any] | None:
    """Return the last place named before `position` that fits the noun ("the town": not a province)."""
    kinds = NOUN_KINDS.get(noun)
    for mention in reversed(ctx.mentions):
        start, end = mention[0], mention[0] + len(mention[1])
        before, after = ctx.document[max(0, start - 30) : start], ctx.document[end : end + 20]
        written_with_noun = re.search(rf"\b{noun}s?\s+of\s+(?:the\s+)?$", before) or re.match(rf"\s+{noun}\b", after)
        if start < position and written_with_noun:
            return mention  # "the district" points back to a place the text called a district
    for mention in reversed(ctx.mentions):
        place = mention[2]
        if mention[0] < position and (place is None or kinds is None or getattr(place, "kind", "") in kinds):
            return mention
    return None


def right_span(sentence: str, start: int) -> tuple[int, str]:
    """Return (offset, text) after a verb up to the word or mark that ends its object."""
    stops = "|".join(sorted(SPAN_STOPS))
    end = re.search(
        rf"[;()\".]|,\s+(?!and\b|the\b|al-|[A-Z])|\s(?:{stops})\b(?<!\sas)|(?<!well)\sas\b(?!\s+well\s+as)|$",
        sentence[start : start + 220],
    )
    return start, sentence[start : start + (end.start() if end else 220)]


def listed_after(sentence: str, start: int) -> tuple[int, str] | None:
    """For "three villages ... - A B and C" or "including A and B", return the span of the list that follows."""
    found = re.search(r"(?:\s[-–—:]\s|\bincluding\s+(?:the\s+)?(?:\w+\s+of\s+)?|\bnamely\s+)", sentence[start:])
    return right_span(sentence, start + found.end()) if found else None


def listed_next(ctx: Context) -> list[PlaceItem]:
    """For "seized 14 villages." followed by "... including the towns of A and B", the places named next."""
    following = ctx.next_sentence
    found = re.search(
        r"\bincluding\s+(?:the\s+)?(?:\w+\s+of\s+)?|^Among\b.*?\bare\s+"
        r"|\b(?:areas|villages|towns|hills|positions)\s+(?:were|are|include|included)\s+",
        following,
    )
    if not found:
        return []
    start, span = right_span(following, found.end())
    items = places_in(span, start, replace(ctx, sentence_offset=ctx.next_offset))
    return [replace(item, reason=f"{item.reason}, named in the next sentence") for item in items]


def left_span(sentence: str, end: int) -> tuple[int, str]:
    """Return (offset, text) of the noun phrases before a passive verb, back to the clause opener."""
    left = re.sub(r"(?:\s+(?:which|that|has|have|had|been|was|were|is|are|now|also|\w+ly))*\s*$", "", sentence[:end])
    openers = list(re.finditer(rf"[;:(\"]|\b(?:{CLAUSE_OPENERS})\b", left))
    start = max(openers[-1].end() if openers else 0, len(left) - 220)
    return start, left[start:]


def relative_span(sentence: str, trigger: Trigger, ctx: Context) -> tuple[int, str] | None:
    """For "X which the army captured", return the span of X (the place before which/that)."""
    found = re.search(r"\s(?:which|that|whom)\s+(?P<between>[^;:]{0,60})$", sentence[: trigger.start])
    if not found:
        return None
    actors = ctx.actors.find_actors(found["between"], ctx.outlet)
    if not actors or actors[0].start > 4 or len(found["between"]) - actors[-1].end > 25:
        return None
    before = sentence[: found.start()]
    runs = [(start, name) for start, name in name_runs(before[-60:]) if before[-60:].endswith(name)]
    if not runs or re.search(r"\b(?:in|near|at|outside)\s+(?:the\s+)?$", before[: len(before) - len(runs[-1][1])]):
        return None  # "a hill in Daraa province that rebels seized": the province was not what they seized
    return len(before) - len(runs[-1][1]), runs[-1][1]


def clause_agent(
    sentence: str, end: int, mentions: list[ActorMention], skip: ActorMention | None
) -> ActorMention | None:
    """Return the subject actor of the clause ending at `end`, walking out clause by clause."""
    bounds = [0, *(m.end() for m in re.finditer(rf"[;:(]|\b(?:{CLAUSE_OPENERS})\b", sentence[:end])), end]
    adjacent = [
        m
        for m in mentions
        if m is not skip
        and m.end <= end
        and re.fullmatch(r"\s*", sentence[m.end : end])
        and re.search(r"\bwith\s+(?:the\s+)?$", sentence[: m.start])
    ]
    if adjacent:
        return adjacent[-1]  # "with the Kurdish forces capturing X": the noun right before the verb is its subject
    candidates = [m for m in mentions if m is not skip and is_subject(sentence, m)]
    for index in range(len(bounds) - 1, 0, -1):
        low, high = bounds[index - 1], bounds[index]
        inside = [m for m in candidates if low <= m.start and m.end <= high]
        opener = sentence[max(0, low - 6) : low].split()[-1:] if low else []
        is_relative = bool(opener) and opener[0].lower() in RELATIVE_OPENERS
        if inside:
            if index == len(bounds) - 1 or not is_relative:
                return inside[0]
            continue  # an outer relative clause describes a noun; its actors are not the subject
        if index == len(bounds) - 1 and is_relative:
            # "the groups that retook X": the subject is the noun the relative clause hangs on
            antecedent = [m for m in candidates if low - 60 <= m.end <= low]
            if antecedent:
                return antecedent[-1]
    return None


def is_subject(sentence: str, mention: ActorMention) -> bool:
    """False for adjectival or object uses: "rebel-held", "attacks against troops", "from the regime"."""
    after = sentence[mention.end : mention.end + 14].lower()
    before = sentence[: mention.start].lower().split()[-1:]
    if re.match(r"(?:-|\s)(?:held|controlled|dominated)\b|-(?:run|backed|led|affiliated|linked)\b", after):
        return False
    return not (
        before
        and before[0] in {"against", "from", "targeting", "targeted", "attacked", "with", "on", "by", "fighting", "of"}
    )


def actor_after(sentence: str, start: int, prefix: str, mentions: list[ActorMention]) -> ActorMention | None:
    """Return the actor right after `prefix` ("from", "by", "to") at or after `start`, or None."""
    pattern = rf"\b(?:{prefix})\s+(?:the\s+)?(?:(?:control|hands)\s+of\s+(?:the\s+)?)?"
    for found in re.finditer(pattern, sentence[start:]):
        hit = next((m for m in mentions if m.start == start + found.end()), None)
        if hit:
            return hit
    return None


def possessor_before(sentence: str, start: int, mentions: list[ActorMention]) -> ActorMention | None:
    """Return the actor owning a noun ("the regime's capture of"), or None."""
    return next((m for m in mentions if 0 <= start - m.end <= 5 and not sentence[m.end : start].strip(" 's’")), None)


def agent_and_loser(
    sentence: str, trigger: Trigger, span: tuple[int, int], mentions: list[ActorMention]
) -> tuple[ActorMention | None, ActorMention | None]:
    """Return (gainer, loser) mentions of one trigger, by the rule of its kind."""
    loser = actor_after(sentence, trigger.end, "from|out of", mentions)
    if trigger.kind == "drove":
        loser = next((m for m in mentions if trigger.end <= m.start < trigger.end + 60), None)
        return clause_agent(sentence, trigger.start, mentions, loser), loser
    if trigger.kind == "withdrew":
        leaver = clause_agent(sentence, trigger.start, mentions, None)
        others = [m for m in mentions if leaver and m.side not in {leaver.side, UNKNOWN} and m.start > trigger.end]
        return (others[0] if others else None), leaver
    if trigger.kind == "fell":
        return actor_after(sentence, trigger.end - 4, "to|into|under", mentions), None
    if trigger.kind == "nominal":
        owner = possessor_before(sentence, trigger.start, mentions)
        if trigger.surface.lower().startswith(("fall", "loss")):
            return actor_after(sentence, span[1], "to", mentions), owner
        right = next((m for m in mentions if m.start >= span[1] and m is not loser and is_subject(sentence, m)), None)
        by = actor_after(sentence, span[1], "by", mentions)
        return owner or by or clause_agent(sentence, trigger.start, mentions, loser) or right, loser
    if trigger.kind == "passive":
        by = actor_after(sentence, trigger.end, "by", mentions)
        return by or clause_agent(sentence, span[0], mentions, loser), loser
    return clause_agent(sentence, trigger.start, mentions, loser), loser


def mask_relative_clauses(sentence: str, trigger: Trigger) -> str:
    """Blank out ", who ... ," and ", which ..." clauses that do not hold the trigger: they describe a noun."""
    masked = sentence
    for clause in re.finditer(r",\s*(?:who|which|whose)\b[^,;]*(?:,|$)", sentence):
        if not clause.start() <= trigger.start < clause.end():
            masked = masked[: clause.start()] + " " * (clause.end() - clause.start()) + masked[clause.end() :]
    return masked


def claim_date(sentence: str, trigger: Trigger, published: date | None) -> tuple[str | None, Period | None]:
    """Return the time expression of the trigger's clause (after the verb first) and the period it means."""
    expressions = find_date_expressions(sentence)
    opener = rf"\b(?:{CLAUSE_OPENERS})\b|[;(]"
    after = [
        d for d in expressions if d.start >= trigger.end and not re.search(opener, sentence[trigger.end : d.start])
    ]
    before = [
        d for d in expressions if d.end <= trigger.start and not re.search(opener, sentence[d.end : trigger.start])
    ]
    chosen = after[:1] or before[-1:]
    if not chosen:
        return None, None
    return chosen[0].expression, resolve_period(chosen[0].expression, published) if published else None


def claim_status(sentence: str, words: ClaimWords, period: Period | None, published: date | None) -> tuple[str, str]:
    """Return (status, reason): disputed on a dispute word, background on a marker or an old date, else new."""
    lowered = sentence.lower()
    for word in words.disputes:
        if re.search(rf"\b{word}\b", lowered):
            return "disputed", f"status: disputed ({word!r})"
    for word in words.background:
        if re.search(rf"\b{word}\b", lowered):
            return "background", f"status: background ({word!r})"
    if period is not None and published is not None:
        age = (published - period.middle()).days
        if age > NEW_WITHIN_DAYS:
            return "background", f"status: background (dated about {age} days before publication)"
        return "new", f"status: new (dated about {age} days before publication)"
    return "new", "status: new (no hedge, dispute or background word, no older date)"


def attribution(sentence: str) -> str | None:
    """Return who the sentence attributes the claim to ("the Syrian Observatory", "state media"), or None."""
    source = r"(?P<src>(?:[\w'’-]+\s+){0,7}?[\w'’-]+?)"
    found = re.search(rf"\baccording to\s+{source}(?=\s*(?:[,.;(]|$|\s+(?:on|in|which|that|and|said)\b))", sentence)
    if found:
        return found["src"]
    speaker = r"(?P<src>(?:[\w'’-]+\s+){0,7}?[\w'’-]+)"
    found = re.search(rf"{speaker}\s+(?:also\s+|has\s+|had\s+)?(?:{SPEECH_VERBS})\b", sentence)
    if not found:
        return None
    words = found["src"].split()
    leads = {"state", "the", "a", "an", "opposition", "activists", "sources", "officials", "monitors"}
    clause_words = {"that", "which", "who", "when", "while", "after", "as"}
    for index in range(len(words)):
        tail = words[index:]
        if (tail[0][:1].isupper() or tail[0].lower() in leads) and not clause_words & {w.lower() for w in tail}:
            return " ".join(tail)
    return None


def claim_places(sentence: str, trigger: Trigger, ctx: Context) -> tuple[list[PlaceItem], tuple[int, int]]:
    """Return the places a trigger takes and the span (start, end) they were read from."""
    if trigger.kind in {"passive", "fell"}:
        start, span = left_span(sentence, trigger.start)
        return places_in(span, start, ctx, is_left=True), (start, start + len(span))
    begin = trigger.end
    if trigger.kind == "drove":
        rest = re.search(rf"\b(?:{'|'.join(ctx.actors.words.out_of)})\b", sentence[trigger.end : trigger.end + 80])
        if not rest:
            return [], (trigger.end, trigger.end)
        begin = trigger.end + rest.end()
    start, span = right_span(sentence, begin)
    places = places_in(span, start, ctx)
    after_span = sentence[start + len(span) :]
    continuation = re.match(r".{0,100}?\band\s+(?=(?:the\s+)?(?:points?|villages?|towns?|hills?)\b)", after_span)
    if places and continuation:  # "X near A and points 856 and 866": the list goes on after the locative
        more_start, more = right_span(sentence, start + len(span) + continuation.end())
        places += places_in(more, more_start, ctx)
    if not places and re.search(r"\b(?:villages|towns|hills|hilltops|areas|positions|localities)\b", span):
        listed = listed_after(sentence, start)
        places = split_to_count(places_in(listed[1], listed[0], ctx) if listed else [], span, ctx)
        if not places and ctx.next_sentence:
            places = listed_next(ctx)
    if not places and trigger.kind == "active":
        relative = relative_span(sentence, trigger, ctx)
        places = places_in(relative[1], relative[0], ctx)[-1:] if relative else []
    return places, (start, start + len(span))


def split_to_count(places: list[PlaceItem], span: str, ctx: Context) -> list[PlaceItem]:
    """When "three villages" are listed as fewer names, split unknown two-word names ("Zeitan Khalsa and Barna")."""
    count = re.search(rf"\b({'|'.join(COUNT_WORDS)})\s+(?:[\w-]+\s+)?(?:villages|towns|hills|hilltops|areas)", span)
    wanted = COUNT_WORDS[count.group(1).lower()] if count else 0
    result: list[PlaceItem] = []
    for index, item in enumerate(places):
        words = item.surface.split()
        missing = wanted - len(result) - (len(places) - index)
        simple = not {w.lower() for w in words} & (PARTICLES | NAME_HEADS)
        if item.place is None and missing > 0 and 1 < len(words) <= missing + 1 and simple:
            offsets = [m.start() for m in re.finditer(r"\S+", item.surface)]
            result += [described_place(w, item.start + o, ctx) for w, o in zip(words, offsets, strict=True)]
        else:
            result.append(item)
    return result


def claim_sides(sentence: str, trigger: Trigger, span: tuple[int, int], ctx: Context) -> tuple[str, str, list[str]]:
    """Return (gained_by, lost_by, reasons): the named actors, a pronoun's antecedent, or the outlet's default."""
    mentions = ctx.actors.find_actors(sentence, ctx.outlet)
    agent, loser = agent_and_loser(sentence, trigger, span, mentions)
    lost = loser.side if loser and loser is not agent else UNKNOWN
    reason_lost = f"lost_by: {loser.surface!r} -> {loser.side}" if loser else "lost_by: no actor named"
    if agent:
        return agent.side, lost, [f"gained_by: {agent.surface!r} -> {agent.side}", reason_lost]
    clause = sentence[: trigger.start].split(",")[-1]
    before = first_subject(ctx.previous_sentence, ctx) if PRONOUN_SUBJECT.search(clause) else None
    if before and trigger.kind in {"active", "nominal"}:
        reason = f"gained_by: pronoun -> {before.surface!r} of the sentence before -> {before.side}"
        return before.side, lost, [reason, reason_lost]
    default = ctx.actors.unnamed_gainer(ctx.outlet)
    if default and trigger.kind in {"passive", "nominal"} and lost != default:
        return default, lost, [f"gained_by: none named; this outlet's unnamed gainer is {default}", reason_lost]
    return UNKNOWN, lost, ["gained_by: no actor named", reason_lost]


def build_claims(sentence: str, trigger: Trigger, ctx: Context) -> list[tuple[Claim, PlaceItem]]:
    """Turn one trigger of one sentence into claims, one per place it names."""
    sentence = mask_relative_clauses(sentence, trigger)
    places, span = claim_places(sentence, trigger, ctx)
    if not places:
        return []
    gained, lost, side_reasons = claim_sides(sentence, trigger, span, ctx)
    if gained == UNKNOWN and trigger.kind != "withdrew":
        return []  # a capture by no one named is a reading we cannot trust (a pronoun, a garbled line)
    expression, period = claim_date(sentence, trigger, ctx.published)
    status, status_reason = claim_status(sentence, ctx.actors.words, period, ctx.published)
    source = attribution(sentence)
    when = period.day.isoformat() if period else None
    reasons = [
        *side_reasons,
        status_reason,
        f"date: {expression!r} -> {when or 'unresolved'}" if expression else "date: none in the clause",
        *([f"claimed_by: {source!r}"] if source else []),
    ]
    claims = []
    for item in places:
        unresolved = None if item.place is not None else "not in gazetteer"
        claim = Claim(
            item.surface,
            getattr(item.place, "id", None),
            getattr(item.place, "name", None),
            unresolved,
            gained,
            lost,
            status,
            when,
            source,
            " ".join(sentence.split()),
            (f"claim: {trigger.kind} {trigger.surface!r}", item.reason, *reasons),
        )
        claims.append((claim, item))
    return claims


def first_subject(sentence: str, ctx: Context) -> ActorMention | None:
    """The first actor of a sentence used as a subject, for "they" in the next sentence."""
    mentions = ctx.actors.find_actors(sentence, ctx.outlet)
    return next((m for m in mentions if is_subject(sentence, m)), None)


def claim_key(claim: Claim) -> tuple[str, str]:
    """Place and gainer: what makes two claims of one article the same claim."""
    folded = re.sub(r"\b(?:al|el|the)[-\s]+|[^\w]+", "", claim.place.lower())
    return claim.town_id or folded, claim.gained_by


def date_undated(claims: list[Claim]) -> list[Claim]:
    """Give an undated claim the date and status of the same capture dated elsewhere in the article."""
    dated: dict[tuple[str, str], Claim] = {}
    for claim in claims:
        if claim.event_date and claim.status != "disputed":
            dated.setdefault(claim_key(claim), claim)
    result = []
    for claim in claims:
        source = dated.get(claim_key(claim))
        if source and not claim.event_date and claim.status == "new":
            reason = f"status: {source.status}, as dated elsewhere in the article ({source.event_date})"
            claim = replace(claim, status=source.status, event_date=source.event_date, reasons=(*claim.reasons, reason))
        result.append(claim)
    return result


def named_after_prepositions(document: str, ctx: Context) -> list[tuple[int, str, Any]]:
    """Names the gazetteer lacks that read as places ("in Khan al-Assal"), for "the town" to point back to."""
    named = []
    for found in NAMED_AFTER_PREPOSITION.finditer(document):
        runs = name_runs(document[found.end() : found.end() + 60])[:1]
        for start, name in runs:
            if (
                start == 0
                and not re.search(r"\b(?:province|governorate)$", name, re.IGNORECASE)
                and is_place_name(name, name, 0, 1, ctx)
            ):
                named.append((found.end(), name, None))
    return named


def extract_claims(
    title: str,
    text: str,
    published: date | None,
    gazetteer: PlaceFinder,
    actors: ActorLexicon,
    outlet: str | None = None,
) -> list[Claim]:
    """Return the control claims of an article: one per (place, gainer, status), in text order."""
    document = f"{title.strip()}\n{text}" if title.strip() else text
    named = [(m.start, m.surface, m.place) for m in gazetteer.find_places(document)]
    ctx = Context(published, outlet, actors, gazetteer, (), document=document)
    named += named_after_prepositions(document, ctx)
    claims: list[Claim] = []
    title_end, title_words = len(title.strip()), " ".join(title.lower().split())
    sentences = split_sentences(document)
    for index, (offset, sentence) in enumerate(sentences):
        headline = offset < title_end or is_headline(sentence) or bool(title_words and title_words in sentence.lower())
        has_base_form = re.search(rf"\b(?:{'|'.join(BASE_FORMS)})\b", sentence, re.IGNORECASE)
        ends = frozenset(m.end for m in actors.find_actors(sentence, outlet)) if has_base_form else frozenset()
        for trigger in find_triggers(sentence, actors.words, headline, ends):
            if hedge_before(sentence, trigger, actors.words):
                continue
            next_offset, following = sentences[index + 1] if index + 1 < len(sentences) else (0, "")
            mentions = tuple(sorted(named, key=lambda m: m[0]))
            ctx = replace(
                ctx, mentions=mentions, sentence_offset=offset, next_sentence=following, next_offset=next_offset
            )
            for claim, item in build_claims(sentence, trigger, ctx):
                if not (headline and claim.town_id is None):
                    claims.append(claim)
                named.append((offset + item.start, claim.place, item.place))
        ctx = replace(ctx, previous_sentence=sentence)
    unique: dict[tuple[str, str, str], Claim] = {}
    for claim in date_undated(claims):
        unique.setdefault((*claim_key(claim), claim.status), claim)
    return list(unique.values())
