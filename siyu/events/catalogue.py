"""The documented catalogue of tracked event types and touchpoints.

Properties listed per type are documentation for integrators (docs/events.md); they
are not enforced beyond "a JSON object", so a new client field never drops an event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    properties: tuple[str, ...] = ()


EVENT_TYPES: dict[str, EventType] = {
    item.name: item
    for item in (
        EventType("page_view", "A page or mini-program path was shown.", ("title", "path")),
        EventType("product_view", "A product detail page was shown.", ("spu_id", "sku_id")),
        EventType("search", "A search was made.", ("query", "results")),
        EventType("add_to_cart", "A SKU was added to the cart.", ("sku_id", "quantity")),
        EventType("remove_from_cart", "A SKU was removed from the cart.", ("sku_id",)),
        EventType("checkout_start", "Checkout began.", ("order_value_fen", "items")),
        EventType("order_paid", "An order was paid.", ("order_id", "amount_fen")),
        EventType("share", "Content was shared.", ("target", "share_id")),
        EventType("coupon_claimed", "A coupon was claimed.", ("coupon_template_id",)),
        EventType("subscribe", "A subscribe-message opt-in or OA follow.", ("template_id",)),
        EventType("unsubscribe", "An OA unfollow or opt-out.", ()),
        EventType("group_join", "Joined a community group or group buy.", ("group_id",)),
        EventType("scan", "A channel code or QR code was scanned.", ("code",)),
        EventType("sign_up", "A member registration.", ("member_no",)),
        EventType("message_click", "A link in a message was opened.", ("message_id",)),
    )
}

CUSTOM_PREFIX = "custom."
# custom.<name>: lower-case letters, digits, underscores and dots; 64 characters in all.
_CUSTOM_TYPE = re.compile(r"^custom\.[a-z0-9_.]{1,56}$")


def is_known_type(name: str) -> bool:
    return name in EVENT_TYPES or bool(_CUSTOM_TYPE.match(name))


TOUCHPOINTS: dict[str, str] = {
    "oa": "Official account (公众号)",
    "mp": "Mini program (小程序)",
    "wecom": "WeCom (企业微信)",
    "h5": "H5 web page",
    "offline": "Offline store",
    "video_channel": "Channels (视频号)",
    "app": "Native app",
    "pos": "Point of sale",
    "ecommerce": "Third-party e-commerce platform",
}


def catalogue() -> dict[str, object]:
    """The catalogue as served by ``GET /api/v1/event-types``."""
    return {
        "types": [
            {
                "name": item.name,
                "description": item.description,
                "properties": list(item.properties),
            }
            for item in EVENT_TYPES.values()
        ],
        "custom_prefix": CUSTOM_PREFIX,
        "custom_pattern": _CUSTOM_TYPE.pattern,
        "touchpoints": [{"name": name, "description": text} for name, text in TOUCHPOINTS.items()],
    }
