"""Time expressions of news text ("on Saturday", "last week", "in February") resolved against a publication date."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name} | {"sept": 9}
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "few": 3,
    "several": 3,
    "couple of": 2,
}
UNIT_DAYS = {"hour": 0, "day": 1, "week": 7, "month": 30, "year": 365}
# Parts of a month or year that a qualifier names: (first day, last day) of the month, (first, last) month.
MONTH_PARTS = {
    "early": (1, 10),
    "beginning of": (1, 10),
    "start of": (1, 10),
    "mid": (11, 20),
    "middle of": (11, 20),
    "late": (21, 31),
    "end of": (21, 31),
}
YEAR_PARTS = {
    "early": (1, 4),
    "beginning of": (1, 3),
    "start of": (1, 3),
    "mid": (5, 8),
    "middle of": (5, 8),
    "late": (9, 12),
    "end of": (10, 12),
    "spring of": (3, 5),
    "summer of": (6, 8),
    "autumn of": (9, 11),
    "fall of": (9, 11),
    "winter of": (1, 2),
}

# Month names are matched capitalised only, so the modal "may" and the verb "march" are no dates.
_MONTH = r"(?P<month>(?-i:Jan(?:uary)?|Feb(?:ruary)?|March|Mar|April|Apr|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?))\.?"  # noqa: E501
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_NUM = r"(?P<num>\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few|several|couple of)"
_PART = r"(?:(?:the\s+)?(?P<part>early|mid|late|beginning of|start of|middle of|end of|spring of|summer of|autumn of|fall of|winter of)[\s-]*)"  # noqa: E501
_WEEKDAY = r"(?P<weekday>(?-i:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday))"


@dataclass(frozen=True, slots=True)
class DateMention:
    """A time expression found in a text, with its character span."""

    expression: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Period:
    """The days an expression may mean and the one day that stands for it (`day`)."""

    first: date
    last: date
    day: date

    def middle(self) -> date:
        """The middle day of the period, the fairest single guess at when it happened."""
        return self.first + (self.last - self.first) / 2


def _one_day(day: date) -> Period:
    return Period(day, day, day)


def _weekday(m: re.Match[str], published: date) -> Period:
    back = (published.weekday() - WEEKDAYS[m["weekday"].lower()]) % 7
    if back == 0 and m["last"]:
        back = 7  # "last Friday" written on a Friday means a week ago
    return _one_day(published - timedelta(days=back))


def _month_day(m: re.Match[str], published: date) -> Period | None:
    month, day = MONTHS[m["month"].lower()], int(m["day"])
    year = int(m["year"]) if m["year"] else published.year
    try:
        found = date(year, month, day)
        if not m["year"] and found > published:
            found = date(year - 1, month, day)
    except ValueError:
        return None
    return _one_day(found)


def _month(m: re.Match[str], published: date) -> Period | None:
    month = MONTHS[m["month"].lower()]
    year = int(m["year"]) if m["year"] else published.year - (month > published.month)
    first_day, last_day = MONTH_PARTS.get(m["part"] or "", (1, 31))
    days_in_month = calendar.monthrange(year, month)[1]
    first = date(year, month, min(first_day, days_in_month))
    last = date(year, month, min(last_day, days_in_month))
    return Period(first, min(last, published), first) if first <= published else None


def _year(m: re.Match[str], published: date) -> Period | None:
    year = int(m["year"])
    first_month, last_month = YEAR_PARTS.get(m["part"] or "", (1, 12))
    first = date(year, first_month, 1)
    last = date(year, last_month, calendar.monthrange(year, last_month)[1])
    return Period(first, min(last, published), first) if first <= published else None


def _relative_year(m: re.Match[str], published: date) -> Period:
    year = published.year - (m["which"].lower() == "last")
    part = " ".join((m["part"] or "").lower().split()).removeprefix("the ")
    first_month, last_month = YEAR_PARTS.get(part, (1, 12))
    if m["earlier"]:
        first_month, last_month = 1, published.month
    first = date(year, first_month, 1)
    last = min(date(year, last_month, calendar.monthrange(year, last_month)[1]), published)
    return Period(first, last, first)


def _relative_month(m: re.Match[str], published: date) -> Period:
    this_month = published.replace(day=1)
    if m["which"].lower() == "this":
        return Period(this_month, published, this_month)
    last = this_month - timedelta(days=1)
    return Period(last.replace(day=1), last, last.replace(day=1))


def _relative_week(m: re.Match[str], published: date) -> Period:
    monday = published - timedelta(days=published.weekday())
    if m["which"].lower() == "this":
        return Period(monday, published, published)
    return Period(monday - timedelta(days=7), monday - timedelta(days=1), published - timedelta(days=7))


def _ago(m: re.Match[str], published: date) -> Period | None:
    count = NUMBERS.get((m["num"] or "few").lower()) or int(m["num"])
    days = count * UNIT_DAYS[m["unit"].lower()]
    if days > 365 * 200:
        return None
    return _one_day(published - timedelta(days=days))


def _recent(m: re.Match[str], published: date) -> Period | None:
    number = (m["num"] or "few").lower()
    count = NUMBERS.get(number) or int(number)
    days = count * UNIT_DAYS[m["unit"].lower()]
    if days > 365 * 200:
        return None
    return Period(published - timedelta(days=days), published, published - timedelta(days=days))


def _day_offset(offset: int) -> Callable[[re.Match[str], date], Period]:
    return lambda _m, published: _one_day(published - timedelta(days=offset))


_ON = r"(?:(?:late|early)\s+)?(?:on\s+)?"
# Longer forms first: the finder takes the first alternative that matches at a position.
PATTERNS: tuple[tuple[str, Callable[[re.Match[str], date], Period | None]], ...] = (
    (rf"{_ON}(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?", _month_day),
    (rf"{_ON}{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?(?!\d)", _month_day),
    (rf"(?:(?:in|since|during|by|until|from)\s+)?{_PART}?{_MONTH}(?:,?\s+{_YEAR})?", _month),
    (rf"(?:(?:in|since|during|by|until|from)\s+)?{_PART}?{_YEAR}(?!\d)", _year),
    (
        r"(?P<earlier>earlier\s+)?(?:(?P<part>early|late|the\s+end\s+of|the\s+summer\s+of)\s+)?(?P<which>last|this)\s+year",
        _relative_year,
    ),
    (r"(?:earlier\s+|late\s+)?(?P<which>last|this)\s+month(?:['’]?s)?", _relative_month),
    (r"(?:earlier\s+|late\s+)?(?P<which>last|this)\s+week(?:end)?", _relative_week),
    (rf"(?:(?P<last>last)\s+|{_ON}){_WEEKDAY}(?:\s+(?:morning|afternoon|evening|night))?", _weekday),
    (rf"(?:{_NUM}\s+|(?=\w+\s+ago))(?P<unit>hour|day|week|month|year)s?\s+ago", _ago),
    (rf"(?:in|over|during|within)\s+the\s+(?:past|last)\s+{_NUM}\s+(?P<unit>hour|day|week|month|year)s?", _recent),
    (r"(?:in|over|during)\s+(?:the\s+)?(?:recent|past|last)\s+(?P<num>few\s+)?(?P<unit>day|week|month|year)s", _recent),
    (r"(?:earlier\s+)?(?:today|this\s+morning|this\s+afternoon|this\s+evening|tonight)", _day_offset(0)),
    (r"yesterday|last\s+night|the\s+day\s+before", _day_offset(1)),
)
_COMPILED = tuple((re.compile(pattern, re.IGNORECASE), resolver) for pattern, resolver in PATTERNS)
_FINDER = re.compile(
    "|".join(rf"(?:{re.sub(r'[?]P<[a-z0-9]+>', '', p)})" for p, _ in PATTERNS).replace("(?P=", "(?:"),
    re.IGNORECASE,
)


def find_date_expressions(text: str) -> list[DateMention]:
    """Return the time expressions of `text` in order of appearance."""
    return [
        DateMention(m.group(0), m.start(), m.end())
        for m in _FINDER.finditer(text)
        if (m.start() == 0 or not text[m.start() - 1].isalnum())
        and (m.end() == len(text) or not text[m.end()].isalnum())
    ]


def resolve_period(expression: str, published: date) -> Period | None:
    """Return the days `expression` means when written on `published`, or None; never raises, never future."""
    text = " ".join(str(expression).split()).strip(" ,.;:")
    for pattern, resolver in _COMPILED:
        match = pattern.fullmatch(text)
        if not match:
            continue
        try:
            period = resolver(match, published)
        except (ValueError, OverflowError, KeyError):
            return None
        if period is None or period.day > published or period.first > published:
            return None
        return period
    return None


def resolve_date(expression: str, published: date) -> date | None:
    """Return the day `expression` stands for when written on `published` (a month gives its first day)."""
    period = resolve_period(expression, published)
    return period.day if period else None
