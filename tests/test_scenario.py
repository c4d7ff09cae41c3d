"""The control scenario of the five seeds, through the real ingest path, in date order and in reverse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import SEEDS
from test_pipeline import write_config

from monitor.cli import cli
from monitor.config import load_config
from monitor.ingest import read_files
from monitor.service import open_service

KINSABBA = "gn167863"


def seed_files(reverse: bool) -> list[Path]:
    """The seed files in publication order (or its reverse)."""
    from seedsite import seed_rows

    rows = sorted(seed_rows(), key=lambda row: row["published"], reverse=reverse)
    return [SEEDS / row["file"] for row in rows]


def ingest_in_order(tmp_path: Path, reverse: bool) -> dict[str, object]:
    """Ingest the seeds one by one; return the resulting control state."""
    service = open_service(load_config(write_config(tmp_path, [])))
    for path in seed_files(reverse):
        service.ingest(read_files([path]))
    db = service.db
    state = {
        "towns": sorted(tuple(r) for r in db.execute(
            "SELECT id, holder, since, confidence FROM towns WHERE holder IS NOT NULL")),
        "changes": sorted(tuple(r) for r in db.execute(
            "SELECT town_id, coalesce(from_side, ''), to_side, event_date FROM control_changes")),
        "alerts": sorted(tuple(r) for r in db.execute(
            "SELECT id, kind, town_id, coalesce(from_side, ''), to_side, event_date FROM alerts")),
        "watched": {r[0]: r[1] for r in db.execute("SELECT id, watched FROM towns")},
        "names": {r[0]: r[1] for r in db.execute("SELECT id, name FROM towns")},
    }
    service.close()
    return state


@pytest.fixture(scope="module")
def both_orders(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    return (ingest_in_order(tmp_path_factory.mktemp("forward"), reverse=False),
            ingest_in_order(tmp_path_factory.mktemp("reverse"), reverse=True))


def test_both_orders_end_in_the_same_state(both_orders: tuple[dict, dict]) -> None:
    forward, backward = both_orders
    assert forward["towns"] == backward["towns"]
    assert forward["changes"] == backward["changes"]
    assert forward["alerts"] == backward["alerts"]


@pytest.mark.parametrize("order", [0, 1], ids=["date-order", "reverse-order"])
def test_kinsabba_history_and_alerts(both_orders: tuple[dict, dict], order: int) -> None:
    state = both_orders[order]
    town = next(t for t in state["towns"] if t[0] == KINSABBA)
    assert town[1:3] == ("government", "2016-07-16")
    history = [(c[2], c[3][:7]) for c in state["changes"] if c[0] == KINSABBA]
    assert [side for side, _ in history] == ["government", "rebels", "government"]
    assert [month for _, month in history] == ["2016-02", "2016-07", "2016-07"]
    assert [c[3] for c in state["changes"] if c[0] == KINSABBA][1:] == ["2016-07-01", "2016-07-16"]
    alerts = sorted(((a[4], a[5]) for a in state["alerts"] if a[2] == KINSABBA), key=lambda a: a[1])
    assert alerts == [("rebels", "2016-07-01"), ("government", "2016-07-16")]  # February is history only


def test_seized_villages_alert_as_rebel_gains_when_watched(both_orders: tuple[dict, dict]) -> None:
    state = both_orders[0]
    rebel_gains = {c[0] for c in state["changes"] if c[2] == "rebels" and c[3] == "2016-07-01"}
    assert len(rebel_gains) >= 8  # Kinsabba plus the villages and hills of seeds 002 and 003
    alerted = {a[2] for a in state["alerts"] if a[4] == "rebels"}
    watched_gains = {town for town in rebel_gains if state["watched"][town]}
    assert alerted == watched_gains


def test_hama_villages_are_recorded_without_alerts(both_orders: tuple[dict, dict]) -> None:
    state = both_orders[0]
    hama = {town for town, name in state["names"].items() if name in ("Atshan", "Tall Sikkin", "Tel Skak")}
    held = {t[0]: t[1] for t in state["towns"] if t[0] in hama}
    assert held and set(held.values()) == {"government"}
    assert not any(state["watched"][town] for town in held)
    assert not any(a[2] in held for a in state["alerts"])


def test_replay_creates_no_new_alerts(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, [])
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config_path), "ingest", str(SEEDS)]).exit_code == 0
    service = open_service(load_config(config_path))
    before = sorted(json.dumps(r, sort_keys=True) for r in service.db.query("SELECT id, kind FROM alerts"))
    service.close()
    result = runner.invoke(cli, ["--config", str(config_path), "replay"])
    assert result.exit_code == 0, result.output
    service = open_service(load_config(config_path))
    after = sorted(json.dumps(r, sort_keys=True) for r in service.db.query("SELECT id, kind FROM alerts"))
    assert before and after == before
    service.close()


def test_backfill_records_history_without_queueing_alerts(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, [])
    result = CliRunner().invoke(cli, ["--config", str(config_path), "ingest", "--backfill", str(SEEDS)])
    assert result.exit_code == 0, result.output
    service = open_service(load_config(config_path))
    changes = service.db.execute("SELECT count(*) FROM control_changes").fetchone()[0]
    pending = service.db.execute("SELECT count(*) FROM alerts WHERE is_backfill = 0").fetchone()[0]
    assert changes > 0 and pending == 0
    service.close()


def test_towns_command_shows_the_current_map(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, [])
    runner = CliRunner()
    runner.invoke(cli, ["--config", str(config_path), "ingest", str(SEEDS)])
    result = runner.invoke(cli, ["--config", str(config_path), "towns"])
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.startswith("Kinsabba"))
    assert "government" in line and "since 2016-07-16" in line
