"""Policy answers from desk's knowledge base, as the bot says them."""

from __future__ import annotations

from typing import Optional

from rasa_sdk.executor import CollectingDispatcher

from actions.desk_client import DeskClient, DeskUnavailable, TicketNotFound


async def answer_policy(
    desk: DeskClient, dispatcher: CollectingDispatcher, question: str, context: Optional[str]
) -> Optional[str]:
    """Utters the answer with its sources; returns the document id it came from, if any."""
    try:
        found = await desk.answer(question, context=context)
    except (DeskUnavailable, TicketNotFound):
        dispatcher.utter_message(text="抱歉，政策知识库暂时无法访问，请稍后再问，或拨打12345由人工解答。")
        return None
    sources = found.get("sources") or []
    if not sources:
        dispatcher.utter_message(response="utter_policy_not_found")
        return None
    cited = "、".join(f"《{s['title']}》（{s['id']}）" for s in sources)
    dispatcher.utter_message(text=f"{found['answer']}\n\n来源：{cited}")
    return str(sources[0]["id"])
