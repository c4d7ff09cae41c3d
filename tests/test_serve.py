"""Datasette on a test archive: metadata, each canned query's JSON from a real server, and the map in Chromium."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from paths import TEST_DATA
from scipy import ndimage

from monitor.datasette.front_map import MapTown, draw_front_map, holder_colour, load_map_style
from monitor.errors import MonitorError, StoreError
from monitor.serve import (
    INSTALL_HINT,
    build_datasette,
    build_metadata,
    load_canned_queries,
    parse_canned_query,
)
from monitor.store import open_db

ARCHIVE = TEST_DATA / "serve" / "archive.json"
TABLE_ORDER = ("feeds", "fetches", "articles", "claims", "towns", "control_changes", "alerts", "deliveries",
               "feed_health")
SERVE_SCRIPT = "import sys; from monitor.serve import serve; serve(sys.argv[1], int(sys.argv[2]))"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]
EXPECTED_QUERIES = {"town_control", "recent_changes", "town_articles", "story_clusters", "alert_deliveries",
                    "feed_health", "front_map"}


def relative_value(value: Any, now: datetime) -> Any:
    """'@-3d' -> the date 3 days ago, '@-3dT' -> that moment, '@-2h' -> 2 hours ago (ISO UTC); else unchanged."""
    match = re.fullmatch(r"@-(\d+)(d|dT|h)", value) if isinstance(value, str) else None
    if not match:
        return value
    amount, unit = int(match.group(1)), match.group(2)
    moment = now - (timedelta(hours=amount) if unit == "h" else timedelta(days=amount))
    return moment.date().isoformat() if unit == "d" else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_archive(path: Path) -> None:
    """A migrated archive holding the rows of tests/data/serve/archive.json."""
    now = datetime.now(UTC)
    data = json.loads(ARCHIVE.read_text(encoding="utf-8"))
    db = open_db(path)
    for table in TABLE_ORDER:
        rows = [{key: relative_value(value, now) for key, value in row.items()} for row in data[table]]
        db[table].insert_all(rows)
    db.conn.commit()
    db.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_responds(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    """Poll until the server answers 200, failing early if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"datasette exited {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1.0, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # polling interval, bounded by the deadline
    pytest.fail(f"datasette did not answer within {timeout}s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real Datasette, started as `monitor serve` would, on a test archive; yields its URL and files."""
    pytest.importorskip("datasette")
    directory = tmp_path_factory.mktemp("serve")
    db_path = directory / "monitor.db"
    build_archive(db_path)
    digest = hashlib.sha256(db_path.read_bytes()).hexdigest()
    port, log = free_port(), directory / "datasette.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-c", SERVE_SCRIPT, str(db_path), str(port)],
                                   stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_responds(f"{url}/-/versions.json", process, log)
        with httpx.Client(base_url=url, timeout=20.0, trust_env=False) as client:
            yield {"url": url, "client": client, "db": db_path, "digest": digest}
    finally:
        process.terminate()
        process.wait(timeout=10)


def query(served: dict[str, Any], name: str, **params: str) -> list[dict[str, Any]]:
    """The rows of a canned query, as JSON objects."""
    response = served["client"].get(f"/monitor/{name}.json", params={**params, "_shape": "array"})
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_parse_canned_query_reads_its_header() -> None:
    parsed = parse_canned_query("q", "-- title: Towns\n-- description: All of them\nSELECT 1 -- title: not a header")
    assert (parsed.title, parsed.description, parsed.sql) == ("Towns", "All of them",
                                                               "SELECT 1 -- title: not a header")
    with pytest.raises(MonitorError, match="title"):
        parse_canned_query("q", "SELECT 1")


def test_metadata_names_every_query_and_search_on_articles() -> None:
    metadata = build_metadata("archive")
    database = metadata["databases"]["archive"]
    assert set(database["queries"]) == EXPECTED_QUERIES == set(load_canned_queries())
    assert all(q["title"] and q["description"] and q["sql"] for q in database["queries"].values())
    assert database["tables"]["articles"]["fts_table"] == "articles_fts"
    assert database["tables"]["towns"]["columns"]["confidence"]


def test_without_datasette_serve_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "datasette.app", None)  # what Python does when the package is absent
    with pytest.raises(MonitorError) as caught:
        build_datasette(tmp_path / "monitor.db")
    assert caught.value.hint == INSTALL_HINT and "pip install" in caught.value.describe()


def test_serving_a_missing_archive_is_a_store_error(tmp_path: Path) -> None:
    pytest.importorskip("datasette")
    with pytest.raises(StoreError, match="no database"):
        build_datasette(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()


def test_map_projection_puts_north_up_and_colours_by_holder() -> None:
    style = load_map_style()
    towns = [
        MapTown("n", "North", "Latakia", "government", "2026-01-01", "confirmed", 36.0, 36.0),
        MapTown("s", "South", "Latakia", "rebels", "2026-01-02", "claimed", 35.5, 36.0),
        MapTown("e", "East", "Idlib", None, None, None, 35.75, 36.4),
        MapTown("x", "Elsewhere", "Hama", "militia-of-nowhere", None, "claimed", 35.75, 35.9),
        MapTown("u", "Unplaced", "Latakia", "rebels", "2026-01-03", "claimed", None, None),
    ]
    drawn = draw_front_map(towns, style)
    at = {m.town.name: m for m in drawn.markers}
    assert at["North"].y < at["South"].y and at["East"].x > at["North"].x > at["Elsewhere"].x
    assert all(style.margin <= m.x <= style.width - style.margin and
               style.margin <= m.y <= style.height - style.margin for m in drawn.markers)
    assert at["North"].colour == style.holders["government"] != at["South"].colour == style.holders["rebels"]
    assert at["East"].colour == style.no_holder and at["Elsewhere"].colour == style.other_holder
    assert drawn.markers[0].town.name == "East"  # unclaimed towns are drawn first, under the held ones
    assert {entry.holder: entry.count for entry in drawn.legend} == {
        "government": 1, "rebels": 1, "militia-of-nowhere": 1, "no claim": 1}
    assert [t.name for t in drawn.unplaced] == ["Unplaced"] and "Unplaced" not in at
    assert any(line.label == "36.00°E" for line in drawn.grid) and any(line.label.endswith("°N") for line in drawn.grid)
    assert draw_front_map([], style).markers == ()
    assert len(draw_front_map(towns[:1], style).markers) == 1
    assert draw_front_map(towns[-1:], style).markers == () and len(draw_front_map(towns[-1:], style).unplaced) == 1
    # The grid spans the whole picture, so a meridian west of every town still gets drawn.
    assert any(line.label == "35.75°E" for line in drawn.grid)


def test_town_control(served: dict[str, Any]) -> None:
    rows = {row["town"]: row for row in query(served, "town_control")}
    assert rows["Qastal Maaf"]["holder"] == "rebels" and rows["Qastal Maaf"]["taken_from"] == "government"
    assert rows["Rabia"]["confidence"] == "confirmed" and rows["Rabia"]["sources"] == 2
    assert rows["Kessab"]["holder"] == "no claim"
    assert "Kurnaz" not in rows  # not watched
    assert "Latakia Governorate" not in rows  # an area nobody claimed is not a town to hold
    holders = [row["holder"] for row in rows.values()]
    assert holders[-2:] == ["no claim", "no claim"] and "no claim" not in holders[:-2]  # held towns first


def test_recent_changes_with_their_sources(served: dict[str, Any]) -> None:
    week = query(served, "recent_changes", days="7")
    assert {row["town"] for row in week} == {"Qastal Maaf"}
    assert sorted(row["outlet"] for row in week) == ["Coast Wire", "Hill Daily"]
    assert all(row["quote"] and row["url"].startswith("https://") for row in week)
    month = query(served, "recent_changes", days="30")
    assert {row["town"] for row in month} == {"Qastal Maaf", "Bdama"}
    assert {row["town"] for row in query(served, "recent_changes", days="")} == {"Qastal Maaf", "Bdama"}
    assert "Rabia" in {row["town"] for row in query(served, "recent_changes", days="60")}


def test_articles_and_claims_about_one_town(served: dict[str, Any]) -> None:
    by_spelling = query(served, "town_articles", town="qastel maaf")
    assert [row["article_id"] for row in by_spelling] == [2, 1]  # newest first
    assert {row["written_as"] for row in by_spelling} == {"Qastel Maaf"} and by_spelling[0]["copy"] == "near"
    assert [row["article_id"] for row in query(served, "town_articles", town="gn165940")] == [2, 1]
    kessab = query(served, "town_articles", town="Kessab")
    assert sorted(row["article_id"] for row in kessab) == [1, 5] and all(row["gained_by"] is None for row in kessab)
    assert query(served, "town_articles", town="Nowhere") == []


def test_story_clusters(served: dict[str, Any]) -> None:
    rows = query(served, "story_clusters")
    assert len(rows) == 1
    assert rows[0]["cluster_id"] == 1 and rows[0]["copies"] == 2 and rows[0]["outlets"] == 2
    assert rows[0]["near"] == 1 and rows[0]["story"].startswith("Fighters enter Qastal Maaf")


def test_pending_and_failed_alert_deliveries(served: dict[str, Any]) -> None:
    rows = query(served, "alert_deliveries")
    assert [(row["state"], row["channel"], row["town"]) for row in rows] == [
        ("failed", "chat", "Bdama"),
        ("pending", "desk-mail", "Qastal Maaf"),
        ("pending", "desk-mail", None),  # a feed-health alert is about no town
    ]


def test_feed_health(served: dict[str, Any]) -> None:
    rows = query(served, "feed_health")
    assert [row["name"] for row in rows][-1] == "coast-wire"  # healthy feeds last
    by_name = {row["name"]: row for row in rows}
    assert by_name["hill-daily"]["state"] == "failing" and by_name["hill-daily"]["health_alert"] == "failing"
    assert by_name["hill-daily"]["errors_24h"] == 1 and by_name["hill-daily"]["fetches_24h"] == 1
    assert by_name["coast-wire"]["fetches_24h"] == 2 and by_name["coast-wire"]["articles"] == 4
    assert by_name["coast-wire"]["kept"] == 3 and by_name["old-radio"]["state"] == "gone"


def test_full_text_search_and_descriptions(served: dict[str, Any]) -> None:
    found = served["client"].get("/monitor/articles.json", params={"_search": "market", "_shape": "array"}).json()
    assert [row["id"] for row in found] == [5]
    page = served["client"].get("/monitor/towns").text
    assert "who holds them now" in page  # the table description from metadata.json


def test_archive_is_served_read_only(served: dict[str, Any]) -> None:
    databases = served["client"].get("/-/databases.json").json()
    assert [d["name"] for d in databases] == ["monitor"] and databases[0]["is_mutable"]
    refused = served["client"].get("/monitor.json", params={"sql": "DELETE FROM towns"})
    assert refused.status_code == 400
    assert hashlib.sha256(served["db"].read_bytes()).hexdigest() == served["digest"]


class MarkerParser(HTMLParser):
    """The town circles of the map page: name -> (holder, fill)."""

    def __init__(self) -> None:
        super().__init__()
        self.towns: dict[str, tuple[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "circle" and values.get("data-town"):
            self.towns[values["data-town"] or ""] = (values.get("data-holder") or "", values.get("fill") or "")


def map_markers(html: str) -> dict[str, tuple[str, str]]:
    parser = MarkerParser()
    parser.feed(html)
    return parser.towns


def test_map_page_draws_watched_towns_by_holder(served: dict[str, Any]) -> None:
    style = load_map_style()
    response = served["client"].get("/-/front-map")
    assert response.status_code == 200
    towns = map_markers(response.text)
    assert towns == {
        "Qastal Maaf": ("rebels", holder_colour("rebels", style)),
        "Rabia": ("government", holder_colour("government", style)),
        "Bdama": ("rebels", holder_colour("rebels", style)),
        "Darkush": ("turkey", holder_colour("turkey", style)),
        "Kessab": ("", style.no_holder),
        "Latakia": ("", style.no_holder),
    }
    assert "/monitor/town_articles?town=Qastal%20Maaf" in response.text
    assert re.search(r'<text class="town-label"[^>]*>Latakia</text>', response.text)  # cities are labelled
    assert not re.search(r'<text class="town-label"[^>]*>Kessab</text>', response.text)  # other unclaimed towns not
    unplaced = re.search(r'<p id="map-unplaced">(.*?)</p>', response.text, re.S)
    assert unplaced and "Salma" in unplaced.group(1) and "government" in unplaced.group(1)
    assert query(served, "front_map")[0]["town"] in towns


def png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB(A) PNG (as Chromium writes screenshots) into an array of RGB pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind, chunk = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        header = chunk if kind == b"IHDR" else header
        idat += chunk if kind == b"IDAT" else b""
        position += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6)
    channels = 3 if colour_type == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * channels)
    image = np.zeros((height, width * channels), dtype=np.uint8)
    previous = np.zeros(width * channels, dtype=np.int64)
    for y in range(height):
        line = raw[y, 1:].astype(np.int64)
        kind = raw[y, 0]
        if kind == 1:  # Sub: each byte adds the one a pixel to its left, a running sum per channel
            line = np.cumsum(line.reshape(width, channels), axis=0).reshape(-1)
        elif kind == 2:  # Up
            line = line + previous
        elif kind in (3, 4):
            line = _unfilter_slow(line, previous, channels, kind)
        previous = line % 256
        image[y] = previous
    return image.reshape(height, width, channels)[:, :, :3]


def _unfilter_slow(line: np.ndarray, previous: np.ndarray, channels: int, kind: int) -> np.ndarray:
    out = line.copy()
    for i in range(len(out)):
        left = int(out[i - channels]) if i >= channels else 0
        up, up_left = int(previous[i]), (int(previous[i - channels]) if i >= channels else 0)
        if kind == 3:
            predictor = (left + up) // 2
        else:
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
        out[i] = (out[i] + predictor) % 256
    return out


def colour_blobs(image: np.ndarray, colour: str, min_pixels: int = 20) -> int:
    """How many separate patches of at least `min_pixels` pixels have exactly this colour."""
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    labels, _ = ndimage.label(np.all(image == rgb, axis=2))
    sizes = np.bincount(labels.ravel())[1:]
    return int((sizes >= min_pixels).sum())


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is absent (apt-get install -y chromium)")
def test_map_in_headless_chromium(served: dict[str, Any], tmp_path: Path) -> None:
    style = load_map_style()
    url = f"{served['url']}/-/front-map"
    profile = f"--user-data-dir={tmp_path / 'profile'}"
    screenshot = tmp_path / "front-map.png"
    # One browser run: the DOM after rendering on stdout, and a picture of the page.
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, profile, "--dump-dom", f"--screenshot={screenshot}",
                          "--window-size=1100,1300", "--hide-scrollbars", url],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    towns = map_markers(dom)
    assert towns["Rabia"] == ("government", style.holders["government"])
    assert towns["Qastal Maaf"] == ("rebels", style.holders["rebels"]) and towns["Kessab"][1] == style.no_holder
    print(f"map screenshot: {screenshot}")
    image = png_pixels(screenshot.read_bytes())
    # Discs of each holder's exact colour: one per town it holds on the map, plus its swatch in the legend.
    assert colour_blobs(image, style.holders["rebels"]) == 2 + 1
    assert colour_blobs(image, style.holders["government"]) == 1 + 1
    assert colour_blobs(image, style.holders["turkey"]) == 1 + 1
    assert colour_blobs(image, style.holders["kurdish"]) == 0  # nobody on the map holds a town for this side
