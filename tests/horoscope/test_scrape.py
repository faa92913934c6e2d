"""Horoscope scraping over real HTTP on loopback: bundled sites, failures, retries, layouts."""

from __future__ import annotations

import filecmp
import importlib.util
import json
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from stackpipes.core.checks import load_suite, validate_dataframe
from stackpipes.horoscope.schema import RAW_COLUMNS, SIGNS
from stackpipes.horoscope.scrape import scrape_all, scrape_source
from stackpipes.horoscope.sites import BUNDLED_SITES, QuietFileHandler, serve_folder
from stackpipes.horoscope.sources import (
    SOURCES_DIR,
    SourceSpec,
    SourceSpecError,
    load_source,
    load_sources,
)
from stackpipes.platform.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "scripts" / "make_horoscope_sites.py"
RAW_SUITE = ROOT / "configs" / "suites" / "horoscope_raw.yaml"
MANIFEST = json.loads((BUNDLED_SITES / "manifest.json").read_text(encoding="utf-8"))
DATES = MANIFEST["dates"]
SYMBOL_CHARS = "★✨©🌙💫"


def _generator():
    spec = importlib.util.spec_from_file_location("make_horoscope_sites", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def quick(spec: SourceSpec, **http) -> SourceSpec:
    """The spec without politeness pauses and with short backoff, so tests stay fast."""
    return spec.with_http(**{"delay_s": 0, "backoff_s": 0.01, "retries": 2, **http})


@pytest.fixture(scope="module")
def specs() -> dict[str, SourceSpec]:
    return {spec.name: quick(spec) for spec in load_sources()}


@pytest.fixture(scope="module")
def bundled():
    with serve_folder() as server:
        yield server


@pytest.fixture(scope="module")
def collected(specs, bundled):
    started = datetime.now(timezone.utc).replace(microsecond=0)
    result = scrape_all(list(specs.values()), DATES, bundled.base_urls(specs))
    return result, started, datetime.now(timezone.utc)


def handler_failing(first: int, status: int = 503, delay_s: float = 0.0):
    """A file handler that answers `status` to the first `first` requests, after `delay_s`."""
    seen = {"requests": 0}
    lock = threading.Lock()

    class Failing(QuietFileHandler):
        def do_GET(self) -> None:
            with lock:
                seen["requests"] += 1
                failing = seen["requests"] <= first
            time.sleep(delay_s)
            if failing:
                self.send_error(status)
            else:
                super().do_GET()

    return Failing, seen


def site_copy(tmp_path: Path, source: str, old: str = "", new: str = "") -> Path:
    """A copy of one bundled site with `old` replaced by `new` in every file."""
    root = tmp_path / "sites"
    shutil.copytree(BUNDLED_SITES / source, root / source)
    for path in (p for p in (root / source).rglob("*") if p.is_file() and old):
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return root


def test_bundled_sources_land_every_day_and_sign_with_the_generated_texts(collected, bundled):
    result, started, finished = collected
    assert result.landed == ["astroapi", "starlight", "zvezdy"] and not result.skipped
    rows = result.rows
    assert tuple(rows.columns) == RAW_COLUMNS
    for source in result.landed:
        part = rows[rows.source == source]
        assert (
            set(zip(part.date, part.sign, strict=True)) == {(d, s) for d in DATES for s in SIGNS}
            and len(part) == 84
        )
        assert result.report(source).rows == 84 and result.report(source).error is None
        assert part.url.str.startswith(f"{bundled.url}/{source}/").all()
    stamps = rows.fetched_at.map(datetime.fromisoformat)
    assert (stamps >= started).all() and (stamps <= finished).all()
    assert all(stamp.utcoffset().total_seconds() == 0 for stamp in stamps)
    # the text a reader sees: ads dropped, bold and paragraphs joined, JSON null as ""
    corpus, _ = _generator().generate_corpus(DATES, MANIFEST["seed"])
    expected = {(e.source, e.day, e.sign): e.text for entries in corpus.values() for e in entries}
    scraped = {(r.source, r.date, r.sign): r.text for r in rows.itertuples()}
    assert scraped == expected
    # the only per-page problems are the planted empty texts
    empties = [p for p in MANIFEST["planted"] if p["kind"] == "empty"]
    problems = [problem for report in result.reports for problem in report.problems]
    assert len(problems) == len(empties) and all("empty text" in problem for problem in problems)


def test_planted_rows_are_what_cleaning_must_handle(collected):
    rows = collected[0].rows.set_index(["source", "date", "sign"]).text
    kinds = {p["kind"] for p in MANIFEST["planted"]}
    assert kinds == {"short", "long", "duplicate", "empty", "symbols"}
    for planted in MANIFEST["planted"]:
        text = rows[(planted["source"], planted["date"], planted["sign"])]
        check = {
            "short": lambda t: 0 < len(t) < 300,
            "long": lambda t: len(t) > 500,
            "empty": lambda t: t == "",
            "symbols": lambda t: any(ch in t for ch in SYMBOL_CHARS),
            "duplicate": lambda t, p=planted: (
                t == rows[(p["of"]["source"], p["of"]["date"], p["of"]["sign"])]
            ),
        }[planted["kind"]]
        assert check(text), planted
    unplanted = rows.drop(index=[(p["source"], p["date"], p["sign"]) for p in MANIFEST["planted"]])
    assert unplanted.str.len().between(300, 500).all()
    assert not unplanted.duplicated().any()


def test_raw_suite_passes_on_scraped_rows_and_fails_on_an_unknown_sign(collected):
    suite = load_suite(RAW_SUITE)
    rows = collected[0].rows
    report = validate_dataframe(rows, suite, "horoscope_raw")
    assert report.success, report.summary()
    broken = rows.copy()
    broken.loc[3, "sign"] = "ophiuchus"
    report = validate_dataframe(broken, suite, "horoscope_raw")
    assert not report.success
    [failed] = report.failed
    assert (
        failed.expectation == "expect_column_values_to_be_in_set"
        and failed.unexpected_sample == ["ophiuchus"]
    )


def test_a_source_answering_500_fails_after_the_configured_retries_and_the_others_land(
    specs, bundled
):
    handler, seen = handler_failing(first=10**6, status=500)
    with serve_folder(BUNDLED_SITES, handler=handler) as broken:
        result = scrape_all(
            list(specs.values()),
            DATES,
            {**bundled.base_urls(["astroapi", "zvezdy"]), "starlight": f"{broken.url}/starlight"},
        )
    report = result.report("starlight")
    attempts = specs["starlight"].http.retries + 1
    assert (
        report.status == "failed"
        and report.rows == 0
        and seen["requests"] == attempts == report.requests
    )
    assert "HTTP 500" in report.error and f"after {attempts} attempt(s)" in report.error
    assert result.landed == ["astroapi", "zvezdy"]
    assert set(result.rows.source) == {"astroapi", "zvezdy"} and len(result.rows) == 2 * 84


def test_nothing_listening_fails_after_retries(specs):
    spec = specs["zvezdy"]
    result = scrape_source(spec, DATES[:2], base_url=f"http://127.0.0.1:{free_port()}/zvezdy")
    assert (
        result.status == "failed"
        and result.rows.empty
        and tuple(result.rows.columns) == RAW_COLUMNS
    )
    assert result.requests == spec.http.retries + 1 and "connection failed" in result.error


def test_a_server_slower_than_the_timeout_fails_and_the_budget_caps_the_source(specs):
    handler, seen = handler_failing(first=0, delay_s=0.6)
    with serve_folder(BUNDLED_SITES, handler=handler) as slow:
        timed_out = scrape_source(
            quick(specs["astroapi"], timeout_s=0.2, retries=1),
            DATES[:1],
            base_url=f"{slow.url}/astroapi",
        )
        assert timed_out.status == "failed" and timed_out.requests == 2
        assert "no answer within 0.2 s after 2 attempt(s)" in timed_out.error
        started = time.monotonic()
        capped = scrape_source(
            quick(specs["starlight"], budget_s=1.0), DATES, base_url=f"{slow.url}/starlight"
        )
        assert capped.status == "failed" and "time budget of 1 s used up" in capped.error
        assert capped.requests < 84 and time.monotonic() - started < 2.5


def test_retries_with_backoff_recover_from_transient_failures(specs, bundled):
    spec = quick(specs["astroapi"], retries=3, backoff_s=0.1, backoff_factor=2.0)
    handler, seen = handler_failing(first=2, status=503)
    started = time.monotonic()
    with serve_folder(BUNDLED_SITES, handler=handler) as flaky:
        result = scrape_source(spec, DATES, base_url=f"{flaky.url}/astroapi")
    elapsed = time.monotonic() - started
    assert result.status == "ok" and len(result.rows) == 84
    assert result.requests == seen["requests"] == len(DATES) + 2
    assert elapsed >= 0.1 + 0.2  # two backoff pauses: 0.1 s, then 0.1 * 2
    reference = scrape_source(specs["astroapi"], DATES, base_url=f"{bundled.url}/astroapi")
    assert result.rows.drop(columns=["url", "fetched_at"]).equals(
        reference.rows.drop(columns=["url", "fetched_at"])
    )


@pytest.mark.parametrize(
    ("source", "old", "new", "message"),
    [
        ("starlight", 'class="reading"', 'class="reading-body"', "text not found at 'div.reading'"),
        ("zvezdy", "data-znak=", "data-sign=", "no horoscope block at items 'section[data-znak]'"),
        ("astroapi", '"text":', '"body":', "text not found at 'forecast.text'"),
    ],
)
def test_a_changed_layout_is_reported_as_layout_changed(specs, tmp_path, source, old, new, message):
    with serve_folder(site_copy(tmp_path, source, old, new)) as changed:
        result = scrape_source(specs[source], DATES, base_url=f"{changed.url}/{source}")
    assert result.status == "layout_changed" and result.rows.empty
    assert message in result.error and result.requests == 1  # stops at the first page


def test_a_missing_page_is_a_problem_not_a_failure(specs, tmp_path):
    root = site_copy(tmp_path, "starlight")
    (root / "starlight" / "daily" / DATES[2] / "leo.html").unlink()
    with serve_folder(root) as server:
        result = scrape_source(specs["starlight"], DATES, base_url=f"{server.url}/starlight")
    assert (
        result.status == "ok" and len(result.rows) == 83 and result.requests == 84
    )  # 404 is not retried
    assert any(f"{DATES[2]}/leo.html: HTTP 404" in problem for problem in result.problems)
    assert not ((result.rows.date == DATES[2]) & (result.rows.sign == "leo")).any()


def _mutate(data: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data[part]
    if value is _DELETE:
        del data[last]
    else:
        data[last] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("base", "key", "value", "named_key", "expectation"),
    [
        ("starlight", "extract.txt", {"path": "p"}, "extract.txt", "unknown key; expected one of"),
        ("starlight", "http.retries", "many", "http.retries", "valid integer"),
        ("starlight", "kind", "html_per_week", "kind", "html_per_sign"),
        ("starlight", "url", "{base_url}/daily/{sign}.html", "url", "with {date}"),
        ("starlight", "url", "{base_url}/daily/{date}/{sgn}.html", "url", "placeholders among"),
        ("starlight", "extract.items", "article[", "extract.items", "a valid CSS selector"),
        (
            "starlight",
            "extract.date.format",
            "%Y-%m",
            "extract.date.format",
            "writes year, month and day",
        ),
        ("starlight", "http.retry_statuses", [404, 500], "http.retry_statuses", "404 means"),
        ("zvezdy", "extract.sign", _DELETE, "extract.sign", "required for html_per_day"),
        ("astroapi", "extract.text.attribute", "href", "extract.text.attribute", "only for HTML"),
        ("astroapi", "name", _DELETE, "name", "required key is missing"),
    ],
)
def test_a_malformed_source_file_names_file_key_and_expectation(
    tmp_path, base, key, value, named_key, expectation
):
    data = yaml.safe_load((SOURCES_DIR / f"{base}.yaml").read_text(encoding="utf-8"))
    _mutate(data, key, value)
    path = tmp_path / f"{base}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SourceSpecError) as error:
        load_source(path)
    assert error.value.origin == str(path) and error.value.key == named_key
    assert expectation in error.value.expected and str(error.value).startswith(
        f"{path}: {named_key}: "
    )


def test_unreadable_yaml_and_duplicate_names_are_refused(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(SourceSpecError, match=r"broken\.yaml: <file>: valid YAML"):
        load_source(broken)
    twin = tmp_path / "twin.yaml"
    twin.write_text((SOURCES_DIR / "zvezdy.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(SourceSpecError, match="name: a name no other source uses"):
        load_sources([SOURCES_DIR / "zvezdy.yaml", twin])
    with pytest.raises(SourceSpecError, match=r"http\.delay_s"):
        load_source(SOURCES_DIR / "zvezdy.yaml").with_http(delay_s=-1)


def test_only_the_requested_days_and_signs_are_fetched(specs, bundled):
    signs = ["leo", "pisces"]
    per_day = scrape_source(specs["zvezdy"], DATES[:2], signs, f"{bundled.url}/zvezdy")
    per_sign = scrape_source(specs["starlight"], DATES[:2], signs, f"{bundled.url}/starlight")
    for result, pages in ((per_day, 2), (per_sign, 4)):
        assert result.status == "ok" and result.requests == result.pages == pages
        assert sorted(zip(result.rows.date, result.rows.sign, strict=True)) == sorted(
            (day, sign) for day in DATES[:2] for sign in signs
        )


def test_bad_arguments_raise_value_errors(specs):
    with pytest.raises(ValueError, match="dates: '2026-11-31' is not a date"):
        scrape_source(specs["zvezdy"], ["2026-11-31"])
    with pytest.raises(ValueError, match="signs: expected some of"):
        scrape_source(specs["zvezdy"], DATES, signs=["ophiuchus"])
    with pytest.raises(ValueError, match=r"base_urls: no source named \['stralight'\]"):
        scrape_all(list(specs.values()), DATES, {"stralight": "http://127.0.0.1:1"})


def test_bundled_sites_are_what_the_seeded_generator_writes(tmp_path):
    out = tmp_path / "sites"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out)], check=True, capture_output=True
    )
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(BUNDLED_SITES) for p in BUNDLED_SITES.rglob("*") if p.is_file()
    )
    _, mismatch, errors = filecmp.cmpfiles(
        out, BUNDLED_SITES, [str(f) for f in files], shallow=False
    )
    assert not mismatch and not errors, (
        "run scripts/make_horoscope_sites.py and commit data/horoscope_sites"
    )
    assert sum((out / f).stat().st_size for f in files) < 2_000_000
