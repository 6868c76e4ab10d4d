"""Order logistics: the demo store's simulated order history, the delivery-time and late-risk models, and the
`predict_delivery` tool. Heavy modules (scikit-learn) are imported only where a model is trained or used."""
