"""The dialogue service inside a ZenML deployment: the production model loaded once (`on_init`),
`POST /answer` answering from it with concurrent requests batched into one `generate` call, a
Bearer key checked on everything but the health and info routes, and a watcher that swaps in a
newly promoted version without a restart.

The key is the environment's `STACKPIPES_DIALOGUE_API_KEY` or the `api_key` of the ZenML secret
`dialogue_service`; it is never stored with the deployment (ZenML's own `auth_key` would be kept
in plain text in its store), compared in constant time and never logged.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import threading
import time
from concurrent.futures import Future
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from stackpipes.dialogue.answer import (
    MAX_CONTEXT_ITEMS,
    MAX_MESSAGE_CHARS,
    ContextError,
    check_message,
    parse_context,
)

logger = logging.getLogger(__name__)

KEY_ENV = "STACKPIPES_DIALOGUE_API_KEY"
KEY_SECRET = "dialogue_service"  # a ZenML secret with the value `api_key`
OPEN_PATHS = ("/health", "/status", "/info", "/metrics", "/docs", "/redoc", "/openapi.json")
MAX_BATCH = 64
MAX_WINDOW_MS = 1000


class ServiceError(RuntimeError):
    """The service cannot start or answer: says what is missing."""


def api_key() -> Optional[str]:
    """The service key: the environment's, else the ZenML secret's; None when neither is set."""
    value = os.environ.get(KEY_ENV)
    if value:
        return value
    from stackpipes.platform.secrets import secret_values

    values = secret_values(KEY_SECRET) or {}
    key = values.get("api_key")
    return str(key) if key else None


class BearerKeyMiddleware:
    """ASGI middleware: every request outside `OPEN_PATHS` needs `Authorization: Bearer <key>`;
    checked before the body is read, so a request without the key is 401 whatever its body."""

    def __init__(self, app: Any, **_: Any) -> None:
        self.app = app
        self.key = api_key()
        if not self.key:
            raise ServiceError(f"no service key: set {KEY_ENV} or the ZenML secret '{KEY_SECRET}' (api_key)")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope.get("type")
        if kind == "lifespan" or (kind == "http" and (scope.get("method") == "OPTIONS"
                                                       or scope.get("path", "") in OPEN_PATHS)):
            await self.app(scope, receive, send)
            return
        if kind != "http":  # websockets and anything else: refused, never let through unchecked
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if not header:
            await _deny(send, "Authorization header required")
        elif scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.key.encode()):
            await _deny(send, "Invalid authentication token")
        else:
            await self.app(scope, receive, send)


async def _deny(send: Any, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b"Bearer")]})
    await send({"type": "http.response.body", "body": body})


class ContextMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: str = Field(..., pattern=r"^(user|bot)$")
    text: str = Field(..., max_length=MAX_MESSAGE_CHARS)


class AnswerRequest(BaseModel):
    """`POST /answer`: the conversation's last messages (oldest first; a text is the user's) and
    the message to answer."""

    model_config = ConfigDict(extra="forbid")

    context: list[Union[Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS)], ContextMessage]] = Field(
        default_factory=list, max_length=MAX_CONTEXT_ITEMS)
    message: str = Field(..., min_length=1, max_length=MAX_MESSAGE_CHARS)


class AnswerResponse(BaseModel):
    answer: str
    model_version: str
    batch_size: int  # requests answered by the same generate call


class Batcher:
    """Requests queued by callers, answered by one worker thread in batches of up to `max_batch`,
    each batch one `generate` call. Requests that arrive while a batch is generating form the
    next batch at once; when traffic comes in several requests at a time (the last batch held
    more than one), a new batch also waits up to `window_ms` for its companions. A lone caller
    never waits for a window."""

    def __init__(self, answerer: Any, version: str, window_ms: float = 20.0, max_batch: int = 16):
        if not 0 <= window_ms <= MAX_WINDOW_MS:
            raise ServiceError(f"window_ms={window_ms}: expected 0 to {MAX_WINDOW_MS}")
        if not 1 <= max_batch <= MAX_BATCH:
            raise ServiceError(f"max_batch={max_batch}: expected 1 to {MAX_BATCH}")
        self.answerer, self.version = answerer, version
        self.window, self.max_batch = window_ms / 1000, max_batch
        self._queue: list[tuple[Any, str, Future]] = []
        self._ready = threading.Condition()
        self._stopped = False
        self.batches = 0
        self._last_batch = 0
        self._worker = threading.Thread(target=self._run, name="dialogue-batcher", daemon=True)
        self._worker.start()

    def swap(self, answerer: Any, version: str) -> None:
        """Answer with another model from the next batch on (the current batch finishes first)."""
        with self._ready:
            self.answerer, self.version = answerer, version

    def submit(self, context: list, message: str) -> Future:
        """Queue one request; its prompt is built on the worker thread (the tokenizer is not
        shared between threads), so only the cheap checks fail here."""
        check_message(message)
        future: Future = Future()
        with self._ready:
            if self._stopped:
                raise ServiceError("the service is stopping")
            self._queue.append((context, message, future))
            self._ready.notify()
        return future

    @property
    def alive(self) -> bool:
        return self._worker.is_alive()

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify_all()
        self._worker.join(timeout=10)

    def _take(self) -> Optional[list[tuple[Any, str, Future]]]:
        with self._ready:
            while not self._queue and not self._stopped:
                self._ready.wait()
            if self._stopped and not self._queue:
                return None
            deadline = time.monotonic() + (self.window if self._last_batch > 1 or len(self._queue) > 1 else 0)
            while len(self._queue) < self.max_batch and not self._stopped:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._ready.wait(left)
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            self._last_batch = len(batch)
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            # A caller that gave up (timed out) has cancelled its future: nothing to answer.
            batch = [item for item in batch if item[2].set_running_or_notify_cancel()]
            if not batch:
                continue
            with self._ready:
                answerer, version = self.answerer, self.version
            try:
                self._answer(answerer, version, batch)
            except Exception:  # never let the worker die: the service would stop answering
                logger.exception("answering a batch of %d failed", len(batch))
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(ServiceError("answering failed: see the service log"))

    def _answer(self, answerer: Any, version: str, batch: list[tuple[Any, str, Future]]) -> None:
        prompts, waiting = [], []
        for context, message, future in batch:
            try:
                prompts.append(answerer.prompt(context, message))
                waiting.append(future)
            except ContextError as exc:  # this request alone is refused
                future.set_exception(exc)
        if not prompts:
            return
        answers = answerer.answer_prompts(prompts)
        self.batches += 1
        for future, answer in zip(waiting, answers, strict=True):
            future.set_result((answer, version, len(prompts)))


class ServiceState:
    """What `on_init` builds and every request shares: the batcher over the production model and
    the watcher that follows the production stage."""

    def __init__(self, model_name: str, window_ms: float, max_batch: int, watch_seconds: float):
        self.model_name = model_name
        self.version, lm = _production(model_name)
        self.max_batch = max_batch
        self.batcher = Batcher(_answerer(lm, max_batch), self.version, window_ms, max_batch)
        self.started = time.time()
        self._stop = threading.Event()
        self.watch_seconds = watch_seconds
        if watch_seconds > 0:
            threading.Thread(target=self._watch, name="dialogue-production-watch", daemon=True).start()
        logger.info("Serving %s version %s", model_name, self.version)

    def _watch(self) -> None:
        while not self._stop.wait(self.watch_seconds):
            try:
                version = _production_version(self.model_name)
                if version and version != self.version:
                    logger.info("Production moved to version %s: loading it", version)
                    version, lm = _production(self.model_name)
                    self.batcher.swap(_answerer(lm, self.max_batch), version)
                    self.version = version
            except Exception:  # the store may be briefly unreachable: keep serving, retry later
                logger.exception("checking the production version failed")

    def stop(self) -> None:
        self._stop.set()
        self.batcher.stop()


def _answerer(lm: Any, max_batch: int) -> Any:
    from stackpipes.dialogue.answer import Answerer

    return Answerer(lm, batch_size=max_batch)  # a whole batch in one generate call


def _production_version(model_name: str) -> Optional[str]:
    from zenml.client import Client
    from zenml.enums import ModelStages

    try:
        return str(Client().get_model_version(model_name, ModelStages.PRODUCTION).name)
    except KeyError:
        return None


def _production(model_name: str) -> tuple[str, Any]:
    from stackpipes.core.registry import load_production_model, production_info
    from stackpipes.dialogue import HELDOUT_METRIC, MODEL_ARTIFACT

    info = production_info(model_name, MODEL_ARTIFACT, HELDOUT_METRIC)
    if not info.exists:
        raise ServiceError(f"no production '{model_name}' model: train one first "
                           "(python run.py --stack local --pipeline dialogue_train)")
    return str(info.version), load_production_model(info)


# ------------------------------------------------------------------ ZenML deployment hooks


def init_service(model_name: str, window_ms: float = 20.0, max_batch: int = 16,
                 watch_seconds: float = 30.0) -> dict[str, Any]:
    """`on_init`: load the production model once per server process."""
    return {"service": ServiceState(model_name, window_ms, max_batch, watch_seconds)}


def cleanup_service() -> None:
    """`on_cleanup`: stop the batcher and the watcher."""
    state = _state(required=False)
    if state is not None:
        state.stop()


def _state(required: bool = True) -> Optional[ServiceState]:
    from zenml.steps.step_context import get_or_create_run_context

    state = get_or_create_run_context().state
    service = state.get("service") if isinstance(state, dict) else None
    if service is None and required:
        raise ServiceError("the service has not been initialised")
    return service


def answer_once(context: list, message: str, timeout: float = 120.0) -> AnswerResponse:
    """One answer through the shared batcher (the tracked `/invoke` step uses it too)."""
    service = _state()
    answer, version, size = service.batcher.submit(parse_context(context), message).result(timeout=timeout)
    return AnswerResponse(answer=answer, model_version=version, batch_size=size)


def answer_endpoint(app_runner: Any) -> Any:
    """The `POST /answer` handler (a builder: ZenML calls it once with its app runner)."""
    from fastapi import HTTPException

    async def answer(request: AnswerRequest) -> AnswerResponse:
        service = _state()
        try:
            turns = parse_context([item if isinstance(item, str) else item.model_dump() for item in request.context])
            future = service.batcher.submit(turns, request.message)
        except ContextError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        except ServiceError as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from None
        try:
            answer, version, size = await asyncio.wait_for(asyncio.wrap_future(future), timeout=120)
        except asyncio.TimeoutError:
            raise HTTPException(status_code=503, detail="the model is busy: try again later") from None
        except ContextError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        except ServiceError as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from None
        return AnswerResponse(answer=answer, model_version=version, batch_size=size)

    return answer


def health_endpoint(app_runner: Any) -> Any:
    """`GET /status`: the model version served, batches answered, uptime (no key needed)."""

    def status() -> dict[str, Any]:
        service = _state(required=False)
        if service is None:
            return {"ready": False}
        return {"ready": service.batcher.alive, "model_name": service.model_name, "model_version": service.version,
                "batches": service.batcher.batches, "uptime_seconds": round(time.time() - service.started, 1)}

    return status
