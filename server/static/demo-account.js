/*
 * The demo storefront page's account: mounts the chat widget, and in demo mode (SHOPAGENT_DEMO) offers "Sign in as a demo
 * customer", as a real storefront's login would: the server mints a signed customer token for a demo customer and
 * the widget is mounted with it (data-token), so the chat starts signed in and shows that customer's orders.
 * A file, not inline: the page's Content-Security-Policy allows no inline script. Text goes in with textContent.
 */
(function () {
  "use strict";

  var KEY = "shopagent-demo:customer"; // {token, name, customer_id} for this tab

  function signedIn() {
    try {
      return JSON.parse(window.sessionStorage.getItem(KEY) || "null");
    } catch (ignored) {
      return null;
    }
  }

  function mountWidget(customer) {
    var tag = document.createElement("script");
    tag.src = "/widget.js";
    if (customer && customer.token) tag.setAttribute("data-token", customer.token);
    document.body.appendChild(tag);
  }

  function signIn(button) {
    button.disabled = true;
    fetch("/api/demo/sign-in", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: "{}"
    }).then(function (response) {
      if (!response.ok) throw new Error("sign-in failed: " + response.status);
      return response.json();
    }).then(function (customer) {
      window.sessionStorage.setItem(KEY, JSON.stringify(customer));
      window.location.reload(); // the widget is mounted again, with the customer's token
    }).catch(function () {
      button.disabled = false;
    });
  }

  function signOut() {
    window.sessionStorage.removeItem(KEY);
    window.location.reload();
  }

  function showDemoBar(info, customer) {
    var bar = document.getElementById("demo-account");
    var who = document.getElementById("demo-who");
    var signInButton = document.getElementById("demo-sign-in");
    var signOutButton = document.getElementById("demo-sign-out");
    var outbox = document.getElementById("demo-outbox");
    if (customer) {
      who.textContent = "Signed in as " + customer.name + " (" + customer.customer_id + ").";
      signOutButton.hidden = false;
    } else {
      signInButton.hidden = false;
    }
    if (info.outbox) {
      outbox.href = info.outbox;
      outbox.hidden = false;
    }
    signInButton.addEventListener("click", function () { signIn(signInButton); });
    signOutButton.addEventListener("click", signOut);
    bar.hidden = false;
  }

  var customer = signedIn();
  mountWidget(customer);
  // Demo mode only: elsewhere /api/demo answers 404 and the page stays a plain storefront.
  fetch("/api/demo", { headers: { Accept: "application/json" } }).then(function (response) {
    return response.ok ? response.json() : null;
  }).then(function (info) {
    if (info) showDemoBar(info, customer);
  }).catch(function () { /* no demo bar */ });
})();
