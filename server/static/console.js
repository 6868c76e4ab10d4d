/*
 * The copilot console for human agents. Plain JS. Server text is rendered with textContent only.
 * The staff token lives in sessionStorage (this tab) and goes out as "Authorization: Bearer".
 */
(function () {
  "use strict";

  var TOKEN_KEY = "shopagent:staff-token";
  var POLL_MS = 2000;
  var state = { token: sessionStorage.getItem(TOKEN_KEY), ticketId: null, poll: null, role: null };

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function api(path, options) {
    options = options || {};
    var headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    var init = { method: options.method || "GET", headers: headers };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    return fetch(path, init).then(function (response) {
      if (response.status === 401 && state.token) signOut();
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.detail ? String(data.detail) : "HTTP " + response.status);
        return data;
      });
    });
  }

  // --- sign-in --------------------------------------------------------------------------------------------

  $("login").addEventListener("submit", function (event) {
    event.preventDefault();
    $("login-error").textContent = "";
    api("/api/console/login", { method: "POST", body: { staff_id: $("staff-id").value, password: $("password").value } })
      .then(function (data) {
        state.token = data.token;
        sessionStorage.setItem(TOKEN_KEY, data.token);
        $("password").value = "";
        start();
      }, function (error) { $("login-error").textContent = error.message; });
  });

  $("signout").addEventListener("click", signOut);

  function signOut() {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    clearInterval(state.poll);
    $("desk").hidden = true;
    $("login").hidden = false;
    $("signout").hidden = true;
    $("who").textContent = "";
  }

  function start() {
    api("/api/console/me").then(function (me) {
      $("who").textContent = me.display_name + " (" + me.staff_id + ", " + me.role + ")";
      state.role = me.role;
      $("assign-box").hidden = me.role !== "supervisor";
      if (me.role === "supervisor") loadStaff();
      $("login").hidden = true;
      $("desk").hidden = false;
      $("signout").hidden = false;
      refresh();
      clearInterval(state.poll);
      state.poll = setInterval(refresh, POLL_MS);
    }, function () { signOut(); });
  }

  function refresh() {
    loadQueue();
    loadHolds();
    if (state.ticketId !== null) loadTicket(state.ticketId);
  }

  // --- the queue ------------------------------------------------------------------------------------------

  function loadQueue() {
    api("/api/console/tickets").then(function (data) {
      var list = $("queue");
      list.textContent = "";
      data.tickets.forEach(function (ticket) {
        var button = el("button", { type: "button", "data-testid": "console-queue-item",
          "data-ticket-id": String(ticket.id), "aria-current": String(ticket.id === state.ticketId) });
        button.appendChild(el("span", { class: "priority" }, ticket.priority.toFixed(2)));
        button.appendChild(document.createTextNode("#" + ticket.id + " · " + (ticket.customer_id || "guest")));
        button.appendChild(el("span", { class: "reason" }, ticket.reason + " · " + ticket.status +
          (ticket.staff_id ? " (" + ticket.staff_id + ")" : "")));
        button.addEventListener("click", function () { state.ticketId = ticket.id; loadTicket(ticket.id); loadQueue(); });
        var item = el("li");
        item.appendChild(button);
        list.appendChild(item);
      });
      if (!data.tickets.length) list.appendChild(el("li", {}, "No one is waiting."));
    });
  }

  // --- one ticket -----------------------------------------------------------------------------------------

  function loadTicket(id) {
    return api("/api/console/tickets/" + id).then(renderTicket, function (error) {
      $("ticket-error").textContent = error.message;
    });
  }

  function renderTicket(view) {
    var ticket = view.ticket;
    $("ticket").hidden = false;
    $("ticket").setAttribute("data-status", ticket.status);
    $("ticket-title").textContent = "Ticket #" + ticket.id + " · " + ticket.reason + " · " + ticket.status +
      " · priority " + ticket.priority.toFixed(2);
    $("summary").textContent = ticket.summary;
    renderTranscript(view.transcript);
    renderTimeline(view.timeline);
    renderOrders(view.customer);
    renderDrafts(view.drafts);
    renderActions(view.actions);
  }

  function renderTranscript(messages) {
    var list = $("transcript");
    var atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.textContent = "";
    messages.forEach(function (m) {
      var kind = m.role === "tool" ? "tool" : m.human ? "human" : m.role;
      var who = m.role === "user" ? "Customer" : m.role === "tool" ? "Tool " + m.tool + (m.ok ? "" : " (failed)")
        : m.author || "Bot";
      var item = el("li", { class: kind, "data-role": kind });
      item.appendChild(el("strong", {}, who + ": "));
      item.appendChild(document.createTextNode(m.role === "tool" ? m.text.slice(0, 300) : m.text));
      list.appendChild(item);
    });
    if (atEnd) list.scrollTop = list.scrollHeight;
  }

  function renderTimeline(points) {
    var box = $("timeline");
    box.textContent = "";
    points.forEach(function (p) {
      var bar = el("span", { title: "turn " + p.turn + ": " + p.frustration + " (smoothed " + p.smoothed + ")" });
      bar.style.height = Math.max(2, Math.round(p.smoothed * 80)) + "px";
      if (p.smoothed >= 0.6) bar.className = "high";
      box.appendChild(bar);
    });
  }

  function renderOrders(customer) {
    var list = $("orders");
    list.textContent = "";
    if (!customer.customer_id) return list.appendChild(el("li", {}, "Not verified yet."));
    list.appendChild(el("li", {}, customer.customer_id));
    customer.orders.forEach(function (o) {
      list.appendChild(el("li", { "data-order-id": o.order_id }, o.order_id + " · " + o.status + " · $" + o.total +
        (o.mentioned ? " · discussed" : "") + " · " + o.items.map(function (i) { return i.name; }).join(", ")));
    });
  }

  function renderDrafts(drafts) {
    var list = $("drafts");
    list.textContent = "";
    drafts.forEach(function (d) {
      var item = el("li", { "data-testid": "console-draft" }, d.text);
      var use = el("button", { type: "button" }, "Use");
      use.addEventListener("click", function () { $("reply-text").value = d.text; $("reply-text").focus(); });
      item.appendChild(use);
      list.appendChild(item);
    });
  }

  function renderActions(actions) {
    var list = $("actions");
    list.textContent = "";
    actions.forEach(function (a) {
      var item = el("li", { "data-testid": "console-action", "data-tool": a.tool }, a.label + " [" + a.kind + "]");
      var approve = el("button", { type: "button" }, "Approve");
      approve.addEventListener("click", function () { runAction(a); });
      item.appendChild(approve);
      list.appendChild(item);
    });
  }

  function runAction(action) {
    $("action-result").textContent = "Running " + action.tool + "…";
    api("/api/console/tickets/" + state.ticketId + "/actions", { method: "POST",
      body: { tool: action.tool, arguments: action.arguments } }).then(function (result) {
      $("action-result").textContent = result.ok ? "Done: " + action.tool : "Refused: " + result.error;
      loadTicket(state.ticketId);
    }, function (error) { $("action-result").textContent = error.message; });
  }

  function ticketCommand(command) {
    $("ticket-error").textContent = "";
    return api("/api/console/tickets/" + state.ticketId + "/" + command, { method: "POST", body: {} })
      .then(function () { refresh(); }, function (error) { $("ticket-error").textContent = error.message; });
  }

  $("take").addEventListener("click", function () { ticketCommand("take"); });
  $("claim").addEventListener("click", function () { ticketCommand("claim"); });
  $("handback").addEventListener("click", function () { ticketCommand("handback"); });
  $("resolve").addEventListener("click", function () { ticketCommand("resolve"); });

  $("reply").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("reply-text").value.trim();
    if (!text || state.ticketId === null) return;
    $("ticket-error").textContent = "";
    api("/api/console/tickets/" + state.ticketId + "/messages", { method: "POST", body: { text: text } })
      .then(function () { $("reply-text").value = ""; loadTicket(state.ticketId); },
        function (error) { $("ticket-error").textContent = error.message; });
  });

  // --- assignment (supervisors) and held actions (risk control) ------------------------------------------------

  function loadStaff() {
    api("/api/console/staff").then(function (data) {
      var select = $("assign-to");
      select.textContent = "";
      data.staff.forEach(function (s) {
        select.appendChild(el("option", { value: s.staff_id }, s.display_name + " (" + s.role + ")"));
      });
    });
  }

  $("assign").addEventListener("click", function () {
    $("ticket-error").textContent = "";
    api("/api/console/tickets/" + state.ticketId + "/assign", { method: "POST", body: { staff_id: $("assign-to").value } })
      .then(function () { refresh(); }, function (error) { $("ticket-error").textContent = error.message; });
  });

  function loadHolds() {
    api("/api/console/holds").then(function (data) {
      var list = $("holds");
      list.textContent = "";
      data.holds.forEach(function (hold) {
        var item = el("li", { "data-testid": "console-hold", "data-hold-id": String(hold.id) });
        item.appendChild(el("span", {}, (hold.customer_id || "guest") + ": " + hold.summary));
        item.appendChild(el("span", { class: "reason" }, hold.rules.join(", ") + " · needs " + hold.approver));
        if (hold.can_decide) {
          item.appendChild(holdButton(hold, "approve", "Approve"));
          item.appendChild(holdButton(hold, "reject", "Reject"));
        }
        list.appendChild(item);
      });
      if (!data.holds.length) list.appendChild(el("li", {}, "Nothing is held."));
    });
  }

  function holdButton(hold, decision, label) {
    var button = el("button", { type: "button", "data-testid": "console-hold-" + decision }, label);
    button.addEventListener("click", function () {
      api("/api/console/holds/" + hold.id + "/" + decision, { method: "POST", body: {} }).then(function (result) {
        $("hold-result").textContent = "Held action #" + hold.id + ": " + result.status +
          (result.outcome ? " (" + result.outcome + ")" : "");
        loadHolds();
      }, function (error) { $("hold-result").textContent = error.message; });
    });
    return button;
  }

  if (state.token) start();
})();
