"""Wake-ups for the worker: commit hook, process-local notifier, optional Redis bridge.

A service that emits a domain event or enqueues a job marks its session with
:func:`request_wake`; after that session's transaction commits, the commit hook wakes
every worker waiting in this process. Polling (about once a second) stays the
fallback, so a lost wake-up only costs latency, never an event or a job.

With Redis configured, :class:`RedisWakeBridge` carries wake-ups between processes
on the ``siyu:wake`` channel, so a ``siyu worker`` process reacts at once to a
commit made by ``siyu serve``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass

from redis import Redis
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

logger = logging.getLogger(__name__)

WAKE_KEY = "siyu_wake"
WAKE_CHANNEL = "siyu:wake"


@dataclass(eq=False)
class _Waiter:
    event: threading.Event
    include_remote: bool


class Notifier:
    """Fan-out of wake-ups to every subscriber in this process.

    Each subscriber owns a ``threading.Event`` so that one worker clearing its flag
    never swallows the wake-up meant for another.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[threading.Event, _Waiter] = {}

    def subscribe(self, *, include_remote: bool = True) -> threading.Event:
        """Return an event that is set on every wake-up.

        ``include_remote=False`` is for the Redis publisher: re-publishing wake-ups
        that came from Redis would bounce them between processes forever.
        """
        wake = threading.Event()
        with self._lock:
            self._waiters[wake] = _Waiter(wake, include_remote)
        return wake

    def unsubscribe(self, wake: threading.Event) -> None:
        with self._lock:
            self._waiters.pop(wake, None)

    def notify(self, *, remote: bool = False) -> None:
        with self._lock:
            waiters = list(self._waiters.values())
        for waiter in waiters:
            if waiter.include_remote or not remote:
                waiter.event.set()


_default_notifier = Notifier()


def default_notifier() -> Notifier:
    return _default_notifier


def request_wake(session: Session) -> None:
    """Ask for a worker wake-up once ``session``'s transaction commits."""
    session.info[WAKE_KEY] = True


def _after_commit(session: Session) -> None:
    # after_commit also fires when a SAVEPOINT is released; the data is not visible
    # to other connections until the outermost transaction commits.
    if session.in_nested_transaction():
        return
    if session.info.pop(WAKE_KEY, False):
        _default_notifier.notify()


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # A root transaction that ends without after_commit having taken the flag was
    # rolled back or closed: what asked for the wake-up is gone. A savepoint ending
    # says nothing, since the enclosing transaction may still emit events.
    if transaction.parent is None:
        session.info.pop(WAKE_KEY, None)


def install_commit_hook() -> None:
    """Wake this process's workers after every commit that emitted events or jobs.

    Installed on the ``Session`` class, so it covers every session; idempotent.
    """
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
    if not event.contains(Session, "after_transaction_end", _after_transaction_end):
        event.listen(Session, "after_transaction_end", _after_transaction_end)


def uninstall_commit_hook() -> None:
    if event.contains(Session, "after_commit", _after_commit):
        event.remove(Session, "after_commit", _after_commit)
    if event.contains(Session, "after_transaction_end", _after_transaction_end):
        event.remove(Session, "after_transaction_end", _after_transaction_end)


class RedisWakeBridge:
    """Publishes local wake-ups to Redis and turns Redis messages into local ones.

    Two daemon threads: the publisher coalesces a burst of local commits into one
    ``PUBLISH`` (and keeps Redis latency out of the committing request); the listener
    wakes local workers on messages from other processes. Redis being down only
    degrades to polling; errors are logged and retried.
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        notifier: Notifier | None = None,
        channel: str = WAKE_CHANNEL,
        retry_seconds: float = 2.0,
    ) -> None:
        """``redis`` is a URL (the bridge owns its client) or a client shared with the app."""
        self._redis = redis
        self.channel = channel
        self.notifier = notifier or _default_notifier
        self.retry_seconds = retry_seconds
        # Lets the listener skip this process's own messages.
        self.bridge_id = uuid.uuid4().hex
        self._client: Redis | None = None
        self._stopping = threading.Event()
        self._subscribed = threading.Event()
        self._outgoing: threading.Event | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        if isinstance(self._redis, str):
            self._client = Redis.from_url(self._redis, socket_connect_timeout=5, socket_timeout=10)
        else:
            self._client = self._redis
        self._outgoing = self.notifier.subscribe(include_remote=False)
        for target, name in ((self._publish_loop, "publish"), (self._listen_loop, "listen")):
            thread = threading.Thread(target=target, name=f"siyu-wake-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wait_until_subscribed(self, timeout: float) -> bool:
        return self._subscribed.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._outgoing is not None:
            self._outgoing.set()
            self.notifier.unsubscribe(self._outgoing)
        for thread in self._threads:
            thread.join(timeout)
        if self._client is not None and isinstance(self._redis, str):
            self._client.close()
        self._client = None
        self._threads = []
        self._outgoing = None
        self._subscribed.clear()

    def _publish_loop(self) -> None:
        outgoing, client = self._outgoing, self._client
        assert outgoing is not None
        assert client is not None
        while not self._stopping.is_set():
            if not outgoing.wait(1.0):
                continue
            outgoing.clear()
            if self._stopping.is_set():
                break
            try:
                client.publish(self.channel, self.bridge_id)
            except Exception:
                logger.warning("publishing a wake-up to Redis failed", exc_info=True)
                self._stopping.wait(self.retry_seconds)

    def _listen_loop(self) -> None:
        client = self._client
        assert client is not None
        while not self._stopping.is_set():
            pubsub = client.pubsub()
            try:
                pubsub.subscribe(self.channel)
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message.get("type") == "subscribe":
                        # Confirmed by the server: from here no publish is missed.
                        self._subscribed.set()
                        continue
                    if message.get("type") != "message":
                        continue
                    sender = message.get("data")
                    if isinstance(sender, bytes):
                        sender = sender.decode(errors="replace")
                    if sender != self.bridge_id:
                        self.notifier.notify(remote=True)
            except Exception:
                self._subscribed.clear()
                logger.warning("listening for wake-ups on Redis failed", exc_info=True)
                self._stopping.wait(self.retry_seconds)
            finally:
                pubsub.close()


def start_wake_bridge(
    redis: str | Redis | None, *, notifier: Notifier | None = None
) -> RedisWakeBridge | None:
    """Start a Redis wake bridge when Redis is configured; ``None`` otherwise."""
    if redis is None or redis == "":
        return None
    bridge = RedisWakeBridge(redis, notifier=notifier)
    bridge.start()
    return bridge
