"""The recommenders (retrieval/recommenders/), the store's recommend_products tool, and the benchmark's evaluator."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from retrieval.recommenders import (
    Blend,
    BuyAgain,
    ContentSimilarity,
    CoPurchase,
    ImplicitALS,
    Interactions,
    Popularity,
    components,
)
from tools.context import StoreContext
from tools.retail.data_model import Item, Order
from tools.retail.recommendations import StoreRecommender
from tools.store import Store

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"
JAMES = "james_li_5688"


@pytest.fixture
def baskets() -> Interactions:
    return Interactions(
        {
            "ann": [["milk", "bread"], ["milk", "eggs"], ["milk", "jam"]],
            "bob": [["milk", "bread", "jam"], ["bread", "butter"]],
            "cid": [["tea", "biscuits"], ["tea", "milk"]],
            "dee": [["bread", "butter", "jam"]],
        },
        names={"milk": "Milk", "bread": "Bread", "jam": "Jam"},
        categories={"tea": "hot drinks"},
    )


def ids(recommendations) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.item_id for r in recommendations]


# --- the backends -----------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_recommendations(baskets: Interactions) -> None:
    first = ImplicitALS(factors=8, seed=7).fit(baskets)
    second = ImplicitALS(factors=8, seed=7).fit(baskets)
    assert np.array_equal(first.item_factors, second.item_factors)
    assert first.recommend("ann", k=4) == second.recommend("ann", k=4)
    blends = [Blend(components(seed=3), {"als": 0.5, "copurchase": 1.0}).fit(baskets) for _ in range(2)]
    assert blends[0].recommend("bob", k=5) == blends[1].recommend("bob", k=5)


def test_co_purchase_ranks_what_shares_baskets_and_says_so(baskets: Interactions) -> None:
    model = CoPurchase().fit(baskets)
    picks = model.recommend(items=["bread"], k=3)
    assert ids(picks)[0] in {"jam", "butter"}  # each shares two baskets with bread
    assert "bread" not in ids(picks)  # never the seed itself
    assert picks[0].reason == "often bought with Bread"


def test_unavailable_and_excluded_items_are_never_recommended(baskets: Interactions) -> None:
    model = Popularity().fit(baskets)
    everything = ids(model.recommend(k=10))
    assert everything[0] == "milk"  # bought by three customers
    out_of_stock = {"milk", "jam"}
    picks = ids(model.recommend(k=10, exclude={"bread"}, available=lambda item: item not in out_of_stock))
    assert picks and not set(picks) & {"milk", "jam", "bread"}
    assert set(picks) == set(everything) - {"milk", "jam", "bread"}


def test_what_the_customer_just_bought_is_left_out_except_by_buy_again(baskets: Interactions) -> None:
    latest = {"milk", "jam"}  # ann's last basket
    for model in (Popularity(), CoPurchase(), ImplicitALS(factors=8)):
        assert not set(ids(model.fit(baskets).recommend("ann", k=10))) & latest, model.name
    again = BuyAgain().fit(baskets).recommend("ann", k=10)
    assert ids(again)[0] == "milk"  # bought in all three of her baskets
    assert again[0].reason == "you buy this regularly"
    assert set(ids(again)) == {"milk", "bread", "eggs", "jam"}  # only what she has bought
    regular = BuyAgain(min_purchases=2).fit(baskets).recommend("ann", k=10)
    assert ids(regular) == ["milk"]


def test_popularity_and_content_explain_themselves(baskets: Interactions) -> None:
    popular = Popularity().fit(baskets).recommend(k=10)
    assert {r.reason for r in popular if r.item_id == "tea"} == {"popular in hot drinks"}
    vectors = {"milk": [1.0, 0.0], "bread": [0.0, 1.0], "jam": [0.1, 1.0], "tea": [0.9, 0.1]}
    content = ContentSimilarity({k: np.array(v) for k, v in vectors.items()}).fit(baskets)
    picks = content.recommend(items=["bread"], k=2)
    assert picks[0].item_id == "jam" and picks[0].reason == "similar to Bread"


def test_the_blend_takes_the_reason_of_its_largest_part(baskets: Interactions) -> None:
    blend = Blend({"buy_again": BuyAgain(), "popularity": Popularity()}, {"buy_again": 1.0, "popularity": 0.1})
    picks = blend.fit(baskets).recommend("cid", k=10, exclude_recent=False)
    assert picks[0].item_id == "tea" and picks[0].reason == "you buy this regularly"
    assert any(p.reason.startswith("popular in") for p in picks)


# --- the store ---------------------------------------------------------------------------------------------


def test_store_recommendations_are_in_stock_and_skip_the_latest_order(store: Store, runner, retriever) -> None:  # type: ignore[no-untyped-def]
    ctx = StoreContext(store, retriever=retriever)
    first = runner.call(ctx, "recommend_products", {"limit": 3})
    assert first.ok, first.error
    top = first.output[0]["product_id"]
    with store.transaction() as session:  # the favourite goes out of stock
        session.execute(update(Item).where(Item.product_id == top).values(available=False))
    again = runner.call(ctx, "recommend_products", {"limit": 10}).output
    assert top not in {p["product_id"] for p in again}
    with store.session() as session:
        for pick in again:
            assert session.get(Item, pick["item_id"]).available and pick["reason"]
        latest = session.scalars(select(Order).where(Order.user_id == JAMES).order_by(Order.user_position.desc()))
        just_bought = {line.product_id for line in latest.first().items}
    mine = runner.call(StoreContext(store, customer_id=JAMES), "recommend_products", {"user_id": JAMES, "limit": 10})
    assert mine.ok and not {p["product_id"] for p in mine.output} & just_bought


def test_buy_again_suggests_only_what_the_customer_bought_in_several_orders(store: Store, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.call(StoreContext(store, customer_id=JAMES), "recommend_products",
                         {"user_id": JAMES, "strategy": "buy_again", "limit": 5})
    assert result.ok and result.output
    with store.session() as session:
        orders = session.scalars(select(Order).where(Order.user_id == JAMES, Order.status != "cancelled")).all()
        for pick in result.output:
            assert sum(any(line.product_id == pick["product_id"] for line in o.items) for o in orders) >= 2
            assert pick["reason"] == "you buy this regularly"


def test_history_based_recommendations_are_customer_scoped(store: Store, runner) -> None:  # type: ignore[no-untyped-def]
    anonymous = runner.call(StoreContext(store), "recommend_products", {"user_id": JAMES})
    assert not anonymous.ok and "verify your identity" in anonymous.error
    someone_else = runner.call(StoreContext(store, customer_id="emma_smith_8564"), "recommend_products",
                               {"user_id": JAMES})
    assert not someone_else.ok and "verified customer" in someone_else.error
    no_seed = runner.call(StoreContext(store), "recommend_products", {"strategy": "complementary"})
    assert not no_seed.ok and "product_ids" in no_seed.error


def test_what_goes_with_a_product_never_returns_that_product(store: Store) -> None:
    with store.session() as session:
        recommender = StoreRecommender.fit(session)
        boots = "7363354090"
        picks = recommender.recommend(session, product_ids=[boots], strategy="complementary", limit=5)
        again = StoreRecommender.fit(session).recommend(session, product_ids=[boots], strategy="complementary", limit=5)
    assert picks and boots not in {p["product_id"] for p in picks}
    assert picks == again  # deterministic for the seed
    assert any(p["reason"] == "often bought with Hiking Boots" for p in picks)


# --- the benchmark -----------------------------------------------------------------------------------------


def test_ranking_metrics_by_hand() -> None:
    from evals.recommender_benchmark import ranking_metrics

    figures = ranking_metrics(["a", "x", "b", "y"], {"a", "b", "c"}, k=3)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert figures["hr@3"] == 1.0
    assert figures["recall@3"] == pytest.approx(2 / 3)
    assert figures["ndcg@3"] == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    assert ranking_metrics(["x", "y"], {"a"}, k=2) == {"hr@2": 0.0, "ndcg@2": 0.0, "recall@2": 0.0}


def test_the_evaluator_on_a_tiny_fixture(tmp_path: Path) -> None:
    """Three customers, six products; by hand (vocabulary order 1,2,3,4,6,5 breaks ties):
    buy again ranks 1,2,3,4,6,5 / 2,3,4,6,1,5 / 5,6,1,2,3,4 against {1,5} / {2,3} / {6,4};
    popularity ranks 1,2,3,4,6,5 for everyone. All six fit in the top 10: HR@10 = Recall@10 = 1."""
    from evals.base import EvalConfig
    from evals.suites.recommender import RecommenderEvaluator

    ideal = 1 + 1 / math.log2(3)
    buy_again = [(1 + 1 / math.log2(7)) / ideal, 1.0, (1 / math.log2(3) + 1 / math.log2(7)) / ideal]
    popularity = [(1 + 1 / math.log2(7)) / ideal, (1 / math.log2(3) + 1 / math.log2(4)) / ideal,
                  (1 / math.log2(5) + 1 / math.log2(6)) / ideal]
    config = EvalConfig(data_dir=FIXTURE_DATA, quick=True, options={"content": "off"})
    run = RecommenderEvaluator(config).run(tmp_path)
    test = run.result.details["test"]
    assert test["buy_again"]["ndcg@10"] == pytest.approx(np.mean(buy_again), abs=1e-4)
    assert test["popularity"]["ndcg@10"] == pytest.approx(np.mean(popularity), abs=1e-4)
    assert test["buy_again"]["hr@10"] == test["buy_again"]["recall@10"] == 1.0
    assert run.result.details["users"] == 3
    assert (tmp_path / "recommender" / "next_basket.png").exists()
    assert (tmp_path / "recommender" / "anticipation.png").exists()
    assert "blend_ndcg@10" in run.result.metrics
