"""The FastAPI application: settings, engines and clients are built in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import redis
from fastapi import FastAPI

from siyu import __version__, handlers, web
from siyu.analytics.behaviour_api import router as analytics_behaviour_router
from siyu.analytics.campaigns_api import router as analytics_campaigns_router
from siyu.analytics.clv_api import router as analytics_clv_router
from siyu.analytics.goals_api import router as analytics_goals_router
from siyu.analytics.metrics_api import router as analytics_metrics_router
from siyu.audiences import tasks as audience_tasks
from siyu.audiences.insights_api import router as audience_insights_router
from siyu.audiences.rules.api import router as audience_rules_router
from siyu.audiences.segments.api import router as audience_segments_router
from siyu.audiences.tags.api import router as audience_tags_router
from siyu.campaigns.assist.api import router as assist_router
from siyu.campaigns.assist.shop_api import router as shop_assist_router
from siyu.campaigns.bargain.api import router as bargain_router
from siyu.campaigns.bargain.shop_api import router as shop_bargain_router
from siyu.campaigns.channel_codes.api import router as channel_codes_router
from siyu.campaigns.channel_codes.shortlink import router as channel_code_short_url_router
from siyu.campaigns.flash_sale.api import router as flash_sale_router
from siyu.campaigns.flash_sale.fast_path import ReserveFastPath
from siyu.campaigns.flash_sale.shop_api import router as shop_flash_sale_router
from siyu.campaigns.group_buy.api import router as group_buy_router
from siyu.campaigns.group_buy.shop_api import router as shop_group_buy_router
from siyu.campaigns.lottery.api import router as lottery_router
from siyu.campaigns.lottery.shop_api import router as shop_lottery_router
from siyu.campaigns.posters.api import router as posters_router
from siyu.campaigns.posters.api import shop_router as shop_posters_router
from siyu.campaigns.referral.api import router as referral_router
from siyu.campaigns.referral.shop_api import router as shop_referral_router
from siyu.campaigns.registry.api import router as campaigns_router
from siyu.campaigns.registry.shop_api import router as shop_campaigns_router
from siyu.catalog.api import router as catalog_router
from siyu.catalog.shop_api import router as shop_catalog_router
from siyu.core import maintenance
from siyu.core.crypto import PiiCipher
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.notify import install_commit_hook, start_wake_bridge
from siyu.core.problems import BodySizeLimit, install_error_handlers
from siyu.core.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from siyu.core.settings import Settings, get_settings
from siyu.core.settings import install as install_settings
from siyu.core.worker import Worker
from siyu.coupons.api import router as coupons_router
from siyu.coupons.claim_fast_path import ClaimFastPath
from siyu.coupons.shop_api import router as shop_coupons_router
from siyu.customers import access as _customer_access  # noqa: F401  (registers the scope)
from siyu.customers.api import router as customers_router
from siyu.customers.identity_api import router as identity_router
from siyu.customers.sessions_api import router as customer_sessions_router
from siyu.customers.shop_sessions_api import router as shop_sessions_router
from siyu.events.api import router as events_router
from siyu.events.shop_api import router as shop_events_router
from siyu.health.api import router as health_router
from siyu.members import benefits_tasks
from siyu.members.api import router as members_router
from siyu.members.benefits_api import router as benefits_router
from siyu.members.points_mall_api import router as points_mall_router
from siyu.members.points_mall_shop_api import router as shop_points_mall_router
from siyu.members.shop_api import router as shop_members_router
from siyu.orders.api import router as orders_router
from siyu.orders.payments.notify_api import router as payment_notify_router
from siyu.orders.shop_api import router as shop_orders_router
from siyu.staff.api import router as staff_router
from siyu.warehouse import tasks as warehouse_tasks
from siyu.warehouse.api import router as warehouse_router

logger = logging.getLogger("siyu")
THREADS_BEYOND_REQUESTS = 8


def create_app(settings: Settings | None = None, *, start_worker: bool | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Fail at start-up, not at the first login, when the secret key is missing.
    secret_key = settings.resolved_secret_key()
    run_worker = settings.run_worker if start_worker is None else start_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Read from the app, not this closure: the tests reuse one built app with a
        # new Settings per test (tests/clients.py), and building costs ~0.35 s.
        settings = app.state.settings
        install_settings(settings)
        # More threads than requests in flight (uvicorn's limit_concurrency, see
        # siyu.server): a request that holds the SQLite writer lock and needs another
        # threadpool hop (its route after its dependencies, its commit) always finds
        # a free thread, however many requests wait for the lock (decision 0006).
        anyio.to_thread.current_default_thread_limiter().total_tokens = (
            settings.max_concurrent_requests + THREADS_BEYOND_REQUESTS
        )
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        app.state.redis = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
        limiter: RateLimiter = (
            RedisRateLimiter(app.state.redis) if app.state.redis else MemoryRateLimiter()
        )
        app.state.rate_limiter = limiter
        handlers.load_all()
        worker = None
        wake_bridge = None
        if run_worker:
            worker = Worker(app.state.session_factory, redis_client=app.state.redis)
            worker.start()
            with transaction(app.state.session_factory) as session:
                maintenance.schedule(session)
                benefits_tasks.schedule(session)
                warehouse_tasks.schedule(session)
                audience_tasks.ensure_scheduled(session)
        elif app.state.redis is not None:
            # No worker here, but `siyu worker` processes elsewhere should still hear
            # about this process's commits at once rather than on their next poll.
            install_commit_hook()
            wake_bridge = start_wake_bridge(app.state.redis)
        app.state.worker = worker
        try:
            yield
        finally:
            # The plain ASGI routes' writer threads (made on first use): their
            # last batches commit before the database goes.
            for name in ("coupon_claims", "flash_sale"):
                runtime = getattr(app.state, name, None)
                if runtime is not None:
                    runtime.stop()
                    delattr(app.state, name)
            app.state.token_cache = None  # its entries belong to this database
            if worker is not None:
                worker.stop(timeout=10)
            if wake_bridge is not None:
                wake_bridge.stop()
            if app.state.redis is not None:
                app.state.redis.close()
            engine.dispose()

    app = FastAPI(
        title="siyu 私域",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.secret_key = secret_key
    app.state.pii = PiiCipher(secret_key)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(ReserveFastPath)  # the flash sale's reserve click, before FastAPI
    app.add_middleware(ClaimFastPath)  # coupon-centre claims, likewise
    app.include_router(health_router)
    # Fixed paths (/api/v1/audiences/config|rfm|lifecycle) before any /audiences/{id}.
    app.include_router(audience_insights_router)
    app.include_router(audience_rules_router)  # /api/v1/audiences/rules/* likewise
    # Early: the flash sale's reserve route is the hottest path (routes match in order).
    app.include_router(shop_flash_sale_router)
    app.include_router(flash_sale_router)
    app.include_router(staff_router)
    app.include_router(channel_codes_router)
    app.include_router(channel_code_short_url_router)
    app.include_router(campaigns_router)
    app.include_router(shop_campaigns_router)
    app.include_router(referral_router)
    app.include_router(shop_referral_router)
    app.include_router(lottery_router)
    app.include_router(shop_lottery_router)
    app.include_router(posters_router)
    app.include_router(shop_posters_router)
    app.include_router(bargain_router)
    app.include_router(shop_bargain_router)
    app.include_router(assist_router)
    app.include_router(shop_assist_router)
    app.include_router(group_buy_router)
    app.include_router(shop_group_buy_router)
    app.include_router(events_router)
    app.include_router(audience_tags_router)
    app.include_router(audience_segments_router)
    app.include_router(shop_events_router)
    app.include_router(customer_sessions_router)
    app.include_router(shop_sessions_router)
    app.include_router(customers_router)
    app.include_router(identity_router)
    app.include_router(catalog_router)
    app.include_router(shop_catalog_router)
    app.include_router(orders_router)
    app.include_router(shop_orders_router)
    app.include_router(coupons_router)
    app.include_router(shop_coupons_router)
    # Before members_router: its /api/v1/members/{customer_id} would take "benefits".
    app.include_router(benefits_router)
    app.include_router(points_mall_router)
    app.include_router(shop_points_mall_router)
    app.include_router(members_router)
    app.include_router(shop_members_router)
    app.include_router(payment_notify_router)
    app.include_router(warehouse_router)
    app.include_router(analytics_metrics_router)
    app.include_router(analytics_goals_router)
    app.include_router(analytics_behaviour_router)
    app.include_router(analytics_campaigns_router)
    app.include_router(analytics_clv_router)
    web.install(app)
    return app
