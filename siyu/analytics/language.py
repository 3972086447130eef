"""The language an API caller reads report-table headers in.

Kept apart from ``deps`` because ``siyu.web`` imports the console pages, which import
``deps``: only the API modules (loaded after ``siyu.web``) import this one."""

from __future__ import annotations

from fastapi import Request

from siyu.web.i18n import LANGUAGE_COOKIE, LANGUAGE_QUERY, Translator, pick_language


def request_translator(request: Request) -> Translator:
    """Report tables are labelled in the caller's language (``?lang=`` or the console
    cookie; zh-CN unless asked)."""
    return Translator(
        pick_language(
            request.query_params.get(LANGUAGE_QUERY), request.cookies.get(LANGUAGE_COOKIE)
        )
    )
