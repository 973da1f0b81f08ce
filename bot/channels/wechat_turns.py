"""One bot turn per WeChat message, whatever WeChat's retries do; one reply per turn.

WeChat waits 5 s for an answer and then delivers the same message again (three tries). A
turn is claimed in the store under the message's dedupe key, so only the first delivery
(on any replica) starts one. Every delivery of it that reaches this process waits for the
same turn until its own passive deadline (~4 s after it arrived):

* the turn finishes while a delivery still waits: the first waiter to wake takes the reply
  and answers it passively (the XML reply); every other delivery answers ``success``;
* no delivery is waiting when it finishes (all answered ``success`` at their deadlines, or
  their connections dropped): the reply goes out once through the customer-service API.

A delivery arriving after its turn finished, or while another replica runs it, answers
``success``: the reply was, or will be, delivered by the turn's owner.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Dict, List, Optional, Set

from bot.channels.wechat_messages import BOT_FAILED, pack
from bot.channels.wechat_security import hashed
from bot.channels.wechat_store import WeChatStore

log = logging.getLogger(__name__)

Produce = Callable[[], Awaitable[List[str]]]
Deliver = Callable[[str, List[str]], Awaitable[None]]


@dataclass(eq=False)
class _Turn:
    key: str
    openid: str
    msg_ref: str
    task: "Optional[asyncio.Future[List[str]]]" = None
    waiters: int = 0
    settled: bool = False  # the reply is taken: answered passively or handed to delivery
    texts: List[str] = field(default_factory=list)


class TurnCoordinator:
    """Runs bot turns, deduplicates deliveries and decides passive versus later delivery.

    Args:
        store: where deliveries are claimed (shared by replicas through Redis).
        deliver: sends texts to a user through the customer-service API.
        passive_timeout_s: how long a delivery waits for the turn before answering ``success``.
        dedupe_ttl_s: how long a message id stays claimed (WeChat retries within ~15 s).
    """

    def __init__(
        self,
        store: WeChatStore,
        deliver: Deliver,
        passive_timeout_s: float = 4.0,
        dedupe_ttl_s: float = 300.0,
    ) -> None:
        self._store = store
        self._deliver = deliver
        self._passive_timeout_s = passive_timeout_s
        self._dedupe_ttl_s = dedupe_ttl_s
        self._turns: Dict[str, _Turn] = {}
        self._background: Set["asyncio.Future[None]"] = set()

    async def answer(
        self, key: str, openid: str, msg_ref: str, produce: Produce, arrived: float
    ) -> Optional[str]:
        """The text to answer this delivery passively, or None to answer ``success``.

        Args:
            key: the message's dedupe key (MsgId, or sender + CreateTime for events).
            openid: the sender, for a later customer-service delivery.
            msg_ref: a log-safe reference to the message.
            produce: runs the bot turn and returns its texts (called at most once per key).
            arrived: ``loop.time()`` when the delivery arrived; its passive deadline counts from it.
        """
        turn = self._turns.get(key)
        if turn is None:
            claimed = await self._claim(key)
            turn = self._turns.get(key)  # a concurrent delivery may have started it meanwhile
            if turn is None and claimed:
                turn = self._start(key, openid, msg_ref, produce)
            elif turn is None:
                log.info("wechat.message.duplicate msg=%s sender=%s state=settled", msg_ref, hashed(openid))
                return None
            else:
                log.info("wechat.message.duplicate msg=%s sender=%s state=in_flight", msg_ref, hashed(openid))
        else:
            log.info("wechat.message.duplicate msg=%s sender=%s state=in_flight", msg_ref, hashed(openid))
        remaining = arrived + self._passive_timeout_s - asyncio.get_running_loop().time()
        return await self._await_reply(turn, max(0.0, remaining))

    async def _claim(self, key: str) -> bool:
        try:
            return await self._store.claim(key, self._dedupe_ttl_s)
        except Exception as exc:  # a store outage must not silence the hotline: answer anyway
            log.error("wechat.store.unavailable operation=claim error=%s", type(exc).__name__)
            return True

    def _start(self, key: str, openid: str, msg_ref: str, produce: Produce) -> _Turn:
        turn = _Turn(key=key, openid=openid, msg_ref=msg_ref)
        turn.task = asyncio.ensure_future(self._run(turn, produce))
        self._turns[key] = turn
        return turn

    async def _run(self, turn: _Turn, produce: Produce) -> List[str]:
        try:
            texts = await produce()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("wechat.turn.failed msg=%s sender=%s", turn.msg_ref, hashed(turn.openid))
            texts = [BOT_FAILED]
        turn.texts = pack(texts)
        self._turns.pop(turn.key, None)
        if turn.waiters == 0:
            self._hand_to_delivery(turn, turn.texts)
        return turn.texts

    async def _await_reply(self, turn: _Turn, timeout: float) -> Optional[str]:
        task = turn.task
        if task is None:
            return None
        turn.waiters += 1
        try:
            texts = await asyncio.wait_for(asyncio.shield(task), timeout)
            if turn.settled or not texts:
                turn.settled = True
                return None
            turn.settled = True
            if len(texts) > 1:  # a passive reply holds one message: the rest follow
                self._spawn(self._deliver(turn.openid, texts[1:]))
            log.info("wechat.reply.passive msg=%s sender=%s", turn.msg_ref, hashed(turn.openid))
            return texts[0]
        except asyncio.TimeoutError:
            log.info("wechat.reply.deferred msg=%s sender=%s", turn.msg_ref, hashed(turn.openid))
            return None
        finally:
            turn.waiters -= 1
            if turn.waiters == 0 and task.done() and not turn.settled and not task.cancelled():
                self._hand_to_delivery(turn, task.result())  # the last waiter left without it

    def _hand_to_delivery(self, turn: _Turn, texts: List[str]) -> None:
        turn.settled = True
        if texts:
            log.info(
                "wechat.reply.async msg=%s sender=%s parts=%d", turn.msg_ref, hashed(turn.openid), len(texts)
            )
            self._spawn(self._deliver(turn.openid, texts))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def in_flight(self) -> int:
        return len(self._turns) + len(self._background)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Waits for running turns and deliveries (at shutdown), at most ``timeout_s``."""
        pending = [t.task for t in self._turns.values() if t.task is not None] + list(self._background)
        if not pending:
            return
        _, still = await asyncio.wait(pending, timeout=timeout_s)
        for _ in range(2):  # turns that finished may just have spawned their delivery
            more = [t for t in self._background if not t.done()]
            if more:
                await asyncio.wait(more, timeout=timeout_s)
        if still:
            log.warning("wechat.shutdown.abandoned turns=%d", len(still))
