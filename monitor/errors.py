"""The one exception family of monitor; each error carries its context and a hint to fix it.

    MonitorError
    ├── ConfigError    config.toml or a data file is invalid (exit 2)
    ├── FetchError     a URL could not be fetched or was refused
    ├── ExtractError   a page gave no text
    ├── StoreError     the database refused a read or a write
    └── AlertError     an alert channel refused a message

Expected outcomes (304, empty feed, bozo feed) are return values, never these.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class: a message, named context fields and an optional hint."""

    def __init__(self, message: str, *, hint: str | None = None, **context: object) -> None:
        self.message = message
        self.hint = hint
        self.context = {k: v for k, v in context.items() if v is not None}
        super().__init__(self.describe())

    def describe(self) -> str:
        """Return one line: the message, its context as key=value, and the hint."""
        parts = [self.message]
        parts += [f"{key}={value}" for key, value in self.context.items()]
        line = " ".join(parts)
        return f"{line} (hint: {self.hint})" if self.hint else line


class ConfigError(MonitorError):
    """The configuration or a user data file is invalid; carries every problem found."""

    def __init__(self, problems: list[str], *, path: str | None = None) -> None:
        self.problems = problems
        summary = "; ".join(problems)
        super().__init__(
            f"invalid configuration: {summary}", path=path, hint="fix the keys named above and run check-config"
        )


class FetchError(MonitorError):
    """A URL could not be fetched, was refused by policy, or answered an error status."""


class ExtractError(MonitorError):
    """A page could not be turned into article text."""


class StoreError(MonitorError):
    """The database could not be read or written."""


class AlertError(MonitorError):
    """An alert channel could not deliver a message."""
