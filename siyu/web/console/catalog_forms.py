"""Console forms of the catalog: what operators type, turned into the API's shapes.

Prices are typed in yuan and stored in fen; ``parse_yuan`` is the only place that
converts. SKU rows are repeated fields read by position; a row without a code is an
empty row and is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from siyu.catalog.errors import InvalidCatalogInput
from siyu.catalog.schemas import MAX_PRICE_FEN, ProductIn, ProductUpdate, SkuIn
from siyu.core.errors import SiyuError
from siyu.models.catalog import Product, SalesChannel, Sku
from siyu.web.console.errors import error_message
from siyu.web.i18n import Translator
from siyu.web.money import input_yuan, yuan_to_fen

_LIST_SPLIT = re.compile(r"[,，、\n]+")
CHANNEL_CHOICES = ("mall,store", "mall", "store")
SPEC_SEPARATOR = "/"


FIELD_ERRORS = frozenset({"catalog.invalid", "stock.invalid_change"})


def catalog_error_message(t: Translator, error: SiyuError) -> str:
    """Name the field the operator has to fix, when the error says which one."""
    field_name = error.data.get("field")
    if (
        error.code in FIELD_ERRORS
        and isinstance(field_name, str)
        and t.has(f"catalog.field.{field_name}")
    ):
        return t("error.catalog.invalid_field", field=t(f"catalog.field.{field_name}"))
    return error_message(t, error)


def parse_yuan(text: str, *, field_name: str) -> int:
    """ "259", "259.9" or "259.90" yuan (an optional ¥ and spaces allowed) → 25990 fen."""
    try:
        fen = yuan_to_fen(text)
    except ValueError:
        fen = None
    if fen is None:
        raise InvalidCatalogInput(
            "Enter a price in yuan with at most two decimals, e.g. 259 or 259.90.",
            data={"field": field_name},
        )
    if fen > MAX_PRICE_FEN:
        raise InvalidCatalogInput("The price is too high.", data={"field": field_name})
    return fen


_ID = re.compile(r"[0-9]{1,15}")
_WHOLE = re.compile(r"[+-]?[0-9]{1,7}")


def parse_id(text: str) -> int | None:
    """A row id from a select or hidden field; anything else counts as none."""
    text = text.strip()
    return int(text) if _ID.fullmatch(text) else None


def parse_whole(text: str, *, field_name: str) -> int:
    """A signed whole number of at most seven digits (ASCII only: int() would take "²")."""
    text = text.strip()
    if not _WHOLE.fullmatch(text):
        raise InvalidCatalogInput("Enter a whole number.", data={"field": field_name})
    return int(text)


format_yuan = input_yuan


def split_list(text: str) -> list[str]:
    return [entry.strip() for entry in _LIST_SPLIT.split(text) if entry.strip()]


@dataclass
class SkuRow:
    id: str = ""
    code: str = ""
    specs: str = ""
    list_price: str = ""
    sale_price: str = ""
    channels: str = "mall,store"
    active: str = "1"


@dataclass
class ProductForm:
    code: str = ""
    name: str = ""
    subtitle: str = ""
    category_id: str = ""
    spec_names: str = ""
    images: str = ""
    description: str = ""
    sort_weight: str = "0"
    rows: list[SkuRow] = field(default_factory=lambda: [SkuRow()])
    error: str | None = None
    error_field: str | None = None

    @classmethod
    def of(cls, product: Product, skus: list[Sku]) -> ProductForm:
        names = list(product.spec_names or [])
        return cls(
            code=product.code,
            name=product.name,
            subtitle=product.subtitle,
            category_id=str(product.category_id or ""),
            spec_names="，".join(names),
            images="\n".join(product.images or []),
            description=product.description or "",
            sort_weight=str(product.sort_weight),
            rows=[
                SkuRow(
                    id=str(sku.id),
                    code=sku.code,
                    specs=SPEC_SEPARATOR.join(str(sku.specs.get(name, "")) for name in names),
                    list_price=format_yuan(sku.list_price),
                    sale_price=format_yuan(sku.sale_price),
                    channels=",".join(sku.channels or []),
                    active="1" if sku.is_active else "0",
                )
                for sku in skus
            ],
        )


def rows_from(
    ids: list[str],
    codes: list[str],
    specs: list[str],
    list_prices: list[str],
    sale_prices: list[str],
    channels: list[str],
    active: list[str],
) -> list[SkuRow]:
    def at(values: list[str], index: int, default: str = "") -> str:
        return values[index] if index < len(values) else default

    return [
        SkuRow(
            id=at(ids, index),
            code=code,
            specs=at(specs, index),
            list_price=at(list_prices, index),
            sale_price=at(sale_prices, index),
            channels=at(channels, index, "mall,store"),
            active=at(active, index, "1"),
        )
        for index, code in enumerate(codes)
    ]


def _sku_in(row: SkuRow, spec_names: list[str]) -> SkuIn:
    values = [value.strip() for value in row.specs.split(SPEC_SEPARATOR)] if row.specs else []
    if len(values) != len(spec_names):
        raise InvalidCatalogInput(
            "Give one value for each spec, separated by '/'.",
            data={"field": "specs", "code": row.code},
        )
    channel_values = [SalesChannel(part) for part in row.channels.split(",") if part]
    list_price = parse_yuan(row.list_price, field_name="list_price")
    sale_text = row.sale_price.strip() or row.list_price
    try:
        return SkuIn(
            id=parse_id(row.id),
            code=row.code.strip(),
            specs=dict(zip(spec_names, values, strict=True)),
            list_price=list_price,
            sale_price=parse_yuan(sale_text, field_name="sale_price"),
            channels=channel_values,
            is_active=row.active != "0",
        )
    except ValidationError as invalid:
        raise _invalid_from(invalid) from invalid


def _invalid_from(invalid: ValidationError) -> InvalidCatalogInput:
    first = invalid.errors()[0]
    location = [str(part) for part in first["loc"] if not isinstance(part, int)]
    return InvalidCatalogInput(data={"field": location[-1] if location else "form"})


def _product_fields(form: ProductForm) -> dict[str, object]:
    spec_names = split_list(form.spec_names)
    rows = [row for row in form.rows if row.code.strip()]
    if not rows:
        raise InvalidCatalogInput("Add at least one SKU.", data={"field": "skus"})
    weight = parse_whole(form.sort_weight or "0", field_name="sort_weight")
    return {
        "code": form.code.strip(),
        "name": form.name.strip(),
        "subtitle": form.subtitle.strip(),
        "category_id": parse_id(form.category_id),
        "description": form.description.strip() or None,
        "images": [line.strip() for line in form.images.splitlines() if line.strip()],
        "spec_names": spec_names,
        "sort_weight": weight,
        "skus": [_sku_in(row, spec_names) for row in rows],
    }


def product_in(form: ProductForm) -> ProductIn:
    try:
        return ProductIn.model_validate(_product_fields(form))
    except ValidationError as invalid:
        raise _invalid_from(invalid) from invalid


def product_update(form: ProductForm) -> ProductUpdate:
    try:
        return ProductUpdate.model_validate(_product_fields(form))
    except ValidationError as invalid:
        raise _invalid_from(invalid) from invalid
