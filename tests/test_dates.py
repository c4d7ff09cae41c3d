"""Tests for monitor.dates: time expressions resolved against a publication date, never in the future."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.dates import find_date_expressions, resolve_date, resolve_period

SATURDAY = date(2016, 7, 16)


@pytest.mark.parametrize(
    ("expression", "published", "expected"),
    [
        ("on Saturday", SATURDAY, date(2016, 7, 16)),
        ("on Friday", SATURDAY, date(2016, 7, 15)),
        ("late on Friday", SATURDAY, date(2016, 7, 15)),
        ("early Sunday", SATURDAY, date(2016, 7, 10)),
        ("last Saturday", SATURDAY, date(2016, 7, 9)),
        ("on July 1", SATURDAY, date(2016, 7, 1)),
        ("1 July", SATURDAY, date(2016, 7, 1)),
        ("on July 20", SATURDAY, date(2015, 7, 20)),  # no year and after publication: last year's
        ("on 22 May 2015", SATURDAY, date(2015, 5, 22)),
        ("Sept. 30", date(2015, 10, 10), date(2015, 9, 30)),
        ("in February", SATURDAY, date(2016, 2, 1)),
        ("in December", date(2016, 2, 3), date(2015, 12, 1)),
        ("in mid-2014", SATURDAY, date(2014, 5, 1)),
        ("since 2012", SATURDAY, date(2012, 1, 1)),
        ("last week", SATURDAY, date(2016, 7, 9)),
        ("last month", SATURDAY, date(2016, 6, 1)),
        ("late last year", SATURDAY, date(2015, 9, 1)),
        ("yesterday", SATURDAY, date(2016, 7, 15)),
        ("this morning", SATURDAY, SATURDAY),
        ("two days ago", SATURDAY, date(2016, 7, 14)),
        ("three years ago", SATURDAY, SATURDAY - timedelta(days=3 * 365)),
    ],
)
def test_resolve_date(expression: str, published: date, expected: date) -> None:
    assert resolve_date(expression, published) == expected


@pytest.mark.parametrize("expression", ["", "garbage", "may", "march", "in May 2030", "on February 30", "next week"])
def test_unresolvable_expressions_give_none(expression: str) -> None:
    assert resolve_date(expression, SATURDAY) is None


def test_month_period_covers_the_month_up_to_publication() -> None:
    period = resolve_period("in July", SATURDAY)
    assert period is not None
    assert (period.first, period.last, period.middle()) == (date(2016, 7, 1), SATURDAY, date(2016, 7, 8))


def test_find_date_expressions_in_a_sentence() -> None:
    text = "The regime had captured Kansaba in February; rebels retook it on Friday, and may march on it last week."
    assert [m.expression for m in find_date_expressions(text)] == ["in February", "on Friday", "last week"]
    assert all(text[m.start : m.end] == m.expression for m in find_date_expressions(text))


@given(st.text(max_size=60), st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
def test_resolve_date_never_raises_and_never_returns_a_future_day(expression: str, published: date) -> None:
    resolved = resolve_date(expression, published)
    assert resolved is None or resolved <= published


past_expressions = st.one_of(
    st.sampled_from(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]).map(
        lambda day: f"on {day}"
    ),
    st.tuples(st.sampled_from(["January", "March", "July", "Sept.", "December"]), st.integers(1, 31)).map(
        lambda pair: f"on {pair[0]} {pair[1]}"
    ),
    st.sampled_from(["January", "February", "June", "November"]).map(lambda month: f"in {month}"),
    st.tuples(st.integers(1, 40), st.sampled_from(["days", "weeks", "months", "years"])).map(
        lambda pair: f"{pair[0]} {pair[1]} ago"
    ),
    st.sampled_from(["last week", "last month", "last year", "yesterday", "earlier this year", "in recent days"]),
)


@given(past_expressions, st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
def test_past_expressions_resolve_on_or_before_publication(expression: str, published: date) -> None:
    resolved = resolve_date(expression, published)
    assert resolved is None or resolved <= published
    if expression.removeprefix("on ").endswith("day"):  # a weekday is within the week before publication
        assert resolved is not None and published - resolved < timedelta(days=7)
