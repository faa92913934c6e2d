"""The Telegram bot as users meet it: the real bot (aiogram, polling) against a stand-in of the Bot
API served here, a real PostgreSQL database made for the test and dropped after it, the real
dialogue service (a ZenML deployment of a tiny trained model), speech to text by the packaged
Whisper. Commands, text and voice; each user's last three messages kept exactly, two messages at
once never losing one; bad input answered clearly; the service down or slow answered with "try
again later" and nothing lost; the database's connections dropped under the bot (as in a
restart) and the bot carrying on; the token in no log line."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid

import numpy as np
import pytest

pytestmark = pytest.mark.pipeline

TOKEN = "424242:bot-token-never-logged"
KEY = "bot-test-service-key"
DATASET = {"name": "chitchat", "exports": ["data/dialogue/chitchat_sample.json"],
           "checks": {"min_examples": 500, "min_held_out": 50, "min_conversations": 50}}


@pytest.fixture()
def database_url():
    from stackpipes.dialogue.context_store import drop_database

    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/stackpipes_test_{uuid.uuid4().hex[:12]}"
    yield url
    asyncio.run(drop_database(url))


@pytest.fixture()
def service(fresh_project, tiny_model, monkeypatch):
    """The real service: a tiny model trained and promoted, deployed on a free port."""
    from zenml import Model

    import run as cli
    from pipelines.dialogue_train import dialogue_train

    monkeypatch.setenv("STACKPIPES_DIALOGUE_API_KEY", KEY)
    model = {"model_ref": tiny_model, "training": {"loss_on": "target", "packing": False, "seq_len": 96, "max_steps": 4,
                                                   "batch_size": 8, "max_eval_examples": 8, "subset_size": None},
             "generation": {"max_new_tokens": 6}, "evaluation": {"max_examples": 8, "samples": 1}}
    dialogue_train.with_options(model=Model(name="dialogue_chitchat"), enable_cache=False)(
        dataset=DATASET, model=model, log_model_to_mlflow=False)
    port = _free_port()
    assert cli.main(["serve", "--pipeline", "dialogue", "--port", str(port), "--watch-seconds", "0"]) == 0
    yield f"http://127.0.0.1:{port}"
    assert cli.main(["serve", "--pipeline", "dialogue", "--stop"]) == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _with_bot(settings, scenario) -> None:
    """Run the bot against a fresh stand-in while `scenario(api)` plays the users."""
    from stackpipes.dialogue import bot
    from stackpipes.telegram.bot_api_standin import BotApiStandIn

    api = BotApiStandIn(token=TOKEN)
    url = await api.start()
    started = asyncio.Event()
    polling = asyncio.create_task(bot.run_bot(settings.model_copy(update={"api_base": url}), TOKEN, started=started,
                                              handle_signals=False))
    try:
        await asyncio.wait_for(started.wait(), 60)
        await scenario(api)
    finally:
        await bot.stop()
        await asyncio.wait_for(polling, 60)
        await api.stop()


async def _ask(api, user: int, text: str, timeout: float = 120) -> str:
    before = len(api.sent)
    await api.send_text(user, text)
    sent = await api.wait_sent(before + 1, timeout)
    return sent[before]["text"]


def _voice(tmp_path, lecture_maker, text: str | None) -> bytes:
    out = tmp_path / f"voice-{uuid.uuid4().hex[:6]}.ogg"
    if text is None:
        lecture_maker.write_media(np.zeros(16000 * 2, dtype=np.float32), 16000, out, video=False)  # silence
    else:
        lecture_maker.make_lecture(text, "en-us", out, speed=140, video=False)
    return out.read_bytes()


def test_the_bot_answers_text_and_voice_keeps_context_and_survives_faults(
        service, database_url, tmp_path, lecture_maker, caplog):
    from stackpipes.dialogue import bot
    from stackpipes.dialogue.context_store import ContextStore

    caplog.set_level(logging.INFO)
    settings = bot.BotSettings(service_url=service, api_key=KEY, database_url=database_url, service_timeout=60)
    spoken = _voice(tmp_path, lecture_maker, "What is the weather like today?")
    silence = _voice(tmp_path, lecture_maker, None)

    async def scenario(api) -> None:
        store = ContextStore(database_url)
        try:
            assert await _ask(api, 1, "/start") == bot.START
            assert await _ask(api, 1, "/help") == bot.HELP
            answer = await _ask(api, 1, "hello there")
            assert answer not in (bot.TRY_LATER, bot.FAILED) and answer.strip()
            assert await store.get(1) == ["hello there"]
            for text in ["one", "two", "three", "four"]:
                await _ask(api, 1, text)
            assert await store.get(1) == ["two", "three", "four"]  # exactly the last three
            assert await _ask(api, 1, "/clear_context") == bot.CLEARED
            assert await store.get(1) == []

            assert await _ask(api, 2, "x" * 5000) == bot.TOO_LONG
            assert await _ask(api, 2, "   ") == bot.EMPTY
            before = len(api.sent)
            await api.send_sticker(2)
            assert (await api.wait_sent(before + 1))[before]["text"] == bot.TEXT_ONLY
            assert await store.get(2) == []  # nothing stored for what could not be read

            before = len(api.sent)
            await api.send_voice(3, spoken, duration=3)
            reply = (await api.wait_sent(before + 1, 180))[before]["text"]
            assert reply not in (bot.NO_WORDS, bot.NOT_AUDIO, bot.TRY_LATER)
            heard = (await store.get(3))[0].lower()
            assert "weather" in heard and "today" in heard  # what the voice said is the stored message
            for data, expected in ((silence, bot.NO_WORDS), (b"not audio at all" * 50, bot.NOT_AUDIO)):
                before = len(api.sent)
                await api.send_voice(3, data, duration=2)
                assert (await api.wait_sent(before + 1, 120))[before]["text"] == expected
            before = len(api.sent)
            await api.send_voice(3, spoken, duration=10_000)
            assert (await api.wait_sent(before + 1))[before]["text"].startswith("That voice message is too long")
            assert len(api.downloads) == 3  # the over-long one was never fetched

            # Two messages of one user at once: both kept, in order.
            before = len(api.sent)
            await api.send_text(4, "first at once")
            await api.send_text(4, "second at once")
            await api.wait_sent(before + 2)
            assert await store.get(4) == ["first at once", "second at once"]

            # The database drops every connection of the bot (as a restart does): it reconnects.
            from sqlalchemy import text

            async with store.engine.begin() as connection:
                killed = (await connection.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar_one()
            assert killed >= 1
            answer = await _ask(api, 4, "after the restart")
            assert answer not in (bot.TRY_LATER, bot.FAILED)
            assert await store.get(4) == ["first at once", "second at once", "after the restart"]
        finally:
            await store.close()

    asyncio.run(_with_bot(settings, scenario))

    # The service down (nothing listens) and slow (an answer later than the timeout): "try again
    # later", the message kept.
    async def down(api) -> None:
        assert await _ask(api, 5, "anyone there?") == bot.TRY_LATER
        store = ContextStore(database_url)
        assert await store.get(5) == ["anyone there?"]
        await store.close()

    asyncio.run(_with_bot(settings.model_copy(update={"service_url": f"http://127.0.0.1:{_free_port()}"}), down))

    async def slow(api) -> None:
        assert await _ask(api, 5, "still there?") == bot.TRY_LATER

    asyncio.run(_with_bot(settings.model_copy(update={"service_timeout": 0.001}), slow))
    store_check = asyncio.run(_context(database_url, 5))
    assert store_check == ["anyone there?", "still there?"]
    assert TOKEN not in caplog.text and KEY not in caplog.text


async def _context(url: str, user: int) -> list[str]:
    from stackpipes.dialogue.context_store import ContextStore

    store = ContextStore(url)
    try:
        return await store.get(user)
    finally:
        await store.close()


def test_concurrent_appends_lose_nothing_and_the_schema_migrates_once(database_url):
    from sqlalchemy import text

    from stackpipes.dialogue.context_store import ContextStore

    async def scenario() -> None:
        store = await ContextStore.open(database_url, pool_size=25)
        again = await ContextStore.open(database_url)  # a second start migrates nothing
        await again.close()
        results = await asyncio.gather(*(store.append(9, f"m{i}") for i in range(50)))
        assert all(result[-1] == f"m{i}" for i, result in enumerate(results))  # each saw its own append
        async with store.engine.begin() as connection:
            appended = (await connection.execute(text("SELECT appended FROM dialogue_context WHERE user_id = 9"))).scalar_one()
            version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        assert appended == 50 and version == "0001"
        final = await store.get(9)
        assert len(final) == 3 and len(set(final)) == 3
        # The final three are what the last committed append returned.
        ends = {tuple(result) for result in results}
        assert tuple(final) in ends
        # A statement retried after its first attempt committed stores its message once.
        assert await store.append(10, "hello", message_id=77) == ["hello"]
        assert await store.append(10, "hello", message_id=77) == ["hello"]
        assert await store.append(10, "hello", message_id=78) == ["hello", "hello"]  # another message
        await store.close()

    asyncio.run(scenario())
