"""The tokenizer of the CPU inference path, read straight from ``tokenizer.json`` with the ``tokenizers`` library
(what transformers' fast tokenizer wraps: ids and offsets are the same). Its own module, free of torch, so that
worker processes that only tokenize and decode start quickly (``pipeline.engines.local``)."""

from __future__ import annotations

import json
from pathlib import Path


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


class OffsetTokenizer:
    """The slice of a transformers fast tokenizer that windowing uses: batch encoding with character offsets
    and the ids of the special tokens."""

    is_fast = True

    def __init__(self, base_dir: Path):
        from tokenizers import Tokenizer

        base_dir = Path(base_dir)
        self._tokenizer = Tokenizer.from_file(str(base_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        names = {**read_json(base_dir / "special_tokens_map.json"), **read_json(base_dir / "tokenizer_config.json")}
        defaults = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]"}
        for role in ("cls_token", "sep_token", "pad_token", "bos_token", "eos_token"):
            token = names.get(role, defaults.get(role))
            if isinstance(token, dict):
                token = token.get("content")
            setattr(self, f"{role}_id", self._tokenizer.token_to_id(token) if token else None)

    def __call__(self, texts: list[str], *, add_special_tokens: bool = False,
                 return_offsets_mapping: bool = True) -> dict[str, list]:
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=add_special_tokens)
        result: dict[str, list] = {"input_ids": [e.ids for e in encodings]}
        if return_offsets_mapping:
            result["offset_mapping"] = [e.offsets for e in encodings]
        return result
