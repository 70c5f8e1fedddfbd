"""The network: one transformer encoder with a token head and a sentence head.

The token head scores every token for every label (multi-label, so spans of different labels overlap
freely). The sentence head pools each sentence's tokens inside its window (mean and max) and scores the
sentence for every label. Both are plain linear layers on top of the encoder: cheap, and enough for a
6-layer encoder that is fine-tuned.
"""

from __future__ import annotations

import torch
from torch import nn


class FramingModel(nn.Module):
    def __init__(self, encoder: nn.Module, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.token_head = nn.Linear(hidden, num_labels)
        self.sentence_head = nn.Linear(2 * hidden, num_labels)
        # set by ``cache_frozen_layers`` while training: the frozen lower layers' output is computed once per window
        self.frozen_cache = None

    def cache_frozen_layers(self, layers: int, dtype: str = "float32", **saving) -> None:
        from pipeline.model.frozen_cache import FrozenLayerCache

        self.frozen_cache = FrozenLayerCache(self.encoder, layers, dtype, **saving)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_sentence: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return token logits ``[B, T, L]`` and sentence logits ``[B, S, L]``.

        ``token_sentence[b, t]`` is the window-local sentence of token ``t`` (-1 for special and padding
        tokens); ``S`` is the largest number of sentences in a window of the batch.
        """
        if self.frozen_cache is not None:
            hidden = self.frozen_cache(input_ids, attention_mask)
        else:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = self.dropout(hidden)
        token_logits = self.token_head(hidden)
        batch, length, width = hidden.shape
        num_sentences = max(int(token_sentence.max().item()) + 1 if token_sentence.numel() else 0, 1)
        # pool each sentence's tokens (mean and max) with scatter operations: O(tokens x width)
        valid = (token_sentence >= 0).reshape(-1)
        rows = (torch.arange(batch, device=hidden.device).unsqueeze(1) * num_sentences + token_sentence).reshape(-1)
        rows = rows[valid]
        values = hidden.reshape(-1, width)[valid]
        slots = batch * num_sentences
        sums = hidden.new_zeros((slots, width)).index_add(0, rows, values)
        counts = hidden.new_zeros((slots, 1)).index_add(0, rows, hidden.new_ones((rows.numel(), 1)))
        mean = sums / counts.clamp(min=1.0)
        # rows of empty sentence slots receive nothing and stay zero (never -inf)
        maximum = hidden.new_zeros((slots, width)).scatter_reduce(
            0, rows.unsqueeze(1).expand(-1, width), values, reduce="amax", include_self=False
        )
        pooled = torch.cat([mean, maximum], dim=-1).reshape(batch, num_sentences, 2 * width)
        sentence_logits = self.sentence_head(pooled)
        return token_logits, sentence_logits
