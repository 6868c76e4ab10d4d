"""A deterministic scripted customer built from a tau2 task's user scenario.

It speaks only from the scenario's text (reason for the call, known and unknown info), never from the ground-truth
actions: it opens with its first request, gives its identity when asked, says it does not know what it does not
know, answers yes when the agent lists an action and asks for confirmation (to the first proposal, what the
scenario says to it, if anything: "If the agent asks for confirmation, only exchange the desk lamp"), raises its next
request when the agent is done with one, and stops when the agent transfers it, when it has nothing left to ask, or at
a turn limit. Sentences of the scenario that instruct the simulator rather than describe the customer's wishes ("If the
agent asks ...", "do not reveal ...") are not said; sentences that describe its wishes in terms of the agent are said
to the agent ("You want the agent to cancel it" -> "I want you to cancel it"). A proposal with an item the scenario
never names, where the request names the items it wants, gets a no and the request again. Its recurring utterances
(yes, its email, "that's all") are worded plainly, or by a seeded paraphrase from a test-only bank
(evals/tasks/paraphrase.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from evals.tasks.chinese import ChineseWording, has_chinese, reading
from evals.tasks.loader import Scenario
from evals.tasks.paraphrase import Phrasing

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ZIP = re.compile(r"\b\d{5}\b")
FULL_NAME = re.compile(r"\b(?:called|name is|are|you're)\s+([A-Z][a-z]+)\s+([A-Z][a-z]+)\b", re.I)
USER_ID = re.compile(r"\b([a-z]+)_([a-z]+)_\d{3,5}\b")
ORDER_ID = re.compile(r"#?\bW\d{7}\b")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
PARENTHESIS = re.compile(r"\s*\(([^)]*)\)")
# Sentences addressed to the simulator, not things the customer would say. A sentence merely naming the agent is
# not one of them: "You want the agent to cancel ..." is a wish, said to the agent (AGENT_AS_LISTENER).
ADDRESSED_TO_SIMULATOR = re.compile(
    r"\b(do not reveal|don't reveal|not reveal|(do not|don't) (share|tell|say)|if and only if|make sure|mention|"
    r"you are not familiar|pretend|act as|be (very )?brief|swear|when asked|refuses|say that)\b", re.I)
CONDITIONAL = re.compile(r"^(if|when|but if|but when|once|only if|otherwise|then)\b", re.I)
MENTIONS_AGENT = re.compile(r"\b(the agent|agent's)\b", re.I)
# The scenario's words about the agent, in the first person, as the customer says them to the agent.
AGENT_AS_LISTENER: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:I )?tell the agent not to\b", re.I), "please don't"),
    (re.compile(r"\b(?:I )?(?:tell|inform) the agent (?:that )?", re.I), ""),
    (re.compile(r"\b(?:I )?ask the agent (?:explicitly |directly )?to\b", re.I), "please"),
    (re.compile(r"\b(?:I )?ask the agent (?:explicitly |directly )?(?=how|what|which|when|where|whether|if|about)",
                re.I), "I'd like to know "),
    (re.compile(r"\bthe agent's\b", re.I), "your"),
    (re.compile(r"\bthe agent\b", re.I), "you"),
]
STAGE_DIRECTION = re.compile(f"{ADDRESSED_TO_SIMULATOR.pattern}|{CONDITIONAL.pattern}", re.I)
TOPICS = {
    "payment": re.compile(r"\b(pay ?pal|gift ?card|credit card|card|payment|refund|pay)\b", re.I),
    "address": re.compile(r"\b(address|\d+ [A-Z][a-z]+ (street|st|avenue|ave|road|rd|drive|dr|lane|ln|way|highway))",
                          re.I),
    "reason": re.compile(r"\b(no longer|don'?t need|not need|mistake|accident|changed? (my|your) mind)\b", re.I),
}


# "If asked for reason, say you ordered the items by mistake": what the scenario tells the customer to answer.
INSTRUCTED = re.compile(r"^if (?:the agent )?ask(?:s|ed) (?:you )?(?:for|about) (?:your |the |a )?(?P<what>[\w ]+?),? "
                        r"(?:you )?(?:say|answer|tell (?:them|the agent))(?: that)? (?P<answer>.+?)\.?$", re.I)
# "If the agent asks for confirmation, only exchange the desk lamp": what the customer says to the first proposal.
AT_CONFIRMATION = re.compile(r"(?:^|\bbut )(?:if|when) the agent asks (?:you )?(?:for (?:final )?confirmation|to "
                             r"confirm)(?: before proceeding)?,\s*(?:do not say yes immediately, because )?"
                             r"(?:(?:mention|say|tell (?:them|the agent)) that )?"
                             r"(?P<then>.+?)\.?$", re.I)
# "If the agent asks for which laptop, it is 15-inch, 32GB", "... which vacuum cleaner, mention the robotic one".
WHICH_ONE = re.compile(r"^if the agent asks (?:you )?(?:for )?which (?P<what>[\w -]+?),\s*(?:mention |say )?"
                       r"(?P<answer>.+?)\.?$", re.I)
TOGETHER = re.compile(r"[^.]*\bmention (?:these|them|both)(?: things)? (?:at the same time|together)[^.]*\.?", re.I)
METHOD_NAMES = re.compile(r"\b(pay ?pal|gift ?card|credit card)\b", re.I)
# Words of a scenario's instruction that name no thing the proposal could be about.
GENERIC_WORDS = {"only", "also", "just", "change", "mind", "using", "decide", "want", "wants", "exchange", "return",
                 "modify", "cancel", "keep", "with", "that", "this", "them", "then", "instead", "would", "like",
                 "please", "your", "immediately", "because", "regret", "another", "request"}
# "Gaming Mouse (color: RGB, ...) $158.89": an item a proposal names, as the agent lists it.
PROPOSED_ITEM = re.compile(r"((?:[A-Z][\w/-]* )*[A-Z][\w/-]*) \([^)]*\) \$\d")
WHOLE_ORDER = re.compile(r"\bcancel order\b", re.I)  # lists every item of the order: the customer chose none
# The scenario speaks of its items collectively ("everything except the keyboard", "all the items in the order"): no
# item list to hold a proposal to.
COLLECTIVE = re.compile(r"\b(?:all|every|each)\b(?: \w+){0,3}? (?:items?|things|products|orders?)\b|"
                        r"\b(?:everything|except|anything but)\b", re.I)
ANOTHER_REQUEST = re.compile(r"^(?:you )?add(?:s)? another request(?:,? and)?\s*", re.I)  # a stage direction: no words


class AgentMove(StrEnum):
    """What the agent's last message did, read from its words as a customer would read them."""

    TRANSFER = "transfer"
    CONFIRM = "confirm"
    IDENTITY = "identity"
    ZIP = "zip"
    PAYMENT = "payment"
    ADDRESS = "address"
    REASON = "reason"
    ORDER = "order"
    DETAIL = "detail"  # which item, which option: answered with the request in more detail
    NOT_UNDERSTOOD = "not_understood"
    OFFER_PERSON = "offer_person"
    DONE = "done"  # finished a request, or answered it: the customer moves on
    OTHER = "other"


MOVES: list[tuple[AgentMove, re.Pattern[str]]] = [
    (AgentMove.OFFER_PERSON, re.compile(r"would you like (me )?to (connect|transfer)", re.I)),
    (AgentMove.TRANSFER, re.compile(r"\b(transferr?(ing|ed)? you|hand(ing)? you over|will take over)\b", re.I)),
    (AgentMove.CONFIRM, re.compile(r"(shall i|should i|can i|may i) (go ahead|proceed)|answer yes|confirm\b.*\?",
                                   re.I)),
    (AgentMove.ZIP, re.compile(r"^(?!.*\bemail\b).*\bzip code\b.*\?", re.I | re.S)),
    (AgentMove.IDENTITY, re.compile(r"verify your identity|couldn'?t find an account|\bemail\b.*\?|your (full )?name",
                                    re.I | re.S)),
    (AgentMove.REASON, re.compile(r"\bwhy would you like|\breason\b.*\?", re.I)),
    (AgentMove.PAYMENT, re.compile(r"payment method|how (would|should) (you|i) (like to )?(pay|refund)", re.I)),
    (AgentMove.ADDRESS, re.compile(r"\b(new|which|the) address\b.*[?.:]", re.I)),
    (AgentMove.ORDER, re.compile(r"\bwhich order\b|\border (number|id)\b.*\?", re.I)),
    (AgentMove.DETAIL, re.compile(r"\bwhich (item|option|one|product|variant)s?\b|\binstead of\b.*\?", re.I)),
    (AgentMove.NOT_UNDERSTOOD, re.compile(r"not sure i understood|rephrase|describe it differently|"
                                          r"couldn'?t find products", re.I)),
    (AgentMove.DONE, re.compile(r"^done\b|anything else|\bi'?m sorry, i couldn'?t|\bonly (pending|delivered) "
                                r"orders\b|\bno other available option\b", re.I)),
]


# The two cancellation reasons, each a bank entry the customer words its reason with.
REASONS = [("reason_no_longer_needed", re.compile(r"\b(no longer|don'?t need|not need)", re.I)),
           ("reason_ordered_by_mistake", re.compile(r"\b(mistake|accident)", re.I))]

# What a customer whose scenario says nothing on the matter answers.
NO_PREFERENCE = {
    AgentMove.PAYMENT: "The original payment method is fine.",
    AgentMove.ADDRESS: "Sorry, I don't have another address to give.",
    AgentMove.REASON: "I'd rather not say.",
}


def singular(word: str) -> str:
    """An English plural's singular, by the spelling rules ("shelves" -> "shelf", "watches" -> "watch")."""
    for plural, single in (("ves", "f"), ("ies", "y"), ("sses", "ss"), ("shes", "sh"), ("ches", "ch"), ("xes", "x")):
        if word.endswith(plural):
            return word[: -len(plural)] + single
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def content_words(text: str) -> set[str]:
    """Words of four letters or more, lower case, hyphens dropped, in the singular ("E-Readers" -> "ereader")."""
    return {singular(word) for word in re.findall(r"[a-z]{4,}", text.lower().replace("-", ""))}


def mentions(words: set[str], product: str) -> bool:
    """Whether words name the product, leniently: any of its words, or a word inside one ("watch" a Wristwatch)."""
    return any(word in product_word for product_word in content_words(product) for word in words)


# The same moves in the Chinese catalogue's words (agent/locales/zh/replies.toml), in the same order.
ZH_MOVES: list[tuple[AgentMove, re.Pattern[str]]] = [
    (AgentMove.OFFER_PERSON, re.compile(r"需要为您转接")),
    (AgentMove.TRANSFER, re.compile(r"(正在|现在就)为您转接|人工客服很快就会接手")),
    (AgentMove.CONFIRM, re.compile(r"确认办理吗|回复“是”")),
    (AgentMove.ZIP, re.compile(r"^(?!.*(邮箱|email)).*(邮编|zip code)", re.S)),  # read with chinese.READING too
    (AgentMove.IDENTITY, re.compile(r"验证一下身份|请先验证身份|没有找到与这些信息匹配的账户")),
    (AgentMove.REASON, re.compile(r"原因是什么")),  # "only for one of two reasons ... else, anything else?": done
    (AgentMove.PAYMENT, re.compile(r"哪种支付方式|退款要退到哪里|已保存的支付方式")),
    (AgentMove.ADDRESS, re.compile(r"提供新地址")),
    (AgentMove.ORDER, re.compile(r"哪个订单")),
    (AgentMove.DETAIL, re.compile(r"哪件商品|哪一件|哪个款式|哪一款")),
    (AgentMove.NOT_UNDERSTOOD, re.compile(r"没太明白|换个说法")),
    (AgentMove.DONE, re.compile(r"^已办好|还有其他可以帮您|没能完成|只有(待处理|已送达)的订单|没有其他有货的款式")),
]


def agent_move(text: str) -> AgentMove:
    for move, pattern in ZH_MOVES if has_chinese(text) else MOVES:
        if pattern.search(text):
            return move
    return AgentMove.OTHER


def first_person(text: str) -> str:
    """The scenario's second person ("You want to return your ...") as the customer's own words."""
    replacements = [
        (r"\byou are\b", "I am"), (r"\byou're\b", "I'm"), (r"\byou were\b", "I was"), (r"\byou'd\b", "I'd"),
        (r"\byou'll\b", "I'll"), (r"\byou've\b", "I've"), (r"\byourself\b", "myself"), (r"\byours\b", "mine"),
        (r"\byour\b", "my"),
        # "you" after a preposition or a verb that takes an object is "me"; otherwise it is the subject, "I".
        (r"\b(to|for|with|tell|give|ask|send|help|let|about|from|at|by|call|contact|show|of)\s+you\b", r"\1 me"),
        (r"\byou\b", "I"),
    ]
    for pattern, replacement in replacements:
        text = re.sub(pattern, lambda m, r=replacement: m.expand(r), text, flags=re.I)
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def to_the_agent(text: str) -> str:
    """A first-person sentence about the agent as said to it: "I want the agent to cancel it" -> "I want you to
    cancel it", "Tell the agent I want a refund" -> "I want a refund", "Ask the agent how much ..." -> "I'd like to
    know how much ..."."""
    for pattern, replacement in AGENT_AS_LISTENER:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    return text[:1].upper() + text[1:]


def spoken_sentences(text: str) -> list[str]:
    """The scenario's sentences a customer would say, in the first person and to the agent; stage directions left
    out."""
    text = PARENTHESIS.sub(lambda m: "" if STAGE_DIRECTION.search(m.group(1)) else m.group(0), text)
    kept = []
    for sentence in SENTENCE.split(text.strip()):
        clauses = [c for c in re.split(r",\s*(?=but\b)", sentence) if not STAGE_DIRECTION.search(c)]
        if clauses:
            kept.append(to_the_agent(first_person(", ".join(clauses).strip())).rstrip(" ,") or "")
    return [s if s.endswith((".", "!", "?")) else s + "." for s in kept if re.search(r"[A-Za-z]", s)]


def preferences(text: str) -> list[str]:
    """The scenario's conditional wishes about the request itself ("If there is no clicky one with RGB, I'd go
    for no backlight"): a customer states them when the agent asks which option; never those about the agent."""
    kept = [s for s in SENTENCE.split(PARENTHESIS.sub("", text.strip()))
            if CONDITIONAL.search(s.strip()) and not ADDRESSED_TO_SIMULATOR.search(s) and not MENTIONS_AGENT.search(s)]
    return [first_person(s.strip()) for s in kept]


@dataclass
class Identity:
    emails: list[str] = field(default_factory=list)
    name: tuple[str, str] | None = None
    zip: str | None = None

    @classmethod
    def from_known_info(cls, known: str) -> Identity:
        emails = EMAIL.findall(known)
        without_emails = EMAIL.sub(" ", known)
        zips = ZIP.findall(without_emails)
        found = FULL_NAME.search(without_emails)
        user_id = USER_ID.search(without_emails)
        name = None
        if user_id:  # the account's own name, even where the scenario adds a nickname
            name = (user_id.group(1).title(), user_id.group(2).title())
        elif found and found.group(1).lower() not in {"a", "an", "the", "user"}:
            name = (found.group(1).title(), found.group(2).title())
        return cls(emails=emails, name=name, zip=zips[-1] if zips else None)


@dataclass
class ScriptedCustomer:
    scenario: Scenario
    max_turns: int = 20
    phrasing: Phrasing = field(default_factory=Phrasing)  # the plain wording, or a seeded paraphrase
    products: tuple[str, ...] = ()  # the catalogue's product names: which words of the scenario name an item
    chinese: ChineseWording | None = None  # set: it says everything in Chinese (evals/tasks/chinese.py)
    turns: int = 0
    finished: bool = False
    identity: Identity = field(init=False)
    requests: list[str] = field(init=False)
    _next_request: int = 0
    _email_tries: int = 0
    _last_said: str = ""
    _repeats: int = 0
    _confirmed_once: bool = False
    _objected: set[str] = field(default_factory=set)  # payment wishes already raised against a proposal

    def __post_init__(self) -> None:
        self.identity = Identity.from_known_info(self.scenario.known_info)
        reason = self.scenario.reason_for_call
        together = TOGETHER.search(reason)
        if together:  # "Make sure you mention these at the same time": the sentences before it, said as one
            before = spoken_sentences(reason[:together.start()])
            self.requests = [" ".join(before), *spoken_sentences(reason[together.end():])] if before else []
        else:
            self.requests = spoken_sentences(reason)
        self.requests = self.requests or ["I have a question about my order."]

    # --- the conversation ------------------------------------------------------------------------------------

    def opening(self) -> str:
        return self._in_language(self._say(self._request()))

    def reply(self, agent_text: str) -> str | None:
        """The customer's next message, or None when the conversation is over."""
        said = self._reply(reading(agent_text) if self.chinese else agent_text)
        return None if said is None else self._in_language(said)

    def _in_language(self, english: str) -> str:
        """What it decided, in English, as it says it: in Chinese in the Chinese mode."""
        return self.chinese.say(english) if self.chinese else english

    def _reply(self, agent_text: str) -> str | None:
        if self.finished or self.turns >= self.max_turns:
            self.finished = True
            return None
        move = agent_move(agent_text)
        if move is AgentMove.TRANSFER:
            self.finished = True
            return None
        answer = self._answer(move, agent_text)
        if answer is None:
            self.finished = True
            return None
        if answer == self._last_said and answer != self._yes():  # in circles: say the next thing, or end
            self._repeats += 1
            if self._repeats >= 2:
                answer = self._request() or self._goodbye()
        else:
            self._repeats = 0
        return self._say(answer)

    def _answer(self, move: AgentMove, agent_text: str) -> str | None:
        if move is AgentMove.CONFIRM:
            return (self._first_confirmation(agent_text) or self._not_asked_for(agent_text)
                    or self._other_method(agent_text) or self._yes())
        if move is AgentMove.IDENTITY:
            return self._identify(agent_text)
        if move is AgentMove.ZIP:
            zip_code = self.identity.zip
            return self.phrasing.say("zip", zip_code, zip=zip_code) if zip_code else self._unknown("zip code")
        if move is AgentMove.OFFER_PERSON:
            return self.phrasing.say("no", "No, thank you.") + " " + (self._request() or "That's all.")
        if move in {AgentMove.PAYMENT, AgentMove.ADDRESS, AgentMove.REASON}:
            answer = self._instructed(move.value) or self._about(move.value) or self._no_preference(move)
            return self._reason_worded(answer) if move is AgentMove.REASON else answer
        if move is AgentMove.ORDER:
            orders = ORDER_ID.findall(self.scenario.reason_for_call)
            offered = ORDER_ID.findall(agent_text)
            if not orders and len(offered) == 1:  # the agent names the only order: that is the one
                return f"Yes, order {offered[0]}."
            return f"It's order {orders[0]}." if orders else self._unknown("order number", then=self._current())
        if move is AgentMove.DETAIL:
            return self._which_one(agent_text) or " ".join([self._current(),
                                                            *preferences(self.scenario.reason_for_call)])
        if move is AgentMove.NOT_UNDERSTOOD:
            return self._current()
        # DONE, or an answer to an information request: on to the next request.
        return self._request() or self._goodbye()

    # --- what the customer says ------------------------------------------------------------------------------

    def _say(self, text: str | None) -> str:
        self.turns += 1
        self._last_said = text or ""
        if text is None or text == self._goodbye():
            self.finished = True
        return text or ""

    def _request(self) -> str | None:
        """The next sentence of the reason for the call not said yet."""
        if self._next_request >= len(self.requests):
            return None
        self._next_request += 1
        return self.phrasing.with_opener(self.requests[self._next_request - 1])

    def _current(self) -> str:
        """The request under discussion with the sentences around it that add detail."""
        index = max(self._next_request - 1, 0)
        return " ".join(self.requests[index:index + 2])

    def _about(self, topic: str) -> str | None:
        said = [s for s in self.requests if TOPICS[topic].search(s)]
        return " ".join(said) if said else None

    def _instructed(self, topic: str) -> str | None:
        """The answer the scenario's instructions give for this question, in the customer's words."""
        text = f"{self.scenario.task_instructions} {self.scenario.reason_for_call}"
        for sentence in SENTENCE.split(text.strip()):
            found = INSTRUCTED.match(sentence.strip())
            if found and (topic in found["what"].lower() or TOPICS[topic].search(found["what"])):
                return first_person(found["answer"]).rstrip(".") + "."
        return None

    def _other_method(self, agent_text: str) -> str | None:
        """The scenario's payment wish, when the proposal settles the money with another method (once)."""
        wish = self._about("payment")
        wanted = METHOD_NAMES.findall(wish or "")
        if not wish or wish in self._objected or not wanted:
            return None
        shown = agent_text.lower().replace(" ", "")
        if not re.search(r"paypal|giftcard|cardending|creditcard", shown):
            return None  # the proposal settles no money with a method
        if any(name.lower().replace(" ", "") in shown or (name.lower() == "credit card" and "cardending" in shown)
               for name in wanted):  # the proposal already uses it ("mastercard card ending 1276" is a credit card)
            return None
        self._objected.add(wish)
        return wish

    def _which_one(self, agent_text: str) -> str | None:
        """The scenario's answer to "which one do you mean?" about a thing the agent's question names."""
        for sentence in SENTENCE.split(PARENTHESIS.sub("", self.scenario.reason_for_call.strip())):
            found = WHICH_ONE.match(sentence.strip())
            if found and found["what"].lower() in agent_text.lower():
                return first_person(found["answer"]).rstrip(".") + "."
        return None

    def _first_confirmation(self, agent_text: str) -> str | None:
        """What the scenario says, instead of a yes, to the first proposal about what it names ("only exchange the
        desk lamp" to a proposal with the desk lamp), once."""
        if self._confirmed_once:
            return None
        text = f"{self.scenario.reason_for_call} {self.scenario.task_instructions}"
        for sentence in SENTENCE.split(PARENTHESIS.sub("", text.strip())):
            found = AT_CONFIRMATION.search(sentence.strip())  # also "... initially, but when the agent asks ..."
            then = ANOTHER_REQUEST.sub("", found["then"]) if found else ""
            named = set(re.findall(r"[a-z]{4,}", then.lower())) - GENERIC_WORDS
            if then and (not named or named & set(re.findall(r"[a-z]{4,}", agent_text.lower()))):
                self._confirmed_once = True
                return first_person(then) + "."
        return None

    def _identify(self, agent_text: str) -> str:
        who = self.identity
        if who.emails and self._email_tries < len(who.emails):
            self._email_tries += 1
            email = who.emails[self._email_tries - 1]
            return self.phrasing.say("email", f"My email is {email}.", email=email)
        asked_email_only = "email" in agent_text.lower() and "zip" not in agent_text.lower()
        if who.name and who.zip:
            prefix = self._unknown("email address") + " " if asked_email_only or not who.emails else ""
            first, last = who.name
            said = self.phrasing.say("name_zip", f"My name is {first} {last} and my zip code is {who.zip}.",
                                     first=first, last=last, zip=who.zip)
            return f"{prefix}{said}".strip()
        return self._unknown("email address")

    def _unknown(self, what: str, then: str = "") -> str:
        """What the customer does not know: said plainly (the scenario's unknown_info, or simply not known)."""
        words = {"email address": "email", "zip code": "zip", "order number": "order"}.get(what, what)
        known = words in self.scenario.unknown_info.lower()
        text = self.phrasing.say("dont_know", f"Sorry, I don't {'remember' if known else 'know'} my {what}.",
                                 what=what)
        return f"{text} {then}".strip()

    def _goodbye(self) -> str:
        return self.phrasing.say("goodbye", "That's all, thank you.")

    def _yes(self) -> str:
        return self.phrasing.say("yes", "Yes, please go ahead.")

    def _no_preference(self, move: AgentMove) -> str:
        plain = NO_PREFERENCE[move]
        return self.phrasing.say("payment_original", plain) if move is AgentMove.PAYMENT else plain

    def _reason_worded(self, answer: str) -> str:
        """A reason that is only "no longer needed" or "ordered by mistake", in the run's wording."""
        if len(answer.split()) > 8:  # more than the reason: the scenario's own sentences, said as they are
            return answer
        for entry, pattern in REASONS:
            if pattern.search(answer):
                return self.phrasing.say(entry, answer)
        return answer

    def _not_asked_for(self, agent_text: str) -> str | None:
        """A no, and the request again, to a proposal with an item the scenario never names, where the request names
        the items it wants (a customer who asked about the vacuum does not say yes to returning the air purifier)."""
        if WHOLE_ORDER.search(agent_text):
            return None
        scenario = " ".join(vars(self.scenario).values())
        if COLLECTIVE.search(scenario):
            return None
        words = content_words(scenario)
        proposed = list(dict.fromkeys(PROPOSED_ITEM.findall(agent_text)))
        asked = content_words(self._current())
        if not any(mentions(asked, product) for product in {*self.products, *proposed}):
            return None  # the request names no item ("change its color"): nothing to hold the proposal to
        unnamed = [product for product in proposed if not mentions(words, product)]
        if not unnamed:
            return None
        objection = f"I didn't ask about the {' or the '.join(unnamed)}."
        return f"{self.phrasing.say('no', 'No.')} {objection} {self._current()}".strip()
