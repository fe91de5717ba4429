"""Read the next page while the current one is being stored.

A sync spends its time in two places that need not wait for each other: the CRM answering
(and the client parsing) the next page, and the database storing this one. A `Producer` runs
a reader's page iterator in a thread that stays exactly one page ahead: it fetches page k + 1
while the caller stores page k, and fetches nothing further until the caller has taken page
k + 1 (`taken`). It hands each page, then `Ended` or `Failed`, to an `arrivals` queue, tagged
with itself, so that several producers (streams read at once) can share one queue and the
caller stores their pages one at a time, in the order they come.

Producers that share `Slots` fetch at most that many pages at once, counted from the start of
a fetch until the caller has stored the page (`Slots.release`), which bounds the memory the
pages of streams read at once take. A fetch that waits on the CRM without holding a page (a
Bulk job that Salesforce is still running) says so with `waiting()`: its slot goes to another
stream for the time, and it queues for one again when the wait is over.

The reader's generator is advanced, and closed, only by that thread. Before each fetch the
thread asks `may_fetch`, so a run that reached its quota share spends no call beyond the page
that told it so; a stop asked by the caller (`halt`) costs at most the one page already in
flight, which is never stored and is read again by the next run. An error raised by the reader
reaches the caller at the page where it happened, after every earlier page.

`prefetched(source)` is the one-stream case as a plain iterator.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from connectors.core.errors import Interrupted

__all__ = ["Ended", "Failed", "Producer", "Slots", "Waiting", "prefetched", "waiting"]

T = TypeVar("T")


class Ended:
    """The source has no more items, or may fetch no more (`may_fetch`)."""


class Failed:
    """The source raised `error`; every item before it has been handed over."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Waiting:
    """The source waits on the CRM (first time only): it got that far."""


class Slots:
    """At most `count` fetches in flight or pages not yet stored, given out in the order
    asked for; a source's first fetch goes before the others' next ones (a stream's first
    answer tells what it will cost: a Bulk job is better started early)."""

    def __init__(self, count: int) -> None:
        self._free = count
        self._first: deque[object] = deque()
        self._next: deque[object] = deque()
        self._changed = threading.Condition()

    def _head(self) -> object | None:
        queue = self._first or self._next
        return queue[0] if queue else None

    def acquire(self, halt: threading.Event, *, first: bool = False) -> bool:
        """Wait for a slot; False if `halt` was set first."""
        ticket = object()
        queue = self._first if first else self._next
        with self._changed:
            queue.append(ticket)
            while self._free == 0 or self._head() is not ticket:
                if halt.is_set():
                    queue.remove(ticket)
                    self._changed.notify_all()
                    return False
                self._changed.wait()
            queue.popleft()
            self._free -= 1
            self._changed.notify_all()
            return True

    def release(self) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify_all()

    def wake(self) -> None:
        """Let waiters look at their `halt` again."""
        with self._changed:
            self._changed.notify_all()


_PRODUCER: contextvars.ContextVar[Producer[object] | None] = contextvars.ContextVar(
    "producer", default=None
)


@contextmanager
def waiting() -> Iterator[None]:
    """A wait on the CRM that holds no page: the fetch's slot is free meanwhile. Outside a
    producer's thread (a reader used directly), or without slots, it changes nothing."""
    producer = _PRODUCER.get()
    if producer is None:
        yield
        return
    producer.wait_begins()
    try:
        yield
    finally:
        producer.wait_ends()


class Producer(Generic[T]):
    """One source, read one item ahead in a thread of its own (see the module docstring)."""

    def __init__(
        self,
        source: Iterator[T],
        arrivals: queue.SimpleQueue[tuple[Producer[T], T | Ended | Failed | Waiting]],
        *,
        may_fetch: Callable[[], bool] = lambda: True,
        name: str = "prefetch",
        context: contextvars.Context | None = None,
        slots: Slots | None = None,
    ) -> None:
        self._source = source
        self._arrivals = arrivals
        self._may_fetch = may_fetch
        self._slots = slots
        self._taken = threading.Semaphore(0)
        self._halt = threading.Event()
        self._waited = False
        # logs from the thread keep the caller's context
        context = context if context is not None else contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._produce,), name=name, daemon=True
        )

    def _produce(self) -> None:
        _PRODUCER.set(self)  # type: ignore[arg-type]  # for `waiting`, in this thread's context
        first = True
        try:
            while not self._halt.is_set():
                if self._slots is not None and not self._slots.acquire(self._halt, first=first):
                    return
                first = False
                if not self._may_fetch():
                    self._arrivals.put((self, Ended()))
                    return
                try:
                    item: T | Ended | Failed = next(self._source)
                except StopIteration:
                    item = Ended()
                except BaseException as error:  # handed to the caller, raised there
                    item = Failed(error)
                self._arrivals.put((self, item))
                if isinstance(item, (Ended, Failed)):
                    return
                del item  # the caller's now: kept here, it would outlive its storing
                self._taken.acquire()
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def wait_begins(self) -> None:
        if self._slots is not None:
            self._slots.release()
        if not self._waited:
            self._waited = True
            self._arrivals.put((self, Waiting()))

    def wait_ends(self) -> None:
        if self._slots is not None and not self._slots.acquire(self._halt):
            raise Interrupted("stopped while waiting for the CRM")

    def start(self) -> None:
        self._thread.start()

    def taken(self) -> None:
        """The caller has taken the last item: fetch the next."""
        self._taken.release()

    def halt(self) -> None:
        """Fetch nothing more; the thread closes the source once its fetch in flight ends."""
        self._halt.set()
        self._taken.release()
        if self._slots is not None:
            self._slots.wake()

    def join(self) -> None:
        self._thread.join()


def prefetched(
    source: Iterator[T], *, may_fetch: Callable[[], bool] = lambda: True, name: str = "prefetch"
) -> Generator[T, None, None]:
    """Iterate `source` one item ahead, in a thread; see the module docstring.

    Close the returned generator (or exhaust it) to stop the thread and close `source`.
    """
    arrivals: queue.SimpleQueue[tuple[Producer[T], T | Ended | Failed | Waiting]] = (
        queue.SimpleQueue()
    )
    producer = Producer(source, arrivals, may_fetch=may_fetch, name=name)
    producer.start()
    try:
        while True:
            _, item = arrivals.get()
            if isinstance(item, Waiting):
                continue
            if isinstance(item, Ended):
                return
            if isinstance(item, Failed):
                raise item.error
            producer.taken()
            yield item
    finally:
        producer.halt()
        producer.join()
