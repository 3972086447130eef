"""A lean asyncio Redis client for the reserve fast path: one connection, commands
pipelined, replies parsed by hiredis.

redis-py's asyncio client spends ~60–100 µs of Python per command (a connection
checked out of the pool and back, a lock, its own reply reader); at thousands of
reservations a second that was a third of the server's time. Here every call
writes its command on the one connection at once and waits for its reply, which
Redis sends back in order (RESP is FIFO per connection), so concurrent requests
share the socket without waiting for each other: ~10 µs a command. Commands issued
in the same turn of the event loop leave in one write.

Only what the fast path needs: EVALSHA (EVAL once after a ``NOSCRIPT``), with the
errors redis-py raises (``ConnectionError``, ``ResponseError``, ``NoScriptError``)
so callers handle both clients alike. A lost connection fails the commands waiting
on it; the next command connects again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from typing import Any, cast

import hiredis
import redis.exceptions
from redis.connection import parse_url


def encode_command(*parts: str | int | bytes) -> bytes:
    chunks = [b"*%d\r\n" % len(parts)]
    for part in parts:
        if isinstance(part, bytes):
            raw = part
        elif isinstance(part, int):
            raw = b"%d" % part
        else:
            raw = part.encode()
        chunks.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(chunks)


def script_sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()  # noqa: S324 (Redis names scripts so)


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: PipelinedRedis) -> None:
        self.owner = owner
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        # Commands written in one turn of the loop go out in one write (one syscall).
        self.outgoing: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            future = self.waiting.popleft()
            if future.done():  # its caller was cancelled
                continue
            if isinstance(reply, hiredis.ReplyError):
                message = str(reply)
                error: Exception = (
                    redis.exceptions.NoScriptError(message)
                    if message.startswith("NOSCRIPT")
                    else redis.exceptions.ResponseError(message)
                )
                future.set_exception(error)
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.owner._lost(self)
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(redis.exceptions.ConnectionError("Redis connection lost"))

    def send(self, command: bytes) -> asyncio.Future[Any]:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.waiting.append(future)
        if not self.outgoing:
            loop.call_soon(self._flush)
        self.outgoing.append(command)
        return future

    def _flush(self) -> None:
        chunks, self.outgoing = self.outgoing, []
        if self.transport is not None:  # else connection_lost failed their futures
            self.transport.write(b"".join(chunks))


class PipelinedRedis:
    """``await client.evalsha(script, keys, args)``; plain ``redis://`` URLs only
    (:func:`supports` says which)."""

    def __init__(self, url: str) -> None:
        options = parse_url(url)
        self.host = str(options.get("host", "localhost"))
        self.port = int(options.get("port", 6379))
        self.db = int(options.get("db", 0))
        self.username = options.get("username")
        self.password = options.get("password")
        self._protocol: _Protocol | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None

    @staticmethod
    def supports(url: str) -> bool:
        return url.startswith("redis://")

    def _lost(self, protocol: _Protocol) -> None:
        if self._protocol is protocol:
            self._protocol = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.create_connection(
                lambda: _Protocol(self), self.host, self.port
            )
        except OSError as error:
            raise redis.exceptions.ConnectionError(str(error)) from error
        # uvloop may call connection_made only after create_connection returned.
        protocol.transport = transport
        setup: list[bytes] = []
        if self.password:
            if self.username:
                setup.append(encode_command("AUTH", self.username, self.password))
            else:
                setup.append(encode_command("AUTH", self.password))
        if self.db:
            setup.append(encode_command("SELECT", self.db))
        for command in setup:
            await protocol.send(command)
        return protocol

    async def _ready(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        protocol = self._protocol
        if protocol is not None and self._loop is loop:
            return protocol
        if self._loop is not loop:
            # A new event loop (tests build one app per loop): the old socket is useless.
            self._close()
            self._loop = loop
        if self._connecting is None:
            self._connecting = loop.create_future()
            connecting = self._connecting
            try:
                protocol = await self._connect()
            except BaseException as error:
                self._connecting = None
                connecting.set_exception(error)
                connecting.exception()  # retrieved: the callers waiting get it too
                raise
            self._protocol = protocol
            self._connecting = None
            connecting.set_result(protocol)
            return protocol
        return await asyncio.shield(self._connecting)

    async def execute(self, *parts: str | int | bytes) -> Any:
        protocol = await self._ready()
        return await protocol.send(encode_command(*parts))

    async def evalsha(self, script: str, sha: str, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA, or EVAL when Redis does not know the script (first use, restart)."""
        try:
            return await self.execute("EVALSHA", sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return await self.execute("EVAL", script, len(keys), *keys, *args)

    def _close(self) -> None:
        """Close the socket on its own loop (callers may be on another thread, or
        after that loop closed: then the socket goes with it)."""
        protocol, self._protocol = self._protocol, None
        loop = self._loop
        if protocol is None or protocol.transport is None or loop is None or loop.is_closed():
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            protocol.transport.close()
        else:
            loop.call_soon_threadsafe(protocol.transport.close)

    def close(self) -> None:
        self._close()
