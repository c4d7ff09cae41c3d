"""Merge GeoNames (all Syrian cities500 rows) and the observed news spellings into front/gazetteer.csv.

Hand-written rows are kept as they are; a GeoNames row whose id (gn<geonameid>) is already in the file keeps
its hand-chosen name, kind, parent and watch flag and only gains coordinates, the Arabic name and spellings.
Running it twice gives the same file.

    .venv/bin/python bench/build_gazetteer.py [--gazetteer front/gazetteer.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import Counter
from pathlib import Path

from rapidfuzz import fuzz

from monitor.gazetteer import COLUMNS, fold_name, fold_token, is_generic_key

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
GEONAMES = SHARED / "geonames-cities500-sy" / "cities500_SY.txt"
OBSERVED = SHARED / "name-variants-observed" / "name_variants_observed.csv"
ADMIN1 = {
    "01": "Hasakah", "02": "Latakia", "03": "Quneitra", "04": "Raqqa", "05": "Suwayda", "06": "Daraa",
    "07": "Deir ez-Zor", "08": "Rif Dimashq", "09": "Aleppo", "10": "Hama", "11": "Homs", "12": "Idlib",
    "13": "Damascus", "14": "Tartus",
}  # fmt: skip
WATCHED_ADMIN1 = {"02", "14"}
# English text to learn common words from: a spelling that is an everyday word ("Road", "Mare") never matches.
ENGLISH_CORPUS = SHARED / "article-extraction-benchmark" / "ground-truth.json"
# GeoNames spellings that name something else in war news: al-Sham (the Levant, in group names), the Nazi
# regime, Adra (its own town), Khan (a title), Sam, Qasim, Dali and Sabah (names; Daily Sabah is a newspaper).
AMBIGUOUS = {"Sham", "Cham", "Nazi", "Adra", "Khan", "Damas", "Sam", "Qasim", "Dali", "Sabah"}
ARABIC = re.compile(r"[\u0600-\u06ff]")
LATIN = re.compile(r"^[A-Za-z\u00c0-\u024f\u1e00-\u1eff'`‘’ʿʾ .\-]+$")


def parent_id(governorate: str) -> str:
    """Return the id of the governorate row: gov-<slug>."""
    return "gov-" + re.sub(r"[^a-z]+", "-", governorate.lower()).strip("-")


def load_common_words() -> frozenset[str]:
    """Folded keys of words seen in lower case at least three times in a general English news corpus."""
    bodies = json.loads(ENGLISH_CORPUS.read_text(encoding="utf-8"))
    counts = Counter(
        word for body in bodies.values() for word in re.findall(r"\b[a-z]+\b", body.get("articleBody", ""))
    )
    return frozenset(fold_token(word) for word, count in counts.items() if count >= 3)


COMMON_KEYS = load_common_words()
AMBIGUOUS_KEYS = {fold_name(name) for name in AMBIGUOUS}


def is_worth_matching(name: str) -> bool:
    """False for a spelling that is only everyday English words ("Road", "It Tell") or a known homonym."""
    key = fold_name(name)
    if key in AMBIGUOUS_KEYS:
        return False
    # Compared folded, so that "Rouad" (Arwad) is caught as "Road".
    return ARABIC.search(name) is not None or not all(token in COMMON_KEYS for token in key)


def clean_variants(alternates: str) -> tuple[list[str], str]:
    """Keep the Latin and Arabic spellings worth matching; return (Latin variants, first Arabic name)."""
    latin, arabic = [], ""
    for name in alternates.split(","):
        name = name.strip()
        if ARABIC.search(name):
            arabic = arabic or name
            latin.append(name)  # other Arabic spellings are variants too
            continue
        # Lower-case GeoNames entries are mechanical transliterations (ltqyh); short capitals are codes (LTK).
        if not LATIN.match(name) or name == name.lower() or (name.isupper() and len(name) <= 4):
            continue
        key = fold_name(name)
        if key and not is_generic_key(key):
            latin.append(name)
    return latin, arabic


def kind_of(feature_code: str, population: int) -> str:
    """Map a GeoNames feature code and population to a gazetteer kind."""
    if feature_code in {"PPLC", "PPLA"} or population >= 50_000:
        return "city"
    if feature_code == "PPLX":
        return "neighbourhood"
    return "town" if feature_code.startswith("PPLA") or population >= 10_000 else "village"


def merge_variants(*groups: list[str]) -> str:
    """Join spellings with |, dropping repeats (same folded key) and everyday words, keeping first order."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for name in (name for group in groups for name in group):
        key = fold_name(name)
        if key and key not in seen and is_worth_matching(name):
            seen.add(key)
            kept.append(name.replace("|", " "))
    return "|".join(kept)


def geonames_row(fields: list[str], existing: dict[str, str] | None) -> dict[str, str]:
    """Build or complete the gazetteer row of one GeoNames line."""
    geonameid, name, asciiname, alternates, lat, lon = fields[0], fields[1], fields[2], fields[3], *fields[4:6]
    governorate = ADMIN1.get(fields[10], "")
    variants, arabic = clean_variants(alternates)
    plain = asciiname.replace("`", "").replace("'", "")
    row = dict(existing) if existing else {
        "id": f"gn{geonameid}", "name": plain, "variants": "", "arabic": "", "kind":
        kind_of(fields[7], int(fields[14] or 0)), "governorate": governorate, "lat": "", "lon": "",
        "parent": parent_id(governorate) if governorate else "", "source": f"GeoNames cities500 {geonameid}",
        "is_watched": "true" if fields[10] in WATCHED_ADMIN1 else "false",
    }  # fmt: skip
    row["lat"], row["lon"] = row["lat"] or lat, row["lon"] or lon
    row["arabic"] = row["arabic"] or arabic
    row["variants"] = merge_variants(row["variants"].split("|"), [plain, name], variants)
    if "GeoNames" not in row["source"]:
        row["source"] += f"; GeoNames cities500 {geonameid}"
    return row


def add_observed(rows: dict[str, dict[str, str]]) -> None:
    """Add the observed news spellings to the row whose canonical name is the file's place label."""
    by_name = {row["name"]: row for row in rows.values()}
    with OBSERVED.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            if "FALSE POSITIVE" in record["source"]:
                continue
            row = by_name.get(record["place"])
            if row is None:
                raise SystemExit(f"observed place {record['place']!r} has no gazetteer row with that name")
            row["variants"] = merge_variants(row["variants"].split("|"), [record["variant"]])
            if "observed" not in row["source"]:
                row["source"] += "; name-variants-observed"


def drop_spellings_of_other_places(rows: dict[str, dict[str, str]]) -> None:
    """Keep a spelling that several rows list only on the rows whose own name is closest to it."""
    # GeoNames gives Sabbah (Tartus) the alternates "Ain ett Tine" and "Ayn at Tinah", the names of a town in
    # Latakia: on both rows, the spelling would find one of the two at random. Hand-edited rows keep theirs.
    holders: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for row in rows.values():
        for name in row["variants"].split("|"):
            holders.setdefault(fold_name(name), []).append(row)
    for key, shared in holders.items():
        closeness = {row["id"]: name_closeness(key, row) for row in shared}
        for row in shared:
            if closeness[row["id"]] < max(closeness.values()) and row["source"].startswith("GeoNames"):
                row["variants"] = "|".join(v for v in row["variants"].split("|") if fold_name(v) != key)


def name_closeness(key: tuple[str, ...], row: dict[str, str]) -> float:
    """How alike a folded spelling and the row's own name (or Arabic name) are, 0..100."""
    return max(fuzz.ratio(" ".join(key), " ".join(fold_name(row[column]))) for column in ("name", "arabic"))


def main() -> None:
    """Read the gazetteer, merge the GeoNames rows and observed spellings, write it back."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gazetteer", type=Path, default=Path(__file__).resolve().parents[1] / "front" / "gazetteer.csv"
    )
    args = parser.parse_args()
    with args.gazetteer.open(encoding="utf-8", newline="") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    with GEONAMES.open(encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            row = geonames_row(fields, rows.get(f"gn{fields[0]}"))
            rows[row["id"]] = row
    add_observed(rows)
    drop_spellings_of_other_places(rows)
    with args.gazetteer.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows.values())
    print(f"wrote {len(rows)} places to {args.gazetteer}")


if __name__ == "__main__":
    main()
