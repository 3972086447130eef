"""A bug under /shop shows the storefront's error page; the APIs keep problem JSON."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from siyu.catalog import storefront


def _broken(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("a bug")


def test_a_failing_shop_page_renders_the_error_page(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storefront, "product_detail", _broken)
    response = api.get("/shop/products/1")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "页面暂时出了点问题" in response.text
    assert "a bug" not in response.text


def test_a_failing_api_route_still_answers_problem_json(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storefront, "product_detail", _broken)
    response = api.get("/api/shop/v1/products/1")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
