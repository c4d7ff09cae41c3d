"""Place names in claims: capitalised name runs, which of them are places, and what "the town" points back to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from monitor.claim_sentences import Context, PlaceFinder, word_set

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
# A name after these reads as a place ("in Khan al-Assal", "the town of X"), for "the town" to point back to.
NAMED_AFTER_PREPOSITION = re.compile(
    r"\b(?:in|at|near|into|of)\s+(?:the\s+)?(?:(?:town|village|city|district|area)\s+of\s+)?(?=[A-Z]|al-)"
)


@dataclass(frozen=True, slots=True)
class PlaceItem:
    """One place named in a claim: as written, its offset in the sentence, the gazetteer place and why."""

    surface: str
    start: int
    place: Any | None
    reason: str


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
