"""The sampling-grid table, the choice of the best strategy and the generation config it becomes."""

from __future__ import annotations

import pytest

from stackpipes.horoscope.grid import (
    GridConfig,
    choose_strategy,
    generation_config_for,
    grid_chart_png,
    grid_html,
    grid_table,
)

ROWS = [
    {"top_p": 0.8, "temperature": 0.7, "n_texts": 4, "lm_loss_acceptability": 0.9, "diversity": 0.2,
     "sentiment_non_negative_share": 1.0, "texts": ["a", "b", "c", "d"]},
    {"top_p": 0.8, "temperature": 1.0, "n_texts": 4, "lm_loss_acceptability": 0.5, "diversity": 0.6,
     "sentiment_non_negative_share": 0.75, "texts": ["e", "f", "g", "h"]},
    {"top_p": 0.95, "temperature": 1.0, "n_texts": 4, "lm_loss_acceptability": 0.25, "diversity": 0.9,
     "sentiment_non_negative_share": 1.0, "texts": ["i", "j", "k", "l"]},
]


def test_grid_table_scores_each_strategy_by_the_weighted_metrics_and_drops_the_texts():
    table = grid_table(ROWS, {"acceptability": 2.0, "diversity": 1.0})
    assert "texts" not in table.columns and len(table) == 3
    expected = [2 * r["lm_loss_acceptability"] + r["diversity"] for r in ROWS]
    assert table["score"].tolist() == pytest.approx(expected)


def test_the_best_strategy_maximises_the_score_among_acceptable_ones():
    table = grid_table(ROWS, {"acceptability": 1.0, "diversity": 1.0, "sentiment_non_negative_share": 1.0})
    # scores: 2.1, 1.85, 2.15 -> the last one wins unless acceptability must reach 0.5
    assert choose_strategy(table)["top_p"] == 0.95
    best = choose_strategy(table, min_acceptability=0.5)
    assert (best["top_p"], best["temperature"]) == (0.8, 0.7)
    assert isinstance(best["score"], float)  # plain Python values: it is stored as JSON
    with pytest.raises(ValueError, match="no strategy reaches lm_loss_acceptability >= 0.95"):
        choose_strategy(table, min_acceptability=0.95)


def test_grid_config_rejects_bad_values_with_the_field_named():
    with pytest.raises(ValueError, match="top_p 1.5"):
        GridConfig(top_p=[1.5])
    with pytest.raises(ValueError, match="temperature -1"):
        GridConfig(temperature=[-1])
    with pytest.raises(ValueError, match="unknown metric weights"):
        GridConfig(weights={"fluency": 1.0})


def test_the_chosen_strategy_becomes_a_sampling_generation_config():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    from stackpipes.lm.bundle import LanguageModel

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel({"<pad>": 0, "</s>": 1, "a": 2}, unk_token="<pad>")),
        pad_token="<pad>", eos_token="</s>",
    )
    lm = LanguageModel(model=None, tokenizer=tokenizer)  # type: ignore[arg-type]
    sampled = generation_config_for({"top_p": 0.9, "temperature": 0.7}, lm, max_new_tokens=40)
    assert (sampled.do_sample, sampled.top_p, sampled.temperature, sampled.max_new_tokens) == (True, 0.9, 0.7, 40)
    assert sampled.top_k == 0 and sampled.eos_token_id == 1  # top-p alone decides
    greedy = generation_config_for({"top_p": 0.9, "temperature": 0.0}, lm, max_new_tokens=40)
    assert greedy.do_sample is False


def test_chart_and_report_show_every_strategy():
    table = grid_table(ROWS, {"acceptability": 1.0})
    png = grid_chart_png(table)
    assert png.startswith(b"\x89PNG")
    page = grid_html(table, png, choose_strategy(table), {"top_p=0.8,temperature=0.7": ["a <b>"]})
    assert page.count("<tr") == 1 + len(ROWS) and "a &lt;b&gt;" in page
