"""Relevance to the front: score an article from its similarity to the seed articles and its gazetteer hits; pure."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import ConfigError
from monitor.gazetteer import Gazetteer, PlaceMention

_WORD = re.compile(r"[^\W\d_]{3,}")
_SMALL_KINDS = frozenset({"village", "hill", "town"})
# Function words carry no topic; everything else is left to the seed IDF.
_STOPWORDS = frozenset(
    """the and for that with from this have has had was were are been its his her their they them which
    who whom what when where while also after before into over about than then there these those said says
    will would could should can may might not but all any some more most other such only own same very just
    one two three four five first last new per our out off under again further once here how why both each
    few nor too him she you your yours itself themselves himself herself being does did doing because until
    against between through during above below upon""".split()  # noqa: SIM905 - a word list reads better as text
)


def _fraction(value: float) -> str | None:
    return None if 0.0 < value <= 1.0 else "must be in (0, 1]"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


@dataclass(frozen=True, slots=True)
class ClassifierSettings:
    """The tunables of relevance scoring; config.toml [classifier] overrides these defaults."""

    threshold: float = field(default=0.5, metadata={"check": _fraction})  # keep at or above this score
    place_scale: float = field(default=8.0, metadata={"check": _positive})  # evidence for a score of 1 - 1/e
    seed_points: float = 2.0  # evidence added by seed similarity (cosine 0..1 to the nearest seed)
    window_words: int = field(default=120, metadata={"check": _positive})  # length of "a paragraph" in words
    title_factor: float = 2.0  # a place in the title counts this many times
    lead_factor: float = 1.5  # ... in the lead (the first lead_words words of the text)
    lead_words: int = 60
    repeat_decay: float = field(default=0.5, metadata={"check": _fraction})  # n-th mention counts decay**(n-1)
    lone_place_factor: float = field(default=0.5, metadata={"check": _fraction})  # lone village may be a namesake
    # Weight of one mention by gazetteer kind: the more specific the place, the stronger the evidence.
    village_weight: float = 3.0  # village, hill, town
    area_weight: float = 2.5  # area (Jabal al-Akrad, Sahl al-Ghab)
    district_weight: float = 2.0  # district, neighbourhood, crossing
    city_weight: float = 1.5
    governorate_weight: float = 1.0
    base_weight: float = 0.75  # "Russia's Hmeimim base" is mostly background


@dataclass(frozen=True, slots=True)
class Reference:
    """The seed articles as TF-IDF vectors: what "about the front" looks like."""

    names: tuple[str, ...]
    idf: dict[str, float]
    vectors: tuple[dict[str, float], ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The keep/drop decision for one article, with the evidence behind it."""

    score: float
    is_relevant: bool
    places: tuple[str, ...]
    nearest_seed: str
    seed_similarity: float
    reason: str


def load_reference(seed_dir: Path) -> Reference:
    """Read every *.txt in seed_dir into a Reference; raise ConfigError when there is none."""
    paths = sorted(seed_dir.glob("*.txt"))
    if not paths:
        raise ConfigError([f"no seed articles (*.txt) in {seed_dir}"], path=str(seed_dir))
    try:
        texts = [path.read_text(encoding="utf-8") for path in paths]
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"cannot read seed article: {error}"], path=str(seed_dir)) from error
    return build_reference([path.name for path in paths], texts)


def build_reference(names: list[str], texts: list[str]) -> Reference:
    """Build the TF-IDF reference from seed texts (IDF smoothed over the seeds themselves)."""
    counts = [_term_counts(text) for text in texts]
    document_frequency = Counter(term for count in counts for term in count)
    total = len(texts)
    idf = {term: math.log((1 + total) / (1 + df)) + 1.0 for term, df in document_frequency.items()}
    return Reference(tuple(names), idf, tuple(_tfidf(count, idf) for count in counts))


def classify(
    title: str,
    text: str,
    reference: Reference,
    gazetteer: Gazetteer,
    settings: ClassifierSettings = ClassifierSettings(),  # frozen, so a shared default is safe
) -> Verdict:
    """Score one article 0..1 for relevance to the front and decide keep or drop, with a one-line reason."""
    full = f"{title}\n{text}"
    mentions = gazetteer.find_places(full)
    watched = [mention for mention in mentions if mention.place.is_watched]
    lone = _lone_factor(watched, settings)
    in_title, evidence = (part * lone for part in _evidence(watched, full, len(title), settings))
    focus = _focus(mentions, settings)
    window = _best_window(mentions, full, settings) * lone
    nearest, similarity = _nearest_seed(full, reference)
    # A front place in the title makes the front the topic; in the text it counts by the article's focus.
    total = in_title + evidence * focus + window + settings.seed_points * similarity
    score = round(1.0 - math.exp(-total / settings.place_scale), 4)
    is_relevant = score >= settings.threshold
    places = tuple(dict.fromkeys(mention.place.name for mention in mentions))
    reason = _reason(is_relevant, score, watched, (in_title, evidence, focus, window), nearest, similarity)
    return Verdict(score, is_relevant, places, nearest, round(similarity, 4), reason)


def _lone_factor(watched: list[PlaceMention], settings: ClassifierSettings) -> float:
    """A single small front place named alone may be a namesake elsewhere in Syria: it counts less."""
    if len({mention.place.id for mention in watched}) != 1:
        return 1.0
    return settings.lone_place_factor if watched[0].place.kind in _SMALL_KINDS else 1.0


def _focus(mentions: list[PlaceMention], settings: ClassifierSettings) -> float:
    """Share of the article's place evidence that is on the front (1.0 = only front places)."""
    watched = _decayed([mention for mention in mentions if mention.place.is_watched], settings)
    other = _decayed([mention for mention in mentions if not mention.place.is_watched], settings)
    return watched / (watched + other) if watched else 0.0


_KIND_WEIGHT = {
    "village": "village_weight", "hill": "village_weight", "town": "village_weight", "area": "area_weight",
    "district": "district_weight", "neighbourhood": "district_weight", "crossing": "district_weight",
    "city": "city_weight", "governorate": "governorate_weight", "base": "base_weight",
}  # fmt: skip


def _weight(mention: PlaceMention, settings: ClassifierSettings) -> float:
    return float(getattr(settings, _KIND_WEIGHT.get(mention.place.kind, "governorate_weight")))


def _evidence(
    watched: list[PlaceMention], full: str, title_end: int, settings: ClassifierSettings
) -> tuple[float, float]:
    """Weighted watched-place mentions (in the title, in the text): specific kinds and the lead count more,
    repeats count less."""
    lead_end = _word_offset(full, title_end, settings.lead_words)
    seen: Counter[str] = Counter()
    in_title = in_text = 0.0
    for mention in watched:
        weight = _weight(mention, settings) * settings.repeat_decay ** seen[mention.place.id]
        seen[mention.place.id] += 1
        if mention.start < title_end:
            in_title += weight * settings.title_factor
        else:
            in_text += weight * (settings.lead_factor if mention.start < lead_end else 1.0)
    return in_title, in_text


def _best_window(mentions: list[PlaceMention], full: str, settings: ClassifierSettings) -> float:
    """The best run of window_words words about the front: its watched evidence times its share of all places.

    A paragraph about the front scores high; a list of governorates that includes Latakia scores low.
    """
    starts = [match.start() for match in re.finditer(r"\S+", full)]
    best = 0.0
    for first in (mention for mention in mentions if mention.place.is_watched):
        last_word = _bisect(starts, first.start) + settings.window_words
        end = starts[last_word] if last_word < len(starts) else len(full)
        inside = [mention for mention in mentions if first.start <= mention.start < end]
        watched = _decayed([m for m in inside if m.place.is_watched], settings)
        other = _decayed([m for m in inside if not m.place.is_watched], settings)
        best = max(best, watched * watched / (watched + other))
    return best


def _decayed(mentions: list[PlaceMention], settings: ClassifierSettings) -> float:
    seen: Counter[str] = Counter()
    total = 0.0
    for mention in mentions:
        total += _weight(mention, settings) * settings.repeat_decay ** seen[mention.place.id]
        seen[mention.place.id] += 1
    return total


def _bisect(starts: list[int], offset: int) -> int:
    low, high = 0, len(starts)
    while low < high:
        middle = (low + high) // 2
        if starts[middle] <= offset:
            low = middle + 1
        else:
            high = middle
    return max(0, low - 1)


def _word_offset(full: str, start: int, words: int) -> int:
    """Character offset just after the first `words` words from start."""
    match = re.match(rf"(?:\W*\w+){{0,{words}}}", full[start:])
    return start + (match.end() if match else 0)


def _term_counts(text: str) -> Counter[str]:
    return Counter(word for word in (w.lower() for w in _WORD.findall(text)) if word not in _STOPWORDS)


def _tfidf(counts: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vector = {term: (1 + math.log(count)) * idf[term] for term, count in counts.items() if term in idf}
    norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
    return {term: value / norm for term, value in vector.items()}


def _nearest_seed(full: str, reference: Reference) -> tuple[str, float]:
    vector = _tfidf(_term_counts(full), reference.idf)
    similarities = [sum(weight * seed.get(term, 0.0) for term, weight in vector.items()) for seed in reference.vectors]
    best = max(range(len(similarities)), key=similarities.__getitem__)
    return reference.names[best], similarities[best]


def _reason(
    is_relevant: bool,
    score: float,
    watched: list[PlaceMention],
    parts: tuple[float, float, float, float],
    nearest: str,
    similarity: float,
) -> str:
    """One line a user can read: the decision, the places that drove it and the seed it resembles."""
    in_title, evidence, focus, window = parts
    verb = "kept" if is_relevant else "dropped"
    named = ", ".join(dict.fromkeys(mention.place.name for mention in watched)) or "none"
    return (
        f"{verb} (score {score:.2f}): front places {named}; title {in_title:.1f}, text {evidence:.1f} x focus"
        f" {focus:.2f},"
        f" best paragraph {window:.1f}; nearest seed {nearest} (similarity {similarity:.2f})"
    )
