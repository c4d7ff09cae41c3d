"""Config validation: every bad-*.toml fixture reports its expected problems, all at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from paths import ROOT, TEST_DATA

from monitor.config import Config, load_config, parse_config
from monitor.errors import ConfigError

BAD_CONFIGS = sorted((TEST_DATA / "config").glob("bad-*.toml"))


def expectations(path: Path) -> list[str]:
    """The `# Expect:` lines of a fixture."""
    return re.findall(r"^# Expect: (.+)$", path.read_text(encoding="utf-8"), flags=re.M)


@pytest.mark.parametrize("path", BAD_CONFIGS, ids=lambda p: p.stem)
def test_bad_config_reports_every_expected_problem(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no Expect line"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    reported = "\n".join(caught.value.problems)
    for line in expected:
        assert line in reported, f"{line!r} not in {reported!r}"


def test_bad_many_reports_problems_together() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(TEST_DATA / "config" / "bad-many.toml")
    assert len(caught.value.problems) >= 3


def test_default_config_file_is_valid() -> None:
    config = load_config(ROOT / "config.toml")
    assert config.database.path == "data/monitor.db"
    assert config.http.allow_private is False
    assert len(config.feeds) >= 6
    assert all(feed.url.startswith("https://") for feed in config.feeds)
    assert config.pages and config.pages[0].link_pattern


def test_empty_config_gives_defaults(tmp_path: Path) -> None:
    config = parse_config({}, base_dir=tmp_path)
    assert config == Config(base_dir=str(tmp_path))
    assert config.resolve("data/monitor.db") == tmp_path / "data" / "monitor.db"
    assert config.resolve("/abs/x.db") == Path("/abs/x.db")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_ints_are_accepted_for_float_settings() -> None:
    config = parse_config({"http": {"total_timeout": 5}})
    assert config.http.total_timeout == 5.0
    assert isinstance(config.http.total_timeout, float)
