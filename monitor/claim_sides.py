"""The sides of a claim: who gained a place and who lost it, from the actors around the verb and its clause."""

from __future__ import annotations

import re

from monitor.actors import UNKNOWN, ActorMention
from monitor.claim_sentences import CLAUSE_OPENERS, Context, Trigger, word_set

RELATIVE_OPENERS = word_set("which who that where")
PRONOUN_SUBJECT = re.compile(r"\b(?:they|it|its forces|their forces|the group|he)\b", re.IGNORECASE)


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


def first_subject(sentence: str, ctx: Context) -> ActorMention | None:
    """The first actor of a sentence used as a subject, for "they" in the next sentence."""
    mentions = ctx.actors.find_actors(sentence, ctx.outlet)
    return next((m for m in mentions if is_subject(sentence, m)), None)


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
