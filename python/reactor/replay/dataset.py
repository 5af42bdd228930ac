"""Replay batches as a torch ``IterableDataset`` with background prefetching."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from reactor.errors import InvalidArgumentError, UnavailableError

if TYPE_CHECKING:
    from reactor.replay.buffer import ReplayBuffer

__all__ = ["ReplayDataset"]


class ReplayDataset(torch.utils.data.IterableDataset):  # type: ignore[type-arg]
    """Endless batches ``{field: tensor, "keys": ..., "weights": ...}`` sampled from a buffer.

    A daemon thread samples ``prefetch`` batches ahead (the engine releases the GIL while it
    samples); tensors share memory with the sampled numpy arrays. Iteration ends when the buffer is
    closed. Use with ``DataLoader(dataset, batch_size=None)`` or iterate directly.
    """

    def __init__(
        self, buffer: ReplayBuffer, batch_size: int, *, prefetch: int = 2, timeout: float | None = None
    ) -> None:
        if prefetch < 1:
            raise InvalidArgumentError(f"[replay.dataset] prefetch must be >= 1, got {prefetch}")
        self.buffer = buffer
        self.batch_size = batch_size
        self.prefetch = prefetch
        self.timeout = timeout

    def _to_tensors(self, batch: Any) -> dict[str, torch.Tensor]:
        tensors = {name: torch.from_numpy(value) for name, value in batch.items()}
        tensors["keys"] = torch.from_numpy(batch.keys.view("int64"))
        tensors["weights"] = torch.from_numpy(batch.weights)
        return tensors

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        ready: queue.Queue[Any] = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()

        def produce() -> None:
            while not stop.is_set():
                try:
                    item: Any = self.buffer.sample(self.batch_size, timeout=self.timeout)
                except UnavailableError:
                    item = StopIteration
                except BaseException as error:  # handed to the consumer, raised there
                    item = error
                while not stop.is_set():  # a consumer that stopped iterating must not strand us in put()
                    try:
                        ready.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if item is StopIteration or isinstance(item, BaseException):
                    return

        worker = threading.Thread(target=produce, name="reactor-replay-prefetch", daemon=True)
        worker.start()
        try:
            while True:
                item = ready.get()
                if item is StopIteration:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield self._to_tensors(item)
        finally:
            stop.set()
