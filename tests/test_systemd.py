"""The systemd units: required directives, `systemd-analyze verify` clean, `security --offline` exposure <= 2.0."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT

UNITS = ROOT / "systemd"
INSTALLED_BINARY = "/opt/monitor/.venv/bin/monitor"
MAX_EXPOSURE = 2.0

needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                           reason="systemd-analyze is absent (apt-get install -y systemd)")


def directives(unit: Path) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file, keyed by `Section.Key`; keys may repeat."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in unit.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key}", []).append(value)
    return found


def unit_with_existing_binary(unit: Path, tmp_path: Path) -> Path:
    """A copy of the unit whose ExecStart names this checkout's `monitor` script; nothing else changes."""
    binary = Path(sys.prefix) / "bin" / "monitor"
    assert binary.exists(), f"the venv has no monitor script at {binary}"
    original = unit.read_text(encoding="utf-8")
    copy = tmp_path / unit.name
    copy.write_text(original.replace(INSTALLED_BINARY, str(binary)), encoding="utf-8")
    changed = [(a, b) for a, b in zip(original.splitlines(), copy.read_text().splitlines(), strict=True) if a != b]
    assert changed and all(a.startswith("ExecStart=") for a, _ in changed)
    return copy


def test_daemon_unit_has_the_service_contract() -> None:
    unit = directives(UNITS / "monitor.service")
    assert unit["Service.Type"] == ["notify"]
    assert unit["Service.WatchdogSec"] and unit["Service.Restart"] == ["on-failure"]
    assert unit["Service.DynamicUser"] == ["yes"] and unit["Service.User"] == ["monitor"]
    assert unit["Service.StateDirectory"] == ["monitor"]
    assert "--config /etc/monitor/config.toml" in unit["Service.ExecStart"][0]
    assert unit["Service.ExecStart"][0].endswith(" run")
    assert any(c.startswith("smtp-password:/etc/monitor/") for c in unit["Service.LoadCredential"])
    for hardening in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome", "MemoryDenyWriteExecute"):
        assert unit[f"Service.{hardening}"][0] in {"yes", "strict"}, hardening


def test_datasette_unit_serves_on_localhost_only() -> None:
    unit = directives(UNITS / "monitor-datasette.service")
    command = unit["Service.ExecStart"][0]
    assert " serve " in command and "--host 127.0.0.1" in command
    assert unit["Service.IPAddressDeny"] == ["any"] and unit["Service.IPAddressAllow"] == ["localhost"]
    # Same dynamic user and state directory as the daemon: that is how it reads the archive.
    assert unit["Service.User"] == directives(UNITS / "monitor.service")["Service.User"]
    assert unit["Service.StateDirectory"] == ["monitor"]


@needs_systemd_analyze
@pytest.mark.parametrize("name", ["monitor.service", "monitor-datasette.service"])
def test_unit_verifies_clean(name: str, tmp_path: Path) -> None:
    copy = unit_with_existing_binary(UNITS / name, tmp_path)
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


@needs_systemd_analyze
@pytest.mark.parametrize("name", ["monitor.service", "monitor-datasette.service"])
def test_unit_exposure_is_ok(name: str) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(UNITS / name)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert match, result.stdout[-500:]
    exposure, rating = float(match.group(1)), match.group(2)
    assert exposure <= MAX_EXPOSURE and rating in {"OK", "SAFE"}, f"{name}: {exposure} {rating}"
