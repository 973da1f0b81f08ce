"""Benchmark: WeChat passive acknowledgement latency under concurrent senders, on loopback.

Starts the WeChat channel in a Sanic server of its own (a child process, the channel mounted by
Rasa's ``register`` at /webhooks/wechat/webhook) with a fast fake bot, then 50 citizens send
signed text messages concurrently, each waiting for its passive reply before the next. Prints
p50/p90/p99/max latency in milliseconds and requests per second (a figure, not a test).

Usage: .venv/bin/python benchmarks/wechat_ack.py [--senders 50] [--messages 40]
       [--mode plaintext|safe|both] [--store in_memory|redis://127.0.0.1:6379/0] [--bot-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Tuple

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.wechat_security import signature_of  # noqa: E402

TOKEN, APPID, SECRET = "benchToken", "wxbench0000000001", "bench-secret"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(port: int, aes_key: str, store: str, bot_ms: float) -> None:
    """The server process: the channel with a bot that echoes after ``bot_ms``."""
    from rasa.core.channels.channel import UserMessage, register
    from sanic import Sanic

    from bot.channels.wechat import WeChatInput

    logging.basicConfig(level=logging.WARNING)

    class Agent:
        async def handle_message(self, message: UserMessage) -> None:
            if bot_ms:
                await asyncio.sleep(bot_ms / 1000)
            await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")

    channel = WeChatInput.from_credentials(
        {"token": TOKEN, "appid": APPID, "secret": SECRET, "aes_key": aes_key, "store": store}
    )
    app = Sanic("wechat_ack_bench", configure_logging=False)
    app.ctx.agent = Agent()
    register([channel], app, route="/webhooks/")
    app.run(host="127.0.0.1", port=port, access_log=False, workers=1)


def message(openid: str, msg_id: int, aes_key: str) -> Tuple[bytes, Dict[str, str]]:
    stamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    params = {"timestamp": stamp, "nonce": nonce, "signature": signature_of(TOKEN, stamp, nonce)}
    xml = (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{stamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[小区门口烧烤摊占道经营，第{msg_id}条]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    if not aes_key:
        return xml.encode(), params
    from wechatpy.crypto import WeChatCrypto

    envelope = WeChatCrypto(TOKEN, aes_key, APPID).encrypt_message(xml, nonce, stamp)
    ciphertext = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    body = (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>"
    )
    params.update(encrypt_type="aes", msg_signature=signature_of(TOKEN, stamp, nonce, ciphertext))
    return body.encode(), params


async def sender(
    session: aiohttp.ClientSession, url: str, index: int, count: int, aes_key: str
) -> List[float]:
    latencies: List[float] = []
    openid = f"oBench{index:05d}{uuid.uuid4().hex[:8]}"
    for n in range(count):
        body, params = message(openid, index * 1_000_000 + n + int(time.time()) * 1000, aes_key)
        started = time.perf_counter()
        async with session.post(url, params=params, data=body) as response:
            text = await response.text()
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status != 200 or "收到" not in text and "<Encrypt>" not in text:
            raise RuntimeError(f"unexpected answer {response.status}: {text[:200]}")
    return latencies


async def load(url: str, senders: int, messages: int, aes_key: str) -> Dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=senders)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(
            *(sender(session, url, 90_000 + i, 3, aes_key) for i in range(senders))
        )  # warm-up
        started = time.perf_counter()
        runs = await asyncio.gather(*(sender(session, url, i, messages, aes_key) for i in range(senders)))
        elapsed = time.perf_counter() - started
    latencies = sorted(x for run in runs for x in run)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "p50": cuts[49],
        "p90": cuts[89],
        "p99": cuts[98],
        "max": latencies[-1],
        "rps": len(latencies) / elapsed,
    }


async def wait_ready(url: str, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the WeChat channel server did not start")


def run_mode(mode: str, args: argparse.Namespace) -> Dict[str, Any]:
    aes_key = AES_KEY if mode == "safe" else ""
    port = free_port()
    command = [
        sys.executable,
        __file__,
        "--serve",
        str(port),
        "--store",
        args.store,
        "--bot-ms",
        str(args.bot_ms),
    ]
    if aes_key:
        command += ["--aes-key", aes_key]
    server = subprocess.Popen(command, cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{port}/webhooks/wechat"
        asyncio.run(wait_ready(base + "/"))
        return asyncio.run(load(base + "/webhook", args.senders, args.messages, aes_key))
    finally:
        server.terminate()
        server.wait(timeout=15)
        if args.store.startswith("redis"):
            forget_bench_keys(args.store)


def forget_bench_keys(url: str) -> None:
    """The benchmark's dedupe and 48 h window keys would otherwise stay in Redis for days."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"rexian:wechat:{APPID}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--messages", type=int, default=40, help="messages per sender")
    parser.add_argument("--mode", choices=["plaintext", "safe", "both"], default="both")
    parser.add_argument("--store", default="in_memory")
    parser.add_argument("--bot-ms", type=float, default=0.0, help="fake bot think time")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--aes-key", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.aes_key, args.store, args.bot_ms)
        return
    modes = ["plaintext", "safe"] if args.mode == "both" else [args.mode]
    print(
        f"WeChat passive ack, {args.senders} concurrent senders, store={args.store}, bot={args.bot_ms:g} ms"
    )
    for mode in modes:
        r = run_mode(mode, args)
        print(
            f"{mode:<9} n={r['requests']}  p50={r['p50']:.1f} ms  p90={r['p90']:.1f} ms  "
            f"p99={r['p99']:.1f} ms  max={r['max']:.1f} ms  {r['rps']:.0f} req/s"
        )


if __name__ == "__main__":
    main()
