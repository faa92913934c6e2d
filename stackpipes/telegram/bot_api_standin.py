"""A stand-in for the Telegram Bot API on 127.0.0.1: the part of it a long-polling bot uses, so a
real bot (aiogram, pointed at it with `TelegramAPIServer.from_base(url)`) runs here without
Telegram. The only stand-in in the project: Telegram's servers cannot run on this machine.

Routes as api.telegram.org lays them out: `/bot<token>/<method>` (form, multipart, JSON or query
parameters; names case-insensitive) and `GET /file/bot<token>/<path>`. Methods: getMe,
getUpdates (offset confirms, long polling), sendMessage, sendChatAction, getFile, deleteWebhook,
getWebhookInfo, close, logOut; others answer 404 as Telegram does, a wrong token 401.

The caller plays the users: `send_text`, `send_voice`, `send_update` queue updates; every method
call is in `calls`, every bot message in `sent`; `wait_sent(n)` waits for n of them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Optional

from aiohttp import web

MAX_UPDATES = 100  # getUpdates' own limit


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes


class BotApiStandIn:
    def __init__(self, token: str = "123456:STAND-IN", username: str = "stackpipes_test_bot"):
        self.token = token
        bot_id = int(token.split(":", 1)[0])
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": "stackpipes", "username": username,
                         "can_join_groups": False, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}
        self.updates: list[dict[str, Any]] = []  # not yet confirmed, ascending update_id
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []
        self.files: dict[str, StoredFile] = {}
        self.downloads: list[str] = []
        self._update_ids = itertools.count(1)
        # Message ids grow across stand-ins started one after another, as a chat's do in Telegram.
        self._message_ids = itertools.count(int(time.time() * 1000) % 2**31)
        self._changed: Optional[asyncio.Condition] = None
        self._closing = False
        self._runner: Optional[web.AppRunner] = None
        self.url = ""

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        # A long poll whose client went away is cancelled, so stopping never waits for one.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._closing = True
                self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ the users' side

    @staticmethod
    def _user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"user{user_id}", "language_code": "en"}

    def _message(self, user_id: int, **content: Any) -> dict[str, Any]:
        return {"message_id": next(self._message_ids), "from": self._user(user_id),
                "chat": {"id": user_id, "type": "private", "first_name": f"user{user_id}"},
                "date": int(time.time()), **content}

    async def send_update(self, update: dict[str, Any]) -> dict[str, Any]:
        assert self._changed is not None, "start() first"
        update = {"update_id": next(self._update_ids), **update}
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()
        return update

    async def send_text(self, user_id: int, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return await self.send_update({"message": self._message(user_id, **content)})

    async def send_voice(self, user_id: int, data: bytes, duration: int, mime_type: str = "audio/ogg") -> dict[str, Any]:
        file_id = "voice-" + uuid.uuid4().hex
        stored = StoredFile(file_id, uuid.uuid4().hex[:16], f"voice/{file_id}.oga", data)
        self.files[file_id] = stored
        voice = {"file_id": file_id, "file_unique_id": stored.file_unique_id, "duration": duration,
                 "mime_type": mime_type, "file_size": len(data)}
        return await self.send_update({"message": self._message(user_id, voice=voice)})

    async def send_sticker(self, user_id: int) -> dict[str, Any]:
        sticker = {"file_id": "sticker-" + uuid.uuid4().hex, "file_unique_id": uuid.uuid4().hex[:16], "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False}
        return await self.send_update({"message": self._message(user_id, sticker=sticker)})

    async def wait_sent(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        assert self._changed is not None, "start() first"
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.sent) >= count), timeout)
        return list(self.sent)

    def replies_to(self, user_id: int) -> list[str]:
        return [message["text"] for message in self.sent if message["chat"]["id"] == user_id]

    # ------------------------------------------------------------------ HTTP

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str) -> web.Response:
        return web.json_response({"ok": False, "error_code": code, "description": description}, status=code)

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        parameters: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            parameters.update(await request.json())
        elif request.can_read_body:
            form = await request.post()
            parameters.update({k: v for k, v in form.items() if isinstance(v, str)})
        method = request.match_info["method"].lower()
        self.calls.append((method, parameters))
        handler = getattr(self, f"_do_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        return await handler(parameters)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                self.downloads.append(path)
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return self._error(404, "Not Found")

    async def _do_getme(self, _: dict[str, Any]) -> web.Response:
        return self._ok(self.bot_user)

    async def _do_getupdates(self, p: dict[str, Any]) -> web.Response:
        assert self._changed is not None
        offset = int(p.get("offset", 0))  # aiogram leaves out falsy parameters
        limit = min(max(int(p.get("limit", MAX_UPDATES)), 1), MAX_UPDATES)
        timeout = float(p.get("timeout", 0))
        allowed = json.loads(p["allowed_updates"]) if p.get("allowed_updates") else None

        def ready() -> list[dict[str, Any]]:
            return [u for u in self.updates if allowed is None or any(kind in u for kind in allowed)]

        async with self._changed:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not ready() and timeout > 0 and not self._closing:
                try:
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(ready()) or self._closing), timeout)
                except asyncio.TimeoutError:
                    pass
            return self._ok(ready()[:limit])

    async def _do_sendmessage(self, p: dict[str, Any]) -> web.Response:
        assert self._changed is not None
        if "chat_id" not in p or not p.get("text"):
            return self._error(400, "Bad Request: message text is empty")
        if len(p["text"]) > 4096:
            return self._error(400, "Bad Request: message is too long")
        message = {"message_id": next(self._message_ids), "from": self.bot_user,
                   "chat": {"id": int(p["chat_id"]), "type": "private"}, "date": int(time.time()), "text": p["text"]}
        async with self._changed:
            self.sent.append(message)
            self._changed.notify_all()
        return self._ok(message)

    async def _do_sendchataction(self, _: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _do_getfile(self, p: dict[str, Any]) -> web.Response:
        stored = self.files.get(p.get("file_id", ""))
        if stored is None:
            return self._error(400, "Bad Request: invalid file_id")
        return self._ok({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                         "file_size": len(stored.data), "file_path": stored.file_path})

    async def _do_deletewebhook(self, p: dict[str, Any]) -> web.Response:
        if str(p.get("drop_pending_updates", "")).lower() == "true":
            self.updates.clear()
        return self._ok(True)

    async def _do_getwebhookinfo(self, _: dict[str, Any]) -> web.Response:
        return self._ok({"url": "", "has_custom_certificate": False, "pending_update_count": len(self.updates)})

    async def _do_close(self, _: dict[str, Any]) -> web.Response:
        return self._ok(True)

    _do_logout = _do_close
