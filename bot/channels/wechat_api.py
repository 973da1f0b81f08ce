"""The WeChat server API the channel calls: the access token and customer-service messages.

``api_base`` is configurable so tests and benchmarks point it at a loopback fake. Neither the
app secret nor an access token ever reaches a log line (both travel in query strings, so no
URL is logged either).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, Optional

import aiohttp

from bot.channels.wechat_store import AccessToken, Clock, WeChatStore

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com"
# WeChat's answers when a token is invalid, malformed or expired: drop it and fetch anew once.
TOKEN_REJECTED = frozenset({40001, 40014, 42001})
WINDOW_CLOSED = 45015  # the user has not written within 48 h
MAX_MEDIA_BYTES = 10 * 1024 * 1024
NETWORK_ERROR = -2  # our code, never WeChat's: the API did not answer usefully


class WeChatApiError(Exception):
    """WeChat answered with an ``errcode`` (or not at all: ``NETWORK_ERROR``)."""

    def __init__(self, operation: str, errcode: int, errmsg: str) -> None:
        super().__init__(f"{operation} failed: errcode={errcode} {errmsg}")
        self.operation = operation
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatApiClient:
    """Calls the WeChat API with a cached access token shared through the store.

    Args:
        appid: the Official Account's AppID.
        secret: its AppSecret.
        store: where the token is cached (Redis in production, so replicas share one token;
            every ``/cgi-bin/token`` call invalidates the previous token after a while).
        api_base: the API's base URL.
        refresh_margin_s: the token is refreshed this long before WeChat's ``expires_in``
            (capped at half the lifetime, so short-lived test tokens still get cached).
        clock: epoch seconds, injectable for tests.
        timeout_s: total time for one API call.
    """

    def __init__(
        self,
        appid: str,
        secret: str,
        store: WeChatStore,
        api_base: str = DEFAULT_API_BASE,
        refresh_margin_s: float = 300.0,
        clock: Clock = time.time,
        timeout_s: float = 10.0,
    ) -> None:
        self._appid = appid
        self._secret = secret
        self._store = store
        self._api_base = api_base.rstrip("/")
        self._refresh_margin_s = refresh_margin_s
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: Optional[aiohttp.ClientSession] = None
        self._refresh_lock = asyncio.Lock()

    async def access_token(self) -> str:
        """A valid access token: the cached one, or a fresh one (one refresh at a time)."""
        cached = await self._store.load_access_token()
        if cached is not None and cached.expires_at > self._clock():
            return cached.value
        async with self._refresh_lock:
            cached = await self._store.load_access_token()
            if cached is not None and cached.expires_at > self._clock():
                return cached.value
            return await self._refresh()

    async def _refresh(self) -> str:
        owner = await self._store.acquire_lock("token-refresh", ttl_s=15)
        if owner is None:  # another replica is refreshing: take its token when it lands
            for _ in range(20):
                await asyncio.sleep(0.25)
                cached = await self._store.load_access_token()
                if cached is not None and cached.expires_at > self._clock():
                    return cached.value
        try:
            token = await self._fetch_token()
            await self._store.save_access_token(token)
            return token.value
        finally:
            if owner is not None:
                await self._store.release_lock("token-refresh", owner)

    async def _fetch_token(self) -> AccessToken:
        params = {"grant_type": "client_credential", "appid": self._appid, "secret": self._secret}
        data = await self._call("token", "GET", "/cgi-bin/token", params=params)
        value = data.get("access_token")
        if not isinstance(value, str) or not value:
            raise _error("token", data)
        lifetime = float(data.get("expires_in") or 7200)
        margin = min(self._refresh_margin_s, lifetime / 2)
        log.info("wechat.token.refreshed expires_in=%d", int(lifetime))
        return AccessToken(value, self._clock() + lifetime - margin)

    async def send_text(self, openid: str, text: str) -> None:
        """Sends a customer-service text message (only within 48 h of the user's last message).

        Raises:
            WeChatApiError: WeChat refused it (``errcode`` says why) or did not answer.
        """
        payload = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        await self._post_with_token("custom_send", "/cgi-bin/message/custom/send", payload)

    async def send_template(self, openid: str, template_id: str, data: Dict[str, Dict[str, str]]) -> None:
        """Sends a template message (a notice allowed outside the 48 h window).

        Raises:
            WeChatApiError: WeChat refused it (``errcode`` says why) or did not answer.
        """
        payload = {"touser": openid, "template_id": template_id, "data": data}
        await self._post_with_token("template_send", "/cgi-bin/message/template/send", payload)

    async def download_media(self, media_id: str) -> bytes:
        """A voice message's or picture's bytes (``/cgi-bin/media/get``; kept 3 days by WeChat).

        Raises:
            WeChatApiError: WeChat answered with an error (JSON) or did not answer.
        """
        for attempt in (1, 2):
            token = await self.access_token()
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession(timeout=self._timeout)
            try:
                async with self._session.get(
                    self._api_base + "/cgi-bin/media/get",
                    params={"access_token": token, "media_id": media_id},
                ) as response:
                    kind = response.headers.get("Content-Type", "")
                    body = await response.content.read(MAX_MEDIA_BYTES + 1)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise WeChatApiError("media_get", NETWORK_ERROR, type(exc).__name__) from exc
            if len(body) > MAX_MEDIA_BYTES:
                raise WeChatApiError("media_get", NETWORK_ERROR, "media too large")
            if "json" not in kind and "text/plain" not in kind:
                return body
            data = json.loads(body or b"{}")
            errcode = int(data.get("errcode") or NETWORK_ERROR)
            if errcode in TOKEN_REJECTED and attempt == 1:
                await self._store.drop_access_token(token)
                continue
            raise _error("media_get", data)
        raise WeChatApiError("media_get", NETWORK_ERROR, "unreachable")

    async def _post_with_token(self, operation: str, path: str, payload: Dict[str, Any]) -> None:
        """POSTs ``payload``; a rejected token is dropped and the call made once more."""
        for attempt in (1, 2):
            token = await self.access_token()
            data = await self._call(operation, "POST", path, params={"access_token": token}, body=payload)
            errcode = int(data.get("errcode") or 0)
            if errcode == 0:
                return
            if errcode in TOKEN_REJECTED and attempt == 1:
                log.warning("wechat.token.rejected errcode=%d", errcode)
                await self._store.drop_access_token(token)
                continue
            raise _error(operation, data)

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        params: Dict[str, str],
        body: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        # WeChat shows \\uXXXX escapes literally, so Chinese text goes as UTF-8.
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        try:
            async with self._session.request(
                method, self._api_base + path, params=params, data=data, headers=headers
            ) as response:
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise WeChatApiError(operation, NETWORK_ERROR, type(exc).__name__) from exc
        if not isinstance(answer, dict):
            raise WeChatApiError(operation, NETWORK_ERROR, "answer is not a JSON object")
        return answer

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _error(operation: str, data: Dict[str, Any]) -> WeChatApiError:
    return WeChatApiError(operation, int(data.get("errcode") or NETWORK_ERROR), str(data.get("errmsg", "")))
