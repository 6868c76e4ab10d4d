"""Find the suites in `evals/suites/` (module name = suite name) without importing the heavy ones."""

from __future__ import annotations

import importlib
import pkgutil

from evals import suites
from evals.base import EvalConfig, Evaluator

# The order suites run in with --all (cheap first); suites not listed here run after, by name.
ORDER = ("retrieval", "chatsearch", "recommender", "logistics", "sentiment", "escalation", "security", "toolcalls",
         "latency", "tasks")


def available_suites() -> list[str]:
    names = {module.name for module in pkgutil.iter_modules(suites.__path__) if not module.name.startswith("_")}
    return sorted(names, key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name))


def load_evaluator(name: str, config: EvalConfig) -> Evaluator:
    if name not in available_suites():
        raise KeyError(f"unknown suite {name!r}; available: {', '.join(available_suites())}")
    evaluator_class: type[Evaluator] = importlib.import_module(f"evals.suites.{name}").EVALUATOR
    return evaluator_class(config)
