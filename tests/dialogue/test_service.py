"""The dialogue service as its users meet it: `run.py serve` deploys the production model with
ZenML's local deployer (a real server process); `POST /answer` needs the key (401 without it or
with a wrong one), refuses malformed requests naming the field (422), answers concurrent requests
in shared batches; `/invoke` records a tracked run; a newly promoted version reaches the running
service by itself; `--update` redeploys, `--status` says where it runs, `--stop` takes it down."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.pipeline

KEY = "test-service-key-3f9a"
DATASET = {"name": "chitchat", "exports": ["data/dialogue/chitchat_sample.json"],
           "checks": {"min_examples": 500, "min_held_out": 50, "min_conversations": 50}}


def _model(tiny_model: str, steps: int) -> dict:
    return {"model_ref": tiny_model,
            "training": {"loss_on": "target", "packing": False, "seq_len": 128, "max_steps": steps, "batch_size": 8,
                         "learning_rate": 3e-3, "max_eval_examples": 16, "subset_size": None},
            "generation": {"max_new_tokens": 8},
            "evaluation": {"max_examples": 16, "samples": 2, "batch_size": 16}}


def _train(tiny_model: str, steps: int, **extra):
    from zenml import Model

    from pipelines.dialogue_train import dialogue_train

    return dialogue_train.with_options(model=Model(name="dialogue_chitchat"), enable_cache=False)(
        dataset=DATASET, model=_model(tiny_model, steps), log_model_to_mlflow=False, **extra)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _post(url: str, body, key: str | None = KEY, raw: bytes | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_serve_answer_batch_track_follow_promotions_update_and_stop(fresh_project, tiny_model, monkeypatch, capsys):
    from zenml.client import Client

    import run as cli

    monkeypatch.setenv("STACKPIPES_DIALOGUE_API_KEY", KEY)
    assert cli.main(["serve", "--pipeline", "dialogue"]) == 1  # nothing to serve yet
    assert "no production 'dialogue_chitchat' model yet" in capsys.readouterr().err
    first = _train(tiny_model, 10)
    version = first.steps["promote_if_better"].outputs["promotion"][0].load().model_version
    port = _free_port()
    try:
        assert cli.main(["serve", "--pipeline", "dialogue", "--port", str(port), "--watch-seconds", "2",
                         "--window-ms", "50"]) == 0
        printed = capsys.readouterr().out
        url = f"http://127.0.0.1:{port}"
        assert f"dialogue-chitchat: running at {url}" in printed and KEY not in printed

        answer = f"{url}/answer"
        request = {"context": ["hi!", {"speaker": "bot", "text": "hello there"}], "message": "how are you?"}
        assert _post(answer, request, key=None) == (401, {"detail": "Authorization header required"})
        assert _post(answer, request, key="wrong")[0] == 401
        assert _post(answer, None, key=None, raw=b"not json")[0] == 401  # the key is checked before the body
        status, body = _post(answer, request)
        assert status == 200 and isinstance(body["answer"], str) and body["model_version"] == version
        status, body = _post(answer, {"context": []})
        assert status == 422 and body["detail"][0]["loc"] == ["body", "message"]
        status, body = _post(answer, {"message": "hi", "context": [{"speaker": "robot", "text": "x"}]})
        assert status == 422 and "speaker" in json.dumps(body)
        status, body = _post(answer, {"message": "   "})
        assert status == 422 and "non-empty" in body["detail"]
        status, body = _post(answer, {"message": "x" * 5000})
        assert status == 422 and body["detail"][0]["loc"] == ["body", "message"]
        long_context = {"context": ["calm day for love " * 200] * 10, "message": "and now?"}
        assert _post(answer, long_context)[0] == 200  # more than the window: the oldest messages go first

        with ThreadPoolExecutor(12) as pool:
            replies = list(pool.map(lambda i: _post(answer, {"context": [f"message {i}"], "message": "go on"}),
                                    range(12)))
        assert all(status == 200 for status, _ in replies)
        assert max(body["batch_size"] for _, body in replies) > 1  # answered together

        status, tracked = _post(f"{url}/invoke", {"parameters": {"context": ["hi!"], "message": "tell me more"}})
        assert status == 200 and tracked["success"], tracked
        assert tracked["outputs"]["answer"]["model_version"] == version
        run = Client().get_pipeline_run(tracked["metadata"]["run_id"])
        assert run.pipeline.name == "dialogue_serve" and str(run.status) in ("completed", "ExecutionStatus.COMPLETED")
        assert _post(f"{url}/invoke", {"parameters": {"message": "x"}}, key=None)[0] == 401

        # A new production version reaches the running service without a restart.
        second = _train(tiny_model, 2, retrain_policy={"metric": "heldout_reply_loss", "force": True})
        newer = second.steps["train_dialogue_model"].outputs["dialogue_model"][0].load()
        assert newer is not None
        fresh = Client().get_model_version("dialogue_chitchat", second.model_version.name)
        fresh.set_stage("production", force=True)
        deadline = time.time() + 60
        while time.time() < deadline and _get(f"{url}/status")["model_version"] != fresh.name:
            time.sleep(1)
        assert _get(f"{url}/status")["model_version"] == fresh.name
        assert _post(answer, request)[1]["model_version"] == fresh.name

        assert cli.main(["serve", "--pipeline", "dialogue", "--status"]) == 0
        assert f"running at {url}" in capsys.readouterr().out
        assert cli.main(["serve", "--pipeline", "dialogue", "--update", "--port", str(port)]) == 0
        capsys.readouterr()
        assert _post(answer, request)[0] == 200
    finally:
        assert cli.main(["serve", "--pipeline", "dialogue", "--stop"]) == 0
    assert "taken down" in capsys.readouterr().out
    with pytest.raises(OSError):
        _get(f"{url}/health")
    assert cli.main(["serve", "--pipeline", "dialogue", "--status"]) == 1


def test_the_service_key_and_the_bot_token_come_from_zenml_secrets_without_the_environment(zenml_local_stack,
                                                                                           monkeypatch, capsys):
    from zenml.client import Client

    import run as cli
    from stackpipes.dialogue.bot import TOKEN_ENV, TOKEN_SECRET, bot_token
    from stackpipes.dialogue.serving import KEY_ENV, KEY_SECRET, api_key

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert api_key() is None and bot_token() is None
    assert cli.main(["bot"]) == 1
    assert "no bot token: set TELEGRAM_BOT_TOKEN, or create the ZenML secret 'telegram_bot'" in capsys.readouterr().err
    client = Client()
    client.create_secret(KEY_SECRET, values={"api_key": "key-from-a-secret"})
    client.create_secret(TOKEN_SECRET, values={"token": "1:token-from-a-secret"})
    try:
        assert api_key() == "key-from-a-secret" and bot_token() == "1:token-from-a-secret"
        monkeypatch.setenv(KEY_ENV, "key-from-the-environment")
        assert api_key() == "key-from-the-environment"  # the environment first
    finally:
        client.delete_secret(KEY_SECRET)
        client.delete_secret(TOKEN_SECRET)
