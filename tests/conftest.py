"""Shared fixtures: paths to the project's data, a migrated SQLite archive in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils
from httpserver import http_server  # noqa: F401 - the shared local HTTP server fixture
from smtpserver import smtp_factory, smtp_server, tls_cert  # noqa: F401 - in-process SMTP (aiosmtpd)

from monitor.store import open_db


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    """A real, migrated archive in a temporary directory."""
    return open_db(tmp_path / "monitor.db")
