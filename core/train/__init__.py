"""Instruction fine-tuning: settings (`config`), records -> tokens with prompt masking (`data`), Trainer wiring
(`trainer`), the loss from the answer's logits only (`answer_loss`), generate-and-score evaluation (`evalgen`).

    python -c "from core.train import TrainConfig; print(TrainConfig().micro_batch_size)"
"""

from core.train.config import TrainConfig, TrainResult
from core.train.data import (
    IGNORE_INDEX,
    Collator,
    EncodeStats,
    encode_pair,
    encode_records,
    grouped_order,
    padding_share,
    read_instruction_records,
)
from core.train.trainer import gradient_accumulation, summary, train

__all__ = [
    "IGNORE_INDEX", "Collator", "EncodeStats", "TrainConfig", "TrainResult", "encode_pair", "encode_records",
    "gradient_accumulation", "grouped_order", "padding_share", "read_instruction_records", "summary", "train",
]
