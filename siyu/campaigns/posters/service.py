"""What goes on a poster: a campaign's or a product's texts, price and image, and the
share link with the sharer's code. Drawing and caching are in ``compose``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.posters import compose, share
from siyu.campaigns.registry import service as registry
from siyu.campaigns.registry.errors import CampaignNotFound
from siyu.catalog import storefront
from siyu.core.settings import Settings
from siyu.models.campaign import Campaign, CampaignKind

STATIC_DIR = Path(__file__).resolve().parents[2] / "web" / "static"
# Catalog image paths served from this machine: /static/… (the app's files) and
# /media/… (files under the data directory). Anything else (an https URL on the
# brand's image host) is never fetched from here: the poster draws a block instead.
MEDIA_PREFIX = "/media/"
STATIC_PREFIX = "/static/"
PRODUCT_LABEL = "好物分享"
# The label a poster wears, by mechanic (the pricing labels name a line, not a campaign).
CAMPAIGN_LABELS = {
    CampaignKind.FLASH_SALE: "限时秒杀",
    CampaignKind.GROUP_BUY: "拼团",
    CampaignKind.BARGAIN: "砍价",
    CampaignKind.ASSIST: "好友助力",
    CampaignKind.LOTTERY: "幸运抽奖",
    CampaignKind.REFERRAL: "分享赚",
}


@dataclass(frozen=True)
class Poster:
    png: bytes
    digest: str
    from_cache: bool
    url: str


def campaign_by_public_id(session: Session, public_id: str, *, visible_only: bool) -> Campaign:
    """For customers only what they may see (warm-up, live, closing); operators any."""
    if visible_only:
        return registry.get_public(session, public_id)
    campaign = session.scalars(select(Campaign).where(Campaign.public_id == public_id)).first()
    if campaign is None:
        raise CampaignNotFound(data={"campaign": public_id})
    return campaign


def _local_file(settings: Settings, address: str | None) -> Path | None:
    if not address:
        return None
    if address.startswith(MEDIA_PREFIX):
        root = (settings.data_dir / "media").resolve()
        relative = address[len(MEDIA_PREFIX) :]
    elif address.startswith(STATIC_PREFIX):
        root = STATIC_DIR.resolve()
        relative = address[len(STATIC_PREFIX) :]
    else:
        return None
    path = (root / relative.split("?", 1)[0]).resolve()
    # Never outside its folder, whatever "../" the stored path holds.
    if root not in path.parents or not path.is_file():
        return None
    return path


def _image_bytes(settings: Settings, address: str | None) -> bytes | None:
    path = _local_file(settings, address)
    if path is None or path.stat().st_size > compose.MAX_IMAGE_BYTES:
        return None
    return path.read_bytes()


def _dates(settings: Settings, campaign: Campaign) -> str:
    zone = settings.tzinfo
    starts = campaign.starts_at.astimezone(zone)
    ends = campaign.ends_at.astimezone(zone)
    return f"{starts:%m月%d日 %H:%M} – {ends:%m月%d日 %H:%M}"


def campaign_poster(
    settings: Settings, campaign: Campaign, *, base_url: str, ref: str | None
) -> Poster:
    url = share.campaign_url(base_url, campaign, ref)
    content = compose.PosterContent(
        title=campaign.name,
        label=CAMPAIGN_LABELS[CampaignKind(campaign.kind)],
        url=url,
        subtitle=_dates(settings, campaign),
    )
    png, digest, cached = compose.cached_or_drawn(settings.data_dir, content, None)
    return Poster(png, digest, cached, url)


def product_poster(
    session: Session,
    settings: Settings,
    product_id: int,
    *,
    base_url: str,
    ref: str | None,
    campaign: Campaign | None,
) -> Poster:
    """A product on sale (404 otherwise), at its lowest sellable price."""
    detail = storefront.product_detail(session, product_id)
    cheapest = min(detail.skus, key=lambda sku: sku.unit_price)
    address = detail.images[0] if detail.images else cheapest.image
    image = _image_bytes(settings, address)
    url = share.product_url(base_url, detail.id, ref, campaign)
    content = compose.PosterContent(
        title=detail.name,
        label=CAMPAIGN_LABELS[CampaignKind(campaign.kind)] if campaign else PRODUCT_LABEL,
        url=url,
        subtitle=detail.subtitle,
        price_amount=cheapest.unit_price,
        list_price_amount=cheapest.list_price,
        image_digest=hashlib.sha256(image).hexdigest() if image is not None else None,
    )
    png, digest, cached = compose.cached_or_drawn(settings.data_dir, content, image)
    return Poster(png, digest, cached, url)
