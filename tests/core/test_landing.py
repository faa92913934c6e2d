"""Raw landing on a local folder and on a real moto S3 server started by services.s3_server; ZenML's S3 store."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pandas as pd
import pytest

from stackpipes.core.landing import (
    LandingInputError,
    _write_once,
    land_raw,
    list_raw,
    read_raw,
    write_once_file,
)
from stackpipes.horoscope.schema import RAW_COLUMNS, SIGNS, VOLATILE_COLUMNS
from stackpipes.platform.objectstore import filesystem, storage_options
from stackpipes.platform.processes import free_port
from stackpipes.platform.services import s3_server as s3
from tests.support import isolated_environment

ROOT = Path(__file__).resolve().parents[2]
# Variables the module sets or up() exports; all are restored when the module ends.
S3_VARIABLES = (
    "STACKPIPES_HOME", "STACKPIPES_S3_PORT", "STACKPIPES_S3_BUCKETS", s3.ACCESS_KEY_ENV,
    s3.SECRET_KEY_ENV, s3.ENDPOINT_ENV, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "STACKPIPES_S3_SESSION_TOKEN",
)


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """A moto server of this module's own, on a free port, with state in a temporary folder."""
    with isolated_environment(S3_VARIABLES, STACKPIPES_HOME=str(tmp_path_factory.mktemp("s3-state")),
                              STACKPIPES_S3_PORT=str(free_port())):
        try:
            yield s3.up()
        finally:
            s3.down()


@pytest.fixture(params=["local", "s3"])
def raw_root(request, tmp_path, s3_server) -> str:
    if request.param == "local":
        return str(tmp_path / "raw")
    return f"s3://stackpipes-raw/test-{uuid.uuid4().hex[:8]}"


def horoscopes(days: list[str], sources=("astro_a", "astro_b"), fetched_at="2026-11-20T06:00:00+00:00",
               wording: str = "A calm day") -> pd.DataFrame:
    rows = [
        {"date": day, "sign": sign, "source": source, "text": f"{wording} for {sign}, {source}.",
         "url": f"https://{source}.example/{day}/{sign}", "fetched_at": fetched_at}
        for source in sources for day in days for sign in SIGNS
    ]
    return pd.DataFrame(rows, columns=list(RAW_COLUMNS))


def object_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    return fs.cat_file(path)


def test_server_is_up_with_the_project_buckets(s3_server):
    assert s3_server == f"http://127.0.0.1:{os.environ['STACKPIPES_S3_PORT']}"
    assert os.environ[s3.ENDPOINT_ENV] == s3_server
    names = {b["Name"] for b in s3.client().list_buckets()["Buckets"]}
    assert {"stackpipes-artifacts", "stackpipes-raw"} <= names
    assert s3.status()["running"] and s3.status()["pid"]


def test_rerun_with_the_same_rows_writes_nothing(raw_root):
    first = land_raw(horoscopes(["2026-11-20", "2026-11-21"]), raw_root, RAW_COLUMNS, VOLATILE_COLUMNS)
    assert len(first.written) == 4 and not first.unchanged and not first.kept_existing
    landed = {uri: object_bytes(uri) for uri in list_raw(raw_root)}
    assert sorted(landed) == sorted(first.written)

    # A new fetch of the same content only differs in fetched_at, and in row order.
    refetched = horoscopes(["2026-11-20", "2026-11-21"], fetched_at="2026-11-21T09:30:00+00:00")
    second = land_raw(refetched.iloc[::-1], raw_root, RAW_COLUMNS, VOLATILE_COLUMNS)
    assert sorted(second.unchanged) == sorted(first.written) and not second.written
    assert {uri: object_bytes(uri) for uri in list_raw(raw_root)} == landed


def test_later_run_keeps_a_landed_day_byte_for_byte_and_adds_new_days(raw_root):
    land_raw(horoscopes(["2026-11-20"], sources=("astro_a",)), raw_root, RAW_COLUMNS, VOLATILE_COLUMNS)
    [landed_uri] = list_raw(raw_root)
    before = object_bytes(landed_uri)

    rewritten = horoscopes(["2026-11-20", "2026-11-21"], sources=("astro_a",), wording="A stormy day")
    report = land_raw(rewritten, raw_root, RAW_COLUMNS, VOLATILE_COLUMNS)
    assert report.kept_existing == [landed_uri]
    assert [obj.date for obj in report.objects if obj.status == "written"] == ["2026-11-21"]
    assert object_bytes(landed_uri) == before
    assert landed_uri.endswith("source=astro_a/date=2026-11-20/astro_a_2026-11-20.csv")
    assert [u.rsplit("/", 1)[-1] for u in list_raw(raw_root, dates=["2026-11-21"])] == ["astro_a_2026-11-21.csv"]


def test_read_raw_round_trips_awkward_text(raw_root):
    rows = horoscopes(["2026-11-22"], sources=("astro_a",))
    rows.loc[0, "text"] = 'Mars says "go", then: wait;\nnew line, Овен — удача'
    rows.loc[1, "url"] = ""
    land_raw(rows, raw_root, RAW_COLUMNS, VOLATILE_COLUMNS)
    back = read_raw(list_raw(raw_root), RAW_COLUMNS)
    assert list(back.columns) == list(RAW_COLUMNS)
    key = ["source", "date", "sign"]
    pd.testing.assert_frame_equal(back.sort_values(key).reset_index(drop=True),
                                  rows.sort_values(key).reset_index(drop=True))


def test_exclusive_write_refuses_an_existing_object(raw_root):
    fs, root = filesystem(raw_root)
    path = f"{root}/probe/once.csv"
    _write_once(fs, path, b"first\n")
    with pytest.raises(FileExistsError):
        _write_once(fs, path, b"second\n")
    assert fs.cat_file(path) == b"first\n"
    # No temporary object is left beside the landed one.
    assert [p.rsplit("/", 1)[-1] for p in fs.find(f"{root}/probe")] == ["once.csv"]


def test_a_file_is_streamed_in_once_and_never_replaced(raw_root, tmp_path):
    fs, root = filesystem(raw_root)
    path = f"{root}/probe/lecture.bin"
    first, second = tmp_path / "first.bin", tmp_path / "second.bin"
    first.write_bytes(os.urandom(3 << 20))  # bigger than one copy chunk
    second.write_bytes(b"a different file")
    assert write_once_file(fs, path, str(first)) is True
    assert write_once_file(fs, path, str(second)) is False
    assert fs.cat_file(path) == first.read_bytes()
    assert [p.rsplit("/", 1)[-1] for p in fs.find(f"{root}/probe")] == ["lecture.bin"]


def test_bad_rows_are_refused_with_the_missing_columns_named(tmp_path):
    rows = horoscopes(["2026-11-20"]).drop(columns=["text", "url"])
    with pytest.raises(LandingInputError, match=r"missing column\(s\) text, url") as err:
        land_raw(rows, str(tmp_path), RAW_COLUMNS, VOLATILE_COLUMNS)
    assert isinstance(err.value, ValueError)
    with pytest.raises(LandingInputError, match=r"rows.source"):
        land_raw(horoscopes(["2026-11-20"], sources=("a/b",)), str(tmp_path), RAW_COLUMNS, VOLATILE_COLUMNS)
    with pytest.raises(LandingInputError, match=r"rows.date.*YYYY-MM-DD"):
        land_raw(horoscopes(["20.11.2026"]), str(tmp_path), RAW_COLUMNS, VOLATILE_COLUMNS)
    assert not list(tmp_path.iterdir())


def test_finer_partitions_land_one_object_per_source_query_and_day(raw_root):
    rows = pd.DataFrame([
        {"source": "youtube", "query": query, "date": day, "text": f"{query} on {day}", "fetched_at": "t1"}
        for query in ("about-a-boy", "auto-focus") for day in ("2026-11-30", "2026-12-01")])
    columns, partitions = ["source", "query", "date", "text", "fetched_at"], ("source", "query", "date")
    first = land_raw(rows, raw_root, columns, ("fetched_at",), partitions=partitions)
    assert len(first.written) == 4
    assert any(uri.endswith("/source=youtube/query=auto-focus/date=2026-12-01/youtube_auto-focus_2026-12-01.csv")
               for uri in first.written)
    assert list_raw(raw_root) == sorted(first.written)
    assert list_raw(raw_root, dates=["2026-12-01"]) == sorted(u for u in first.written if "2026-12-01" in u)
    again = land_raw(rows.assign(fetched_at="t2"), raw_root, columns, ("fetched_at",), partitions=partitions)
    assert sorted(again.unchanged) == sorted(first.written) and not again.written
    assert read_raw(list_raw(raw_root), columns).sort_values(["query", "date"]).reset_index(drop=True).equals(
        rows.sort_values(["query", "date"]).reset_index(drop=True))
    with pytest.raises(LandingInputError, match=r"rows.query: \['a b'\] are not usable in an object key"):
        land_raw(rows.assign(query="a b"), raw_root, columns, partitions=partitions)
    with pytest.raises(LandingInputError, match="partitions: .* must start with 'source', end with 'date'"):
        land_raw(rows, raw_root, columns, partitions=("query", "date"))


def test_storage_options_from_the_environment(s3_server, monkeypatch):
    assert storage_options("/data/raw") == {}
    options = storage_options("s3://stackpipes-raw/x")
    assert options == {"key": os.environ[s3.ACCESS_KEY_ENV],
                       "secret": os.environ[s3.SECRET_KEY_ENV],
                       "client_kwargs": {"endpoint_url": s3_server}}
    for name in (s3.ACCESS_KEY_ENV, s3.SECRET_KEY_ENV, s3.ENDPOINT_ENV):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "standard-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "standard-secret")
    assert storage_options("s3://b/x") == {"key": "standard-id", "secret": "standard-secret"}


def test_zenml_s3_artifact_store_on_the_project_server(s3_server, fresh_project, monkeypatch):
    import zenml
    from zenml.client import Client

    from stackpipes.platform.registration import stack_up
    from stackpipes.platform.stackfile import load_stack_file

    spec = load_stack_file(ROOT / "stacks" / "local-s3.yaml")
    try:
        assert "secret local_s3: created" in stack_up(spec).actions
        store = Client().active_stack.artifact_store
        assert store.flavor == "s3" and store.path == "s3://stackpipes-artifacts"
        # the endpoint came from the environment the server exported (${STACKPIPES_S3_ENDPOINT})
        assert store.config.client_kwargs == {"endpoint_url": s3_server}

        forecast = pd.DataFrame({"sign": list(SIGNS), "luck": range(12)})
        zenml.save_artifact(forecast, name="s3_probe")
        pd.testing.assert_frame_equal(zenml.load_artifact("s3_probe"), forecast)
        keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket="stackpipes-artifacts")["Contents"]]
        assert any("s3_probe" in key for key in keys)

        # Landing with the stack's secret alone, the environment holding no credentials.
        for name in (s3.ACCESS_KEY_ENV, s3.SECRET_KEY_ENV, s3.ENDPOINT_ENV):
            monkeypatch.delenv(name)
        assert storage_options("s3://stackpipes-raw", "local_s3")["client_kwargs"] == {"endpoint_url": s3_server}
        report = land_raw(horoscopes(["2026-11-23"]), "s3://stackpipes-raw/zenml-secret", RAW_COLUMNS, VOLATILE_COLUMNS, secret_name="local_s3")
        assert len(report.written) == 2
        assert len(read_raw(list_raw("s3://stackpipes-raw/zenml-secret", "local_s3"), RAW_COLUMNS, "local_s3")) == 24
    finally:
        Client().activate_stack("local")


def test_credentials_file_is_private_and_never_logged(s3_server):
    path = s3.home() / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pair = s3.credentials()
    log = s3.log_path().read_text()
    assert "GET /stackpipes-raw" in log  # the log does record requests
    for value in pair.values():
        assert len(value) >= 20 and value not in log


def test_up_is_idempotent_and_down_leaves_no_process(s3_server):
    # Runs last in the module: it stops the module's server.
    pid = s3.status()["pid"]
    assert s3.up() == s3_server and s3.status()["pid"] == pid
    assert s3.down()
    assert not s3.running() and s3.status()["pid"] is None
    assert not Path(f"/proc/{pid}").exists() or b"moto_server" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    port_flag = os.environ["STACKPIPES_S3_PORT"].encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            assert not (any(b"moto_server" in part for part in command) and port_flag in command)

