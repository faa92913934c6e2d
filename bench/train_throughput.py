"""Training throughput of the project's fine-tuning path (HF Trainer) for the SmolLM2-135M shape.

Builds a randomly initialised LlamaConfig with SmolLM2-135M's dimensions and a synthetic
word-level tokenizer (one token per word, so token counts are exact and nothing is read from
disk or network), then trains through `stackpipes.lm.training.fine_tune` with packed sequences
and the device's automatic switches (CUDA: bf16 autocast, torch.compile, fused AdamW).

Reports tokens/s over the whole run and over the steps after `--warmup-steps` (compilation and
allocator warm-up excluded), and model FLOPs utilisation:

    MFU = 6 * parameters * tokens/s / peak FLOP/s

with the peak from a table of dense bf16 peaks (H100 SXM and H200: 989 TFLOP/s) or `--peak-flops`.
A second figure adds the attention score FLOPs (12 * layers * hidden * seq per token), which
6N leaves out. On CPU there is no table entry: MFU is n/a unless `--peak-flops` is given.

Needs torch, transformers (with accelerate) and pydantic; no ZenML or MLflow import, so it runs
on a bare GPU box with this repository copied. Writes bench/results/train_throughput.json.

    python bench/train_throughput.py                                   # GPU: seq 512, batch 32
    python bench/train_throughput.py --seq-len 128 --batch-size 4 --steps 8 --warmup-steps 2  # CPU
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# SmolLM2-135M (HuggingFaceTB/SmolLM2-135M config.json)
SMOLLM2_135M = {
    "vocab_size": 49152,
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "max_position_embeddings": 8192,
    "rope_theta": 100000.0,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": True,
}

# Dense bf16 tensor-core peaks, FLOP/s, matched against torch.cuda.get_device_name().
# Order matters: the first substring found wins ("H100 PCIe" before "H100").
PEAK_BF16_FLOPS = (
    ("H100 PCIe", 756e12),
    ("H100", 989e12),
    ("H200", 989e12),
    ("A100", 312e12),
)


def device_peak_flops(device_name: str) -> float | None:
    for marker, peak in PEAK_BF16_FLOPS:
        if marker in device_name:
            return peak
    return None


def synthetic_tokenizer(vocab_size: int) -> transformers.PreTrainedTokenizerFast:
    """Word-level tokenizer over words w0..wN: every word of a text is exactly one token."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    vocab = {token: index for index, token in enumerate(specials)}
    vocab.update({f"w{i}": i + len(specials) for i in range(vocab_size - len(specials))})
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )


def synthetic_texts(tokens_needed: int, vocab_size: int, words_per_text: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    text_count = tokens_needed // words_per_text + 2
    return [" ".join(f"w{rng.randrange(vocab_size - 4)}" for _ in range(words_per_text)) for _ in range(text_count)]


def build_model(layers: int | None, tokenizer) -> transformers.PreTrainedModel:
    shape = dict(SMOLLM2_135M, num_hidden_layers=layers or SMOLLM2_135M["num_hidden_layers"])
    config = transformers.LlamaConfig(
        **shape,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(config)


def parse_switch(value: str) -> bool | str:
    return {"auto": "auto", "on": True, "off": False}[value]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup-steps", type=int, default=15, help="left out of steady tokens/s")
    parser.add_argument("--layers", type=int, default=None, help="fewer layers than 30 for a quick run")
    parser.add_argument("--compile", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--bf16", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--optim", default="auto", help="Trainer optimizer name; auto = fused AdamW on CUDA")
    parser.add_argument("--no-packing", action="store_true")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads; on a busy shared CPU one thread can beat all cores")
    parser.add_argument("--peak-flops", type=float, default=None, help="override the peak FLOP/s table")
    parser.add_argument("--out", type=Path, default=RESULTS / "train_throughput.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from stackpipes.lm.training import LMTrainingConfig, fine_tune

    tokenizer = synthetic_tokenizer(SMOLLM2_135M["vocab_size"])
    model = build_model(args.layers, tokenizer)
    parameters = sum(p.numel() for p in model.parameters())
    config = LMTrainingConfig(
        max_steps=args.steps,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        packing=not args.no_packing,
        subset_size=None,
        eval_fraction=0.01,
        max_eval_examples=2,
        torch_compile=parse_switch(args.compile),
        bf16=parse_switch(args.bf16),
        optim=args.optim,
        # Logging reads the loss back from the GPU (a sync): once at the end only.
        logging_steps=args.steps,
        timing_warmup_steps=args.warmup_steps,
        learning_rate=3e-4,
    )
    # Enough text for every step without a second epoch; each text one packed block.
    tokens_needed = int(args.steps * args.batch_size * args.seq_len * 1.05) + args.seq_len * 4
    texts = synthetic_texts(tokens_needed, SMOLLM2_135M["vocab_size"], args.seq_len - 1, seed=0)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as output_dir:
        report = fine_tune(model, tokenizer, texts, config, output_dir)
    wall_seconds = time.perf_counter() - started

    device_name = torch.cuda.get_device_name() if report.device == "cuda" else platform.processor() or "cpu"
    peak = args.peak_flops or (device_peak_flops(device_name) if report.device == "cuda" else None)
    layers = model.config.num_hidden_layers
    flops_6n = 6 * parameters
    flops_with_attention = flops_6n + 12 * layers * model.config.hidden_size * args.seq_len
    steady = report.steady_tokens_per_second or report.tokens_per_second

    def mfu(flops_per_token: int, tokens_per_second: float) -> float | None:
        return flops_per_token * tokens_per_second / peak if peak else None

    result = {
        "device": report.device,
        "device_name": device_name,
        "cpu_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "shape": {**SMOLLM2_135M, "num_hidden_layers": layers},
        "parameters": parameters,
        "seq_len": args.seq_len,
        "batch_size": args.batch_size,
        "steps": report.steps,
        "warmup_steps": args.warmup_steps,
        "torch_compile": report.torch_compile,
        "dtype": report.dtype,
        "optim": report.optim,
        "packing": report.packing,
        "train_tokens": report.train_tokens,
        "train_seconds": report.seconds,
        "wall_seconds": wall_seconds,
        "tokens_per_second": report.tokens_per_second,
        "steady_tokens_per_second": report.steady_tokens_per_second,
        "peak_flops": peak,
        "mfu_6n": mfu(flops_6n, steady),
        "mfu_6n_with_attention": mfu(flops_with_attention, steady),
        "mfu_6n_whole_run": mfu(flops_6n, report.tokens_per_second),
        "loss_before": report.loss_before,
        "loss_after": report.loss_after,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print_summary(result)
    return result


def print_summary(result: dict) -> None:
    def percent(value: float | None) -> str:
        return "n/a (no peak FLOP/s for this device; pass --peak-flops)" if value is None else f"{value:.1%}"

    print(f"device            {result['device_name']} ({result['device']}, {result['dtype']}, "
          f"compile={result['torch_compile']}, optim={result['optim']})")
    print(f"shape             {result['shape']['num_hidden_layers']} layers, {result['parameters'] / 1e6:.1f}M "
          f"params, seq {result['seq_len']}, batch {result['batch_size']}, {result['steps']} steps")
    print(f"tokens/s          {result['tokens_per_second']:,.0f} whole run; "
          f"{(result['steady_tokens_per_second'] or 0):,.0f} after {result['warmup_steps']} warm-up steps")
    print(f"MFU (6N)          {percent(result['mfu_6n'])}")
    print(f"MFU (6N + attn)   {percent(result['mfu_6n_with_attention'])}")
    print(f"held-out loss     {result['loss_before']:.3f} -> {result['loss_after']:.3f}")


if __name__ == "__main__":
    main()
