"""Which provider handles a payment: built from settings, by name."""

from __future__ import annotations

from siyu.core.errors import ConfigurationError
from siyu.core.settings import Settings
from siyu.orders.payments.provider import PaymentProvider
from siyu.orders.payments.sandbox import SandboxProvider

PROVIDER_NAMES = ("sandbox", "wechatpay")
# Keyed by the settings object's id; the object is kept alongside so the id can never
# be reused by another settings object while the entry lives.
_cache: dict[tuple[str, int], tuple[Settings, PaymentProvider]] = {}


def provider_for(name: str, settings: Settings) -> PaymentProvider:
    """The provider called ``name``; built once per settings object (keys load once)."""
    key = (name, id(settings))
    cached = _cache.get(key)
    if cached is not None and cached[0] is settings:
        return cached[1]
    provider: PaymentProvider
    if name == "sandbox":
        provider = SandboxProvider(settings.resolved_secret_key())
    elif name == "wechatpay":
        # Imported here: the WeChat Pay client loads keys and is only needed when used.
        from siyu.integrations.wechat.pay import build_wechatpay_provider

        provider = build_wechatpay_provider(settings)
    else:
        raise ConfigurationError(f"unknown payment provider {name!r}")
    _cache[key] = (settings, provider)
    return provider


def default_provider(settings: Settings) -> PaymentProvider:
    return provider_for(settings.payment_provider, settings)
