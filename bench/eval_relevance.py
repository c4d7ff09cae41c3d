"""Precision, recall and F1 of keep (core or partial) on the FA-KES dev labels, plus the five seeds.

    .venv/bin/python bench/eval_relevance.py [--errors] [--threshold 0.5]

Targets: every seed kept; F1 >= 0.90 and precision >= 0.90 on ../shared/eval/fakes-dev.jsonl. The other half of
FA-KES is held back for an independent check, so tune general weights, never per-article rules.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from pathlib import Path

from monitor.classify import ClassifierSettings, build_reference, classify, load_reference
from monitor.gazetteer import load_gazetteer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FAKES = SHARED / "data" / "fa-kes" / "fakes.csv"
DEV_LABELS = SHARED / "eval" / "fakes-dev.jsonl"
KEEP = {"core", "partial"}


def read_fakes(path: Path) -> list[dict[str, str]]:
    """FA-KES rows in file order (the key is the 0-based row index); the file is Latin-1."""
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="latin-1", newline="") as handle:
        return list(csv.DictReader(handle))


def read_labels(path: Path) -> dict[int, str]:
    """Row index -> relevance label (core, partial, mention, none)."""
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return {record["row"]: record["relevance"] for record in records}


def main() -> None:
    """Classify every labelled row and the seeds; print the figures against the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="print every false keep and false drop")
    parser.add_argument("--threshold", type=float, default=None, help="override ClassifierSettings.threshold")
    args = parser.parse_args()
    settings = ClassifierSettings()
    if args.threshold is not None:
        settings = dataclasses.replace(settings, threshold=args.threshold)
    gazetteer = load_gazetteer(ROOT / "front" / "gazetteer.csv")
    reference = load_reference(ROOT / "seeds")
    rows = read_fakes(FAKES)
    labels = read_labels(DEV_LABELS)
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    scores: dict[bool, list[float]] = {True: [], False: []}
    for index, label in sorted(labels.items()):
        row = rows[index]
        verdict = classify(row["article_title"], row["article_content"], reference, gazetteer, settings)
        wanted = label in KEEP
        scores[wanted].append(verdict.score)
        outcome = ("t" if verdict.is_relevant == wanted else "f") + ("p" if verdict.is_relevant else "n")
        counts[outcome] += 1
        if args.errors and outcome in {"fp", "fn"}:
            print(f"{outcome.upper()} row {index} [{label}] {row['article_title'][:70]!r}\n    {verdict.reason}")
    precision = counts["tp"] / ((counts["tp"] + counts["fp"]) or 1)
    recall = counts["tp"] / ((counts["tp"] + counts["fn"]) or 1)
    f1 = 2 * precision * recall / ((precision + recall) or 1)
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    texts = [path.read_text(encoding="utf-8") for path in seeds]
    kept, kept_left_out = [], []
    for index, text in enumerate(texts):
        title, _, body = text.partition("\n")
        kept.append(classify(title, body, reference, gazetteer, settings).is_relevant)
        others = [i for i in range(len(seeds)) if i != index]
        without = build_reference([seeds[i].name for i in others], [texts[i] for i in others])
        kept_left_out.append(classify(title, body, without, gazetteer, settings).is_relevant)
    print(f"dev rows {len(labels)} (keep {counts['tp'] + counts['fn']}): {counts}")
    print(f"precision {precision:.3f} (target >= 0.90)  recall {recall:.3f}  F1 {f1:.3f} (target >= 0.90)")
    print(
        f"seeds kept {sum(kept)}/{len(seeds)} (target: all); kept when left out of the reference"
        f" {sum(kept_left_out)}/{len(seeds)}; threshold {settings.threshold}"
    )
    keep_scores = sorted(scores[True])
    print(
        f"margin: keep-labelled scores {' '.join(f'{s:.2f}' for s in keep_scores[:3])} ... (lowest three);"
        f" highest drop-labelled {' '.join(f'{s:.2f}' for s in sorted(scores[False])[-3:])}"
    )


if __name__ == "__main__":
    main()
