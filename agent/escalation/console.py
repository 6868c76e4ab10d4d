"""What the copilot console does with a ticket: take it, reply to the customer, run an approved action, hand the
conversation back to the bot. Each change is one transaction; the customer's widget receives the person's words
through the session's live event stream (messages flagged `live`)."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from agent import locales
from agent.escalation import copilot
from agent.escalation.handoff import customer_orders, timeline
from agent.escalation.holds import HoldDesk
from agent.escalation.presence import JOINED, LEFT
from agent.escalation.roles import StaffRole
from agent.escalation.staff import StaffDirectory, role_of
from agent.escalation.tables import HandoffTicket, StaffUser
from agent.escalation.texts import reason_words, text, tool_words
from agent.escalation.tickets import NotYourTicket, StaffForbidden, TicketDesk, TicketError, priority
from agent.feedback.store import FeedbackStore
from agent.memory import ChatMessage
from tools.context import Role, StoreContext
from tools.errors import ToolError
from tools.runner import ToolKind, ToolResult

if TYPE_CHECKING:
    from agent.manager import Agent

# The customer's own steps: a person cannot transfer to a person, nor sign a customer in with a code.
CONSOLE_TOOLS_EXCLUDED = {"transfer_to_human_agents", "send_sign_in_code", "check_sign_in_code"}


class ConsoleService:
    def __init__(self, agent: Agent) -> None:
        if agent.escalation is None:
            raise RuntimeError("the console needs the agent's escalation monitor (AgentConfig.escalation)")
        self.agent = agent
        self.monitor = agent.escalation
        self.desk: TicketDesk = agent.escalation.desk
        self.staff = StaffDirectory(agent.store)
        self.holds = HoldDesk(agent)

    # --- reading -------------------------------------------------------------------------------------------

    def queue(self, staff: StaffUser) -> list[dict[str, Any]]:
        """The open tickets this person may work: an agent's own and the unassigned ones; a supervisor's all."""
        return [{**row, "reason_text": reason_words(row["reason"])}
                for row in self.desk.queue() if self._may_see(row["staff_id"], staff)]

    def view(self, ticket_id: int, staff: StaffUser) -> dict[str, Any]:
        ticket = self._visible(ticket_id, staff)
        state = self.agent.conversations.state(ticket.session_id)
        with self.agent.store.session() as session:
            orders = customer_orders(session, ticket.customer_id,
                                     [o["order_id"] for o in ticket.orders if o.get("mentioned")])
            sentiment = timeline(session, ticket.session_id)
        suggestions = copilot.suggest(self.agent, ticket, state, orders)
        return {
            "ticket": {**ticket.to_json(), "priority": priority(ticket), "reason_text": reason_words(ticket.reason)},
            "transcript": self.transcript(ticket.session_id),
            "timeline": sentiment,
            "customer": {"customer_id": ticket.customer_id, "orders": orders},
            "pending_proposal": state.pending,
            "drafts": suggestions.drafts,
            "actions": suggestions.actions,
        }

    def colleagues(self, staff: StaffUser) -> list[dict[str, str]]:
        """The active staff, for a supervisor to assign tickets to."""
        if not is_supervisor(staff):
            raise StaffForbidden("only a supervisor assigns tickets")
        return [{"staff_id": u.id, "display_name": u.display_name, "role": u.role} for u in self.staff.active()]

    def transcript(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.agent.conversations.messages(session_id)
        return [{"id": r.id, "role": r.role, "text": r.text, "at": r.created_at.isoformat(),
                 "author": (r.payload or {}).get("author"), "human": bool((r.payload or {}).get("human")),
                 **(_tool_result(r) if r.role == "tool" else {})} for r in rows]

    # --- changes -------------------------------------------------------------------------------------------

    def take(self, ticket_id: int, staff: StaffUser) -> HandoffTicket:
        ticket = self.desk.take(ticket_id, staff.id, supervisor=is_supervisor(staff))
        if ticket.taken_at is not None:
            self._notice(ticket.session_id, "taken", staff, JOINED)
        return ticket

    def claim(self, ticket_id: int, staff: StaffUser) -> HandoffTicket:
        return self.desk.assign(ticket_id, staff.id, supervisor=is_supervisor(staff))

    def assign(self, ticket_id: int, staff: StaffUser, to_staff_id: str) -> HandoffTicket:
        """A supervisor gives the ticket to a staff member (an agent may only claim it for themselves)."""
        if not is_supervisor(staff):
            raise StaffForbidden("only a supervisor assigns tickets to others; claim it for yourself instead")
        if self.staff.get(to_staff_id) is None:
            raise LookupError(f"no staff user {to_staff_id}")
        return self.desk.assign(ticket_id, to_staff_id, supervisor=True)

    def reply(self, ticket_id: int, staff: StaffUser, message: str, draft: str | None = None) -> ChatMessage:
        """A person's reply; `draft` is the copilot's suggestion it started from, recorded when they changed it."""
        ticket = self._owned(ticket_id, staff)
        if draft is None:
            return self._say(ticket.session_id, message, staff)
        return FeedbackStore(self.agent.store).staff_reply(ticket.session_id, message, _said_by(staff, None),
                                                           draft=draft, staff_id=staff.id)

    def act(self, ticket_id: int, staff: StaffUser, tool: str, arguments: dict[str, Any]) -> ToolResult:
        """Run one tool call the person approved, through the same runner and store policy as the bot's calls;
        the person's click is the approval of exactly these arguments, the audit log names them."""
        ticket = self._owned(ticket_id, staff)
        if tool in CONSOLE_TOOLS_EXCLUDED or tool not in self.agent.runner.tools:
            return ToolResult(tool, arguments, ok=False, error=f"Tool '{tool}' is not available in the console.")
        state = self.agent.conversations.state(ticket.session_id)
        ctx = StoreContext(self.agent.store, role=Role.STAFF, customer_id=state.customer_id,
                           session_id=ticket.session_id, staff_id=staff.id, staff_role=staff.role,
                           retriever=self.agent.retriever, identity=self.agent.identity)
        if self.agent.runner.kind(tool) is ToolKind.WRITE:
            with contextlib.suppress(ToolError):  # invalid arguments: the runner refuses them below
                ctx.approve(tool, self.agent.runner.validate(tool, arguments))
        with self.agent._lock(ticket.session_id):
            result = self.agent.runner.call(ctx, tool, arguments)
            self.agent.conversations.append(ticket.session_id, "tool", result.content(), {
                "name": tool, "arguments": result.arguments, "ok": result.ok, "error": result.error,
                "staff_id": staff.id})
        return result

    def hand_back(self, ticket_id: int, staff: StaffUser, *, resolve: bool = False) -> HandoffTicket:
        self._owned(ticket_id, staff)
        ticket = self.desk.resolve(ticket_id, staff.id) if resolve else self.desk.hand_back(ticket_id, staff.id)
        with self.agent._lock(ticket.session_id):
            state = self.agent.conversations.state(ticket.session_id)
            state.handed_off = False
            state.misunderstood = 0
            self.agent.conversations.save_state(ticket.session_id, state)
            self.monitor.reset(ticket.session_id)
        self._notice(ticket.session_id, "handed_back", staff, LEFT)
        return ticket

    def _may_see(self, owner: str | None, staff: StaffUser) -> bool:
        return owner in (None, staff.id) or is_supervisor(staff)

    def _visible(self, ticket_id: int, staff: StaffUser) -> HandoffTicket:
        ticket = self.desk.get(ticket_id)
        if not self._may_see(ticket.staff_id, staff):
            raise NotYourTicket(f"ticket {ticket_id} is assigned to {ticket.staff_id}")
        return ticket

    def _owned(self, ticket_id: int, staff: StaffUser) -> HandoffTicket:
        ticket = self.desk.get(ticket_id)
        if ticket.status != "active" or ticket.staff_id != staff.id:
            raise TicketError(f"take ticket {ticket_id} first (it is {ticket.status}"
                              + (f", with {ticket.staff_id})" if ticket.staff_id else ")"))
        return ticket

    def _notice(self, session_id: str, key: str, staff: StaffUser, presence: str) -> ChatMessage:
        """A notice to the customer that a person joined or left, in the conversation's language."""
        with locales.speaking(self.agent.conversations.state(session_id).language):
            message = text("notices", key, name=staff.display_name)
        return self._say(session_id, message, staff, notice=presence)

    def _say(self, session_id: str, message: str, staff: StaffUser, *, notice: str | None = None) -> ChatMessage:
        """A person's words (notice None) or a notice that they joined or left, on the customer's live stream."""
        return self.agent.conversations.append(session_id, "assistant", message, _said_by(staff, notice))


def _said_by(staff: StaffUser, notice: str | None) -> dict[str, Any]:
    return {"live": True, "human": notice is None, "notice": notice is not None, "presence": notice,
            "staff_id": staff.id, "author": staff.display_name, "avatar_url": staff.avatar_url}


def _tool_result(row: ChatMessage) -> dict[str, Any]:
    """A tool message for people: what it was in words and its result as data the console shows as a table
    (None when the result is plain text or an error, shown as words)."""
    payload = row.payload or {}
    ok = bool(payload.get("ok"))
    label = tool_words(payload.get("name"))
    if not ok:
        return {"tool": label, "ok": False, "result": None,
                "text": text("tools", "failed", tool=label, error=payload.get("error") or "")}
    try:
        result = json.loads(row.text)
    except ValueError:
        result = None
    return {"tool": label, "ok": True, "result": result if isinstance(result, dict | list) else None}


def is_supervisor(staff: StaffUser) -> bool:
    return role_of(staff) is StaffRole.SUPERVISOR
