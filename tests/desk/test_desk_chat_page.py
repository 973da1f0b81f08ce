"""desk's web chat page, image uploads and the voice relay to the speech service."""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path
from typing import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _wav(seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(struct.pack("<h", 0) * int(16000 * seconds))
    return buffer.getvalue()


@pytest.fixture
async def chat_client(make_client, tmp_path: Path) -> TestClient:
    return await make_client(f"sqlite:///{tmp_path / 'desk.db'}", upload_dir=tmp_path / "uploads")


@pytest.fixture
async def fake_speech() -> AsyncIterator[TestServer]:
    received = []

    async def transcribe(request: web.Request) -> web.Response:
        body = await request.read()
        received.append(body)
        if len(body) > 20_000:
            return web.json_response({"error": {"code": "too_long", "message": "音频太长"}}, status=413)
        return web.json_response({"text": "小区门口的路灯坏了", "duration_s": 0.5, "elapsed_s": 0.1})

    app = web.Application()
    app.router.add_post("/transcribe", transcribe)
    server = TestServer(app)
    await server.start_server()
    server.received = received  # type: ignore[attr-defined]
    yield server
    await server.close()


async def test_chat_page_is_chinese_and_carries_its_config(chat_client: TestClient) -> None:
    response = await chat_client.get("/chat")
    assert response.status == 200
    page = await response.text()
    assert "示范市 12345 在线服务" in page and 'lang="zh-CN"' in page
    assert '"rasaPort": 5005' in page and "{{" not in page
    for asset in ("chat.js", "chat.css"):
        assert (await chat_client.get(f"/chat/static/{asset}")).status == 200
    assert (await chat_client.get("/chat/static/../settings.py")).status == 404


async def test_an_uploaded_image_is_served_back(chat_client: TestClient) -> None:
    response = await chat_client.post("/api/chat/uploads", data=PNG, headers={"Content-Type": "image/png"})
    assert response.status == 201
    url = (await response.json())["url"]
    assert url.startswith("/uploads/") and url.endswith(".png")
    served = await chat_client.get(url)
    assert served.status == 200 and await served.read() == PNG
    assert served.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"", 400, "bad_request"),
        (b"<svg onload=alert(1)>", 415, "unsupported_media"),
        (PNG + b"\x00" * (5 * 1024 * 1024), 413, "too_large"),
    ],
)
async def test_bad_uploads_are_refused_clearly(
    chat_client: TestClient, body: bytes, status: int, code: str
) -> None:
    response = await chat_client.post("/api/chat/uploads", data=body, headers={"Content-Type": "image/png"})
    assert response.status == status
    error = (await response.json())["error"]
    assert error["code"] == code and error["message"]


@pytest.mark.parametrize("name", ["..%2Fdesk.db", "nothing.png", "abc.exe", "a.b.png"])
async def test_unknown_upload_names_are_not_found(chat_client: TestClient, name: str) -> None:
    assert (await chat_client.get(f"/uploads/{name}")).status == 404


async def test_voice_without_a_speech_service_is_refused_politely(chat_client: TestClient) -> None:
    response = await chat_client.post("/api/chat/voice", data=_wav())
    assert response.status == 503
    assert "文字" in (await response.json())["error"]["message"]


async def test_voice_is_transcribed_by_the_speech_service(make_client, tmp_path: Path, fake_speech) -> None:
    client = await make_client(
        f"sqlite:///{tmp_path / 'desk.db'}",
        upload_dir=tmp_path / "up",
        speech_url=str(fake_speech.make_url("")),
    )
    response = await client.post("/api/chat/voice", data=_wav())
    assert response.status == 200
    body = await response.json()
    assert body["text"] == "小区门口的路灯坏了" and body["url"].endswith(".wav")
    assert fake_speech.received == [_wav()]
    refused = await client.post("/api/chat/voice", data=_wav(seconds=2))
    assert refused.status == 422 and (await refused.json())["error"]["message"] == "音频太长"
    not_wav = await client.post("/api/chat/voice", data=b"ID3" + b"\x00" * 100)
    assert not_wav.status == 415


async def test_uploads_past_the_limit_get_429_with_a_wait(make_client, tmp_path: Path) -> None:
    client = await make_client(
        f"sqlite:///{tmp_path / 'desk.db'}", upload_dir=tmp_path / "uploads", chat_uploads_per_window=3
    )
    for _ in range(3):
        ok = await client.post("/api/chat/uploads", data=PNG, headers={"Content-Type": "image/png"})
        assert ok.status == 201
    refused = await client.post("/api/chat/voice", data=_wav())  # voice counts too

    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) > 0
    error = (await refused.json())["error"]
    assert error["code"] == "too_many_uploads" and "上传太频繁" in error["message"]
    assert len(list((tmp_path / "uploads").iterdir())) == 3  # nothing stored past the limit


def test_the_window_slides() -> None:
    from desk.web.routes import TooManyUploads, UploadLimiter

    now = [0.0]
    limiter = UploadLimiter(2, 60.0, clock=lambda: now[0])
    limiter.check("a")
    limiter.check("a")
    limiter.check("b")  # each client counts alone
    with pytest.raises(TooManyUploads):
        limiter.check("a")
    now[0] = 60.5
    limiter.check("a")  # the first two have left the window


async def test_behind_a_proxy_each_citizen_has_their_own_limit(make_client, tmp_path: Path) -> None:
    client = await make_client(
        f"sqlite:///{tmp_path / 'desk.db'}",
        upload_dir=tmp_path / "uploads",
        chat_uploads_per_window=1,
        chat_client_header="X-Real-IP",
    )

    async def upload(address: str) -> int:
        headers = {"Content-Type": "image/png", "X-Real-IP": address}
        return (await client.post("/api/chat/uploads", data=PNG, headers=headers)).status

    assert await upload("10.0.0.1") == 201
    assert await upload("10.0.0.2") == 201  # same peer (the proxy), another citizen
    assert await upload("10.0.0.1") == 429
