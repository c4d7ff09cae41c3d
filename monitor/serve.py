"""`monitor serve`: Datasette on the archive, read-only on localhost, with descriptions, canned queries and a map.

Datasette is an optional extra (`pip install -e '.[serve]'`); without it `serve` raises a MonitorError naming the
install command. The metadata and queries are data files in `monitor/datasette/` (one .sql file per canned query,
its title and description in `-- title:` and `-- description:` header lines).
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError, StoreError

log = logging.getLogger(__name__)

DATASETTE_DIR = Path(__file__).parent / "datasette"
QUERIES_DIR = DATASETTE_DIR / "queries"
METADATA_FILE = DATASETTE_DIR / "metadata.json"
TEMPLATES_DIR = DATASETTE_DIR / "templates"
INSTALL_HINT = "install the serve extra: pip install -e '.[serve]'"
PLUGIN_NAME = "monitor-front-map"
# The canned queries join JSON columns; analysts' own queries get the same room before Datasette stops them.
SETTINGS = {"sql_time_limit_ms": 5000, "default_page_size": 100, "suggest_facets": False}


@dataclass(frozen=True, slots=True)
class CannedQuery:
    """One saved query: its URL name, title, description and SQL."""

    name: str
    title: str
    description: str
    sql: str


def parse_canned_query(name: str, text: str) -> CannedQuery:
    """Split a .sql file into its `-- title:` / `-- description:` header and the SQL below it."""
    header: dict[str, str] = {}
    body: list[str] = []
    for line in text.splitlines():
        key, sep, value = line.removeprefix("--").partition(":")
        if not body and line.startswith("--") and sep and key.strip() in {"title", "description"}:
            header[key.strip()] = value.strip()
        else:
            body.append(line)
    sql = "\n".join(body).strip()
    if not sql or "title" not in header:
        raise MonitorError("canned query needs a '-- title:' line and SQL", query=name,
                           hint=f"see the other files in {QUERIES_DIR}")
    return CannedQuery(name=name, title=header["title"], description=header.get("description", ""), sql=sql)


def load_canned_queries(directory: Path = QUERIES_DIR) -> dict[str, CannedQuery]:
    """Every `*.sql` file of the directory, by file name without the extension."""
    return {path.stem: parse_canned_query(path.stem, path.read_text(encoding="utf-8"))
            for path in sorted(directory.glob("*.sql"))}


def database_name(db_path: Path | str) -> str:
    """The name Datasette gives a database file (its stem), which keys its metadata and URLs."""
    return Path(db_path).stem


def build_metadata(name: str, queries: dict[str, CannedQuery] | None = None,
                   metadata_file: Path = METADATA_FILE) -> dict[str, Any]:
    """Datasette metadata for the archive served under `name`: descriptions, FTS and canned queries."""
    template = json.loads(metadata_file.read_text(encoding="utf-8"))
    database = copy.deepcopy(template.pop("database"))
    queries = load_canned_queries() if queries is None else queries
    database["queries"] = {
        q.name: {"sql": q.sql, "title": q.title, "description": q.description} for q in queries.values()
    }
    return {**template, "databases": {name: database}}


def build_datasette(db_path: Path | str) -> Any:
    """A Datasette instance on the archive, opened read-only (SQLite mode=ro), with the map plugin."""
    datasette_app = _import_datasette()
    from datasette.plugins import pm

    from monitor.datasette import plugin

    path = Path(db_path)
    if not path.is_file():
        raise StoreError("no database to serve", path=str(path),
                         hint="run the daemon or `monitor ingest` first, or pass --db")
    if pm.get_plugin(PLUGIN_NAME) is None:
        pm.register(plugin, name=PLUGIN_NAME)
    # A mutable file (not --immutable): the daemon keeps writing it, and Datasette reads it with mode=ro.
    return datasette_app.Datasette([str(path)], metadata=build_metadata(database_name(path)),
                                   template_dir=str(TEMPLATES_DIR), settings=SETTINGS)


def serve(db_path: Path | str, port: int = 8001, host: str = "127.0.0.1") -> None:
    """Run Datasette on the archive until interrupted (localhost by default)."""
    datasette = build_datasette(db_path)
    import uvicorn

    if host not in {"127.0.0.1", "localhost", "::1"}:
        log.warning("serving beyond localhost host=%s: put an authenticating proxy in front", host)
    log.info("datasette serving db=%s url=http://%s:%d/", db_path, host, port)
    uvicorn.run(datasette.app(), host=host, port=port, log_level="info", lifespan="on", workers=1)


def _import_datasette() -> Any:
    try:
        import datasette.app as datasette_app
    except ImportError as exc:
        raise MonitorError("Datasette is not installed", hint=INSTALL_HINT) from exc
    return datasette_app
