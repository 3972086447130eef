"""`siyu import transactions`: CDNOW and CSV histories become customers and orders."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.models.catalog import Product, Sku
from siyu.models.channel_code import ChannelCode
from siyu.models.customer import Customer, CustomerIdentity
from siyu.models.location import Location
from siyu.models.order import Order, OrderLine, OrderTransition
from siyu.models.outbox import OutboxEvent
from siyu.models.payment import Payment
from siyu.orders import events
from siyu.orders.import_formats import ImportFormat, ImportRejected, read_file
from siyu.orders.imports import import_orders

DATA = Path(__file__).resolve().parents[1] / "data"
CDNOW_HEAD = DATA / "cdnow_master_head300.txt"
# The whole CDNOW master file (69,659 rows), gzipped; see tests/data/README.md.
CDNOW_MASTER_GZ = DATA / "CDNOW_master.txt.gz"
TABLES = (Customer, CustomerIdentity, Order, OrderLine, Payment, OrderTransition, OutboxEvent)


def counts(session: Session) -> dict[str, int]:
    return {
        model.__name__: int(session.execute(select(func.count()).select_from(model)).scalar_one())
        for model in TABLES
    }


def cdnow_rows(path: Path) -> list[list[str]]:
    lines = path.read_text().splitlines()
    return [line.split() for line in lines if line.split() and line.split()[0].isdigit()]


def test_cdnow_extract(session: Session, frozen_clock: FrozenClock) -> None:
    rows = cdnow_rows(CDNOW_HEAD)
    result = import_orders(
        session, read_file(CDNOW_HEAD, ImportFormat.CDNOW, "cdnow"), platform="cdnow"
    )
    customers = {row[0] for row in rows}
    assert result.orders_created == len(rows) == 300
    assert result.customers_created == len(customers) == 77
    assert result.orders_skipped == 0
    total = session.execute(
        select(func.sum(Order.total_amount)).where(Order.source == "import")
    ).scalar_one()
    assert total == int(sum(Decimal(row[3]) for row in rows) * 100) == 1046013
    identities = session.scalars(
        select(CustomerIdentity).where(CustomerIdentity.namespace == "cdnow")
    ).all()
    assert {identity.value for identity in identities} == customers
    assert {identity.kind for identity in identities} == {"external"}
    orders = session.scalars(select(Order).where(Order.source == "import")).all()
    assert all(order.status == "completed" and order.final_at is not None for order in orders)
    assert {order.external_id for order in orders} >= {
        "cdnow:00002-19970112-1",
        "cdnow:00002-19970112-2",
    }
    lines = session.scalars(select(OrderLine)).all()
    by_order = {line.order_id: line for line in lines}
    for order in orders:
        line = by_order[order.id]
        assert line.sku_id is None
        assert line.product_name == "历史订单"
        assert line.base_amount == line.payable_amount == order.total_amount == order.paid_amount
        assert order.created_at == order.completed_at
    first = next(order for order in orders if order.external_id == "cdnow:00001-19970101-1")
    # 1997-01-01 in Shanghai is 1996-12-31 16:00 UTC.
    assert first.created_at == datetime(1996, 12, 31, 16, 0, tzinfo=UTC)
    assert first.total_amount == 1177
    event_rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.name == "order.imported")
    ).all()
    assert len(event_rows) == 300
    event = next(item for item in event_rows if item.payload["order_id"] == first.id)
    assert event.payload == {
        **events.order_payload(first, [by_order[first.id]]),
        "actor": "import:cdnow",
        "external_id": "cdnow:00001-19970101-1",
        "ordered_at": "1996-12-31T16:00:00+00:00",
    }
    payments = session.scalars(select(Payment)).all()
    assert len(payments) == 300
    assert {payment.provider for payment in payments} == {"offline"}


def test_reimport_adds_nothing(session: Session, frozen_clock: FrozenClock) -> None:
    orders = read_file(CDNOW_HEAD, ImportFormat.CDNOW, "cdnow")
    import_orders(session, orders, platform="cdnow")
    before = counts(session)
    result = import_orders(session, orders, platform="cdnow")
    assert (result.orders_created, result.orders_skipped, result.customers_created) == (0, 300, 0)
    assert counts(session) == before


def test_existing_identity_is_reused(session: Session, frozen_clock: FrozenClock) -> None:
    orders = read_file(CDNOW_HEAD, ImportFormat.CDNOW, "cdnow")
    second_customer = [order for order in orders if order.customer_ref == "00002"]
    import_orders(session, second_customer[:1], platform="cdnow")
    owner = session.scalars(
        select(CustomerIdentity.customer_id).where(CustomerIdentity.value == "00002")
    ).one()
    result = import_orders(session, orders, platform="cdnow")
    assert (result.customers_reused, result.customers_created) == (1, 76)
    owned = session.scalars(
        select(Order.external_id).where(Order.customer_id == owner).order_by(Order.id)
    ).all()
    assert len(owned) == len(second_customer) == 2
    assert owned[0] == "cdnow:00002-19970112-1"
    # Another platform is another namespace: the same id is another person.
    other = import_orders(session, orders[:1], platform="other-shop")
    assert other.customers_created == 1


def test_zero_value_orders_have_no_payment(session: Session, frozen_clock: FrozenClock) -> None:
    path = DATA / "cdnow_zero_value.txt"
    result = import_orders(session, read_file(path, ImportFormat.CDNOW, "cdnow"), platform="cdnow")
    assert result.orders_created == 2
    assert session.execute(select(func.count()).select_from(Payment)).scalar_one() == 0
    totals = session.scalars(select(Order.total_amount)).all()
    assert totals == [0, 0]


def test_bad_rows_are_all_reported_and_nothing_is_written(
    session: Session, frozen_clock: FrozenClock, tmp_path: Path
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(
        " 00001 19970101  1   11.77\n"
        " 00002 19971301  1   12.00\n"
        " 00003 19970102  x   1.00\n"
        " 00004 19970102  1   -3.00\n"
        " 00005 19970102  1\n"
        " 00006 19970102  1   1.005\n"
    )
    before = counts(session)
    with pytest.raises(ImportRejected) as caught:
        read_file(path, ImportFormat.CDNOW, "cdnow")
    assert caught.value.code == "import.invalid_rows"
    assert caught.value.data == {
        "error_count": 5,
        "errors": [
            {"line": 2, "message": "date '19971301' does not exist"},
            {"line": 3, "message": "quantity 'x' must be a whole number from 1 to 9999"},
            {"line": 4, "message": "amount '-3.00' must be zero or more"},
            {"line": 5, "message": "expected 4 fields, found 3"},
            {"line": 6, "message": "amount '1.005' has more than two decimals"},
        ],
    }
    assert counts(session) == before


def make_references(session: Session) -> tuple[Sku, Location, ChannelCode]:
    product = Product(code="TST-LIP", name="测试唇膏", status="on_sale", images=["/img/lip.png"])
    session.add(product)
    session.flush()
    sku = Sku(
        product_id=product.id,
        code="TST-LIP-01",
        specs={"色号": "正红"},
        list_price=29900,
        sale_price=25900,
    )
    store = Location(code="TST-STORE", name="测试门店", kind="store")
    code = ChannelCode(code="tst-xhs", name="小红书", kind="xiaohongshu", touchpoint="h5")
    session.add_all([sku, store, code])
    session.flush()
    return sku, store, code


def test_csv_with_skus_stores_and_channels(session: Session, frozen_clock: FrozenClock) -> None:
    sku, store, code = make_references(session)
    path = DATA / "transactions_sample.csv"
    result = import_orders(session, read_file(path, ImportFormat.CSV, "pos"), platform="pos")
    assert (result.orders_created, result.customers_created) == (4, 3)
    orders = {
        order.external_id: order
        for order in session.scalars(select(Order).where(Order.source == "import"))
    }
    two_lines = orders["pos:T-0001"]
    lines = session.scalars(
        select(OrderLine).where(OrderLine.order_id == two_lines.id).order_by(OrderLine.line_no)
    ).all()
    assert [line.sku_id for line in lines] == [sku.id, None]
    assert [line.product_name for line in lines] == ["测试唇膏", "历史订单"]
    assert [line.base_amount for line in lines] == [25900, 9850]
    assert [line.unit_price for line in lines] == [25900, 4925]
    assert lines[0].specs == {"色号": "正红"}
    assert lines[0].image == "/img/lip.png"
    assert two_lines.total_amount == 35750
    assert two_lines.item_count == 3
    assert two_lines.store_id == store.id
    assert two_lines.sales_channel == "store"
    # Naive timestamps are Shanghai time.
    assert two_lines.created_at == datetime(2025, 3, 8, 6, 5, tzinfo=UTC)
    attributed = orders["pos:T-0002"]
    assert attributed.channel_code_id == code.id
    assert attributed.touchpoint == "h5"
    assert attributed.created_at == datetime(2025, 3, 9, 12, 15, tzinfo=UTC)
    assert orders["pos:T-0004"].created_at == datetime(2025, 5, 20, 11, 0, tzinfo=UTC)
    customer = session.scalars(
        select(Customer)
        .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
        .where(CustomerIdentity.value == "M1002")
    ).one()
    assert customer.first_touch_channel_code_id == code.id


def test_csv_unknown_store_rejects_the_file(
    session: Session, frozen_clock: FrozenClock, tmp_path: Path
) -> None:
    make_references(session)
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,timestamp,order_id,amount,store_code,channel_code\n"
        "C1,2025-01-01T10:00:00,A1,10.00,TST-STORE,\n"
        "C2,2025-01-01T10:00:00,A2,10.00,NOPE,\n"
        "C3,2025-01-01T10:00:00,A3,10.00,,nope\n"
    )
    before = counts(session)
    with pytest.raises(ImportRejected) as caught:
        import_orders(session, read_file(path, ImportFormat.CSV, "pos"), platform="pos")
    assert caught.value.data["errors"] == [
        {"line": 3, "message": "unknown store_code 'NOPE'"},
        {"line": 4, "message": "unknown channel_code 'nope'"},
    ]
    assert counts(session) == before


def test_csv_format_errors(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_id,amount\nC1,A1,1.00\n")
    with pytest.raises(ImportRejected) as caught:
        read_file(path, ImportFormat.CSV, "pos")
    assert caught.value.data["errors"] == [
        {"line": 1, "message": "header lacks required columns: timestamp"}
    ]
    path.write_text(
        "customer_id,timestamp,order_id,amount,quantity\n"
        "C1,2025-01-01T10:00:00,A1,1.00,1\n"
        "C2,2025-01-01T10:00:00,A1,1.00,1\n"
        ",2025-01-01T10:00:00,A2,1.00,1\n"
        "C3,2025-01-01T10:00:00,A3,1.00,0\n"
    )
    with pytest.raises(ImportRejected) as caught:
        read_file(path, ImportFormat.CSV, "pos")
    assert [error["line"] for error in caught.value.data["errors"]] == [3, 4, 5]


# Once, on SQLite: the 300-row extract covers both engines; this proves the real size.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_full_cdnow_master(session: Session, frozen_clock: FrozenClock, tmp_path: Path) -> None:
    master = tmp_path / "CDNOW_master.txt"
    master.write_bytes(gzip.decompress(CDNOW_MASTER_GZ.read_bytes()))
    orders = read_file(master, ImportFormat.CDNOW, "cdnow")
    result = import_orders(session, orders, platform="cdnow")
    assert result.customers_created == 23_570
    assert result.orders_created == 69_659
    assert counts(session)["Customer"] == 23_570
    assert counts(session)["OutboxEvent"] == 69_659
