"""Control claims ("rebels seized Kansaba"): who took which place, when, new or recalled; pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from monitor.actors import UNKNOWN, ActorLexicon, ClaimWords
from monitor.claim_names import PlaceItem, named_after_prepositions
from monitor.claim_places import claim_places
from monitor.claim_sentences import (
    BASE_FORMS,
    CLAUSE_OPENERS,
    Context,
    PlaceFinder,
    Trigger,
    find_triggers,
    hedge_before,
    is_headline,
    split_sentences,
)
from monitor.claim_sides import claim_sides
from monitor.dates import Period, find_date_expressions, resolve_period

# A claim dated more than this many days before publication is history recalled, not news.
NEW_WITHIN_DAYS = 14
SPEECH_VERBS = r"said|says|reported|stated|announced|claimed|confirmed|told"


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
