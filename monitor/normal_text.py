"""Normalised text, the form copies are compared in: NFKC, straight quotes, casefolded words, content hash."""

from __future__ import annotations

import hashlib
import re
import unicodedata

QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
# A word: numbers such as 1,200 and names such as al-Akrad stay whole.
WORD = re.compile(r"\w+(?:['.,-]\w+)*")


def normalise_text(text: str) -> str:
    """Return `text` NFKC-normalised, with straight quotes, casefolded and single-spaced."""
    text = unicodedata.normalize("NFKC", text).translate(QUOTES).casefold()
    return " ".join(text.split())


def content_hash(text: str) -> str:
    """Return the SHA-256 hex digest of the normalised text (equal for exact copies)."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def text_words(text: str) -> list[str]:
    """Return the normalised words of `text` (numbers such as 1,200 and names such as al-Akrad stay whole)."""
    # Apostrophes go: outlets write "Syria's", "Syrias" and "Syria s" for one word. Spacing is left as it
    # is: no word spans a space, so the words are those of normalise_text(text).
    folded = unicodedata.normalize("NFKC", text).translate(QUOTES).casefold()
    return [word.replace("'", "") for word in WORD.findall(folded)]
