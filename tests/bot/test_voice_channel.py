"""The voice channel in a real Sanic server: call transcripts and recordings become turns."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.voice import VoiceInput
from tests.wechat.wechat_harness import ChannelServer, FakeBot


async def _post(server: ChannelServer, path: str, **kwargs) -> tuple:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://{server.base}/webhooks/voice/{path}", **kwargs) as response:
            return response.status, await response.json()


async def test_call_transcripts_are_voice_turns() -> None:
    bot = FakeBot()
    async with ChannelServer(VoiceInput(), bot) as server:
        status, replies = await _post(server, "webhook", json={"sender": "call-1", "message": "楼下施工太吵"})
        assert status == 200 and replies[0]["text"] == "收到：楼下施工太吵"
        assert bot.received[0].input_channel == "voice"
        assert bot.received[0].metadata == {"voice": {"type": "voice"}}
        assert (await _post(server, "webhook", data=b"x"))[0] == 400
        assert (await _post(server, "webhook", json={"message": "缺发送方"}))[0] == 422


async def test_recordings_are_transcribed_then_answered() -> None:
    heard = []

    async def transcribe(request: web.Request) -> web.Response:
        heard.append(await request.read())
        return web.json_response({"text": "路灯坏了", "duration_s": 1.2, "elapsed_s": 0.3})

    app = web.Application()
    app.router.add_post("/transcribe", transcribe)
    speech = TestServer(app)
    await speech.start_server()
    bot = FakeBot()
    async with ChannelServer(VoiceInput(speech_url=str(speech.make_url(""))), bot) as server:
        status, body = await _post(server, "audio?sender=caller-9", data=b"RIFF....WAVE")
        assert status == 200 and body["transcript"] == "路灯坏了"
        assert body["replies"][0]["text"] == "收到：路灯坏了" and heard == [b"RIFF....WAVE"]
        assert (await _post(server, "audio?sender=caller-9", data=b""))[0] == 400
        assert (await _post(server, "audio", data=b"abc"))[0] == 422
    await speech.close()


async def test_recordings_without_a_speech_service_are_refused_clearly() -> None:
    async with ChannelServer(VoiceInput(), FakeBot()) as server:
        status, body = await _post(server, "audio?sender=c", data=b"RIFF")
    assert status == 503 and body["error"]["message"] == "语音识别暂未开通"
