"""The Telegram bot (aiogram 3): text and voice in, the dialogue service's answer out, each user's
last messages kept in PostgreSQL.

    /start, /help          what it does
    /clear_context         forget your last messages
    text                   stored (the last three are kept), then answered by POST /answer with them
    voice (OGG/Opus)       speech to text (faster-whisper, as lecture_summary), then as a text

A user's messages are handled one at a time, in order (different users in parallel). The message
is stored before the service is asked, so a service that is down or slow loses nothing: the user
is told to try again later. The bot token (TELEGRAM_BOT_TOKEN or the ZenML secret `telegram_bot`)
is masked in every log line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from stackpipes.dialogue import CONTEXT_MESSAGES
from stackpipes.dialogue.answer import MAX_MESSAGE_CHARS

logger = logging.getLogger(__name__)

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
TOKEN_SECRET = "telegram_bot"  # a ZenML secret with the value `token`
SERVICE_URL_ENV = "STACKPIPES_DIALOGUE_URL"

START = ("Hi! I am a chat bot. Write to me, or send a voice message, and I answer with your last "
         f"{CONTEXT_MESSAGES} messages in mind. /help says more.")
HELP = ("Send text or a voice message: I answer it with your last messages in mind (I keep "
        f"{CONTEXT_MESSAGES}). /clear_context makes me forget them. /start greets you again.")
CLEARED = "Done: I have forgotten your last messages."
TRY_LATER = "Sorry, I cannot answer right now: please try again later."
TOO_LONG = f"That message is longer than the {MAX_MESSAGE_CHARS} characters I can read: please send a shorter one."
EMPTY = "That message has no words in it: write me something."
TEXT_ONLY = "I can read text and voice messages only."
NO_WORDS = "I could not hear any words in that voice message."
NOT_AUDIO = "I could not play that voice message: is it audio?"
VOICE_TOO_LONG = "That voice message is too long for me: please keep it under {seconds} seconds."
EMPTY_ANSWER = "(the model answered nothing: try saying more)"
FAILED = "Sorry, something went wrong on my side: please try again."


class BotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_url: str = Field(..., pattern=r"^https?://")
    api_key: SecretStr
    api_base: Optional[str] = Field(None, description="a Bot API server other than api.telegram.org")
    database_url: Optional[str] = None
    keep: int = Field(CONTEXT_MESSAGES, ge=1, le=64)
    service_timeout: float = Field(30.0, gt=0, le=600)
    max_voice_seconds: int = Field(120, ge=1, le=3600)
    max_voice_bytes: int = Field(20 * 1024**2, ge=1024, le=50 * 1024**2)
    concurrency: int = Field(256, ge=1, le=4096, description="updates handled at once (each user's in order)")
    speech_model: str = "packaged:whisper-base"


class ServiceUnavailable(RuntimeError):
    """The dialogue service did not answer (down, slow, refused): the user is asked to retry."""


def bot_token() -> Optional[str]:
    value = os.environ.get(TOKEN_ENV)
    if value:
        return value
    from stackpipes.platform.secrets import secret_values

    token = (secret_values(TOKEN_SECRET) or {}).get("token")
    return str(token) if token else None


class MaskSecrets(logging.Filter):
    """Replaces the secrets in a record's message, arguments and traceback with ***. Installed on
    handlers (a filter on a logger does not see the records its children propagate)."""

    def __init__(self, *secrets: str):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            record.msg, record.args = self._mask(message), None
        if record.exc_info:  # a traceback can carry a URL with the token in it
            record.exc_text = self._mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        return True


def mask_logs(*secrets: str) -> MaskSecrets:
    """Install the mask on every handler of the root logger (a handler with no root handler yet
    gets one: logging's last-resort output would bypass it)."""
    mask = MaskSecrets(*secrets)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    for handler in root.handlers:
        if mask not in handler.filters:
            handler.addFilter(mask)
    return mask


class ServiceClient:
    """POST /answer of the dialogue service, with its key; any failure is ServiceUnavailable."""

    def __init__(self, url: str, key: str, timeout: float):
        self.url = url.rstrip("/") + "/answer"
        self._key = key
        self.timeout = timeout
        self._session: Any = None

    async def answer(self, context: list[str], message: str) -> str:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._session.post(self.url, json={"context": context, "message": message},
                                          headers={"Authorization": f"Bearer {self._key}"}) as response:
                if response.status != 200:
                    raise ServiceUnavailable(f"the service answered {response.status}")
                body = await response.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise ServiceUnavailable(f"the service did not answer ({type(exc).__name__})") from None
        answer = body.get("answer") if isinstance(body, dict) else None
        if not isinstance(answer, str):
            raise ServiceUnavailable("the service's answer had no text")
        return answer

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class VoiceReader:
    """Speech to text of a voice message's bytes: the whisper model loaded on first use, one
    transcription at a time, in a worker thread."""

    def __init__(self, model: str, max_seconds: int):
        self.model_ref, self.max_seconds = model, max_seconds
        self._model: Any = None
        self._lock = threading.Lock()

    def _transcribe(self, data: bytes) -> str:
        from stackpipes.speech.audio import load_audio
        from stackpipes.speech.whisper import SpeechConfig, load_model, transcribe

        config = SpeechConfig(model=self.model_ref, word_timestamps=False)
        with tempfile.TemporaryDirectory(prefix="stackpipes-voice-") as folder:
            path = Path(folder) / "voice.oga"
            path.write_bytes(data)
            samples, _ = load_audio(path, max_duration_s=self.max_seconds)
        with self._lock:
            if self._model is None:
                self._model, _, _ = load_model(config)
            return transcribe(samples, config, model=self._model).text.strip()

    async def read(self, data: bytes) -> str:
        return await asyncio.to_thread(self._transcribe, data)


def build_dispatcher(store: Any, service: ServiceClient, voice: VoiceReader, settings: BotSettings) -> Any:
    """The dispatcher with its handlers; a user's updates are handled in order."""
    from aiogram import Bot, Dispatcher, F, Router
    from aiogram.filters import Command, CommandStart
    from aiogram.fsm.storage.memory import SimpleEventIsolation
    from aiogram.types import ErrorEvent, Message

    from stackpipes.speech.audio import MediaError

    router = Router(name="dialogue")

    async def reply(message: Message, text: str) -> None:
        context = await store.append(message.from_user.id, text, message_id=message.message_id)
        try:
            answer = await service.answer(context[:-1], text)
        except ServiceUnavailable as exc:
            logger.warning("no answer for user %s: %s", message.from_user.id, exc)
            await message.answer(TRY_LATER)
            return
        await message.answer((answer.strip() or EMPTY_ANSWER)[:MAX_MESSAGE_CHARS])

    @router.message(CommandStart())
    async def on_start(message: Message) -> None:
        await message.answer(START)

    @router.message(Command("help"))
    async def on_help(message: Message) -> None:
        await message.answer(HELP)

    @router.message(Command("clear_context"))
    async def on_clear(message: Message) -> None:
        await store.clear(message.from_user.id)
        await message.answer(CLEARED)

    @router.message(F.voice)
    async def on_voice(message: Message, bot: Bot) -> None:
        if message.voice.duration > settings.max_voice_seconds or (message.voice.file_size or 0) > settings.max_voice_bytes:
            await message.answer(VOICE_TOO_LONG.format(seconds=settings.max_voice_seconds))
            return
        data = (await bot.download(message.voice)).read()
        try:
            heard = await voice.read(data)
        except MediaError as exc:
            logger.info("voice message of user %s is not readable audio: %s", message.from_user.id, exc)
            await message.answer(NOT_AUDIO)
            return
        if not heard:
            await message.answer(NO_WORDS)
            return
        await reply(message, heard[:MAX_MESSAGE_CHARS])

    @router.message(F.text)
    async def on_text(message: Message) -> None:
        text = message.text
        if len(text) > MAX_MESSAGE_CHARS:
            await message.answer(TOO_LONG)
        elif not text.strip():
            await message.answer(EMPTY)
        else:
            await reply(message, text)

    @router.message()
    async def on_other(message: Message) -> None:
        await message.answer(TEXT_ONLY)

    @router.errors()
    async def on_error(event: ErrorEvent) -> bool:
        logger.error("handling update %s failed: %r", event.update.update_id, event.exception)
        if event.update.message is not None:
            try:
                await event.update.message.answer(FAILED)
            except Exception:  # Telegram itself unreachable: nothing more to do for this update
                logger.warning("could not tell the user about the failure")
        return True

    dispatcher = Dispatcher(events_isolation=SimpleEventIsolation())
    dispatcher.include_router(router)

    @dispatcher.shutdown()
    async def drain(dispatcher: Dispatcher) -> None:
        pending = set(getattr(dispatcher, "_handle_update_tasks", ()))  # answers still on their way
        if pending:
            await asyncio.wait(pending, timeout=30)

    return dispatcher


def make_bot(token: str, api_base: Optional[str]) -> Any:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else AiohttpSession()
    return Bot(token=token, session=session)


async def run_bot(settings: BotSettings, token: str, started: Optional[asyncio.Event] = None,
                  handle_signals: bool = True) -> None:
    """Poll until stopped (SIGINT/SIGTERM, or `stop_polling` on the dispatcher); every resource
    closed on the way out."""
    from stackpipes.dialogue.context_store import ContextStore

    mask_logs(token, settings.api_key.get_secret_value())
    store = await ContextStore.open(settings.database_url, keep=settings.keep)
    service = ServiceClient(settings.service_url, settings.api_key.get_secret_value(), settings.service_timeout)
    bot = None
    try:
        voice = VoiceReader(settings.speech_model, settings.max_voice_seconds)
        bot = make_bot(token, settings.api_base)
        dispatcher = build_dispatcher(store, service, voice, settings)
        if started is not None:
            dispatcher.startup.register(lambda: started.set())
        running["dispatcher"] = dispatcher
        await bot.delete_webhook(drop_pending_updates=False)
        await dispatcher.start_polling(bot, handle_signals=handle_signals, polling_timeout=10,
                                       tasks_concurrency_limit=settings.concurrency, close_bot_session=True)
    finally:
        running.pop("dispatcher", None)
        if bot is not None:
            await bot.session.close()  # already closed after polling; not when it never started
        await service.close()
        await store.close()


running: dict[str, Any] = {}  # the dispatcher of the bot running in this process (stop it with stop())


async def stop() -> None:
    dispatcher = running.get("dispatcher")
    if dispatcher is not None:
        await dispatcher.stop_polling()
