"""Measure control-claim extraction on the FA-KES dev labels: precision/recall of new claims, status accuracy, speed.

Usage: .venv/bin/python bench/eval_claims.py [--errors] [--gold PATH] [--fakes PATH]

Claims are matched per article on (place, gained_by). Places, gold (`place`, then `place_en`) and predicted,
are resolved through the gazetteer; an unresolved name falls back to its folded spelling. Status accuracy is
measured on matched claims of every status, pairing same-status claims first.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from datetime import date, datetime
from pathlib import Path

import trafilatura

from monitor.actors import load_actors
from monitor.claims import Claim, extract_claims
from monitor.gazetteer import Gazetteer, fold_name, load_gazetteer

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
# Words that say what kind of place a name is, not which place: dropped before names are compared.
DESCRIPTORS = frozenset(
    fold_name(
        "village villages town city area district province governorate countryside hill hilltop hills farms"
        " base airbase air military airport camp road street neighbourhood neighborhood field fields gas oil"
        " station crossing border the of"
    )
)
TARGETS = {"precision_new": 0.85, "recall_new": 0.75, "status_accuracy": 0.90}


def read_fakes(path: Path) -> list[dict[str, str]]:
    """Return FA-KES rows; the key is the 0-based row index."""
    with path.open(encoding="latin-1", newline="") as handle:
        return list(csv.DictReader(handle))


def published_of(row: dict[str, str]) -> date:
    """FA-KES dates are M/D/YY."""
    return datetime.strptime(row["date"].strip(), "%m/%d/%y").date()


def place_keys(names: list[str], gazetteer: Gazetteer) -> set[str]:
    """Keys one place may match on: the gazetteer ids its names resolve to, and their folded spellings."""
    ids = {place.id for place in (gazetteer.resolve_place(name) for name in names if name) if place is not None}
    return ids | {folded_name(name) for name in names if name}


def folded_name(name: str) -> str:
    """A name's folded words without descriptors: "the Mallah farms" and "al-Mallah" both give "malah"."""
    words = fold_name(name)
    return " ".join(word for word in words if word not in DESCRIPTORS) or " ".join(words)


def predicted_keys(claim: Claim) -> set[str]:
    """The match keys of a predicted claim: its town id and its folded spelling."""
    return {claim.town_id, folded_name(claim.place)} - {None}


def match_row(gold: list[dict], predicted: list[Claim], gazetteer: Gazetteer) -> list[tuple[dict, Claim]]:
    """Pair gold and predicted claims on (place, gained_by), same-status pairs first."""
    gold_keys = [place_keys([g["place"], g.get("place_en", "")], gazetteer) for g in gold]
    pred_keys = [predicted_keys(c) for c in predicted]
    pairs: list[tuple[dict, Claim]] = []
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    for same_status in (True, False):
        for gi, g in enumerate(gold):
            for pi, c in enumerate(predicted):
                if gi in used_gold or pi in used_pred or c.gained_by != g["gained_by"]:
                    continue
                if pred_keys[pi] & gold_keys[gi] and (c.status == g["status"] or not same_status):
                    pairs.append((g, c))
                    used_gold.add(gi)
                    used_pred.add(pi)
    return pairs


def evaluate(fakes: list[dict[str, str]], gold_rows: list[dict], gazetteer: Gazetteer, show: bool) -> dict:
    """Run the extractor on every gold row and count matches."""
    actors = load_actors(ROOT / "front" / "actors.toml")
    counts = {"gold_new": 0, "pred_new": 0, "tp_new": 0, "matched": 0, "status_ok": 0}
    for gold in gold_rows:
        row = fakes[gold["row"]]
        predicted = extract_claims(
            row["article_title"], row["article_content"], published_of(row), gazetteer, actors, row["source"]
        )
        new_gold = [g for g in gold["claims"] if g["status"] == "new"]
        new_pred = [c for c in predicted if c.status == "new"]
        new_pairs = match_row(new_gold, new_pred, gazetteer)
        counts["gold_new"] += len(new_gold)
        counts["pred_new"] += len(new_pred)
        counts["tp_new"] += len(new_pairs)
        all_pairs = match_row(gold["claims"], predicted, gazetteer)
        counts["matched"] += len(all_pairs)
        counts["status_ok"] += sum(g["status"] == c.status for g, c in all_pairs)
        if show:
            report_errors(gold["row"], row, gold["claims"], predicted, all_pairs, new_pairs)
    return counts


def report_errors(
    index: int, row: dict, gold: list[dict], predicted: list[Claim], pairs: list, new_pairs: list
) -> None:
    """Print the misses and false claims of one article."""
    matched_new_gold = [id(g) for g, _ in new_pairs]
    matched_new_pred = [id(c) for _, c in new_pairs]
    for g in gold:
        if g["status"] == "new" and id(g) not in matched_new_gold:
            print(f"MISS row={index} {g['place']!r} {g['gained_by']} :: {g['quote'][:140]}")
    for c in predicted:
        if c.status == "new" and id(c) not in matched_new_pred:
            print(f"FALSE row={index} {row['source']} {c.place!r} {c.gained_by} {c.reasons[:2]} :: {c.quote[:160]}")
    for g, c in pairs:
        if g["status"] != c.status:
            print(f"STATUS row={index} {g['place']!r} gold={g['status']} pred={c.status} {c.reasons[3:5]}")


def throughput(fakes: list[dict[str, str]], gazetteer: Gazetteer) -> tuple[float, float]:
    """Articles per second: claim extraction, and trafilatura extracting the same articles as HTML pages."""
    actors = load_actors(ROOT / "front" / "actors.toml")
    started = time.perf_counter()
    for row in fakes:
        extract_claims(
            row["article_title"], row["article_content"], published_of(row), gazetteer, actors, row["source"]
        )
    claims_rate = len(fakes) / (time.perf_counter() - started)
    pages = [
        f"<html><head><title>{row['article_title']}</title></head><body><article><h1>{row['article_title']}</h1>"
        + "".join(f"<p>{sentence}.</p>" for sentence in row["article_content"].split(". "))
        + "</article></body></html>"
        for row in fakes
    ]
    started = time.perf_counter()
    for page in pages:
        trafilatura.extract(page, deduplicate=False)
    return claims_rate, len(pages) / (time.perf_counter() - started)


def main() -> None:
    """Print the figures and whether each target is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=SHARED / "eval" / "fakes-dev.jsonl")
    parser.add_argument("--fakes", type=Path, default=SHARED / "data" / "fa-kes" / "fakes.csv")
    parser.add_argument("--gazetteer", type=Path, default=ROOT / "front" / "gazetteer.csv")
    parser.add_argument("--errors", action="store_true", help="print every miss, false claim and wrong status")
    parser.add_argument("--no-speed", action="store_true", help="skip the throughput measurement")
    args = parser.parse_args()
    fakes = read_fakes(args.fakes)
    gold_rows = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    gazetteer = load_gazetteer(args.gazetteer)
    c = evaluate(fakes, gold_rows, gazetteer, args.errors)
    figures = {
        "precision_new": c["tp_new"] / c["pred_new"] if c["pred_new"] else 0.0,
        "recall_new": c["tp_new"] / c["gold_new"] if c["gold_new"] else 0.0,
        "status_accuracy": c["status_ok"] / c["matched"] if c["matched"] else 0.0,
    }
    print(f"articles={len(gold_rows)} gold_new={c['gold_new']} predicted_new={c['pred_new']} matched_new={c['tp_new']}")
    for name, value in figures.items():
        verdict = "ok" if value >= TARGETS[name] else "BELOW TARGET"
        print(f"{name}={value:.3f} (target >= {TARGETS[name]:.2f}) {verdict}")
    print(f"status measured on {c['matched']} matched claims of any status")
    if not args.no_speed:
        claims_rate, trafilatura_rate = throughput(fakes, gazetteer)
        print(
            f"throughput over {len(fakes)} FA-KES articles: extract_claims {claims_rate:.0f} articles/s, "
            f"trafilatura.extract on the same articles as HTML {trafilatura_rate:.0f} articles/s"
        )


if __name__ == "__main__":
    main()
