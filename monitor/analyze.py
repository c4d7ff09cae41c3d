"""The pure analysis of one article (relevance and control claims), and the `monitor analyze` JSON contract."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from monitor.actors import ActorLexicon, load_actors
from monitor.claims import Claim, extract_claims
from monitor.classify import ClassifierSettings, Reference, Verdict, classify, load_reference
from monitor.dedup import collapse_repeats
from monitor.gazetteer import Gazetteer, load_gazetteer
from monitor.models import Article


@dataclass(frozen=True, slots=True)
class Front:
    """The definition of the front: gazetteer, seed reference, actor lexicon and classifier settings."""

    gazetteer: Gazetteer
    reference: Reference
    actors: ActorLexicon
    classifier: ClassifierSettings


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the pure stages say about one article (its text with repeated blocks folded)."""

    article: Article
    verdict: Verdict
    claims: tuple[Claim, ...]


def load_front(gazetteer: Path, seeds: Path, actors: Path, settings: ClassifierSettings) -> Front:
    """Load the front's data files; raises ConfigError naming the file and row on bad data."""
    return Front(
        gazetteer=load_gazetteer(gazetteer),
        reference=load_reference(seeds),
        actors=load_actors(actors),
        classifier=settings,
    )


def analyze_article(article: Article, front: Front) -> Analysis:
    """Fold repeated blocks, classify, and read control claims (claims are read for dropped articles too)."""
    folded = collapse_repeats(article.text)
    if folded.is_repeated:
        article = replace(article, text=folded.text, is_text_repeated=True)
    verdict = classify(article.title, article.text, front.reference, front.gazetteer, front.classifier)
    claims = extract_claims(
        article.title, article.text, publication_date(article.published_at), front.gazetteer, front.actors,
        outlet=article.outlet,
    )
    return Analysis(article=article, verdict=verdict, claims=tuple(claims))


def publication_date(value: str | None) -> date | None:
    """The date part of an ISO timestamp, None when absent or unreadable."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def analyze_record(record: dict[str, Any], front: Front) -> dict[str, Any]:
    """One `monitor analyze` input line (id, title, text, published, outlet) to its output line."""
    article = Article(
        url=record.get("url"),
        title=str(record.get("title") or ""),
        text=str(record.get("text") or ""),
        outlet=record.get("outlet"),
        published_at=record.get("published"),
        text_source="file",
    )
    analysis = analyze_article(article, front)
    return {
        "id": record.get("id"),
        "relevant": analysis.verdict.is_relevant,
        "score": round(analysis.verdict.score, 4),
        "places": list(analysis.verdict.places),
        "reason": analysis.verdict.reason,
        "claims": [claim_json(claim) for claim in analysis.claims],
    }


def claim_json(claim: Claim) -> dict[str, Any]:
    """A claim as a JSON-ready dict."""
    data = dataclasses.asdict(claim)
    data["reasons"] = list(claim.reasons)
    return data
