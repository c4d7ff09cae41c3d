"""The analysis contract: `monitor analyze` reads JSON lines and writes one analysis per line, offline."""

from __future__ import annotations

import json

from click.testing import CliRunner
from paths import ROOT, SEEDS
from seedsite import seed_rows

from monitor.cli import cli


def seed_records() -> list[dict[str, str]]:
    """The seeds as analysis input lines."""
    records = []
    for row in seed_rows():
        title, _, text = (SEEDS / row["file"]).read_text(encoding="utf-8").partition("\n")
        records.append({"id": row["file"][:3], "title": title, "text": text, "published": row["published"],
                        "outlet": row["outlet"]})
    return records


def run_analyze(lines: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(ROOT / "config.toml"), "analyze"], input=lines)
    return result.exit_code, result.output


def test_analyze_writes_one_line_per_input_with_relevance_places_and_claims() -> None:
    records = seed_records()
    code, output = run_analyze("".join(json.dumps(r) + "\n" for r in records))
    assert code == 0, output
    results = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert [r["id"] for r in results] == [r["id"] for r in records]
    assert all(r["relevant"] and 0.5 <= r["score"] <= 1 for r in results)
    by_id = {r["id"]: r for r in results}
    assert "Kinsabba" in by_id["000"]["places"]
    new = [(c["town"], c["gained_by"], c["event_date"]) for c in by_id["000"]["claims"] if c["status"] == "new"]
    assert ("Kinsabba", "government", "2016-07-16") in new
    seized = {c["town"] for c in by_id["004"]["claims"] if c["status"] == "new" and c["gained_by"] == "government"}
    assert "Atshan" in seized


def test_analyze_drops_an_article_about_another_front() -> None:
    record = {"id": "x", "title": "Air strikes hit eastern Aleppo",
              "text": "Air strikes killed 20 civilians in eastern Aleppo on Sunday, activists said. "
                      "Russia flies its jets from the Hmeimim base in Latakia province.",
              "published": "2016-08-01", "outlet": "Wire"}
    code, output = run_analyze(json.dumps(record) + "\n")
    assert code == 0
    result = json.loads(output.splitlines()[-1])
    assert result["relevant"] is False and result["claims"] == []


def test_analyze_rejects_invalid_json_with_the_line_number() -> None:
    code, output = run_analyze('{"id": 1, "title": "ok", "text": ""}\nnot json\n')
    assert code == 1
    assert "invalid JSON on stdin" in output and "line=2" in output
