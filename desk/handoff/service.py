"""The hand-off desk: escalations queue up, an operator claims one, talks, hands back or closes.

While an operator holds a conversation Rasa has it paused (a ``pause`` event in its tracker):
the bot sends nothing, every citizen message is still logged and reaches the operator through
desk's event feed, and the operator's words go into the tracker as bot events delivered on
the citizen's channel. Handing back appends ``resume``, and the bot carries on with the slots
it had. An operator silent for ``operator_timeout_s`` (console closed, network gone) loses the
conversation back to the queue, with a note, so no citizen is stranded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Dict, List, Optional

from desk.audit import AuditLog
from desk.errors import Conflict, DeskError, Forbidden, NotFound
from desk.events import ConversationEvent
from desk.handoff.rasa_client import PAUSE, RESUME, RasaClient, RasaUnavailable, bot_message, operator_message
from desk.handoff.store import HELD, WAITING, AlreadyClaimed, Handoff, HandoffNotFound, HandoffStore
from desk.tickets.service import hashed

log = logging.getLogger(__name__)
Clock = Callable[[], float]

REASONS = {
    "explicit": "市民要求转人工",
    "misunderstood": "连续两次未能理解",
    "anger": "市民情绪激动",
    "urgent": "紧急情况",
    "kb_unanswered": "政策问题知识库无法回答",
}
CLAIMED = "您好，我是人工客服{name}，接下来由我为您服务。"
HANDED_BACK = "人工客服已结束服务，智能助手继续为您服务。您可以接着说。"
CLOSED = "本次人工服务已结束，感谢您的耐心。如还有问题，随时可以再找我们。"
REQUEUED = "客服连接中断，正在为您重新转接其他客服，请稍候。"
SEEN_TTL_S = 600.0


class RasaDown(DeskError):
    status = 503
    code = "rasa_unavailable"


class HandoffService:
    def __init__(
        self,
        store: HandoffStore,
        rasa: RasaClient,
        audit: AuditLog,
        operator_timeout_s: float = 60.0,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.rasa = rasa
        self.audit = audit
        self.operator_timeout_s = operator_timeout_s
        self.clock = clock

    # ---- the citizen's side (called by the action server) ---------------------------------

    async def escalate(
        self, sender_id: str, channel: str, reason: str, draft: Dict[str, Any]
    ) -> Dict[str, Any]:
        """Queues the conversation (once); returns its place in the queue."""
        entry = Handoff(
            sender_id=sender_id,
            channel=channel,
            reason=reason,
            enqueued_at=self.clock(),
            priority=1 if reason == "urgent" else 0,
            draft={k: v for k, v in draft.items() if v not in (None, "")},
        )
        stored = await self.store.add(entry)
        if stored.enqueued_at == entry.enqueued_at and stored.reason == reason:
            log.info("desk.handoff.queued sender=%s reason=%s", hashed(sender_id), reason)
            await self._audit("system", "handoff.queue", sender_id, reason=reason, channel=channel)
            await self.store.publish({"type": "queue"})
        return await self.status(sender_id)

    async def status(self, sender_id: str) -> Dict[str, Any]:
        """``{"state": "waiting"|"held"|"none", "position", "waiting", "operator"}``."""
        queue = await self.store.all()
        waiting = [h for h in queue if h.state == WAITING]
        for handoff in queue:
            if handoff.sender_id == sender_id:
                position = next((i for i, h in enumerate(waiting, 1) if h.sender_id == sender_id), 0)
                return {
                    "state": handoff.state,
                    "position": position,
                    "waiting": len(waiting),
                    "operator": handoff.operator,
                    "waited_s": round(self.clock() - handoff.enqueued_at, 1),
                }
        return {"state": "none", "position": 0, "waiting": len(waiting), "operator": None}

    async def withdraw(self, sender_id: str, why: str) -> Dict[str, Any]:
        """The citizen stopped waiting (left a callback ticket instead)."""
        handoff = await self.store.get(sender_id)
        if handoff is None:
            raise NotFound("该会话不在人工队列中")
        if handoff.state == HELD:
            raise Conflict("人工客服已接入，不能撤回")
        await self.store.remove(sender_id)
        await self._audit("system", "handoff.withdraw", sender_id, why=why)
        await self.store.publish({"type": "queue"})
        return {"state": "none"}

    # ---- the operator's side ------------------------------------------------------------------

    async def queue(self) -> List[Dict[str, Any]]:
        now = self.clock()
        return [self._view(h, now) for h in await self.store.all()]

    async def claim(self, sender_id: str, operator: str) -> Dict[str, Any]:
        previous = await self.store.get(sender_id)
        try:
            handoff = await self.store.claim(sender_id, operator, self.clock())
        except HandoffNotFound:
            raise NotFound("该会话不在人工队列中") from None
        except AlreadyClaimed as exc:
            raise Conflict(f"该会话已由客服 {exc.operator} 接入", {"operator": exc.operator}) from None
        if previous is not None and previous.state == HELD:
            return self._view(handoff, self.clock())  # the same operator again: nothing to do
        try:
            await self.rasa.append(
                sender_id, [PAUSE, operator_message(CLAIMED.format(name=operator), operator)]
            )
        except RasaUnavailable:
            if previous is not None:
                await self.store.save(previous)  # back in the queue as it was
            raise RasaDown("对话引擎暂时不可用，接入失败，请稍后重试") from None
        await self._audit(
            operator, "handoff.claim", sender_id, waited_s=round(self.clock() - handoff.enqueued_at, 1)
        )
        await self.store.publish({"type": "queue"})
        return self._view(handoff, self.clock())

    async def say(self, sender_id: str, operator: str, text: str) -> None:
        await self.held_by(sender_id, operator)
        try:
            await self.rasa.append(sender_id, [operator_message(text, operator)])
        except RasaUnavailable:
            raise RasaDown("对话引擎暂时不可用，消息未发出，请重试") from None
        await self._audit(operator, "handoff.message", sender_id, text=text)

    async def release(self, sender_id: str, operator: str, close: bool, note: Optional[str]) -> None:
        """Hands the conversation back to the bot (``close``: ends the service politely)."""
        await self.held_by(sender_id, operator)
        events: List[Dict[str, Any]] = [RESUME, {"event": "slot", "name": "handoff_state", "value": None}]
        events.append(bot_message(CLOSED if close else HANDED_BACK))
        try:
            await self.rasa.append(sender_id, events)
        except RasaUnavailable:
            raise RasaDown("对话引擎暂时不可用，请稍后重试") from None
        await self.store.remove(sender_id)
        await self._audit(operator, "handoff.close" if close else "handoff.release", sender_id, note=note)
        await self.store.publish({"type": "queue"})

    async def update_draft(self, sender_id: str, operator: str, draft: Dict[str, Any]) -> Dict[str, Any]:
        handoff = await self.held_by(sender_id, operator)
        changed = {k: v for k, v in draft.items() if handoff.draft.get(k) != v}
        handoff.draft.update(draft)
        await self.store.save(handoff)
        if changed:
            await self._audit(operator, "handoff.draft", sender_id, changed=sorted(changed))
        return handoff.draft

    async def touch(self, operator: str) -> None:
        """The operator is still there (console heartbeat or any call)."""
        now = self.clock()
        for handoff in await self.store.all():
            if handoff.state == HELD and handoff.operator == operator:
                handoff.operator_seen_at = now
                await self.store.save(handoff)

    async def requeue_stale(self) -> int:
        """Returns conversations whose operator went silent to the queue; how many."""
        now, moved = self.clock(), 0
        for handoff in await self.store.all():
            seen = handoff.operator_seen_at or handoff.claimed_at or 0.0
            if handoff.state != HELD or now - seen < self.operator_timeout_s:
                continue
            gone = handoff.operator
            handoff.state, handoff.operator, handoff.claimed_at = WAITING, None, None
            handoff.note = f"客服 {gone} 连接中断，已重新排队"
            await self.store.save(handoff)
            moved += 1
            await self._audit("system", "handoff.requeue", handoff.sender_id, operator=gone)
            try:  # still paused: the citizen waits for the next operator, and is told so
                await self.rasa.append(handoff.sender_id, [bot_message(REQUEUED)])
            except RasaUnavailable:
                log.warning("desk.handoff.requeue_notice_failed sender=%s", hashed(handoff.sender_id))
        if moved:
            await self.store.publish({"type": "queue"})
        return moved

    # ---- live feed ------------------------------------------------------------------------------

    async def on_events(self, events: List[ConversationEvent]) -> None:
        """Fans out messages of conversations on the desk to the consoles, each once.

        A citizen message usually arrives twice: first as the channel's live copy
        (``user_live``, before NLU), then as Rasa's logged ``user`` event.
        """
        for event in events:
            if event.kind not in ("user", "user_live", "bot") or not event.text:
                continue
            handoff = await self.store.get(event.sender_id)
            if handoff is None:
                continue
            if event.kind in ("user", "user_live") and event.message_id:
                if not await self.store.first_sight(f"{event.sender_id}:{event.message_id}", SEEN_TTL_S):
                    continue
            if event.kind != "bot":
                handoff.last_citizen_at = event.timestamp
                await self.store.save(handoff)
            speaker = "operator" if event.custom.get("operator") else "bot"
            message = {
                "type": "message",
                "sender_id": event.sender_id,
                "from": "citizen" if event.kind != "bot" else speaker,
                "text": event.text,
                "timestamp": event.timestamp,
                "operator": event.custom.get("operator"),
                "voice": any(
                    isinstance(v, dict) and v.get("type") == "voice" for v in event.metadata.values()
                ),
            }
            await self.store.publish(message)

    # ---- helpers --------------------------------------------------------------------------------

    async def held_by(self, sender_id: str, operator: str) -> Handoff:
        handoff = await self.store.get(sender_id)
        if handoff is None:
            raise NotFound("该会话不在人工队列中")
        if handoff.state != HELD:
            raise Conflict("请先接入该会话")
        if handoff.operator != operator:
            raise Forbidden(f"该会话由客服 {handoff.operator} 负责")
        return handoff

    def _view(self, handoff: Handoff, now: float) -> Dict[str, Any]:
        return {
            "sender_id": handoff.sender_id,
            "channel": handoff.channel,
            "reason": handoff.reason,
            "reason_text": REASONS.get(handoff.reason, handoff.reason),
            "state": handoff.state,
            "operator": handoff.operator,
            "urgent": handoff.priority > 0,
            "waiting_s": round(now - handoff.enqueued_at, 1),
            "note": handoff.note,
            "draft": handoff.draft,
        }

    async def _audit(self, actor: str, action: str, target: str, **details: Any) -> None:
        await asyncio.to_thread(self.audit.record, actor, action, target, **details)
