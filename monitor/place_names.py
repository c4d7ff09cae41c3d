"""Place-name folding, pure: one matching key for every spelling of a name (case, marks, articles, transliteration)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# A token: letters/digits with inner apostrophes (Qal'at, Ra's); hyphens and spaces split tokens.
_LETTER = r"[\w\u0300-\u036f\u064b-\u065f\u0670]"  # marks too: a shadda must not split a word
NAME_TOKEN = re.compile(rf"{_LETTER}+(?:['’‘`ʿʾ]{_LETTER}+)*")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)

_ARTICLES = frozenset(
    ["al", "el", "il", "ul", "l", "a", "an", "ad", "adh", "ar", "as", "ash", "at", "ath", "az", "ed", "en"]
) | {"er", "es", "esh", "et", "ez", "ett", "enn"}  # French maps double the assimilated article: "Ain ett Tine"
# Generic words of place names, spelled many ways; each group folds to one token.
_GENERIC_SPELLINGS = {
    "jabal": "jabal jebel jabel jbel djebel jebal jabl jibal mount mountain mountains mt",
    "tal": "tal tall tel tell til",
    "talat": "tallat tellat tallet tellet talat tlalat",
    "ain": "ain ayn ein aïn aayn",
    "kafr": "kafr kfar kafar kafer kfr",
    "khirbat": "khirbat khirbet kherbet khirbit kharbat khurbat khirba kherba",
    "dair": "dayr deir dair der",
    "bait": "bayt beit bait beyt",
    "kalat": "qalaat qalat qalaa qala kalaat kalat",
    "shaikh": "shaykh sheikh shaikh sheik shekh cheikh",
    "wadi": "wadi ouadi wady",
    "jisr": "jisr jesr djisr",
    "burj": "burj borj",
    "hill": "hill hills hilltop hilltops",
    "village": "village villages",
}
_GENERIC = {spelling: group for group, spellings in _GENERIC_SPELLINGS.items() for spelling in spellings.split()}
_GENERIC_ONLY = frozenset(_GENERIC_SPELLINGS) | {
    *("sahl", "plain", "town", "city", "province", "governorate", "countryside", "district", "nabi", "ras"),
    *("marj", "jub", "north", "south", "east", "west", "upper", "lower", "new", "old"),
}
_ARABIC_LETTERS = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي", "ـ": None}
)
_APOSTROPHES = str.maketrans({c: None for c in "'’‘`ʿʾ´"})


@lru_cache(maxsize=2**17)
def fold_token(raw: str) -> str:
    """Fold one word to its matching key: no case, marks, article or common transliteration differences."""
    text = "".join(c for c in unicodedata.normalize("NFKD", raw) if not unicodedata.combining(c))
    if any(is_arabic(c) for c in text):
        return _fold_arabic(text)
    text = text.lower().translate(_APOSTROPHES).replace("ı", "i")
    if text in _ARTICLES:
        return ""
    if text in _GENERIC:
        return _GENERIC[text]
    text = re.sub(r"(?:iy+[ae]|i[ae])h?$", "ia", text)  # -iyah, -iyeh, -ieh -> -ia
    text = re.sub(r"(?<=..)[ae]h$", "a", text)  # ta marbuta: Jableh, Jablah -> jabla
    for before, after in (("dj", "j"), ("ou", "u"), ("oo", "u"), ("ee", "i"), ("ei", "ai"), ("ey", "ay")):
        text = text.replace(before, after)
    text = text.replace("e", "i").replace("o", "u").replace("ck", "k").replace("q", "k")
    text = re.sub(r"ay(?![aiu])", "ai", text)
    return re.sub(r"(.)\1+", r"\1", text)


def is_arabic(char: str) -> bool:
    """True for a character of the Arabic block."""
    return "\u0600" <= char <= "\u06ff"


def _fold_arabic(text: str) -> str:
    text = text.translate(_ARABIC_LETTERS)
    for prefix in ("وال", "بال", "فال", "كال"):
        if text.startswith(prefix) and len(text) > len(prefix) + 1:
            return text[len(prefix) :]
    if text.startswith("لل") and len(text) > 3:
        return text[2:]
    return text[2:] if text.startswith("ال") and len(text) > 3 else text


def fold_name(name: str) -> tuple[str, ...]:
    """Fold a written name to the tuple of its word keys, articles dropped ("al-Sarraf" -> ("saraf",))."""
    return tuple(key for key in (fold_token(strip_possessive(m.group())) for m in NAME_TOKEN.finditer(name)) if key)


def strip_possessive(word: str) -> str:
    """Return `word` without a possessive 's."""
    # "Latakia's" -> "Latakia", but "Ra's" (a cape) keeps its s.
    return _POSSESSIVE.sub("", word) if len(word) >= 5 and word[-2] in "'’" else word


def is_generic_key(key: tuple[str, ...]) -> bool:
    """True when a key is only generic words ("Tal", "Ain", "Mount"), which must never match alone."""
    if len("".join(key)) < 3:
        return True
    numbers = sum(token.isdigit() for token in key)
    generic = sum(token in _GENERIC_ONLY for token in key)
    if numbers + generic < len(key):
        return False
    # Three generic words together are a name ("Jisr Bayt al-Ras"), so is a word with a number ("Hill 45").
    return not (len(key) >= 3 or (numbers and generic))


def folded_set(words: str) -> frozenset[str]:
    """Return the folded keys of the space-separated `words`."""
    return frozenset(fold_token(word) for word in words.split())
