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

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_sentence: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return token logits ``[B, T, L]`` and sentence logits ``[B, S, L]``.

        ``token_sentence[b, t]`` is the window-local sentence of token ``t`` (-1 for special and padding
        tokens); ``S`` is the largest number of sentences in a window of the batch.
        """
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = self.dropout(hidden)
        token_logits = self.token_head(hidden)
        num_sentences = int(token_sentence.max().item()) + 1 if token_sentence.numel() else 0
        num_sentences = max(num_sentences, 1)
        sentence_ids = torch.arange(num_sentences, device=hidden.device)
        membership = (token_sentence.unsqueeze(1) == sentence_ids.view(1, -1, 1)).to(hidden.dtype)  # [B,S,T]
        counts = membership.sum(-1, keepdim=True).clamp(min=1.0)
        mean = torch.bmm(membership, hidden) / counts
        masked = hidden.unsqueeze(1).masked_fill(membership.unsqueeze(-1) == 0, torch.finfo(hidden.dtype).min)
        maximum = masked.max(dim=2).values
        maximum = torch.where(counts > 0.5, maximum, torch.zeros_like(maximum))
        sentence_logits = self.sentence_head(torch.cat([mean, maximum], dim=-1))
        return token_logits, sentence_logits
