"""Console translations: flat JSON catalogs, Chinese first, English switchable.

Keys are dotted names (``nav.customers``); values may hold ``{name}`` fields filled
from keyword arguments. A missing key falls back to the Chinese catalog and then to
the key itself, so a gap shows up on screen instead of breaking a page; a test keeps
both catalogs complete.
"""

from __future__ import annotations

import json
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "en")
LANGUAGE_COOKIE = "siyu_lang"
LANGUAGE_QUERY = "lang"


@lru_cache(maxsize=len(LANGUAGES))
def catalog(language: str) -> dict[str, str]:
    """The shell's catalog ``locales/<lang>.json`` plus one file per domain in
    ``locales/<lang>/*.json``, so each domain's pages keep their own messages."""
    files = [LOCALES_DIR / f"{language}.json", *sorted((LOCALES_DIR / language).glob("*.json"))]
    data: dict[str, str] = {}
    for path in files:
        with path.open(encoding="utf-8") as handle:
            part: dict[str, str] = json.load(handle)
        duplicated = data.keys() & part.keys()
        if duplicated:
            raise ValueError(f"{path.name} repeats message keys: {sorted(duplicated)[:5]}")
        data.update(part)
    return data


class _LenientFields(dict[str, Any]):
    # A field the caller did not pass stays visible as "{name}" rather than raising.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Translator:
    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._messages = catalog(self.language)

    def __call__(self, key: str, **fields: Any) -> str:
        message = self._messages.get(key)
        if message is None:
            message = catalog(DEFAULT_LANGUAGE).get(key, key)
        if not fields:
            return message
        return string.Formatter().vformat(message, (), _LenientFields(fields))

    def has(self, key: str) -> bool:
        return key in self._messages

    @property
    def html_lang(self) -> str:
        return self.language


def pick_language(*candidates: str | None) -> str:
    """The first supported language among ``candidates`` (query, cookie, profile)."""
    for candidate in candidates:
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE
