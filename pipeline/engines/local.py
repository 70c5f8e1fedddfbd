"""The local engine: worker processes segment, tokenize and decode; this process runs the model.

With ``workers=0`` it is the annotator itself (one process). With N workers, document ``i`` goes to worker
``i mod N``, which cuts it into pieces of windows (``pipeline.model.pieces``) and sends them back; this process
gathers pieces in document order into the same groups the one-process path makes, runs the forward passes and
sends each piece's outputs back to its worker, which decodes them into the annotated document. Each worker's
output is one FIFO read in document order, so records come out in input order, and the model sees exactly the
batches the one-process path gives it: the records are identical.

Bounded everywhere: documents are read at most ``ahead`` documents beyond the one whose pieces are being
gathered, a worker's output queue holds a bounded number of messages, and no group is run while more than
``backlog`` documents wait to be decoded. Workers use the "spawn" start method (safe with torch's threads and on
every platform) and ignore Ctrl-C; the engine stops them when its iterator ends, fails or is closed.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections import deque
from collections.abc import Iterable, Iterator

from pipeline.document import Document
from pipeline.engines._worker import WorkerSpec, run


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_workers() -> int:
    """Worker processes for this machine: none on 2 cores or fewer (measured: the model and the workers then
    compete for the same cores and the single process is as fast), else one per core left beside the model's
    threads, at most 8."""
    cores = available_cores()
    if cores <= 2:
        return 0
    return min(8, max(1, cores // 2))


def share_cores_with_workers(workers: int) -> int:
    """Give the model's torch threads the cores the workers leave (torch would take every core, and its threads
    and the workers would then preempt each other); returns the thread count."""
    import torch

    threads = max(1, available_cores() - workers)
    torch.set_num_threads(threads)
    return threads


class LocalEngine:
    def __init__(self, annotator, workers: int | None = None, *, ahead: int | None = None,
                 backlog: int | None = None, poll_seconds: float = 1.0):
        self.annotator = annotator
        self.workers = default_workers() if workers is None else workers
        if self.workers < 0:
            raise ValueError(f"workers must be 0 or more, got {self.workers}")
        self.ahead = ahead or max(64, 16 * self.workers)
        self.backlog = backlog or max(256, 32 * self.workers)
        self.poll_seconds = poll_seconds

    def annotate_many(self, items: Iterable) -> Iterator[Document]:
        if self.workers == 0:
            yield from self.annotator.annotate_many(items)
            return
        pool = _Pool(self._spec(), self.workers, self.poll_seconds)
        try:
            yield from _Run(self.annotator, pool, iter(items), self.ahead, self.backlog).documents()
        finally:
            pool.stop()

    def _spec(self) -> WorkerSpec:
        return WorkerSpec(self.annotator.cutter, self.annotator.decoder)


class _Pool:
    """The worker processes, each with its own inbox and outbox."""

    def __init__(self, spec: WorkerSpec, size: int, poll_seconds: float):
        context = multiprocessing.get_context("spawn")
        self.poll_seconds = poll_seconds
        self.inboxes = [context.Queue() for _ in range(size)]  # unbounded: this process never blocks on a send
        self.outboxes = [context.Queue(maxsize=256) for _ in range(size)]
        self.processes = [context.Process(target=run, args=(spec, inbox, outbox), daemon=True,
                                          name=f"framing-worker-{number}")
                          for number, (inbox, outbox) in enumerate(zip(self.inboxes, self.outboxes))]
        for process in self.processes:
            process.start()

    def send(self, worker: int, message) -> None:
        self.inboxes[worker].put(message)

    def receive(self, worker: int, *, block: bool = True):
        """The next message of ``worker`` (None when not blocking and there is none)."""
        while True:
            try:
                return self.outboxes[worker].get(block=block, timeout=self.poll_seconds if block else None)
            except queue.Empty:
                if not block:
                    return None
                process = self.processes[worker]
                if not process.is_alive():
                    raise RuntimeError(f"worker process {process.name} stopped (exit code {process.exitcode}) "
                                       "before finishing its documents") from None

    def stop(self) -> None:
        for inbox, process in zip(self.inboxes, self.processes):
            if process.is_alive():
                try:
                    inbox.put(None)
                except (OSError, ValueError):
                    pass
        for process in self.processes:
            process.join(timeout=2)
            if process.is_alive():
                process.terminate()
                process.join(timeout=2)
        for box in (*self.inboxes, *self.outboxes):
            box.cancel_join_thread()  # never wait at exit for messages nobody will read
            box.close()


class _Run:
    """One pass over the documents (see the module docstring for the order of events)."""

    def __init__(self, annotator, pool: _Pool, items: Iterator, ahead: int, backlog: int):
        self.annotator = annotator
        self.pool = pool
        self.items = items
        self.ahead = ahead
        self.backlog = backlog
        self.size = len(pool.processes)
        self.submitted = 0  # documents sent to workers
        self.cursor = 0  # the document whose pieces are gathered next
        self.next_out = 0  # the next document to yield
        self.exhausted = False
        self.pieces: list[deque] = [deque() for _ in range(self.size)]
        self.finished: dict[int, Document] = {}

    def documents(self) -> Iterator[Document]:
        group: list[tuple] = []
        pending = 0
        limits = self.annotator.group_limits()
        limit = next(limits)
        while True:
            self._submit()
            if self.cursor >= self.submitted:
                break
            piece = self._next_piece()
            group.append(piece)
            pending += len(piece[2])
            if piece[3]:
                self.cursor += 1
            if pending >= limit:
                yield from self._forward(group)
                group, pending, limit = [], 0, next(limits)
            yield from self._ready(block=False)
        if group:
            yield from self._forward(group)
        yield from self._ready(block=True)

    def _submit(self) -> None:
        while not self.exhausted and self.submitted < self.cursor + self.ahead:
            try:
                item = next(self.items)
            except StopIteration:
                self.exhausted = True
                return
            self.pool.send(self.submitted % self.size, ("doc", self.submitted, item))
            self.submitted += 1

    def _take(self, worker: int, *, block: bool) -> bool:
        """File one message of ``worker``; False when not blocking and there was none."""
        message = self.pool.receive(worker, block=block)
        if message is None:
            return False
        kind, seq = message[0], message[1]
        if kind == "piece":
            self.pieces[worker].append((seq, *message[2:]))
        elif kind == "done":
            self.finished[seq] = message[2]
        else:
            raise RuntimeError(f"a worker process failed on document number {seq + 1}:\n{message[2]}")
        return True

    def _next_piece(self) -> tuple:
        """``(seq, index, windows, last)``: the next piece of the document at the cursor."""
        worker = self.cursor % self.size
        while not self.pieces[worker]:
            self._take(worker, block=True)
        return self.pieces[worker].popleft()

    def _forward(self, group: list[tuple]) -> Iterator[Document]:
        # bound the documents waiting to be decoded: those before this group have all been sent to the workers
        while group[0][0] - self.next_out > self.backlog:
            yield from self._ready(block=True, until=self.next_out + 1)
        flat = [window for piece in group for window in piece[2]]
        outputs = self.annotator.forward_flat(flat, [len(piece[2]) for piece in group])
        for (seq, index, _, _), piece_outputs in zip(group, outputs):
            self.pool.send(seq % self.size, ("scores", seq, index, piece_outputs))

    def _ready(self, *, block: bool, until: int | None = None) -> Iterator[Document]:
        """Yield finished documents in order: those already back (``block`` False), or every one sent (up to
        ``until``) waiting for each."""
        last = self.submitted if until is None else until
        if not block:
            for worker in range(self.size):
                while self._take(worker, block=False):
                    pass
        while self.next_out < last:
            if self.next_out not in self.finished:
                if not block:
                    return
                self._take(self.next_out % self.size, block=True)
                continue
            yield self.finished.pop(self.next_out)
            self.next_out += 1
