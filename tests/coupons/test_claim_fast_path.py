"""The plain ASGI claim route (``claim_fast_path``) answers exactly as the FastAPI
route ``claim_coupon``: the same statuses, codes and bodies, on both engines; the
well-formed claims it can decide never reach FastAPI, the rest do. A claim it
decides writes the very rows ``issuing.issue`` writes. Plus ``parse_body``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.core import clock
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.coupons import claiming, issuing
from siyu.coupons.claim_fast_path import LINK_PREFIX, PATH
from siyu.coupons.schemas import ClaimIn
from siyu.customers import sessions
from siyu.models.coupon import Coupon, CouponTemplate, TemplateStatus
from tests.coupons.factories import events_named, make_template
from tests.customers.factories import make_cipher, make_customer


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    # Our own app over committed data: the shared ``api`` fixture redirects the
    # session, and the fast path steps aside for such apps.
    app = create_app(settings, start_worker=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
        runtime = getattr(app.state, "coupon_claims", None)
        if runtime is not None:
            runtime.stop()


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The public ids the FastAPI route's ``issuing.claim`` was called with."""
    calls: list[str] = []
    original: Callable[..., Coupon] = issuing.claim

    def counting(session: Session, public_id: str, customer_id: int, **options: Any) -> Coupon:
        calls.append(public_id)
        return original(session, public_id, customer_id, **options)

    monkeypatch.setattr(issuing, "claim", counting)
    return calls


def _customer(factory: sessionmaker[Session]) -> tuple[int, str]:
    with transaction(factory) as session:
        customer = make_customer(session, make_cipher())
        raw, _ = sessions.create_session(session, customer_id=customer.id, touchpoint="mp")
        return customer.id, raw


def _templates(factory: sessionmaker[Session], **kinds: dict[str, Any]) -> dict[str, Any]:
    with transaction(factory) as session:
        return {
            label: (row.id, row.public_id, row.name)
            for label, row in ((label, make_template(session, **kw)) for label, kw in kinds.items())
        }


def _normalised(value: Any, names: dict[Any, str], key: str = "") -> Any:
    """Ids, names, codes and times differ between two runs on fresh rows: name them."""
    if isinstance(value, dict):
        return {name: _normalised(item, names, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_normalised(item, names, key) for item in value]
    if key in {"valid_from", "valid_until", "used_at"} and value is not None:
        return "<time>"
    if key == "code" and isinstance(value, str) and "." not in value:
        return "<coupon code>"
    if isinstance(value, str) or (key == "template_id" and type(value) is int):
        return names.get(value, value)
    return value


def _scenario(client: TestClient, factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    """Every kind of answer the route gives, on fresh templates and customers."""
    rows = _templates(
        factory,
        once={"per_customer_limit": 1},
        single={"total_quantity": 1},
        paused={"status": TemplateStatus.PAUSED},
        hidden={"in_coupon_centre": False},
        tiered={"min_tier_rank": 1},
    )
    names: dict[Any, str] = {}
    for label, (row_id, public_id, name) in rows.items():
        names |= {row_id: f"<{label} id>", public_id: f"<{label}>", name: f"<{label} name>"}
    _first_id, first = _customer(factory)
    _second_id, second = _customer(factory)

    def post(token: str | None, body: Any, content_type: str = "application/json") -> Any:
        headers = {"Content-Type": content_type}
        if token is not None:
            headers[sessions.TOKEN_HEADER] = token
        content = body if isinstance(body, str) else json.dumps(body)
        return client.post(PATH, content=content, headers=headers)

    def of(label: str) -> dict[str, Any]:
        return {"template_id": rows[label][1]}

    responses = [
        post(None, of("once")),
        post("sct_bogus", of("once")),
        post(first, of("once")),
        post(first, of("once")),
        post(first, of("single")),
        post(second, of("single")),
        post(first, of("paused")),
        post(first, of("hidden")),
        post(first, {"template_id": "cpt_nobody"}),
        # Not what ClaimIn takes as it is: the FastAPI route answers these.
        post(first, of("once") | {"extra": 1}),
        post(first, {"template_id": 12}),
        post(first, "{not json"),
        post(first, json.dumps(of("once")), content_type="text/plain"),
        # The tier is read at claim time: only the route decides.
        post(second, of("tiered")),
    ]
    return [
        (
            response.status_code,
            response.headers["content-type"],
            sorted(response.headers.keys()),
            _normalised(response.json(), names),
        )
        for response in responses
    ]


def _both_ways(
    client: TestClient,
    factory: sessionmaker[Session],
    routed: list[str],
    scenario: Callable[[TestClient, sessionmaker[Session]], list[Any]],
) -> tuple[list[Any], int, int]:
    """``scenario`` through the FastAPI route, then through the fast path: the fast
    answers (asserted equal to the route's) and how many claims reached the route
    each time."""
    runtime = claiming.runtime_for(client.app)
    runtime.fast_path = False
    slow = scenario(client, factory)
    routed_slow = len(routed)
    routed.clear()
    runtime.fast_path = True
    fast = scenario(client, factory)
    assert fast == slow
    return fast, routed_slow, len(routed)


def test_the_fast_path_answers_as_the_fastapi_route(
    client: TestClient, session_factory: sessionmaker[Session], routed: list[str]
) -> None:
    fast, routed_slow, routed_fast = _both_ways(client, session_factory, routed, _scenario)
    # Past the session check and pydantic: the eight claims and the tier one; with
    # the fast path, of the well-formed claims only the tier-exclusive one.
    assert (routed_slow, routed_fast) == (8, 1)
    statuses = [(status, body.get("code")) for status, _kind, _keys, body in fast]
    assert statuses == [
        (401, "customer.session_invalid"),
        (401, "customer.session_invalid"),
        (201, None),
        (409, "coupon.limit_reached"),
        (201, None),
        (409, "coupon.exhausted"),
        (409, "coupon.not_claimable"),
        (404, "coupon.template_not_found"),
        (404, "coupon.template_not_found"),
        (422, "request.invalid"),
        (422, "request.invalid"),
        (422, "request.invalid"),
        (422, "request.invalid"),
        (403, "coupon.tier_required"),
    ]
    assert fast[2][1] == "application/json"
    assert fast[3][1] == "application/problem+json"
    assert fast[6][3]["data"] == {"template_id": "<paused id>", "reason": "inactive"}
    assert fast[2][3]["coupon"]["template_public_id"] == "<once>"
    assert fast[2][3]["coupon"]["code"] == "<coupon code>"


def _link_scenario(client: TestClient, factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    """Share-link claims: any template, listed in the centre or not; a draft is not
    claimable; the link route takes no body."""
    rows = _templates(
        factory,
        hidden={"in_coupon_centre": False, "per_customer_limit": 1},
        draft={"status": TemplateStatus.DRAFT},
        tiered={"min_tier_rank": 1},
    )
    names: dict[Any, str] = {}
    for label, (row_id, public_id, name) in rows.items():
        names |= {row_id: f"<{label} id>", public_id: f"<{label}>", name: f"<{label} name>"}
    _first_id, first = _customer(factory)

    def post(token: str | None, public_id: str, body: bytes = b"") -> Any:
        headers = {sessions.TOKEN_HEADER: token} if token is not None else {}
        return client.post(LINK_PREFIX + public_id, content=body, headers=headers)

    hidden = rows["hidden"][1]
    responses = [
        post(None, hidden),
        post(first, hidden, b'{"ignored": true}'),
        post(first, hidden),
        post(first, rows["draft"][1]),
        post(first, "cpt_nobody"),
        post(first, "x" * 41),  # the route's path check refuses it
        post(first, rows["tiered"][1]),
    ]
    return [(response.status_code, _normalised(response.json(), names)) for response in responses]


def test_share_link_claims_answer_as_the_fastapi_route(
    client: TestClient, session_factory: sessionmaker[Session], routed: list[str]
) -> None:
    fast, routed_slow, routed_fast = _both_ways(client, session_factory, routed, _link_scenario)
    assert (routed_slow, routed_fast) == (5, 1)  # fast: the tier-exclusive template
    assert [(status, body.get("code")) for status, body in fast] == [
        (401, "customer.session_invalid"),
        (201, None),
        (409, "coupon.limit_reached"),
        (409, "coupon.not_claimable"),
        (404, "coupon.template_not_found"),
        (422, "request.invalid"),
        (403, "coupon.tier_required"),
    ]
    with transaction(session_factory) as session:
        sources = session.scalars(text("SELECT DISTINCT source FROM coupon")).all()
    assert sources == ["link"]


def _raw(session: Session, table: str, where: str, **values: Any) -> dict[str, Any]:
    """The row as the driver returns it (SQLite: the stored text of its times)."""
    row = session.execute(text(f"SELECT * FROM {table} WHERE {where}"), values).mappings().one()
    return dict(row)


def test_a_fast_path_claim_writes_the_rows_the_route_writes(
    client: TestClient,
    session_factory: sessionmaker[Session],
    routed: list[str],
    frozen_clock: clock.FrozenClock,
) -> None:
    rows = _templates(session_factory, plain={"per_customer_limit": 3, "per_day_limit": 2})
    template_id, public_id, _name = rows["plain"]
    by_route_id, by_route = _customer(session_factory)
    by_fast_id, by_fast = _customer(session_factory)
    runtime = claiming.runtime_for(client.app)
    body = json.dumps({"template_id": public_id})
    codes = {}
    for customer_id, token, fast in ((by_route_id, by_route, False), (by_fast_id, by_fast, True)):
        runtime.fast_path = fast
        response = client.post(
            PATH,
            content=body,
            headers={"Content-Type": "application/json", sessions.TOKEN_HEADER: token},
        )
        assert response.status_code == 201, response.text
        codes[customer_id] = response.json()["coupon"]["code"]
    assert len(routed) == 1  # the first only
    with transaction(session_factory) as session:
        coupons = {
            customer_id: _raw(session, "coupon", "code = :code", code=code)
            for customer_id, code in codes.items()
        }
        route_coupon, fast_coupon = coupons[by_route_id], coupons[by_fast_id]
        assert fast_coupon["customer_id"] == by_fast_id
        differing = {"id", "code", "customer_id"}
        assert {k: v for k, v in fast_coupon.items() if k not in differing} == {
            k: v for k, v in route_coupon.items() if k not in differing
        }
        coupon = session.get(Coupon, fast_coupon["id"])
        assert coupon is not None
        assert (coupon.status, coupon.source, coupon.issued_by) == (
            "available",
            "claim",
            "customer",
        )
        assert coupon.claimed_at == frozen_clock.now()
        tallies = {
            customer_id: _raw(
                session,
                "coupon_tally",
                "template_id = :t AND customer_id = :c",
                t=template_id,
                c=customer_id,
            )
            for customer_id in codes
        }
        assert tallies[by_fast_id] | {"customer_id": by_route_id} == tallies[by_route_id]
        assert (tallies[by_fast_id]["claimed_total"], tallies[by_fast_id]["claimed_on_day"]) == (
            1,
            1,
        )
        template = session.get(CouponTemplate, template_id)
        assert template is not None
        assert template.issued_count == 2
        assert (coupon.valid_from, coupon.valid_until) == (
            template.valid_from,
            template.valid_until,
        )
        events = events_named(session, issuing.COUPON_ISSUED)
        assert events == [
            {
                "coupon_id": coupons[customer_id]["id"],
                "template_id": template_id,
                "customer_id": customer_id,
                "source": "claim",
                "valid_until": template.valid_until.isoformat() if template.valid_until else None,
            }
            for customer_id in (by_route_id, by_fast_id)
        ]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"template_id": "cpt_1"}',
        b'{"template_id": "' + b"x" * 40 + b'"}',
        '{"template_id": "券"}'.encode(),
        b'{"template_id": ""}',
        b'{"template_id": "' + b"x" * 41 + b'"}',
        b'{"template_id": 12}',
        b'{"template_id": null}',
        b'{"template_id": ["cpt_1"]}',
        b'{"template_id": "cpt_1", "extra": 1}',
        b"{}",
        b"[]",
        b'"cpt_1"',
        b"{not json",
        b"",
        b'{"template_id": "cpt_1"} trailing',
        b"\xff\xfe",
    ],
)
def test_parse_body_takes_only_what_claim_in_takes_as_it_is(raw: bytes) -> None:
    parsed = claiming.parse_body(raw)
    try:
        model = ClaimIn.model_validate_json(raw)
    except ValidationError:
        assert parsed is None
        return
    assert parsed == model.template_id


def test_the_plain_routes_share_one_token_cache(client: TestClient) -> None:
    from siyu.campaigns.flash_sale.runtime import runtime_for as flash_sale_runtime_for

    claims = claiming.runtime_for(client.app)
    assert claims.tokens is flash_sale_runtime_for(client.app).tokens
