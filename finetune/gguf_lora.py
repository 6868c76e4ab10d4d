"""A peft LoRA adapter as a llama.cpp LoRA-adapter GGUF, written with the `gguf` package.

llama.cpp applies it on top of the unchanged base GGUF (`Llama(lora_path=...)`), so the quantised base file keeps
its weights and tokenizer metadata. What this must get right, as llama.cpp's convert_lora_to_gguf.py does:
tensor names in GGUF form (`blk.N.attn_q.weight.lora_a`), lora_a as (rank, in) and lora_b as (out, rank), and for
llama-architecture models the rotary permutation that the GGUF conversion applied to the q and k projections —
the rows of lora_b for q and k are permuted the same way, or the adapter would shift the wrong dimensions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
KEY = re.compile(r"layers\.(\d+)\.(self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)\.lora_([AB])\.weight$")
FORMAT = 1  # bump when the written file changes


def permute(weights: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """llama.cpp's LlamaModel.permute (convert_hf_to_gguf.py), on the output rows."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def base_metadata(base_gguf: Path) -> dict[str, int | str]:
    import gguf

    reader = gguf.GGUFReader(base_gguf)

    def value(key: str) -> int | str:
        field = reader.fields[key]
        part = field.parts[field.data[0]]
        return bytes(part).decode() if field.types[0] == gguf.GGUFValueType.STRING else int(part[0])

    arch = str(value("general.architecture"))
    return {"arch": arch, "n_head": value(f"{arch}.attention.head_count"),
            "n_head_kv": value(f"{arch}.attention.head_count_kv")}


def convert(adapter_dir: Path, base_gguf: Path, target: Path) -> Path:
    """Write the adapter as a llama.cpp LoRA GGUF (float32 tensors), atomically."""
    import gguf
    from safetensors.numpy import load_file

    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    meta = base_metadata(base_gguf)
    weights = load_file(adapter_dir / "adapter_model.safetensors")
    pairs: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for key, tensor in weights.items():
        match = KEY.search(key)
        if match is None:
            raise ValueError(f"unsupported adapter tensor {key} (only attention and MLP projections)")
        layer, module, which = int(match[1]), match[2], match[3]
        pairs.setdefault((layer, module), {})[which] = tensor.astype(np.float32)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    writer = gguf.GGUFWriter(partial, str(meta["arch"]))
    writer.add_string(gguf.Keys.General.TYPE, gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
    for (layer, module), pair in sorted(pairs.items()):
        lora_a, lora_b = pair["A"], pair["B"]
        if meta["arch"] == "llama" and module == "self_attn.q_proj":
            lora_b = permute(lora_b, int(meta["n_head"]), int(meta["n_head"]))
        elif meta["arch"] == "llama" and module == "self_attn.k_proj":
            lora_b = permute(lora_b, int(meta["n_head"]), int(meta["n_head_kv"]))
        name = f"blk.{layer}.{HF_TO_GGUF[module]}.weight"
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(lora_a))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(lora_b))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(target)
    return target


def cached_gguf(adapter_dir: Path, base_gguf: Path, cache_dir: Path) -> Path:
    """The adapter's GGUF, built once per adapter content and base model (kept out of the repository)."""
    digest = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        digest.update((adapter_dir / name).read_bytes())
    digest.update(f"{base_gguf.name}|{base_gguf.stat().st_size}|{FORMAT}".encode())
    target = cache_dir / "adapters" / f"{adapter_dir.name}-{digest.hexdigest()[:16]}.gguf"
    return target if target.is_file() else convert(adapter_dir, base_gguf, target)
