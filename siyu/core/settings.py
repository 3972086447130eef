"""One settings class for the whole service (DESIGN.md convention 7).

Values come from ``SIYU_*`` environment variables (or a ``.env`` file in the working
directory). Engines and clients are built from these in the app's lifespan, never at
import time.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from siyu.core.errors import ConfigurationError

SECRET_KEY_FILENAME = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIYU_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/siyu.db"
    redis_url: str | None = None
    data_dir: Path = Path("var")
    secret_key: str | None = None
    timezone: str = "Asia/Shanghai"

    # Requests handled at once by `siyu serve`; more get 503 at once (backpressure).
    max_concurrent_requests: int = Field(default=200, ge=1, le=10_000)
    # Requests larger than this are refused with 413 before the body is read.
    max_request_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Console login sessions.
    session_hours: int = Field(default=12, ge=1)
    # Lock a username after this many failed logins inside the window.
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_minutes: int = Field(default=15, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    # Per-IP login attempts per minute (Redis-backed when SIYU_REDIS_URL is set).
    login_rate_per_minute: int = Field(default=30, ge=1)
    # Tracked events: how far in the future (phone clocks drift) and how old an
    # occurred_at may be; older history is an import, not tracking (docs/events.md).
    track_future_tolerance_seconds: int = Field(default=600, ge=0)
    track_max_age_days: int = Field(default=30, ge=1)
    # Mall: an unpaid order is cancelled (and its stock released) after this long;
    # a delivered order completes after auto_complete_days; a completed order becomes
    # final (no more refunds, points unfreeze) after return_window_days.
    order_payment_minutes: int = Field(default=30, ge=1)
    order_auto_complete_days: int = Field(default=10, ge=1)
    order_return_window_days: int = Field(default=7, ge=0)
    # Flat shipping fee for delivery orders below the free-shipping threshold (fen).
    shipping_fee: int = Field(default=1000, ge=0)
    free_shipping_threshold: int = Field(default=9900, ge=0)
    # On a full refund, give the order's coupon back to the customer if it is still valid.
    coupon_return_on_refund: bool = True
    # Payments: "sandbox" (a storefront page pays) or "wechatpay" (API v3).
    payment_provider: str = "sandbox"
    wechatpay_mchid: str | None = None
    wechatpay_appid: str | None = None
    wechatpay_apiv3_key: str | None = None
    wechatpay_cert_serial_no: str | None = None
    wechatpay_private_key_path: Path | None = None
    # WeChat Pay's public key (the "微信支付公钥" mode) and its id.
    wechatpay_public_key_path: Path | None = None
    wechatpay_public_key_id: str | None = None
    wechatpay_notify_url: str | None = None
    # Only tests point this elsewhere (a local fake server that speaks the protocol).
    wechatpay_api_base: str = "https://api.mch.weixin.qq.com"
    # Mini program (code2session sign-in for the storefront).
    wechat_mp_appid: str | None = None
    wechat_mp_secret: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    # The storefront offers a "demo login" that needs no WeChat (embedded demo only).
    shop_demo_login: bool = False
    # Run a job/outbox worker inside `siyu serve`.
    run_worker: bool = True
    # Where the console's npm packages (htmx, echarts) were installed.
    vendor_dir: Path = Path(__file__).resolve().parents[2] / "node_modules"
    # Cookies carry the Secure flag (set to true behind HTTPS).
    secure_cookies: bool = False
    # Warehouse (docs/warehouse.md): Parquet root (default data_dir/"warehouse"),
    # export interval of the scheduled `warehouse.sync` job, DuckDB threads and memory.
    warehouse_dir: Path | None = None
    warehouse_sync_seconds: int = Field(default=60, ge=1)
    warehouse_threads: int = Field(default=2, ge=1)
    warehouse_memory_limit: str = "3GB"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def resolved_secret_key(self) -> str:
        """Return the secret key, creating one in the data dir for the embedded database.

        A PostgreSQL deployment is a shared, long-lived installation: a key generated
        on one host would differ on the next, so it must be configured explicitly.
        """
        if self.secret_key:
            if len(self.secret_key) < 32:
                raise ConfigurationError("SIYU_SECRET_KEY must be at least 32 characters")
            return self.secret_key
        if not self.is_sqlite:
            raise ConfigurationError(
                "SIYU_SECRET_KEY is required when the database is not the embedded SQLite"
            )
        key_file = self.data_dir / SECRET_KEY_FILENAME
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


_installed: Settings | None = None


def install(settings: Settings | None) -> None:
    """Make ``settings`` what background work sees (``current()``): the app's lifespan
    and ``siyu worker`` install theirs, so jobs use the same configuration as routes."""
    global _installed
    _installed = settings


def current() -> Settings:
    """The installed settings, else those from the environment."""
    return _installed if _installed is not None else get_settings()
