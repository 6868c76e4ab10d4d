"""Resolve what a customer names in words to store ids: 'the keyboard' → an item of their order, 'in red' → a
variant, 'my gift card' → a payment method. Fuzzy matching over the tool results, never a guess outside them."""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz import fuzz

from agent.locales.cues import alternatives, with_words
from agent.nlu import CREDIT_CARD, EVERYTHING, GIFT_CARD, PAYPAL
from agent.reader import extract
from agent.reader.extract import CARD_ENDING, ORIGINAL_METHOD

MATCH_THRESHOLD = 80
EXCEPT = re.compile(r"\b(?:except(?: for)?|but not|other than|apart from)\b([^.;]*)", re.I)
# (Each pattern of customer words here also matches another locale's words for it: agent/locales/cues.py.)
CHEAPEST = with_words(re.compile(r"\b(cheapest|least expensive|lowest price)\b", re.I), "cheapest")
PRICIEST = with_words(re.compile(r"\b(most expensive|priciest|highest price)\b", re.I), "priciest")


# Words of product names too general to name a product alone.
GENERIC_NAME_WORDS = {"electric", "digital", "mechanical", "wireless", "portable", "security", "running", "cycling",
                      "bluetooth", "indoor", "outdoor", "action"}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


# "the backpack I received with the vacuum cleaner": the vacuum cleaner says which order, it is not meant itself.
RECEIVED_WITH = re.compile(r"\b(?:received|bought|ordered|got|came|arrived)\s+(?:together\s+)?with\s+(?:the|my|a|an)"
                           r"\s+[\w -]+", re.I)


def order_lines(order: dict[str, Any], text: str, item_ids: list[str]) -> list[dict[str, Any]] | None:
    """The order's lines the customer means (several products may be named); None when none is (ask them)."""
    lines = order["items"]
    text = RECEIVED_WITH.sub(" ", text)
    chosen = [line for line in lines if line["item_id"] in item_ids]
    if chosen:
        return chosen  # (ids of no line may be the new items: "modify the laptop to item 9844888101")
    excepted = EXCEPT.search(text)
    if excepted:  # "everything except the coffee machine": all lines but those the exception names
        kept = [line for line in lines if _name_score(line, excepted.group(1)) < MATCH_THRESHOLD]
        if 0 < len(kept) < len(lines):
            return kept
    if len(lines) == 1 or EVERYTHING.search(text):
        return list(lines)
    named = [line for line in lines if _name_score(line, text) >= MATCH_THRESHOLD]
    if not named:
        return None
    chosen = []
    for name in dict.fromkeys(line["name"] for line in named):
        same = [line for line in named if line["name"] == name]
        picked = same if len(same) == 1 else _which_of_same(same, text)
        if picked is None:
            return None  # "a vacuum cleaner" of two: ask which
        chosen += picked
    return chosen


# What follows these words describes the wanted replacement, not the item the customer has ("the 17-inch laptop
# to the 13-inch one"): the held item is told apart by the words before them.
TARGET = re.compile(r"\b(?:to|for|into|with)\b[^.;]*?(?=,\s*and\b|\band\b|[.;]|$)", re.I)
# Of two alike items or orders: "the more expensive one", "the cheaper one" (the flows' order cues use them too).
PRICIER = with_words(re.compile(r"\b(more|most) expensive\b|\bpricier\b|\bpriciest\b", re.I), "pricier")
CHEAPER = with_words(re.compile(r"\b(less|least) expensive\b|\bcheaper\b|\bcheapest\b", re.I), "cheaper")
PLURAL_WORDS = {"both", "all", "two", "three", "each", "every"}


def _which_of_same(same: list[dict[str, Any]], text: str) -> list[dict[str, Any]] | None:
    """Of several lines of one product, those the words mean: the ones whose options the description names best
    ("the blue T-shirt"), then the pricier or cheaper one; each of them when the product is named in the plural
    or with "both"; None when a singular description fits several equally (ask which)."""
    held = _held_description(same[0], text)
    scores = [_line_score(line, held) for line in same]
    best = [line for line, score in zip(same, scores, strict=True) if score == max(scores)]
    if len(best) > 1 and (PRICIER.search(text) or PRICIEST.search(text)):
        return [max(best, key=lambda line: line["price"])]
    if len(best) > 1 and (CHEAPER.search(text) or CHEAPEST.search(text)):
        return [min(best, key=lambda line: line["price"])]
    if len(best) == 1 or _plural(same[0], text):
        return best
    return None


def _held_description(line: dict[str, Any], text: str) -> str:
    """The words about the item held: the text up to where it names the product, and after it what does not
    describe the replacement ("I want to modify the 17-inch laptop to the 13-inch one" → "… the 17-inch laptop")."""
    head = _head_words(line)
    mention = re.search(rf"{re.escape(head[0][:5])}\w*", text, re.I) if head else None
    if mention is None:
        return text
    return text[:mention.end()] + TARGET.sub(" ", text[mention.end():])


def _plural(line: dict[str, Any], text: str) -> bool:
    """Whether the text names the line's product in the plural ("the laptops", "both T-shirts")."""
    said = _words(text)
    plurals = {head + ending for head in _head_words(line) for ending in ("s", "es")}
    return bool(said & (PLURAL_WORDS | plurals))


def _head_words(line: dict[str, Any]) -> list[str]:
    """The last Latin word of the product's name, the noun customers use alone ("laptop", "set"); none for a name
    without one (a Chinese catalogue's)."""
    return re.findall(r"[a-z0-9]+", line["name"].lower())[-1:]


def named_lines(order: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """The order's lines the text names in words ("the water bottle"): no fallback to a single-line order."""
    return [line for line in order["items"] if _name_score(line, text) >= MATCH_THRESHOLD]


# (A Chinese comma, semicolon or full stop ends a clause too: "water bottle 要大一点的，desk lamp 要暗一点的".)
CLAUSE_BREAK = re.compile(r"\band\b|\balso\b|\bplus\b|[;.；。，]|,(?=\s*(?:the|my|and)\b)", re.I)


def clauses_by_line(lines: list[dict[str, Any]], text: str) -> list[tuple[dict[str, Any], str]]:
    """Each line with the words of the text about it: the clauses that name it best ("the keyboard with clicky
    switches and the thermostat for Google Home") and those that go on about it; clauses before any item is
    named are about something else ("the helmet for a red one, and the luggage set to a black one" for the
    luggage set alone). A line no clause names gets the whole text."""
    clauses: dict[str, list[str]] = {line["item_id"]: [] for line in lines}
    owner = None  # a clause naming no item goes on about the one named before it ("... the keyboard. Clicky ones")
    for part in CLAUSE_BREAK.split(text):
        best, item_id = max((_name_score(line, part), line["item_id"]) for line in lines)
        owner = item_id if best >= MATCH_THRESHOLD else owner
        if owner is not None:
            clauses[owner].append(part)
    return [(line, " ".join(clauses[line["item_id"]]) or text) for line in lines]


def _name_score(line: dict[str, Any], text: str) -> float:
    """How well the text names the line's product: the whole name, or its head noun alone ("the keyboard" names
    a "Mechanical Keyboard"; "smart" names nothing)."""
    name_score = fuzz.partial_ratio(line["name"].lower(), text.lower())
    head = _head_words(line)
    word_score = max((_word_score(word, token) for word in head for token in _words(text)), default=0)
    if any(len(token) >= 4 and word.endswith(token) for word in head for token in _words(text)):
        word_score = 100  # "my watch" names a Wristwatch, "the shelf" a Bookshelf
    if _words(line["name"]) - GENERIC_NAME_WORDS & {token for token in _words(text) if len(token) >= 6}:
        word_score = 100  # "the jigsaw" names a Jigsaw Puzzle ("smart" names nothing)
    return max(name_score, word_score)


def _word_score(word: str, token: str) -> float:
    """A typo-tolerant match of a name's word, exact for short words ("sent" is no "set", "be" no "bed")."""
    if len(word) <= 4:
        return 100.0 if token in {word, word + "s"} else 0.0
    return fuzz.ratio(word, token)


SIZE_LETTERS = {"small": "s", "medium": "m", "large": "l"}  # "the small T-shirt" is the one in size S


def _line_score(line: dict[str, Any], text: str) -> float:
    """The name's score, plus a little for each of the line's options the text mentions (which of two T-shirts)."""
    said = _words(text)
    said |= {SIZE_LETTERS[word] for word in said if word in SIZE_LETTERS}
    option_bonus = 5 * len(_words(" ".join(map(str, line["options"].values()))) & said)
    return _name_score(line, text) + option_bonus


def best_named_score(order: dict[str, Any], text: str) -> float:
    """How well the text names the best-named of the order's lines: which of two orders holding a T-shirt."""
    return max((_line_score(line, text) for line in named_lines(order, text)), default=0.0)


# "a bigger one", "less bright": (the words, the options they are about, the direction on the option's scale)
COMPARATIVES = [
    (with_words(re.compile(r"\b(less bright|dimmer|darker)\b", re.I), "dimmer"), ("bright",), -1),
    (with_words(re.compile(r"\b(brighter|more bright)\b", re.I), "brighter"), ("bright",), 1),
    (with_words(re.compile(r"\bshorter\b", re.I), "shorter"), ("length", "size"), -1),
    (with_words(re.compile(r"\blonger\b", re.I), "longer"), ("length", "size"), 1),
    (with_words(re.compile(r"\b(smaller|less capacity)\b", re.I), "smaller"), ("size", "capacity", "length", "weight"),
     -1),
    (with_words(re.compile(r"\b(bigger|larger|more capacity)\b", re.I), "bigger"), ("size", "capacity", "length",
                                                                                      "weight"), 1),
    (with_words(re.compile(r"\b(zooms? (further|farther|more)|more zoom|higher zoom)\b", re.I), "more_zoom"), ("zoom",),
     1),
    (with_words(re.compile(r"\b(lower|less) resolution\b", re.I), "lower_resolution"), ("resolution",), -1),
    (with_words(re.compile(r"\b(higher|more) resolution\b", re.I), "higher_resolution"), ("resolution",), 1),
]
# "1000 more pieces", "500 pieces less": the option's number moved by that much.
BY_AMOUNT = re.compile(r"\b(\d+)\s+(?:(more|fewer|less)\s+([a-z]+)|([a-z]+)\s+(more|fewer|less))\b", re.I)
# "without changing the other options": every option the words do not ask to change stays.
OTHERS_KEPT = re.compile(r"\b(without changing|keep(ing)?|same)\b[^.;]{0,200}\b(other|rest of the) (options|specs|"
                         r"specifications|features)\b|\beverything else the same\b", re.I)
SCALES = [["xs", "s", "m", "l", "xl", "xxl"], ["small", "medium", "large"], ["portable", "medium", "large"],
          ["low", "medium", "high"], ["basic", "professional"]]
# "the maximum zoom capacity", "the largest size": the variant highest (or lowest) on that option's scale.
SUPERLATIVE = re.compile(r"\b(?:(maximum|max|highest|largest|biggest|most)|(minimum|min|lowest|smallest|least))"
                         r"\s+([a-z]+)", re.I)
# "zoom 最大的": another locale names the option before its superlative (the option word, then most or least).
_MOST, _LEAST = (alternatives(cue) or "(?!)" for cue in ("maximum", "minimum"))  # (?!): no locale lists any
SUPERLATIVE_AFTER = re.compile(rf"\b([a-z]+)\s*(?:({_MOST})|({_LEAST}))", re.I)
NO_OPTION = re.compile(r"\b(?:no|without)\s+([a-z]+)", re.I)  # "no backlight": the option's "none" value
# "prefer AC adapter > battery > USB", "优先 battery，其次 USB": the ranked values, up to the clause's end.
PREFER_WORDS = with_words(re.compile(r"\bprefer\s+", re.I), "prefer")
PREFER = re.compile(rf"(?:{PREFER_WORDS.pattern})\s*([^.;()（）。；]+)", re.I)
PREFER_NEXT = with_words(re.compile(r">|\bover\b|\bthan\b|\bto\b|,|\band\b"), "prefer_next")  # between two values
SAME = re.compile(r"\bsame ((?:[\w-]+)(?:(?:,|,? and|,? or) [\w-]+)*)", re.I)  # "the same material and color"


def rank(value: str) -> float | None:
    """Where an option value sits on its scale: a number ('750ml', '1TB SSD', '8 cups') or a size word."""
    text = str(value).lower()
    number = re.match(r"\s*(\d+(?:\.\d+)?)\s*(tb)?", text)
    if number:
        return float(number.group(1)) * (1000 if number.group(2) else 1)
    for scale in SCALES:
        if text in scale:
            return float(scale.index(text))
    return None


def _comparative_fit(variant: dict[str, Any], current: dict[str, Any], text: str) -> tuple[int, float]:
    """How many of the text's comparatives the variant satisfies, and how far it moves (nearest step first)."""
    fits, distance = 0, 0.0
    for pattern, keys, direction in COMPARATIVES:
        if not pattern.search(text):
            continue
        for key, value in variant["options"].items():
            old = current["options"].get(key)
            new_rank, old_rank = rank(value), rank(old) if old is not None else None
            if any(k in key.lower() for k in keys) and new_rank is not None and old_rank is not None:
                if (new_rank - old_rank) * direction > 0:
                    fits += 1
                    distance += abs(new_rank - old_rank)
                break
    return fits, distance


def _preference(variant: dict[str, Any], text: str) -> int:
    """'prefer AC adapter > battery > USB', 'prefer i5 over i7': the higher the variant's values rank, the better."""
    best = 0
    for found in PREFER.finditer(text):
        ranked = [part for part in PREFER_NEXT.split(found.group(1)) if part.strip()]
        values = {word.rstrip("s") for word in _words(" ".join(map(str, variant["options"].values())))}
        for position, part in enumerate(ranked):
            if {word.rstrip("s") for word in _words(part)} & values:  # "animal" ranks the "animals" theme
                best = max(best, len(ranked) - position)
    return best


NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                "eight": "8", "nine": "9", "ten": "10", "twelve": "12"}


def _value_words_named(values: set[str], asked: set[str]) -> float:
    """How many of the values' words the asked words name: exactly or as a number word ("two-piece" names
    "2-piece"); the start of a longer word ("soft" for "softshell") counts half, below any exact word."""
    asked = asked | {NUMBER_WORDS[word] for word in asked if word in NUMBER_WORDS}
    exact = len(values & asked)
    prefixed = sum(1 for value in values - asked if any(len(word) >= 4 and value.startswith(word) for word in asked))
    return exact + prefixed / 2


def _named_values(variant: dict[str, Any], asked: set[str], text: str) -> float:
    """The variant's option values the text asks for ('clicky', 'Google Home'; 'no backlight' for none)."""
    named = _value_words_named(_words(" ".join(map(str, variant["options"].values()))), asked)
    without = {m.group(1).lower() for m in NO_OPTION.finditer(text)}
    return named + sum(1 for key, value in variant["options"].items()
                       if str(value).lower() in {"none", "no"} and _words(key) & without)


def _option_named(current: dict[str, Any], word: str) -> str | None:
    """The option a word of the request is about: "zoom", "pieces" → "pieces"."""
    return next((key for key in current["options"] if fuzz.partial_ratio(word.lower(), key.lower()) >= 90), None)


def _extreme(candidates: list[dict[str, Any]], current: dict[str, Any], text: str) -> dict[str, Any] | None:
    """ "The maximum zoom": of the variants, the one ranking highest (or lowest) on the option the words name,
    changing the fewest other options; None when no option is named so."""
    for word, sign in _superlatives(text):
        key = _option_named(current, word)
        ranked = [v for v in candidates if key and rank(str(v["options"].get(key, ""))) is not None]
        if ranked:
            def order(v: dict[str, Any], key: str = key, sign: int = sign) -> tuple[float, int]:
                changed = sum(1 for k, value in v["options"].items() if k != key and current["options"].get(k) != value)
                return sign * (rank(str(v["options"][key])) or 0.0), -changed
            return max(ranked, key=order)
    return None


def _superlatives(text: str) -> list[tuple[str, int]]:
    """The options the text asks the most (1) or the least (-1) of: "the maximum zoom", "zoom 最大"."""
    before = [(found.group(3), 1 if found.group(1) else -1) for found in SUPERLATIVE.finditer(text)]
    return before + [(found.group(1), 1 if found.group(2) else -1) for found in SUPERLATIVE_AFTER.finditer(text)]


def _moved_by_amount(candidates: list[dict[str, Any]], current: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """ "1000 more pieces": the variants whose option of that name is the current value moved by the amount."""
    for found in BY_AMOUNT.finditer(text):
        amount = float(found.group(1))
        word = (found.group(3) or found.group(4)).lower()
        sign = 1 if (found.group(2) or found.group(5)).lower() == "more" else -1
        key = _option_named(current, word.rstrip("s"))
        old = rank(str(current["options"].get(key, ""))) if key else None
        if key and old is not None:
            return [v for v in candidates if rank(str(v["options"].get(key, ""))) == old + sign * amount]
    return candidates


def _kept_options(current: dict[str, Any], text: str) -> set[str]:
    """The options the customer wants unchanged: "the same size", "same material and color", "same v-neck"."""
    kept = set()
    for found in SAME.finditer(text):
        for word in _words(found.group(1).replace("-", "")) - {"and", "or"}:
            for key, value in current["options"].items():
                if fuzz.ratio(word, key.lower()) >= MATCH_THRESHOLD or word in {str(value).lower().replace("-", "")}:
                    kept.add(key)
    return kept


def replacement_variant(
    product: dict[str, Any], current: dict[str, Any], text: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The available variant of the same product that the text asks for, and the alternatives on offer: the one
    naming most of what is asked (values, comparatives), then the preferred, then the fewest changes."""
    alternatives = [
        variant
        for variant in product["variants"].values()
        if variant["available"] and variant["item_id"] != current["item_id"]
    ]
    named = [variant for variant in alternatives if variant["item_id"] in text]
    if len(named) == 1:  # "to item number 9844888101"
        return named[0], alternatives
    kept = _kept_options(current, text)
    candidates = [v for v in alternatives if all(v["options"].get(k) == current["options"][k] for k in kept)]
    moved_by = _moved_by_amount(candidates, current, text)
    constrained = moved_by is not candidates  # "1000 more pieces" fixed the option: the rest may rank
    candidates = moved_by
    if OTHERS_KEPT.search(text):  # only the options the comparatives are about may change
        moved = {key for pattern, keys, _ in COMPARATIVES if pattern.search(text)
                 for key in current["options"] if any(k in key.lower() for k in keys)}
        candidates = [v for v in candidates
                      if all(v["options"].get(k) == value for k, value in current["options"].items() if k not in moved)]
    extreme = _extreme(candidates, current, text)
    if extreme is not None:
        return extreme, alternatives
    # Values a "prefer A > B" list names rank the variants (_preference); they are not all asked for at once.
    asked = _words(PREFER.sub(" ", text)) - _words(" ".join(map(str, current["options"].values())))
    scored = []
    for variant in candidates:
        fits, distance = _comparative_fit(variant, current, text)
        changed = {k for k, v in variant["options"].items() if current["options"].get(k) != v}
        key = (_named_values(variant, asked, text) + fits, _preference(variant, text), -len(changed), -distance)
        scored.append((key, variant))
    scored.sort(key=lambda entry: entry[0], reverse=True)
    by_price = CHEAPEST.search(text) or PRICIEST.search(text)
    if scored and by_price:
        # "the cheapest one in red": the lowest (or highest) price among the options that fit best what is named.
        fitting = [variant for key, variant in scored if key[0] == scored[0][0][0]]
        pick = min if CHEAPEST.search(text) else max
        return pick(fitting, key=lambda variant: variant["price"]), alternatives
    if scored and (scored[0][0][0] > 0 or constrained) and (len(scored) == 1 or scored[0][0] != scored[1][0]):
        return scored[0][1], alternatives
    return None, alternatives


def unavailable_wanted(product: dict[str, Any], current: dict[str, Any], text: str) -> dict[str, Any] | None:
    """The variant with every option value the text names ("maple, 34 inch, graphic"), when only sold-out variants
    have them all: it is told it is sold out instead of being asked which option again. A value counts as named
    when all its words are in the text and it is the only value of its option that is; bare numbers and letters
    ("9", "500", "S") name nothing alone ("500 pieces less" is an amount, "it's" no size)."""
    words = _words(PREFER.sub(" ", text))
    wanted = {}
    for key in current["options"]:
        values = {str(v["options"].get(key)) for v in product["variants"].values()}
        named = [value for value in values if _names_value(value, words)]
        if len(named) == 1:
            wanted[key] = named[0]
    if all(current["options"].get(key) == value for key, value in wanted.items()):
        return None  # nothing named, or only what the customer has
    fitting = [v for v in product["variants"].values()
               if v["item_id"] != current["item_id"] and all(v["options"].get(k) == x for k, x in wanted.items())]
    if not fitting or any(variant["available"] for variant in fitting):
        return None
    return min(fitting, key=lambda v: sum(current["options"].get(k) != x for k, x in v["options"].items()))


def _names_value(value: str, words: set[str]) -> bool:
    own = _words(value)
    telling = {word for word in own if not word.isdigit() and len(word) > 1 and word not in {"no", "none", "yes"}}
    return bool(telling) and own <= words


def payment_method(user: dict[str, Any], text: str, original: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The customer's own payment method named in the text, if any ("the original payment method": `original`).
    A text of several lines is an answer above the request it answers: the newest line naming a method decides."""
    for line in text.splitlines() or [text]:
        if CARD_ENDING.search(line) or ORIGINAL_METHOD.search(line) or extract.payment_kind(line) is not None:
            return _method_in(user, line, original)
    return None


def _method_in(user: dict[str, Any], text: str, original: dict[str, Any] | None) -> dict[str, Any] | None:
    methods = list(user["payment_methods"].values())
    ending = CARD_ENDING.search(text)
    for method in methods:
        if ending and method.get("last_four") == ending.group(1):
            return method
    if original is not None and ORIGINAL_METHOD.search(text):
        return original
    # A card named by its brand, as the store lists it ("the mastercard", "my visa").
    branded = [m for m in methods if m.get("brand") and re.search(rf"\b{re.escape(m['brand'])}\b", text, re.I)]
    if len(branded) == 1:
        return branded[0]
    wanted = (
        "gift_card"
        if GIFT_CARD.search(text)
        else "paypal"
        if PAYPAL.search(text)
        else "credit_card"
        if CREDIT_CARD.search(text)
        else None
    )
    matching = [method for method in methods if method["source"] == wanted]
    return matching[0] if len(matching) == 1 else None
