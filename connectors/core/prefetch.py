"""Read the next page while the current one is being stored.

A sync spends its time in two places that need not wait for each other: the CRM answering
(and the client parsing) the next page, and the database storing this one. `prefetched` runs
the reader's page iterator in a thread that stays exactly one page ahead: it fetches page
k + 1 while the caller stores page k, and fetches nothing further until page k + 1 is taken.

The reader's generator is advanced, and closed, only by that thread. Before each fetch the
thread asks `may_fetch`, so a run that reached its quota share spends no call beyond the page
that told it so; a stop asked by the caller costs at most the one page already in flight, which
is never stored and is read again by the next run. An error raised by the reader reaches the
caller at the page where it happened, after every earlier page.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Generic, TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")


class _End:
    """Marks the end of the source."""


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Prefetcher(Generic[T]):
    def __init__(self, source: Iterator[T], may_fetch: Callable[[], bool], name: str) -> None:
        self._source = source
        self._may_fetch = may_fetch
        self._ready: queue.Queue[T | _End | _Failure] = queue.Queue(maxsize=1)
        self._taken = threading.Semaphore(0)
        self._halt = threading.Event()
        context = contextvars.copy_context()  # logs from the thread keep the run's context
        self._thread = threading.Thread(
            target=context.run, args=(self._produce,), name=name, daemon=True
        )

    def _produce(self) -> None:
        try:
            while not self._halt.is_set():
                if not self._may_fetch():
                    self._ready.put(_End())
                    return
                try:
                    item: T | _End | _Failure = next(self._source)
                except StopIteration:
                    item = _End()
                except BaseException as error:  # handed to the caller, raised there
                    item = _Failure(error)
                # The caller has taken the previous item, so the queue has room.
                self._ready.put(item)
                if isinstance(item, (_End, _Failure)):
                    return
                self._taken.acquire()
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Generator[T, None, None]:
        self._thread.start()
        try:
            while True:
                item = self._ready.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failure):
                    raise item.error
                self._taken.release()
                yield item
        finally:
            self._halt.set()
            self._taken.release()
            self._thread.join()


def prefetched(
    source: Iterator[T], *, may_fetch: Callable[[], bool] = lambda: True, name: str = "prefetch"
) -> Generator[T, None, None]:
    """Iterate `source` one item ahead, in a thread; see the module docstring.

    Close the returned generator (or exhaust it) to stop the thread and close `source`.
    """
    return _Prefetcher(source, may_fetch, name).__iter__()
