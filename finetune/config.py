"""The fine-tuning configuration file, validated."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, Field

DEFAULT_CONFIG = Path(__file__).parent / "config.toml"


class DataConfig(BaseModel):
    train_conversations: int = Field(900, ge=1)
    dev_conversations: int = Field(150, ge=1)
    bitext_examples: int = Field(300, ge=0)


class LoraConfig(BaseModel):
    rank: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainConfig(BaseModel):
    learning_rate: float = Field(1e-3, gt=0)
    epochs: float = Field(1, gt=0)
    max_steps: int | None = Field(None, ge=1)  # overrides epochs (tests: a few steps)
    batch_size: int = Field(8, ge=1)
    max_length: int = Field(640, ge=32)
    warmup_steps: int = Field(10, ge=0)
    checkpoint_every: int = Field(25, ge=1)
    bf16: bool = False  # bf16 autocast backward is pathologically slow on CPUs without native bf16
    threads: int = Field(2, ge=1)


class FinetuneConfig(BaseModel):
    model: str = "smollm2-135m"
    seed: int = 13
    data: DataConfig = DataConfig()
    lora: LoraConfig = LoraConfig()
    train: TrainConfig = TrainConfig()

    @classmethod
    def load(cls, path: Path = DEFAULT_CONFIG) -> FinetuneConfig:
        return cls.model_validate(tomllib.loads(Path(path).read_text()))
