"""When to poll a feed next (pure): its interval, server hints (Retry-After, Cache-Control), error backoff.

Rules, in order (miniflux style, the database stores the result as `next_check_at`):
1. base delay = the feed's interval clamped to [min_interval_s, max_interval_s];
2. after a success, `Cache-Control: max-age` may lengthen the delay (never shorten it), up to max_interval_s;
3. after `error_count` consecutive failures, the delay is base * 2**(error_count - 1), capped at backoff_cap_s,
   with jitter of up to -10% so feeds that failed together (the network went down) do not retry together;
   a feed is never abandoned: it keeps retrying at the cap;
4. `Retry-After` (seconds or an HTTP date, sent with 429/503) is a floor, clamped to [min, max].
"""

from __future__ import annotations

import email.utils
import random
import re
from datetime import datetime, timedelta

MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?([0-9]+)", re.IGNORECASE)
JITTER = 0.10  # fraction of a backoff delay drawn off at random


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date); None when absent or invalid."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None or now.tzinfo is None:  # an HTTP-date is always GMT; compare like with like
        when, now = when.replace(tzinfo=None), now.replace(tzinfo=None)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """The max-age of a Cache-Control header in seconds, or None."""
    match = MAX_AGE.search(cache_control or "")
    return float(match.group(1)) if match else None


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def next_check_at(
    now: datetime,
    *,
    interval_s: float,
    min_interval_s: float,
    max_interval_s: float,
    error_count: int,
    retry_after: str | None,
    cache_control: str | None,
    backoff_cap_s: float = 86400,
    rng: random.Random | None = None,
) -> datetime:
    """The moment of the feed's next poll, following the module's rules."""
    high = max(min_interval_s, max_interval_s)
    delay = _clamp(interval_s, min_interval_s, high)
    if error_count > 0:
        generator = rng if rng is not None else random.Random()
        exponent = min(error_count - 1, 64)  # beyond this every delay is at the cap anyway
        backoff = min(delay * 2.0**exponent, max(backoff_cap_s, min_interval_s))
        delay = max(min_interval_s, backoff * (1.0 - JITTER * generator.random()))
    else:
        max_age = parse_max_age(cache_control)
        if max_age is not None:
            delay = max(delay, min(max_age, high))
    wait = parse_retry_after(retry_after, now)
    if wait is not None:
        delay = max(delay, _clamp(wait, min_interval_s, high))
    return now + timedelta(seconds=delay)
