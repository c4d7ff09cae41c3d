"""One writer of config files for tests and benchmarks: the project's front data, the given feeds and sections."""

from __future__ import annotations

from pathlib import Path

from paths import ROOT

Section = dict[str, object]


def toml_value(value: object) -> str:
    """A TOML literal for a bool, number or string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return f'"{value}"'


def write_config(folder: Path, feeds: list[tuple[str, str]], *, db_path: Path | None = None,
                 sections: dict[str, Section] | None = None, extra: str = "") -> Path:
    """Write `folder/config.toml` naming the archive, the front's data files, `sections` and the feeds."""
    tables: dict[str, Section] = {
        "database": {"path": str(db_path or folder / "monitor.db")},
        "front": {"gazetteer": str(ROOT / "front/gazetteer.csv"), "actors": str(ROOT / "front/actors.toml"),
                  "seeds": str(ROOT / "seeds")},
    }
    for name, values in (sections or {}).items():
        tables[name] = {**tables.get(name, {}), **values}
    lines: list[str] = []
    for name, values in tables.items():
        lines += [f"[{name}]", *(f"{key} = {toml_value(value)}" for key, value in values.items())]
    for name, url in feeds:
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{url}"']
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path
