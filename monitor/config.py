"""Read config.toml into frozen dataclasses, reporting every problem at once with its key path.

Sections are dataclasses; a generic builder checks each key against the field's type, rejects unknown
keys and collects problems as `feeds[3].url: must be an http(s) URL`. No network, no database here.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from monitor.channels import Channel, DeliverySettings, EmailChannel, WebhookChannel, channel_name_problems
from monitor.classify import ClassifierSettings
from monitor.control import ControlSettings
from monitor.errors import ConfigError
from monitor.fetch import HttpSettings

T = TypeVar("T")

# TOML keys that are Python keywords, spelled differently in the dataclasses.
KEY_ALIASES = {"from": "from_addr"}


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Where the archive lives and how long dropped text is kept."""

    path: str = "data/monitor.db"
    dropped_text_days: int = 30  # text of dropped articles is purged after this many days
    fetch_log_days: int = 30  # rows of the fetch log older than this are purged


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """The tick job and the per-feed schedule bounds."""

    tick_s: int = 60  # how often the daemon looks for due feeds
    default_interval_s: int = 900  # a feed's poll interval when it sets none
    min_interval_s: int = 300  # Retry-After and Cache-Control are clamped to [min, max]
    max_interval_s: int = 6 * 3600
    backoff_cap_s: int = 24 * 3600  # longest wait after repeated errors
    workers: int = 4  # feeds and pages fetched at once (threads)
    processes: int = 2  # worker processes extracting and analysing pages; 0 analyses in the fetching threads
    batch_size: int = 50  # due feeds picked per tick
    article_attempts: int = 3  # tries for one article page before keeping the feed summary
    articles_per_feed: int = 50  # new entries fetched per feed per poll; the rest wait for the next tick
    misfire_grace_s: int = 120
    maintenance_hours: int = 24  # retention purge and optimize


@dataclass(frozen=True, slots=True)
class FrontSettings:
    """The data files that define the front."""

    gazetteer: str = "front/gazetteer.csv"
    actors: str = "front/actors.toml"
    seeds: str = "seeds"


def http_url(value: str) -> str | None:
    """Problem with a source URL, or None."""
    return None if value.startswith(("http://", "https://")) else f"must be an http(s) URL, got {value!r}"


def regex(value: str) -> str | None:
    """Problem with a regular expression, or None."""
    try:
        re.compile(value)
    except re.error as exc:
        return f"not a valid regular expression ({exc})"
    return None


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A news feed (RSS, Atom, JSON Feed, or an HTML page with feed autodiscovery)."""

    name: str
    url: str = field(metadata={"check": http_url})
    interval: int | None = None  # seconds; [schedule] default_interval_s when absent
    outlet: str | None = None  # the publisher's name, for source counting; the feed's title when absent
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class PageSource:
    """A section page whose same-site article links are followed (for outlets without a feed)."""

    name: str
    url: str = field(metadata={"check": http_url})
    link_pattern: str = field(default="", metadata={"check": regex})  # article URLs must match it
    interval: int | None = None
    outlet: str | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Alert channels and delivery retries."""

    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    email: tuple[EmailChannel, ...] = ()
    webhook: tuple[WebhookChannel, ...] = ()

    @property
    def channels(self) -> list[Channel]:
        """Every configured channel, email first."""
        return [*self.email, *self.webhook]


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration; passed down explicitly, never global."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    front: FrontSettings = field(default_factory=FrontSettings)
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
    control: ControlSettings = field(default_factory=ControlSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    feeds: tuple[FeedSource, ...] = ()
    pages: tuple[PageSource, ...] = ()
    base_dir: str = "."  # the config file's folder: relative paths resolve against it

    @property
    def enabled_sources(self) -> list[tuple[str, FeedSource | PageSource]]:
        """(kind, source) of every enabled feed and page, kind being "feed" or "page"."""
        sources: list[tuple[str, FeedSource | PageSource]] = [("feed", s) for s in self.feeds]
        sources += [("page", s) for s in self.pages]
        return [(kind, source) for kind, source in sources if source.enabled]

    def resolve(self, relative: str) -> Path:
        """Return a configured path, relative paths taken from the config file's folder."""
        path = Path(os.path.expanduser(relative))
        return path if path.is_absolute() else Path(self.base_dir) / path


def load_config(path: Path | str) -> Config:
    """Read and validate a config file; raises ConfigError listing every problem."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError([f"{path}: file not found"], path=str(path)) from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path}: {exc}"], path=str(path)) from exc
    return parse_config(raw, base_dir=path.resolve().parent, path=str(path))


def parse_config(raw: dict[str, Any], *, base_dir: Path | str = ".", path: str | None = None) -> Config:
    """Validate a parsed TOML document into a Config; raises ConfigError listing every problem."""
    problems: list[str] = []
    raw = dict(raw)
    raw["base_dir"] = str(base_dir)
    config = build_section(Config, raw, "", problems)
    if config is not None:
        problems += check_config(config)
    if problems or config is None:
        raise ConfigError(problems, path=path)
    return config


def check_config(config: Config) -> list[str]:
    """Cross-field checks the types alone cannot express."""
    problems: list[str] = []
    sources = [("feeds", s) for s in config.feeds] + [("pages", s) for s in config.pages]
    seen: set[str] = set()
    for index, (section, source) in enumerate(sources):
        position = index if section == "feeds" else index - len(config.feeds)
        key = f"{section}[{position}]"
        if source.name in seen:
            problems.append(f"{key}.name: {source.name!r} is used twice")
        seen.add(source.name)
        if source.interval is not None and source.interval < config.schedule.min_interval_s:
            problems.append(f"{key}.interval: below [schedule] min_interval_s ({config.schedule.min_interval_s})")
    for index, email in enumerate(config.alerts.email):
        problems += email.problems(f"alerts.email[{index}]")
    for index, webhook in enumerate(config.alerts.webhook):
        problems += webhook.problems(f"alerts.webhook[{index}]")
    problems += config.alerts.delivery.problems("alerts.delivery")
    problems += channel_name_problems(config.alerts.channels)
    schedule = config.schedule
    if schedule.min_interval_s > schedule.max_interval_s:
        problems.append("schedule.min_interval_s: larger than max_interval_s")
    return problems


def build_section(cls: type[T], raw: object, path: str, problems: list[str]) -> T | None:
    """Build dataclass `cls` from a TOML table, appending problems (with key paths) instead of raising."""
    if not isinstance(raw, dict):
        problems.append(f"{path or 'config'}: must be a table, got {type(raw).__name__}")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = KEY_ALIASES.get(key, key)
        key_path = f"{path}.{key}" if path else key
        if name not in fields:
            problems.append(f"{key_path}: unknown key")
            continue
        values[name] = _convert(hints[name], value, key_path, problems)
        check = fields[name].metadata.get("check")
        if check and values[name] is not _INVALID and (problem := check(values[name])):
            problems.append(f"{key_path}: {problem}")
            values[name] = _INVALID
    for name, spec in fields.items():
        required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        if required and name not in values:
            problems.append(f"{path + '.' if path else ''}{name}: required")
    if any(v is _INVALID for v in values.values()):
        return None
    try:
        return cls(**values)
    except TypeError as exc:  # a required field was missing: already reported above
        if not problems:
            problems.append(f"{path or 'config'}: {exc}")
        return None


_INVALID = object()


def _convert(hint: Any, value: object, path: str, problems: list[str]) -> Any:
    """Check one value against a type hint, converting lists to tuples and tables to dataclasses."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        return _convert(hint, value, path, problems)
    if dataclasses.is_dataclass(hint):
        built = build_section(hint, value, path, problems)  # type: ignore[arg-type]
        return _INVALID if built is None else built
    if origin is tuple:
        if not isinstance(value, list):
            problems.append(f"{path}: must be a list")
            return _INVALID
        item_hint = args[0]
        items = [_convert(item_hint, item, f"{path}[{i}]", problems) for i, item in enumerate(value)]
        return _INVALID if _INVALID in items else tuple(items)
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(f"{path}: must be a table of strings")
            return _INVALID
        return dict(value)
    return _convert_scalar(hint, value, path, problems)


def _convert_scalar(hint: Any, value: object, path: str, problems: list[str]) -> Any:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in names and (not isinstance(value, hint) or (hint is int and isinstance(value, bool))):
        problems.append(f"{path}: must be {names[hint]}, got {value!r}")
        return _INVALID
    if hint in (int, float) and value < 0:  # type: ignore[operator]
        problems.append(f"{path}: must not be negative")
        return _INVALID
    return value
