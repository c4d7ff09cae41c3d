"""The places a claim takes: the span its verb governs, the list items in it, numbered places, lists named later."""

from __future__ import annotations

import re
from dataclasses import replace

from monitor.claim_names import NAME_HEADS, PARTICLES, PlaceItem, described_place, item_places, name_runs
from monitor.claim_sentences import CLAUSE_OPENERS, Context, Trigger, word_set
from monitor.dates import find_date_expressions

DIRECTIONS = word_set("north south east west northeast northwest southeast southwest northern southern eastern western")
# Words that end a place name in a list item ("Tel Skak in Hama"); most of them also end the whole list.
OBJECT_STOPS = DIRECTIONS | word_set(
    "from by after before as which that who whom where while when since following during amid despite according"
    " said says saying on at with without to into toward towards killing leaving forcing causing but than because"
    " under within for through until across along against in near inside outside around was were is are has have"
    " had will would"
)
SPAN_STOPS = OBJECT_STOPS - {"in", "near", "inside", "outside", "around"} - DIRECTIONS
# Places named by numbers: "point 875", "points 9088 901", "the 101 102 and 103 gas fields".
NUMBERED = re.compile(
    r"(?:the\s+)?(?:(?P<before>points?)\s+)?(?P<numbers>\d+(?:\s+\d+)*)"
    r"(?:\s+(?P<after>(?:gas |oil )?fields?|bases?|points?))?",
    re.IGNORECASE,
)
# An item that starts a new stretch of a list even after a locative ended the last one ("... and points 856").
LIST_HEAD = re.compile(r"(?:the\s+)?(?:villages?|towns?|points?|hills?|hilltops?)\b", re.IGNORECASE)
COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


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
