"""Retrieval package: known queries on the demo store, hard filters, the query parser, persistence and
staleness, and ONNX-vs-sentence-transformers agreement."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval import (
    Document,
    Encoder,
    FilterIndex,
    HybridRetriever,
    QueryParser,
    RetrieverConfig,
    SearchFilters,
    StaleIndexError,
    rrf,
)
from retrieval.dense import DenseIndex
from retrieval.fuzzy import IdMatcher, TypoCorrector
from retrieval.lexical import tokenize


def titles(response) -> list[str]:
    return [h.doc.title for h in response.hits]


# ------------------------------------------------------------------------------ known queries


def test_mechanical_keyboard(retriever):
    res = retriever.search("mechanical keyboard", k=10)
    assert titles(res) == ["Mechanical Keyboard"] * 10


def test_typo_still_finds_keyboards(retriever):
    res = retriever.search("keybaord", k=5)
    assert res.corrections == {"keybaord": "keyboard"}
    assert titles(res) == ["Mechanical Keyboard"] * 5


def test_typo_in_option_value(retriever):
    res = retriever.search("vynal garden hose", k=5)
    assert res.corrections.get("vynal") == "vinyl"
    assert all(h.doc.title == "Garden Hose" and h.doc.options["material"] == "vinyl" for h in res.hits[:3])


def test_real_words_are_not_corrected(retriever):
    res = retriever.search("please check the wall clock", k=3)
    assert "check" not in res.corrections
    assert titles(res)[0] == "Wall Clock"


def test_pasted_item_id_comes_first(retriever):
    for query in ("9612497925", "where is item 9612497925 ?", "9612497952 please"):  # last one has a typo
        hits = retriever.search(query, k=5).hits
        assert hits[0].doc.doc_id == "9612497925" and hits[0].id_match, query


def test_product_id_returns_its_items_first(retriever, docs):
    keyboard_items = {d.doc_id for d in docs if d.product_id == "1656367028"}
    hits = retriever.search("1656367028", k=len(keyboard_items)).hits
    assert {h.doc.doc_id for h in hits} == keyboard_items


def test_clicky_rgb_keyboard_under_300(retriever, docs):
    res = retriever.search("clicky rgb keyboard under 300", k=50)
    expected = {
        d.doc_id for d in docs
        if d.title == "Mechanical Keyboard" and d.options.get("switch type") == "clicky"
        and d.options.get("backlight") == "RGB" and d.price <= 300
    }
    assert expected
    assert {h.doc.doc_id for h in res.hits} == expected
    assert res.filters.max_price == 300
    assert res.query_used == "clicky rgb keyboard"


def test_option_words_that_name_the_product_are_relaxed(retriever):
    bulbs = retriever.search("LED light bulb", k=5)  # "light" is also a skin tone value
    assert titles(bulbs) == ["LED Light Bulb"] * 5
    assert "light" in {v.lower() for v in bulbs.relaxed_options.values()}
    kettles = retriever.search("electric kettle", k=5)  # "electric" is a grill type, a stovetop value
    assert titles(kettles)[0] == "Electric Kettle"
    backpacks = retriever.search("laptop backpack", k=5)  # kept: backpacks do have a laptop compartment
    assert all(h.doc.title == "Backpack" and h.doc.options["compartment"] == "laptop" for h in backpacks.hits)


# ------------------------------------------------------------------------------ hard filters


@pytest.mark.parametrize(
    ("query", "lo", "hi"),
    [
        ("t-shirt under $50", None, 50),
        ("backpack between 150 and 200", 150, 200),
        ("watch over 1000 dollars", 1000, None),
        ("coffee maker $100-$200", 100, 200),
    ],
)
def test_parsed_price_filters_hold(retriever, query, lo, hi):
    hits = retriever.search(query, k=20).hits
    assert hits
    for h in hits:
        assert (lo is None or h.doc.price >= lo) and (hi is None or h.doc.price <= hi), (query, h.doc)


def test_explicit_filters_hold(retriever, docs):
    assert any(not d.available for d in docs)
    f = SearchFilters(min_price=40, max_price=55, in_stock=True)
    hits = retriever.search("t-shirt", k=50, filters=f).hits
    assert hits
    assert all(h.doc.available and 40 <= h.doc.price <= 55 for h in hits)


def test_in_stock_phrase(retriever):
    res = retriever.search("bluetooth speaker in stock", k=30)
    assert res.filters.in_stock is True and "stock" not in res.query_used
    assert res.hits and all(h.doc.available for h in res.hits)


def test_explicit_filters_override_parsed(retriever):
    res = retriever.search("black t-shirt under 50", k=20,
                           filters=SearchFilters(min_price=50, max_price=60, options={"color": "blue"}))
    assert res.filters.min_price == 50 and res.filters.max_price == 60
    assert res.filters.options == {"color": "blue"}  # the parsed "black" touched the same key: dropped
    assert titles(res)[:3] == ["T-Shirt"] * 3  # the three blue T-shirts priced 50-60
    for h in res.hits:
        assert h.doc.options.get("color") == "blue" and 50 <= h.doc.price <= 60


def test_unsatisfiable_filters_give_no_hits(retriever):
    assert retriever.search("keyboard", filters=SearchFilters(max_price=1)).hits == []


def test_filter_only_query_browses(retriever):
    res = retriever.search("under $30", k=10)
    assert res.query_used == "" and res.hits
    assert all(h.doc.price <= 30 for h in res.hits)


# ------------------------------------------------------------------------------ query parser


def _doc(i: int, **options: str) -> Document:
    return Document(doc_id=str(i), title="x", text="x", product_id=str(i), price=10.0, options=options)


@pytest.fixture(scope="module")
def parser() -> QueryParser:
    docs = [
        _doc(1, **{"switch type": "clicky", "backlight": "RGB", "size": "full size"}),
        _doc(2, color="black", material="leather", size="XL"),
        _doc(3, color="white", size="M"),
        _doc(4, **{"dial color": "black", "strap material": "leather"}),
        _doc(5, color="rose gold", capacity="1000ml", waterproof="no"),
        _doc(6, size="10"),
    ]
    return QueryParser(FilterIndex(docs))


@pytest.mark.parametrize(
    ("query", "lo", "hi", "text"),
    [
        ("under $50", None, 50, ""),
        ("shoes below 50", None, 50, "shoes"),
        ("less than 40 dollars", None, 40, ""),
        ("cheaper than 25.50", None, 25.5, ""),
        ("over 100", 100, None, ""),
        ("at least $1,200 laptop", 1200, None, "laptop"),
        ("between 100 and 200", 100, 200, ""),
        ("$100-$200 watch", 100, 200, "watch"),
        ("100 to 200 dollars", 100, 200, ""),
        ("lamp $30 or less", None, 30, "lamp"),
        ("dumbbells under 5 lbs", None, None, "dumbbells under 5 lbs"),  # a weight, not a price
        ("2-4 cups coffee maker", None, None, "2-4 cups coffee maker"),  # a quantity
        ("water bottle 1000ml", None, None, "water bottle 1000ml"),
    ],
)
def test_parse_prices(parser, query, lo, hi, text):
    parsed = parser.parse(query)
    assert (parsed.filters.min_price, parsed.filters.max_price) == (lo, hi)
    assert parsed.text == text


def test_parse_options(parser):
    parsed = parser.parse("clicky RGB full size keyboard")
    assert parsed.filters.options == {"switch type": "clicky", "backlight": "RGB", "size": "full size"}
    assert parsed.text == "clicky RGB full size keyboard"  # option words stay for ranking


def test_parse_value_under_several_keys(parser):
    opts = parser.parse("black leather watch").filters.options
    assert opts == {"color|dial color": "black", "material|strap material": "leather"}


def test_parse_alternative_values_on_one_key(parser):
    # No item is both black and white: the two values become alternatives, not a contradiction.
    opts = parser.parse("black or white shirt").filters.options
    assert opts == {"color|dial color": "black|white"}


def test_parse_skips_single_letters_numbers_and_generic_values(parser):
    assert parser.parse("m 10 no shirt").filters.options == {}
    assert parser.parse("shirt size M").filters.options == {"size": "M"}
    assert parser.parse("boots size 10").filters.options == {"size": "10"}


def test_parse_multiword_value_wins(parser):
    assert parser.parse("rose gold bottle 1000ml").filters.options == {"color": "rose gold", "capacity": "1000ml"}


def test_parse_in_stock(parser):
    parsed = parser.parse("available black shirts in stock")
    assert parsed.filters.in_stock is True and "stock" not in parsed.text and "available" not in parsed.text
    assert parser.parse("black shirt").filters.in_stock is None


def test_filters_matches_and_merge():
    doc = Document("1", "Watch", "Watch", "p", price=120.0, available=False,
                   options={"Dial Color": "Black", "strap material": "leather"})
    assert SearchFilters(options={"color|dial color": "black"}, max_price=150).matches(doc)
    assert not SearchFilters(options={"color": "black"}).matches(doc)
    assert not SearchFilters(in_stock=True).matches(doc)
    parsed = SearchFilters(max_price=50, options={"color|dial color": "black", "size": "M"}, in_stock=True)
    merged = SearchFilters(min_price=100, options={"color": "red"}).merged_over(parsed)
    assert merged == SearchFilters(min_price=100, max_price=None, options={"size": "M", "color": "red"},
                                   in_stock=True)


# ------------------------------------------------------------------------------ components


def test_tokenize_keeps_ids_and_units():
    terms = tokenize("Water Bottle 1000ml, 128GB SSD, item 9612497925, 3/4 in. T-Shirts")
    for term in ("1000ml", "128gb", "9612497925", "3/4", "t-shirt", "tshirt", "shirt", "bottle"):
        assert term in terms
    assert "128gb" in tokenize("128 GB")  # a spaced unit meets the glued form


def test_rrf_weights_and_ranks():
    order, scores = rrf({"a": np.array([1, 2, 3]), "b": np.array([3, 2])}, {"a": 1.0, "b": 1.0}, k=60)
    assert order.tolist() == [3, 2, 1]  # 3 is first in b and third in a; 2 second in both
    assert np.isclose(scores[0], 1 / 63 + 1 / 61)
    order, _ = rrf({"a": np.array([1, 2, 3]), "b": np.array([3, 2])}, {"a": 1.0, "b": 0.0})
    assert order.tolist() == [1, 2, 3]


def test_typo_corrector_rules():
    corrector = TypoCorrector({"keyboard": 5, "vinyl": 3, "final": 1, "drill": 9}, frozenset({"check"}))
    assert corrector.correct_word("keybaord") == "keyboard"
    assert corrector.correct_word("vynal") == "vinyl"  # 2 edits; "final" lacks the first letter
    assert corrector.correct_word("check") is None  # a real word
    assert corrector.correct_word("dril1") is None  # has a digit
    assert corrector.correct_word("xyzzyq") is None


def test_id_matcher_near_match_only_for_long_ids():
    docs = [_doc(123456), Document("9612497925", "T", "T", "9523456873")]
    matcher = IdMatcher(docs)
    assert matcher.match("9612497952") == [1]
    assert matcher.match("123457") == []
    assert matcher.match("123456") == [0]
    assert matcher.match("9523456873") == [1]


@pytest.mark.parametrize("threshold", [10**9, 100])
def test_dense_index_masked_search(threshold):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = DenseIndex.build(vectors, hnsw_threshold=threshold)
    assert index.kind == ("flat" if threshold > 500 else "hnsw")
    idx, _ = index.search(vectors[7], 5)
    assert idx[0] == 7
    for allowed_count in (10, 300):  # exact subset scoring / IDSelector on HNSW
        mask = np.zeros(500, dtype=bool)
        mask[rng.choice(500, allowed_count, replace=False)] = True
        idx, scores = index.search(vectors[7], 5, mask)
        assert len(idx) == 5 and mask[idx].all()
        assert np.all(np.diff(scores) <= 1e-6)


# ------------------------------------------------------------------------------ encoder and persistence


def test_onnx_matches_sentence_transformers(encoder):
    assert encoder.backend == "onnx"
    texts = [
        "mechanical keyboard", "keybaord", "T-Shirt. color: blue; size: M; material: cotton; style: crew neck",
        "a", "9612497925", "clicky rgb keyboard under $300", "Simpson Strong-Tie 12-Gauge Angle",
        "BEHR Premium Textured DeckOver 1-gal. #SC-141 Tugboat Wood and Concrete Coating",
        "1/2 in. x 10 ft. PVC pipe", "Ünïcödé café crème", "water bottle 1000ml stainless steel",
        "what's the cheapest laptop with 16GB RAM and an i7 processor that ships today?",
        "Smart Watch. color: black; band material: leather; display: AMOLED", "?", "XL",
        "über-long " * 40, "LED Light Bulb", "rose gold", "coffee maker french press 8 cups", "vynal",
    ]
    reference = encoder.reference_model().encode(texts, normalize_embeddings=True, batch_size=7)
    for batch_size in (1, 7, 64):  # different padding in every batch
        ours = encoder.encode(texts, batch_size=batch_size)
        cosine = (ours * reference).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(reference, axis=1)
        assert cosine.min() >= 0.9999, (batch_size, cosine.min())
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_torch_fallback_backend(encoder):
    fallback = Encoder(backend="torch")
    assert fallback.backend == "torch" and fallback.model_hash == encoder.model_hash
    texts = ["mechanical keyboard", "a much longer query about a stainless steel water bottle"]
    assert np.allclose(fallback.encode(texts), encoder.encode(texts), atol=1e-4)


def test_persisted_index_reloads_without_reencoding(retriever, docs, encoder, index_dir, monkeypatch):
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["doc_count"] == len(docs) and manifest["index_type"] == "flat"
    for key in ("model_name", "model_hash", "catalogue_hash", "build_seconds", "created_at", "format_version"):
        assert key in manifest

    def no_bulk_encoding(self, texts, *args, **kwargs):
        raise AssertionError(f"re-encoded {len(texts)} texts")

    monkeypatch.setattr(Encoder, "encode", no_bulk_encoding)
    monkeypatch.setattr(Encoder, "encode_query", lambda self, text: retriever.encoder.reference_model().encode(
        text, normalize_embeddings=True))
    reloaded = HybridRetriever.open(docs, index_dir, RetrieverConfig(), encoder=encoder)
    assert not reloaded.built
    monkeypatch.undo()
    for query in ("mechanical keyboard", "black leather watch", "vynal"):
        a = [h.doc.doc_id for h in retriever.search(query, k=8).hits]
        b = [h.doc.doc_id for h in reloaded.search(query, k=8).hits]
        assert a == b


def test_stale_index_detected_and_rebuilt(docs, encoder, tmp_path):
    small = docs[:40]
    first = HybridRetriever.open(small, tmp_path, encoder=encoder)
    assert first.built
    assert not HybridRetriever.open(small, tmp_path, encoder=encoder).built

    changed = [*small[:-1], Document(**{**small[-1].to_dict(), "price": small[-1].price + 1})]
    with pytest.raises(StaleIndexError, match="catalogue_hash"):
        HybridRetriever.load(changed, tmp_path, encoder=encoder)
    rebuilt = HybridRetriever.open(changed, tmp_path, encoder=encoder)
    assert rebuilt.built
    assert HybridRetriever.load(changed, tmp_path, encoder=encoder).manifest == rebuilt.manifest

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "model_hash": "another model"}))
    with pytest.raises(StaleIndexError, match="model_hash"):
        HybridRetriever.load(changed, tmp_path, encoder=encoder)
