"""The YouTube client against the bundled sample API on loopback: paging, quota errors and retries,
comments disabled, the key kept out of every URL, log line and report; the sample made by its script."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import pytest

from stackpipes.core.fetching import HttpSpec
from stackpipes.ratings.sample_api import (
    API_PREFIX,
    BUNDLED_SAMPLE,
    Fault,
    SampleData,
    serve_sample,
)
from stackpipes.ratings.sources import CommentSource, SourceFileError, load_source
from stackpipes.ratings.youtube import collect_source

ROOT = Path(__file__).resolve().parents[2]
FAST = HttpSpec(retries=2, backoff_s=0.01, max_backoff_s=0.05, delay_s=0, budget_s=20,
                retry_statuses=[403, 429, 500, 502, 503, 504])
KEY = "AIzaSy-test-key-0123456789"


def _source(**changes) -> CommentSource:
    queries = SampleData(BUNDLED_SAMPLE).queries()[:3]
    return CommentSource(name="youtube", queries=[q.title() for q in queries], http=FAST, **changes)


def _video_counts(query: str) -> list[int]:
    data = SampleData(BUNDLED_SAMPLE)
    return [len(data.comments(v["videoId"])) for v in data.search[query.lower()]]


def test_paging_reads_every_page_up_to_the_counts():
    source = _source(page_size=7, comments_per_video=15, videos_per_query=2)
    with serve_sample() as server:
        result = collect_source(source, "2026-12-01", base_url=server.url + API_PREFIX)
        seen = list(server.api.seen_requests)
    expected = sum(min(15, n) for q in source.queries for n in _video_counts(q))
    assert result.report.status == "ok" and result.report.rows == expected == len(result.rows)
    assert result.report.queries_done == 3 and result.report.videos == 6
    threads = [path for path in seen if "/commentThreads" in path]
    assert any("pageToken=p7" in path for path in threads) and any("pageToken=p14" in path for path in threads)
    assert all("maxResults=7" in p or "maxResults=1" in p for p in threads)  # the last page asks for what is left
    assert result.rows["comment_id"].is_unique
    assert set(result.rows["query"]) == {q.lower().replace(" ", "-") for q in source.queries}


def test_a_quota_error_is_retried_and_the_collection_completes():
    source = _source(comments_per_video=5)
    with serve_sample(faults=[Fault("commentThreads", 403, "quotaExceeded", count=2)]) as server:
        result = collect_source(source, "2026-12-01", base_url=server.url + API_PREFIX)
        requests = len(server.api.seen_requests)
    assert result.report.status == "ok" and result.report.queries_done == 3
    assert result.report.requests == requests == 3 + 6 + 2  # searches, one page per video, two retried


def test_quota_used_up_keeps_the_finished_queries_and_says_where_it_stopped(caplog):
    source = _source(comments_per_video=5)
    # the first query's three requests succeed; from then on every request is over quota
    with serve_sample() as server:
        server.api.faults.append(Fault("search", 403, "quotaExceeded", count=0))
        first = collect_source(source.model_copy(update={"queries": source.queries[:1]}), "2026-12-01",
                               base_url=server.url + API_PREFIX)
        server.api.faults[0].count = 1_000
        with caplog.at_level(logging.WARNING):
            result = collect_source(source, "2026-12-01", base_url=server.url + API_PREFIX)
    assert first.report.status == "ok"
    assert result.report.status == "failed" and result.report.rows == 0
    assert "quotaExceeded" in result.report.error and "after 3 attempt(s)" in result.report.error
    assert "youtube: failed" in caplog.text


def test_comments_disabled_skips_the_video_only():
    data = SampleData(BUNDLED_SAMPLE)
    source = _source(comments_per_video=5)
    disabled = data.search[source.queries[0].lower()][0]["videoId"]
    with serve_sample(disabled_videos=frozenset({disabled})) as server:
        result = collect_source(source, "2026-12-01", base_url=server.url + API_PREFIX)
    assert result.report.status == "ok" and result.report.queries_done == 3
    assert disabled not in set(result.rows["video_id"])
    assert any("commentsDisabled" in problem for problem in result.report.problems)
    assert result.report.requests == 3 + 6  # a disabled video is not retried


def test_the_key_travels_in_a_header_and_never_in_a_url_log_or_report(caplog):
    source = _source(comments_per_video=3)
    with serve_sample(require_key=KEY, faults=[Fault("search", 503, "backendError", count=1)]) as server:
        with caplog.at_level(logging.DEBUG):
            result = collect_source(source, "2026-12-01", key=KEY, base_url=server.url + API_PREFIX)
        seen = list(server.api.seen_requests)
        refused = collect_source(source, "2026-12-01", key="wrong", base_url=server.url + API_PREFIX)
    assert result.report.status == "ok" and result.report.live
    assert all(KEY not in path for path in seen)
    assert KEY not in caplog.text
    assert KEY not in json.dumps(result.report.model_dump()) and KEY not in result.rows.to_csv()
    assert refused.report.status == "failed" and refused.report.rows == 0
    assert "keyInvalid" in refused.report.error and "wrong" not in refused.report.error


def test_a_source_file_error_names_the_file_and_key(tmp_path):
    path = tmp_path / "youtube.yaml"
    path.write_text("name: youtube\nqueries: [a]\npage_size: 500\n")
    with pytest.raises(SourceFileError, match=r"youtube.yaml: page_size: Input should be less than or equal to 100"):
        load_source(path)
    path.write_text("name: youtube\nqueries: ['About a Boy', 'about a boy!']\n")
    with pytest.raises(SourceFileError, match="name the same object key 'about-a-boy'"):
        load_source(path)
    assert len(load_source(ROOT / "configs" / "ratings" / "sources" / "youtube.yaml").queries) == 60


def test_the_bundled_sample_is_what_its_script_makes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_youtube_sample", ROOT / "scripts" / "make_youtube_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = module.make_sample(tmp_path / "sample")
    assert made["films"] == 60 and made["comments"] > 1500
    bundled = sorted(p.relative_to(BUNDLED_SAMPLE) for p in BUNDLED_SAMPLE.rglob("*") if p.is_file())
    assert bundled == sorted(p.relative_to(tmp_path / "sample") for p in (tmp_path / "sample").rglob("*") if p.is_file())
    for relative in bundled:
        assert (BUNDLED_SAMPLE / relative).read_bytes() == (tmp_path / "sample" / relative).read_bytes(), (
            f"{relative} differs: run scripts/make_youtube_sample.py and commit data/ratings_youtube")
