"""Process entry points behind `siyu serve`, `siyu demo` and `siyu worker`."""

from __future__ import annotations

import logging

import redis
import uvicorn

from siyu import handlers
from siyu.app import create_app
from siyu.audiences import tasks as audience_tasks
from siyu.core import maintenance
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import Settings, install
from siyu.core.worker import Worker
from siyu.warehouse import tasks as warehouse_tasks

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def run_server(settings: Settings, *, host: str, port: int) -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # Requests beyond the limit get 503 at once rather than queueing without bound.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        limit_concurrency=settings.max_concurrent_requests,
    )


def run_worker(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    install(settings)
    handlers.load_all()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    try:
        with transaction(factory) as session:
            maintenance.schedule(session)
            warehouse_tasks.schedule(session)
            audience_tasks.ensure_scheduled(session)
        Worker(factory, redis_client=client).run_forever()
    finally:
        if client is not None:
            client.close()
        engine.dispose()
