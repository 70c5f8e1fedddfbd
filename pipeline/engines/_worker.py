"""The loop of a local engine's worker process: documents in, pieces of windows out; model outputs in,
annotated documents out. No torch here, so a worker starts in a fraction of a second."""

from __future__ import annotations

import queue
import signal
import traceback
from collections import deque
from dataclasses import dataclass

from pipeline.model.assemble import Assembly, Decoder
from pipeline.model.pieces import Piece, PieceCutter, prepare_document


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs of the annotator (plain data, sent once when it starts)."""

    cutter: PieceCutter
    decoder: Decoder


def run(spec: WorkerSpec, inbox, outbox) -> None:
    """Messages in ``inbox``: ``("doc", seq, item)``, ``("scores", seq, index, outputs)``, None (stop). In
    ``outbox``: ``("piece", seq, index, windows, last)`` where windows are ``(input_ids, token_sentence)``,
    ``("done", seq, document)``, ``("error", seq, text)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle: it stops us
    state = _State(spec, outbox)
    waiting: deque = deque()  # documents that arrived while a long one was being cut into pieces
    while True:
        message = waiting.popleft() if waiting else inbox.get()
        if message is None:
            return
        if message[0] == "scores":
            state.scores(*message[1:])
            continue
        _, seq, item = message
        try:
            for piece in state.pieces(seq, item):
                outbox.put(("piece", seq, piece.index, [(w.input_ids, w.token_sentence) for w in piece.windows],
                            piece.last))
                # a long document's early pieces come back scored while later ones are cut: decode them now,
                # so that its windows are never all held at once
                while True:
                    try:
                        pending = inbox.get_nowait()
                    except queue.Empty:
                        break
                    if pending is not None and pending[0] == "scores":
                        state.scores(*pending[1:])
                    else:
                        waiting.append(pending)
        except Exception:  # reported to the main process, which stops
            outbox.put(("error", seq, traceback.format_exc()))


class _State:
    def __init__(self, spec: WorkerSpec, outbox):
        self.spec = spec
        self.outbox = outbox
        self.assemblies: dict[int, Assembly] = {}
        self.pending: dict[tuple[int, int], Piece] = {}

    def pieces(self, seq: int, item):
        document = prepare_document(item)
        self.assemblies[seq] = Assembly(self.spec.decoder, document)
        for piece in self.spec.cutter(document):
            self.pending[(seq, piece.index)] = piece
            yield piece

    def scores(self, seq: int, index: int, outputs) -> None:
        try:
            piece = self.pending.pop((seq, index))
            document = self.assemblies[seq].add(piece, outputs)
            if document is not None:
                del self.assemblies[seq]
                self.outbox.put(("done", seq, document))
        except Exception:
            self.outbox.put(("error", seq, traceback.format_exc()))
