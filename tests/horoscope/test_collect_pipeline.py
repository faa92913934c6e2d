"""horoscope_collect end to end on the local stack: the bundled sites over real HTTP on loopback,
raw CSV landed once per source and day, broken sources skipped, nothing lost on a rerun."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from stackpipes.platform.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
DAYS = ["2026-11-01", "2026-11-02"]


@pytest.fixture()
def sites_port(monkeypatch):
    monkeypatch.setenv("STACKPIPES_SITES_PORT", str(free_port()))


def _run(raw_root: Path, sources_dir: Path = ROOT / "configs" / "horoscope" / "sources"):
    from pipelines.horoscope_collect import horoscope_collect

    return horoscope_collect.with_options(enable_cache=False)(
        sources_dir=str(sources_dir), dates=DAYS, serve_bundled_sites=True, raw_root=str(raw_root)
    )


def _landed(raw_root: Path) -> list[str]:
    return sorted(str(p.relative_to(raw_root)) for p in (raw_root / "horoscope").rglob("*.csv"))


def test_sources_land_once_per_day_and_a_rerun_changes_nothing(tmp_path, fresh_project, sites_port):
    raw_root = tmp_path / "raw"
    first = _run(raw_root)
    assert first.status.value == "completed"
    landed = _landed(raw_root)
    assert len(landed) == 3 * len(DAYS)
    assert "horoscope/source=zvezdy/date=2026-11-01/zvezdy_2026-11-01.csv" in landed
    meta = first.steps["land_raw_horoscopes"].run_metadata
    assert len(meta["written"]) == 6 and meta["unchanged"] == []
    assert first.steps["check_raw"].outputs["validation_report"][0].load().success

    before = {path: (raw_root / path).read_bytes() for path in landed}
    second = _run(raw_root)
    meta = second.steps["land_raw_horoscopes"].run_metadata
    assert meta["written"] == [] and len(meta["unchanged"]) == 6
    assert {path: (raw_root / path).read_bytes() for path in _landed(raw_root)} == before


def test_a_broken_and_a_changed_source_are_skipped_the_others_land(tmp_path, fresh_project, sites_port):
    sources = tmp_path / "sources"
    shutil.copytree(ROOT / "configs" / "horoscope" / "sources", sources)
    changed = yaml.safe_load((sources / "starlight.yaml").read_text())
    changed["extract"]["items"] = "article.reading-v2"  # the site's markup moved on
    (sources / "starlight.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True))
    broken = yaml.safe_load((sources / "astroapi.yaml").read_text())
    broken["url"] = "{base_url}/api/v9/nothing-here/{date}.json"  # every page 404
    broken["http"]["retries"] = 0
    (sources / "astroapi.yaml").write_text(yaml.safe_dump(broken, allow_unicode=True))

    run = _run(tmp_path / "raw", sources)
    assert run.status.value == "completed"
    meta = run.steps["collect_horoscopes"].run_metadata
    assert meta["landed"] == ["zvezdy"] and sorted(meta["skipped"]) == ["astroapi", "starlight"]
    assert {p.split("/")[1] for p in _landed(tmp_path / "raw")} == {"source=zvezdy"}


def test_no_source_at_all_fails_clearly_and_lands_nothing(tmp_path, fresh_project, monkeypatch):
    monkeypatch.setenv("STACKPIPES_SITES_PORT", str(free_port()))
    sources = tmp_path / "sources"
    sources.mkdir()
    spec = yaml.safe_load((ROOT / "configs" / "horoscope" / "sources" / "zvezdy.yaml").read_text())
    spec["url"] = "{base_url}/gone/{date}.html"
    (sources / "zvezdy.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    with pytest.raises(Exception, match="no source could be collected"):
        _run(tmp_path / "raw", sources)
    assert not (tmp_path / "raw").exists()


def test_a_busy_port_for_the_bundled_sites_ends_with_one_error_line(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        port = sock.getsockname()[1]
        env = {**os.environ, "STACKPIPES_SITES_PORT": str(port), "STACKPIPES_RAW_ROOT": str(tmp_path / "raw")}
        result = subprocess.run([sys.executable, "run.py", "--stack", "local", "--pipeline", "horoscope_collect"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (f"error: port {port} on 127.0.0.1 is already in use, so the bundled sample sites' server "
                    "cannot start there: stop what listens on it or set STACKPIPES_SITES_PORT to a free port")
    assert not (tmp_path / "raw").exists()  # nothing landed
