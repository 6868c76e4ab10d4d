"""The store-policy sign-in tools: mail a one-time code to an account's email, check the code typed back.

Not offered to the model (agent/toolcall.py AGENT_TOOLS): only the identity flow calls them
(agent/flows/identity.py). Both answer alike whether or not the email belongs to an account.
"""

from __future__ import annotations

import logging
from typing import Annotated

from langchain_core.tools import InjectedToolArg

from tools.context import StoreContext
from tools.errors import ToolError
from tools.runner import ToolKind, store_tool
from tools.sign_in_codes import Checked, CodeRules, check, issue

Ctx = Annotated[StoreContext, InjectedToolArg]
log = logging.getLogger(__name__)


def _conversation(ctx: StoreContext) -> str:
    if ctx.session_id is None:
        raise ToolError("A sign-in code belongs to a conversation.")
    return ctx.session_id


@store_tool(ToolKind.READ)
def send_sign_in_code(email: str, ctx: Ctx) -> dict:
    """Mail a one-time sign-in code to the account with this email, if there is one; the answer is the same either way.

    Args:
        email: The email address the customer gave.
    """
    issued = issue(ctx.db, email, _conversation(ctx), ctx.code_rules or CodeRules())
    if issued.throttled:
        return {"sent": False, "reason": "too many codes requested"}
    mail = ctx.code_mail
    if issued.code is not None and issued.email is not None:
        if mail is None:
            log.warning("no mailer configured: a sign-in code could not be sent")
        else:
            code, to = issued.code, issued.email
            ctx.after_commit.append(lambda: mail.send_code(to, code))
    return {"sent": True}


@store_tool(ToolKind.READ)
def check_sign_in_code(code: str, ctx: Ctx) -> dict:
    """Check the one-time code the customer typed; a right one verifies the conversation as that account.

    Args:
        code: The 6 digits the customer typed.
    """
    verdict, user_id = check(ctx.db, _conversation(ctx), code.strip(), ctx.code_rules or CodeRules())
    if verdict is Checked.VERIFIED and user_id is not None:
        ctx.authenticate(user_id)
        return {"verified": True, "user_id": user_id}
    return {"verified": False, "reason": verdict.value}


SIGN_IN_TOOLS = [send_sign_in_code, check_sign_in_code]
