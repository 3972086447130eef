"""Helpers for console tests: sign in through the real form and read tokens off pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models.staff import AuditLog, Staff

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def form_token(html: str) -> str:
    match = _FORM_TOKEN.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def page_token(html: str) -> str:
    match = _META_TOKEN.search(html)
    assert match, "no csrf-token meta on the page"
    return match.group(1)


def login_form_data(
    client: TestClient, username: str, password: str, *, next_path: str = ""
) -> dict[str, str]:
    page = client.get("/console/login")
    assert page.status_code == 200
    return {
        "username": username,
        "password": password,
        "csrf_token": form_token(page.text),
        "next": next_path,
    }


def sign_in(client: TestClient, username: str, password: str) -> str:
    """Sign in through the login form; return the session's CSRF token."""
    response = client.post(
        "/console/login", data=login_form_data(client, username, password), follow_redirects=False
    )
    assert response.status_code == 303, response.text
    dashboard = client.get("/console")
    assert dashboard.status_code == 200
    return page_token(dashboard.text)


def staff_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Staff)) or 0


def audit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditLog)) or 0
