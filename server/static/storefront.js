/*
 * The demo storefront's cart: how a host page takes the widget's "Add to cart" (server/API.md, "Cards").
 * The widget dispatches a bubbling `shopagent:add-to-cart` CustomEvent whose detail is
 * {product_id, item_id, name, price, options}; a real store would post it to its own cart API here.
 */
(function () {
  "use strict";

  var lines = {}; // item_id -> {detail, quantity, node}

  function describe(detail) {
    var options = Object.keys(detail.options || {}).map(function (name) {
      return detail.options[name];
    }).join(", ");
    return detail.name + (options ? " (" + options + ")" : "") + (detail.price ? " — $" + detail.price : "");
  }

  function add(detail) {
    var line = lines[detail.item_id];
    if (!line) {
      var node = document.createElement("li");
      node.setAttribute("data-testid", "cart-item");
      node.setAttribute("data-item-id", detail.item_id);
      document.querySelector("[data-testid=cart-items]").appendChild(node);
      line = lines[detail.item_id] = { detail: detail, quantity: 0, node: node };
    }
    line.quantity += 1;
    line.node.textContent = line.quantity + " × " + describe(detail); // text only: names come from the catalogue
    var total = Object.keys(lines).reduce(function (sum, id) { return sum + lines[id].quantity; }, 0);
    document.querySelector("[data-testid=cart-count]").textContent = String(total);
  }

  document.addEventListener("shopagent:add-to-cart", function (event) {
    if (event.detail && event.detail.item_id) add(event.detail);
  });
})();
