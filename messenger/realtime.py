"""The process's real-time runtime: one per event loop, alive while the loop holds sockets.

It owns what a server process needs for as long as it serves sockets, and nothing app-specific:

* `db`: the psycopg pool of the hot paths (sending, reading the stream), on the loop itself;
* `relay`: the process's one channel-layer subscription (messenger.relay), for ephemeral frames;
* the components the apps register in their `AppConfig.ready()` (the chats app: its stream tail
  and its send batcher), created when the runtime starts and found with `runtime.get(Class)`;
* the periodic jobs the apps register (presence housekeeping), each run by `supervised`.

Services and handlers find the runtime with `current()`; nobody passes it around. It starts with
the loop's first socket and stops with its last one, so a test's event loop ends with nothing left
running. `SERVER_ID` names this process (socket rows, stream wake-ups).
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from psycopg_pool import AsyncConnectionPool

from messenger.db import async_pool, db_parallel
from messenger.relay import EphemeralRelay
from messenger.supervision import supervised
from messenger.ws_protocol import Socket

logger = logging.getLogger(__name__)

# One id per server process: every socket row names the process that holds it, and a stream
# wake-up names the process whose send caused it.
SERVER_ID = uuid.uuid4().hex


class Component:
    """A piece of an app's runtime, created by each runtime as `cls(runtime)` (`register_component`):
    started with it, told of every socket that attaches and detaches, stopped with it."""

    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime

    async def start(self) -> None:
        pass

    async def attach(self, socket: Socket) -> None:
        pass

    async def detach(self, socket: Socket) -> None:
        pass

    async def stop(self) -> None:
        pass


C = TypeVar("C", bound=Component)
T = TypeVar("T")


@dataclass(frozen=True)
class _Periodic:
    name: str
    interval: Callable[[], float]  # read at every round: tests and settings may change it
    job: Callable[[], Awaitable[None]]


_component_classes: list[type] = []
_periodic_jobs: list[_Periodic] = []


def register_component(component_class: type) -> None:
    """Called from an app's `ready()`: every runtime creates one `component_class(runtime)`."""
    if component_class not in _component_classes:
        _component_classes.append(component_class)


def register_periodic(name: str, *, interval: Callable[[], float], job: Callable[[], Awaitable[None]]) -> None:
    """Called from an app's `ready()`: every runtime runs `job` every `interval()` seconds."""
    if all(periodic.name != name for periodic in _periodic_jobs):
        _periodic_jobs.append(_Periodic(name, interval, job))


class Runtime:
    """See the module docstring. Created by `for_running_loop()`, one per event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.db: AsyncConnectionPool | None = None
        self.relay = EphemeralRelay(spawn=self.spawn)
        self.sockets: set[Socket] = set()
        self._components: dict[type, Component] = {}
        self._tasks: set[asyncio.Task] = set()
        self._lock = asyncio.Lock()
        # Bumped on every stop: a loop of an earlier generation exits even if its cancellation got
        # lost (asyncio.wait_for in 3.11 can swallow one).
        self.generation = 0

    @property
    def running(self) -> bool:
        return bool(self.sockets)

    def get(self, component_class: type[C]) -> C:
        return self._components[component_class]  # type: ignore[return-value]

    def spawn(self, name: str, run: Callable[[], Awaitable[Any]]) -> None:
        """Run `run` supervised until this runtime stops."""
        generation = self.generation
        task = self.loop.create_task(supervised(name, run, is_current=lambda: generation == self.generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def run_soon(self, name: str, work: Awaitable[Any]) -> None:
        """Run `work` once, in the background (from a timer, say); an error is logged, not lost."""
        task = self.loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda done: _log_failure(name, done))

    async def attach(self, socket: Socket) -> None:
        """Start serving `socket` (starting the runtime with the loop's first socket)."""
        async with self._lock:
            if not self.sockets:
                await self._start()
            self.sockets.add(socket)
            await self.relay.attach(socket)
            for component in self._components.values():
                await component.attach(socket)

    async def detach(self, socket: Socket) -> None:
        stopped: list[asyncio.Task] = []
        async with self._lock:
            if socket not in self.sockets:
                return
            self.sockets.discard(socket)
            for component in reversed(self._components.values()):
                await component.detach(socket)
            await self.relay.detach(socket)
            if not self.sockets:
                stopped = await self._stop()
        if stopped:
            # Give the cancelled loops a moment to finish, but never block a disconnect (or a
            # server shutdown) on them.
            await asyncio.wait(stopped, timeout=1)

    async def _start(self) -> None:
        self.generation += 1
        try:
            self.db = async_pool()
            await self.db.open()
            self._components = {cls: cls(self) for cls in _component_classes}
            await self.relay.start()
            for component in self._components.values():
                await component.start()
        except BaseException:  # a database that is down, say: nothing half-started stays behind
            stopped = await self._stop()
            if stopped:
                await asyncio.wait(stopped, timeout=1)
            raise
        for periodic in _periodic_jobs:
            self.spawn(periodic.name, _every(periodic))

    async def _stop(self) -> list[asyncio.Task]:
        self.generation += 1
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        for component in reversed(self._components.values()):
            await component.stop()
        self._components = {}
        await self.relay.stop()
        if self.db is not None:
            tasks.append(self.loop.create_task(self.db.close()))
            self.db = None
        return tasks


def _log_failure(name: str, task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("%s failed", name, exc_info=task.exception())


def _every(periodic: _Periodic) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        while True:
            await periodic.job()
            await asyncio.sleep(periodic.interval())

    return run


_runtimes: dict[asyncio.AbstractEventLoop, Runtime] = {}


def for_running_loop() -> Runtime:
    """The running loop's runtime (created, not started: sockets start it)."""
    loop = asyncio.get_running_loop()
    runtime = _runtimes.get(loop)
    if runtime is None:
        for closed in [other for other in _runtimes if other.is_closed()]:
            del _runtimes[closed]
        runtime = _runtimes[loop] = Runtime(loop)
    return runtime


def current() -> Runtime | None:
    """The running loop's runtime if it is serving sockets, else None (sync callers, tests)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    runtime = _runtimes.get(loop)
    return runtime if runtime is not None and runtime.running else None


def database(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Run ORM code from async code: on the shared thread pool while the loop's runtime runs
    (messenger.db.db_parallel), otherwise in the sync thread that called in through async_to_sync
    (a REST request on a process without sockets, a command, a test), inside its transaction."""
    in_parallel = db_parallel(function)
    in_caller_thread = sync_to_async(function)

    async def run(*args: Any, **kwargs: Any) -> T:
        return await (in_parallel if current() is not None else in_caller_thread)(*args, **kwargs)

    return run
