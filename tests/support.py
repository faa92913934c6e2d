"""Helpers several test modules share: private S3 + MLflow servers, stack clean-up, a tiny LM."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from stackpipes.platform.processes import free_port
from stackpipes.platform.services import mlflow_server, s3_server

# Variables the servers' owner sets or up() exports; all are restored afterwards.
VARIABLES = (
    "STACKPIPES_HOME", "STACKPIPES_S3_PORT", "STACKPIPES_S3_BUCKETS", s3_server.ACCESS_KEY_ENV,
    s3_server.SECRET_KEY_ENV, s3_server.ENDPOINT_ENV, "STACKPIPES_MLFLOW_PORT", "STACKPIPES_MLFLOW_BUCKET",
    mlflow_server.TRACKING_URI_ENV, "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "MLFLOW_S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
)
START_SECONDS: dict[str, float] = {}


@contextlib.contextmanager
def isolated_environment(names: tuple[str, ...], **values: str) -> Iterator[None]:
    """Unset `names`, set `values`, and put every one of them back as it was afterwards."""
    saved = {name: os.environ.get(name) for name in (*names, *values)}
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def private_servers(state: Path) -> Iterator[str]:
    """The project's MLflow tracking server and the S3 server it needs, on free ports, with their
    state in `state`; yields the tracking URI and stops both afterwards."""
    with isolated_environment(VARIABLES, STACKPIPES_HOME=str(state), STACKPIPES_S3_PORT=str(free_port()),
                              STACKPIPES_MLFLOW_PORT=str(free_port())):
        try:
            started = time.monotonic()
            uri = mlflow_server.up()
            START_SECONDS["first"] = time.monotonic() - started
            yield uri
        finally:
            mlflow_server.down()
            s3_server.down()


def forget_stack(client, spec) -> None:
    """Remove a registered stack file's stack, components and secrets (whichever exist)."""
    from zenml.enums import StackComponentType

    if client.active_stack_model.name == spec.name:
        client.activate_stack("local")
    with contextlib.suppress(KeyError):
        client.delete_stack(spec.name)
    for ctype in spec.components:
        with contextlib.suppress(KeyError):
            client.delete_stack_component(spec.component_name(ctype), StackComponentType(ctype))
    for secret in spec.secrets:
        with contextlib.suppress(KeyError):
            client.delete_secret(secret.name)


def save_tiny_causal_lm(folder: Path) -> str:
    """A tiny Llama (random weights) and a BPE tokenizer trained here, saved as an HF folder: what
    a `model_ref` path points at, loaded by the same code as any HF id or folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    sample = ["Horoscope for Aries, 2026-11-01: a calm day for love, work and money; trust your friends.",
              "Гороскоп: спокойный день, удача в делах и любви."]
    backend.train_from_iterator(sample * 4, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<unk>", "<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>",
                                        eos_token="</s>", pad_token="<pad>")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def step_log_text(step_name: str) -> str:
    """What the newest run's `step_name` wrote to its log in the store (ZenML's artifact log store)."""
    from stackpipes.platform.env import boot_zenml

    boot_zenml()
    from zenml.client import Client

    client = Client()
    run = client.list_pipeline_runs(sort_by="desc:created", size=1, hydrate=True).items[0]
    step = client.get_run_step(run.steps[step_name].id, hydrate=True)
    store_path = Path(client.active_stack.artifact_store.path)
    texts = []
    for logs in step.log_collection or []:
        uri = Path(str(logs.uri))
        files = [uri] if uri.is_file() else sorted(uri.rglob("*")) if uri.is_dir() else []
        texts += [f.read_text(errors="replace") for f in files if f.is_file() and store_path in f.parents]
    return "\n".join(texts)
