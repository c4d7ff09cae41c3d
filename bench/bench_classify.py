"""Classifier throughput (articles/s) next to trafilatura's extraction throughput on the same machine.

    .venv/bin/python bench/bench_classify.py [--rounds 3]

Target: classifying an article costs well under extracting it. Both run over the same 181 pages of the
article-extraction benchmark (extraction on the HTML, classification on the extracted title and text), and the
classifier also over the 804 FA-KES articles (longer war reports, many place names).
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import trafilatura
from eval_relevance import FAKES, read_fakes  # bench/ is on sys.path when a bench script runs

from monitor.classify import Reference, classify, load_reference
from monitor.gazetteer import Gazetteer, load_gazetteer

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "article-extraction-benchmark"


def load_pages() -> list[tuple[str, str]]:
    """(url, html) of every benchmark page."""
    truth = json.loads((BENCH / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for path in sorted((BENCH / "html").glob("*.html.gz")):
        key = path.name.removesuffix(".html.gz")
        html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        pages.append((truth.get(key, {}).get("url", ""), html))
    return pages


def extract_all(pages: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Extract (title, text) of every page with trafilatura, as monitor.extract does."""
    articles = []
    for url, html in pages:
        document = trafilatura.bare_extraction(html, url=url, with_metadata=True, deduplicate=False)
        if document is not None:
            articles.append((document.title or "", document.text or ""))
    return articles


def main() -> None:
    """Time extraction and classification, best of N rounds, and print articles per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    gazetteer = load_gazetteer(ROOT / "front" / "gazetteer.csv")
    reference = load_reference(ROOT / "seeds")
    pages = load_pages()
    extract_times, classify_times = [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        articles = extract_all(pages)
        extract_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        for title, text in articles:
            classify(title, text, reference, gazetteer)
        classify_times.append(time.perf_counter() - started)
    extract_rate = len(pages) / min(extract_times)
    classify_rate = len(articles) / min(classify_times)
    print(f"trafilatura extraction: {extract_rate:8.1f} pages/s ({len(pages)} pages, best of {args.rounds})")
    print(f"classification:         {classify_rate:8.1f} articles/s ({len(articles)} extracted articles)")
    print(f"classification cost = {100 * extract_rate / classify_rate:.1f}% of extraction (target: well under 100%)")
    print_fakes_rate(reference, gazetteer)


def print_fakes_rate(reference: Reference, gazetteer: Gazetteer) -> None:
    """Classifier throughput on FA-KES, whose war reports name many places."""
    rows = read_fakes(FAKES)
    started = time.perf_counter()
    for row in rows:
        classify(row["article_title"], row["article_content"], reference, gazetteer)
    print(f"classification on FA-KES: {len(rows) / (time.perf_counter() - started):8.1f} articles/s ({len(rows)})")


if __name__ == "__main__":
    main()
