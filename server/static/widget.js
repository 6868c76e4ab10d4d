/*
 * shopagent storefront chat widget. Plain JS, no build step, no dependencies.
 *
 * Embed with one tag (see server/API.md):
 *   <script src="https://HOST/widget.js" data-shopagent-url="https://HOST" data-token="OPTIONAL"></script>
 * Optional: data-currency="EUR" (ISO 4217 code for card prices; default USD), data-title="Ask our assistant".
 *
 * Safety rule for this file: every piece of text that comes from the server or the user is rendered with
 * textContent or attributes, never innerHTML, so a product name or reply cannot inject markup.
 */
(function () {
  "use strict";

  // A second copy of the tag (or a single-page app re-running it) must not mount a second widget.
  if (window.ShopAgent) return;

  // document.currentScript only exists while this file runs synchronously, so read it first.
  var script = document.currentScript || findOwnScript();
  var config = readConfig(script);

  var TEXT = {
    title: config.title || "Shop assistant",
    openChat: "Open chat with {name}",
    conversationLabel: "Conversation",
    productsLabel: "Products",
    confirmLabel: "Confirm: {summary}",
    theAction: "the action",
    confirmYes: "Yes",
    confirmNo: "No",
    talkToPerson: "Talk to a person",
    placeholder: "Type your message…",
    messageLabel: "Message",
    sendLabel: "Send message",
    closeLabel: "Close chat",
    thinking: "Thinking…",
    working: "Working on it…",
    connecting: "Connecting you to a person…",
    fallbackGreeting: "Hi! How can I help you today?",
    error: "Sorry, something went wrong. Please try again.",
    networkError: "Sorry, we couldn't reach the assistant. Check your connection and try again.",
    cutOff: "Sorry, the reply was interrupted. Please try again.",
    tooLong: "That message is too long. Please shorten it and try again.",
    tooFast: "You're sending messages a little too quickly. Please wait a moment and try again.",
    historyError: "We couldn't load your earlier conversation.",
    handoffTitle: "A person from our team will take over this conversation.",
    handoffHistory: "This conversation was handed to a person from our team.",
    handoffError: "Sorry, we couldn't reach a person right now. Please try again.",
    inStock: "In stock",
    outOfStock: "Out of stock",
    suggestionLabel: "Suggested for you",
    noThanks: "No thanks",
    addToCart: "Add to cart",
    addToCartLabel: "Add {name} to cart",
    talkingTo: "You are talking to {name}",
    personSaid: "{name} said:",
    assistantSaid: "{name} said:",
    youSaid: "You said:",
    rateReply: "Rate this reply",
    helpful: "This reply was helpful",
    notHelpful: "This reply was not helpful",
    solvedQuestion: "Was this solved?",
    solvedYes: "Yes",
    solvedNo: "No",
    feedbackThanks: "Thanks for your feedback!"
  };
  // The widget's words per locale from the server (agent/locales/<locale>/widget.toml); TEXT above is the
  // English fallback for a page that cannot reach it. A page's own data-title names the assistant in every language.
  var STRINGS = null;
  var FULL_SCREEN_QUERY = "(max-width: 400px)"; // keep in step with the @media rule in widget.css
  var MAX_LENGTH = 2000; // server/API.md: a turn's text is 1–2000 characters
  var STORAGE_KEY = "shopagent:session:" + config.baseUrl;

  var ui = null; // the DOM nodes, built on first mount
  var state = {
    open: false,
    busy: false, // a turn or a handoff request is in flight
    session: null, // {id, greeting}
    sessionPromise: null, // shared by concurrent callers so only one session is ever created
    conversation: null, // resolves once the greeting and history are on screen (or failed to load)
    turn: null, // the assistant message being streamed
    person: null, // {name, avatar_url}: who from the team is in the conversation; null while the assistant answers
    language: "en", // the conversation's language, as the server last said
    lastReplyId: null, // the assistant's last stored reply: what "Was this solved?" is about
    solvedAsked: false // asked once per page: after the customer's thanks, or when they close the chat
  };

  // --- configuration ------------------------------------------------------------------------------------

  function findOwnScript() {
    // Fallback for browsers without currentScript: the last matching tag is the one being executed.
    var tags = document.querySelectorAll("script[data-shopagent-url], script[src*='widget.js']");
    return tags.length ? tags[tags.length - 1] : null;
  }

  function readConfig(tag) {
    var explicit = tag && tag.getAttribute("data-shopagent-url");
    var origin = tag && tag.src ? new URL(tag.src, document.baseURI).origin : window.location.origin;
    return {
      baseUrl: (explicit || origin).replace(/\/+$/, ""),
      token: (tag && tag.getAttribute("data-token")) || null,
      currency: (tag && tag.getAttribute("data-currency")) || "USD",
      title: (tag && tag.getAttribute("data-title")) || null
    };
  }

  // --- small DOM helpers ----------------------------------------------------------------------------------

  /** el("div", {class: "x", "data-testid": "y"}, "text" | [children]): text always goes in as textContent. */
  function el(tag, attrs, content) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (attrs[name] !== null && attrs[name] !== undefined) node.setAttribute(name, attrs[name]);
    });
    if (typeof content === "string") node.textContent = content;
    else if (content) content.forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function icon(pathData) {
    // Static markup we own; built with the SVG namespace rather than innerHTML anyway.
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "24");
    svg.setAttribute("height", "24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  var CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2zm3 6v2h2v-2H7zm4 0v2h2v-2h-2zm4 0v2h2v-2h-2z";
  var CLOSE_ICON = "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z";
  var SEND_ICON = "M3 20.5 21 12 3 3.5v6.6L15 12 3 13.9z";

  // --- building the widget --------------------------------------------------------------------------------

  function injectStylesheet(onReady) {
    var href = config.baseUrl + "/widget.css";
    var existing = document.querySelector("link[data-shopagent-css]");
    if (existing) return onReady();
    var link = el("link", { rel: "stylesheet", href: href, "data-shopagent-css": "" });
    // Show the widget once styled; an unreachable stylesheet still leaves a usable (plain) widget.
    link.addEventListener("load", onReady);
    link.addEventListener("error", onReady);
    document.head.appendChild(link);
  }

  function buildUi() {
    var launcher = el("button", {
      type: "button",
      id: "shopagent-launcher",
      class: "shopagent-launcher",
      "data-testid": "shopagent-launcher",
      "aria-label": fill(TEXT.openChat, { name: TEXT.title }),
      "aria-expanded": "false",
      "aria-controls": "shopagent-panel"
    }, [icon(CHAT_ICON)]);

    var title = el("h2", { id: "shopagent-title", class: "shopagent-title" }, TEXT.title);
    var handoffButton = el("button", {
      type: "button",
      class: "shopagent-handoff-button",
      "data-testid": "shopagent-handoff-button"
    }, TEXT.talkToPerson);
    var closeButton = el("button", {
      type: "button",
      class: "shopagent-close",
      "data-testid": "shopagent-close",
      "aria-label": TEXT.closeLabel
    }, [icon(CLOSE_ICON)]);

    // role=log implies polite announcements; aria-live is spelled out for older screen readers.
    var log = el("div", {
      id: "shopagent-log",
      class: "shopagent-log",
      "data-testid": "shopagent-log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions text",
      "aria-label": TEXT.conversationLabel,
      tabindex: "0"
    });
    var status = el("div", {
      class: "shopagent-status",
      "data-testid": "shopagent-status",
      role: "status",
      "aria-live": "polite"
    });

    var input = el("textarea", {
      id: "shopagent-input",
      class: "shopagent-input",
      "data-testid": "shopagent-input",
      rows: "1",
      maxlength: String(MAX_LENGTH),
      placeholder: TEXT.placeholder,
      "aria-label": TEXT.messageLabel,
      autocomplete: "off"
    });
    var send = el("button", {
      type: "submit",
      id: "shopagent-send",
      class: "shopagent-send",
      "data-testid": "shopagent-send",
      "aria-label": TEXT.sendLabel
    }, [icon(SEND_ICON)]);
    var form = el("form", { class: "shopagent-composer", "data-testid": "shopagent-composer" }, [input, send]);

    // Who from the team is in the conversation (hidden while the assistant answers): a status, so it is announced.
    var person = el("div", { class: "shopagent-person", "data-testid": "shopagent-person", role: "status" });
    person.hidden = true;

    var panel = el("section", {
      id: "shopagent-panel",
      class: "shopagent-panel",
      "data-testid": "shopagent-panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": "shopagent-title"
    }, [
      el("header", { class: "shopagent-header" }, [title, handoffButton, closeButton]),
      person,
      log,
      status,
      form
    ]);
    panel.hidden = true;

    var root = el("div", { id: "shopagent-root", class: "shopagent-root", "data-testid": "shopagent-root" },
      [panel, launcher]);
    root.style.visibility = "hidden"; // until widget.css has loaded: no flash of unstyled widget

    return {
      root: root, launcher: launcher, panel: panel, log: log, status: status,
      form: form, input: input, send: send, close: closeButton, handoff: handoffButton, person: person,
      title: title
    };
  }

  function wireEvents() {
    ui.launcher.addEventListener("click", function () { toggle(); });
    ui.close.addEventListener("click", function () { close(); });
    ui.handoff.addEventListener("click", requestHandoff);
    ui.form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitInput();
    });
    ui.input.addEventListener("keydown", function (event) {
      // Enter sends, Shift+Enter adds a line; never send half-composed IME text (Japanese, Chinese…).
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submitInput();
      }
    });
    ui.input.addEventListener("input", autoGrow);
    // On the root, not the panel: Esc also closes while focus is on the launcher.
    ui.root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && state.open) {
        event.stopPropagation(); // the page's own Esc handlers (e.g. its modals) are not ours to trigger
        close();
      } else if (event.key === "Tab" && state.open && isFullScreen()) {
        keepFocusInPanel(event);
      }
    });
  }

  function mount() {
    ui = buildUi();
    wireEvents();
    document.body.appendChild(ui.root);
    injectStylesheet(function () { ui.root.style.visibility = ""; });
    loadStrings();
  }

  // --- the conversation's language ---------------------------------------------------------------------------

  function loadStrings() {
    api("/widget/strings.json").then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (strings) {
      STRINGS = strings;
      setLanguage(state.language);
    }).catch(function () { /* the English defaults stay */ });
  }

  /** The language the page (else the browser) is in, as a tag the server accepts; undefined when neither says. */
  function pageLanguage() {
    var tag = document.documentElement.getAttribute("lang") || navigator.language || "";
    return /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$/.test(tag) ? tag : undefined;
  }

  /** Speak the conversation's language: `lang` for the screen reader and fonts, the widget's own words. */
  function setLanguage(language) {
    if (!language || !ui) return;
    state.language = language;
    ui.root.setAttribute("lang", language);
    var strings = STRINGS && STRINGS[language];
    if (!strings) return;
    Object.keys(strings).forEach(function (key) { TEXT[key] = strings[key]; });
    if (config.title) TEXT.title = config.title;
    ui.title.textContent = TEXT.title;
    ui.launcher.setAttribute("aria-label", state.open ? TEXT.closeLabel : fill(TEXT.openChat, { name: TEXT.title }));
    ui.log.setAttribute("aria-label", TEXT.conversationLabel);
    ui.handoff.textContent = TEXT.talkToPerson;
    ui.input.setAttribute("placeholder", TEXT.placeholder);
    ui.input.setAttribute("aria-label", TEXT.messageLabel);
    ui.send.setAttribute("aria-label", TEXT.sendLabel);
    ui.close.setAttribute("aria-label", TEXT.closeLabel);
  }

  // --- open / close ----------------------------------------------------------------------------------------

  function open() {
    if (state.open) return;
    state.open = true;
    ui.panel.hidden = false;
    ui.panel.setAttribute("aria-modal", String(isFullScreen())); // full screen, the page behind is out of reach
    ui.root.classList.add("shopagent-is-open");
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.launcher.setAttribute("aria-label", TEXT.closeLabel);
    swapIcon(ui.launcher, CLOSE_ICON);
    ui.input.focus();
    loadConversation();
  }

  function close() {
    if (!state.open) return;
    askSolved(); // seen when the customer comes back to the chat
    state.open = false;
    ui.panel.hidden = true;
    ui.root.classList.remove("shopagent-is-open");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.setAttribute("aria-label", fill(TEXT.openChat, { name: TEXT.title }));
    swapIcon(ui.launcher, CHAT_ICON);
    ui.launcher.focus(); // focus goes back where the customer opened the chat from
  }

  function isFullScreen() {
    return window.matchMedia && window.matchMedia(FULL_SCREEN_QUERY).matches;
  }

  /** Full screen, the panel hides the page: Tab must cycle inside it instead of wandering off behind it. */
  function keepFocusInPanel(event) {
    var focusable = Array.prototype.filter.call(
      ui.panel.querySelectorAll("button, textarea, [tabindex='0']"),
      function (node) { return !node.disabled && node.offsetParent !== null; });
    if (!focusable.length) return;
    var first = focusable[0];
    var last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  function toggle() {
    if (state.open) close();
    else open();
  }

  function swapIcon(button, pathData) {
    button.replaceChild(icon(pathData), button.querySelector("svg"));
  }

  // --- sessions ---------------------------------------------------------------------------------------------

  function tokenFingerprint() {
    // Remember whose session it is without storing the token itself: when the signed-in customer changes
    // (login, logout), the stored session belongs to someone else and must not be resumed.
    var text = config.token || "";
    // shopagent tokens (server/tokens.py) are base64url(customer).expiry.hmac and are re-signed on every page
    // render: only the customer part identifies whose session it is. Any other shape: the whole token, so a
    // changed token never resumes a session (safe, merely less persistent).
    var shopagentToken = /^([A-Za-z0-9_-]+)\.\d+\.[0-9a-f]{64}$/.exec(text);
    if (shopagentToken) text = shopagentToken[1];
    var hash = 5381;
    for (var i = 0; i < text.length; i++) hash = ((hash * 33) ^ text.charCodeAt(i)) >>> 0;
    return text ? hash.toString(36) : "";
  }

  function loadStoredSession() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "null");
      if (saved && saved.id && saved.who === tokenFingerprint()) return { id: saved.id, greeting: saved.greeting };
    } catch (ignored) {
      // Storage can be blocked (privacy modes, sandboxed frames): the chat still works, it just won't persist.
    }
    return null;
  }

  function storeSession(session) {
    try {
      if (session) {
        window.localStorage.setItem(STORAGE_KEY, JSON.stringify(
          { id: session.id, greeting: session.greeting, who: tokenFingerprint() }));
      } else {
        window.localStorage.removeItem(STORAGE_KEY);
      }
    } catch (ignored) { /* see loadStoredSession */ }
  }

  function api(path, options) {
    options = options || {};
    var init = { method: options.method || "GET", headers: { Accept: options.accept || "application/json" } };
    if (options.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    return fetch(config.baseUrl + path, init);
  }

  function createSession(useToken) {
    var body = useToken && config.token ? { token: config.token } : {};
    body.language = pageLanguage();
    return api("/api/sessions", { method: "POST", body: body }).then(function (response) {
      // A forged or expired token is refused (401): carry on as a guest rather than leave the chat dead.
      if (response.status === 401 && useToken && config.token) {
        if (window.console) console.warn("shopagent: the customer token was refused; continuing as a guest");
        return createSession(false);
      }
      if (!response.ok) throw httpError(response);
      return response.json().then(function (data) {
        setLanguage(data.language);
        var session = { id: data.session_id, greeting: data.greeting || TEXT.fallbackGreeting };
        storeSession(session);
        return session;
      });
    });
  }

  /** The current session, created once however many callers ask at the same time. */
  function ensureSession() {
    if (state.session) return Promise.resolve(state.session);
    if (!state.sessionPromise) {
      state.sessionPromise = createSession(true).then(function (session) {
        state.session = session;
        return session;
      }, function (error) {
        state.sessionPromise = null; // let the next attempt try again
        throw error;
      });
    }
    return state.sessionPromise;
  }

  function forgetSession() {
    state.session = null;
    state.sessionPromise = null;
    storeSession(null);
  }

  function httpError(response) {
    var error = new Error("HTTP " + response.status);
    error.status = response.status;
    return error;
  }

  // --- greeting and history -----------------------------------------------------------------------------

  /**
   * Show the greeting and any earlier conversation, once. Always resolves: a failure shows an error line and
   * the chat stays usable (the first message will create or reuse the session).
   */
  function loadConversation() {
    if (!state.conversation) {
      var saved = loadStoredSession();
      var ready = saved ? restoreHistory(saved) : ensureSession().then(function (session) {
        addGreeting(session.greeting);
      });
      state.conversation = ready.catch(function (error) {
        showError(error.status ? TEXT.historyError : TEXT.networkError);
      }).then(listenForPeople);
    }
    return state.conversation;
  }

  /** A person from the team writes through the session's live stream (server/routes/live.py). */
  function listenForPeople() {
    if (!state.session || !window.EventSource || state.live === state.session.id) return;
    state.live = state.session.id;
    var ids = Array.prototype.map.call(ui.log.querySelectorAll("[data-message-id]"),
      function (node) { return Number(node.getAttribute("data-message-id")) || 0; });
    var source = new EventSource(config.baseUrl + "/api/sessions/" + encodeURIComponent(state.session.id) +
      "/events?after=" + Math.max.apply(null, ids.concat(0)));
    source.addEventListener("person", function (event) {
      var data = JSON.parse(event.data);
      if (ui.log.querySelector("[data-message-id='" + Number(data.id) + "']")) return;
      addLiveMessage(data);
      if (data.presence === "left") setPerson(null);
      else if (data.presence === "joined" || !data.notice) setPerson({ name: data.author, avatar_url: data.avatar_url });
    });
  }

  /** A person's words (with their name and picture) or a notice that they joined or left. */
  function addLiveMessage(data) {
    var node = data.notice ? addMessage("assistant", data.text) : addPersonMessage(data);
    node.setAttribute("data-message-id", String(data.id));
    node.setAttribute("data-author", data.notice ? "notice" : "person");
    return node;
  }

  /** Who from the team is in the conversation (null: the assistant answers): the header says so, and the
   * "Talk to a person" button steps aside until they leave. */
  function setPerson(person) {
    person = person && person.name ? { name: person.name, avatar_url: person.avatar_url || null } : null;
    var same = JSON.stringify(person) === JSON.stringify(state.person);
    state.person = person;
    if (same) return; // the status line is announced on change only
    if (person && document.activeElement === ui.handoff) ui.input.focus(); // never leave focus on a hidden button
    ui.handoff.hidden = Boolean(person);
    ui.person.hidden = !person;
    ui.person.textContent = "";
    if (person) {
      ui.person.appendChild(avatar(person.name, person.avatar_url));
      ui.person.appendChild(el("span", { class: "shopagent-person-text", "data-testid": "shopagent-person-text" },
        fill(TEXT.talkingTo, { name: person.name })));
    }
  }

  function restoreHistory(saved) {
    // Adopt the session at once so that a message sent while history is loading goes to it, not a new one.
    state.session = saved;
    return api("/api/sessions/" + encodeURIComponent(saved.id) + "/messages").then(function (response) {
      if (response.status === 404) {
        // The server no longer knows this session (expired, database reset): start a fresh one.
        forgetSession();
        return ensureSession().then(function (session) { addGreeting(session.greeting); });
      }
      if (!response.ok) throw httpError(response);
      return response.json().then(function (data) {
        setLanguage(data.language);
        renderHistory(saved.greeting, data.messages || []);
        setPerson(data.person); // the person who has the conversation now, if any
      });
    });
  }

  function renderHistory(greeting, messages) {
    // The server may keep the greeting as the first stored message: show it once, as the greeting, either way.
    var first = messages[0];
    if (first && first.role === "assistant" && (first.greeting || first.text === greeting)) {
      messages = messages.slice(1);
    }
    addGreeting(greeting);
    messages.forEach(function (message, index) {
      var node = message.author ? addLiveMessage(message)
        : addMessage(message.role === "user" ? "user" : "assistant", message.text);
      node.setAttribute("data-message-id", String(message.id));
      if (message.role === "assistant" && !message.author) {
        node.appendChild(renderRating(message.id));
        state.lastReplyId = message.id;
      }
      if (message.products && message.products.length) node.appendChild(renderProducts(message.products));
      if (message.handoff) addNotice(TEXT.handoffHistory, null);
      // A suggestion can still be declined only while it is the last thing said.
      if (message.suggestion) appendToLog(renderSuggestion(message.suggestion, index === messages.length - 1));
      // A question still open when the page was left: offer its Yes / No again.
      if (message.confirmation && index === messages.length - 1) {
        node.appendChild(renderConfirmation(message.confirmation));
      }
    });
    scrollToEnd(true);
  }

  function addGreeting(text) {
    addMessage("assistant", text || TEXT.fallbackGreeting).setAttribute("data-kind", "greeting");
  }

  // --- rendering messages ---------------------------------------------------------------------------------

  /** A message in the log; `speaker` is what a screen reader hears first (default: you / the assistant). */
  function addMessage(role, text, speaker) {
    var bubble = el("div", { class: "shopagent-bubble", "data-testid": "shopagent-bubble" }, text || "");
    var node = el("div", {
      class: "shopagent-message shopagent-message--" + role,
      "data-testid": "shopagent-message",
      "data-role": role,
      "data-state": "final"
    }, [
      el("span", { class: "shopagent-visually-hidden", "data-testid": "shopagent-speaker" },
        speaker || (role === "user" ? TEXT.youSaid : fill(TEXT.assistantSaid, { name: TEXT.title }))),
      bubble
    ]);
    appendToLog(node);
    return node;
  }

  /** A person from the team speaks: their picture (or initials) and name above the bubble, and in the label. */
  function addPersonMessage(data) {
    var name = data.author || "";
    var node = addMessage("assistant", data.text, fill(TEXT.personSaid, { name: name }));
    node.classList.add("shopagent-message--person");
    node.insertBefore(el("div", { class: "shopagent-author", "data-testid": "shopagent-author", "aria-hidden": "true" },
      [avatar(name, data.avatar_url), el("span", { class: "shopagent-author-name" }, name)]), bubbleOf(node));
    return node;
  }

  /** A person's picture, or their initials when there is none (or it fails to load). Decorative: the name is
   * always written beside it. */
  function avatar(name, url) {
    var initialsBadge = function () {
      return el("span", { class: "shopagent-avatar shopagent-avatar--initials", "data-testid": "shopagent-avatar",
        "aria-hidden": "true" }, initials(name));
    };
    return imageOr(url, { class: "shopagent-avatar", "data-testid": "shopagent-avatar" }, initialsBadge);
  }

  /** An <img> of a web address (http(s) or a path on this page's site), or fallback() when there is none or
   * it does not load: never a broken image. */
  function imageOr(url, attrs, fallback) {
    var src = webAddress(url);
    if (!src) return fallback();
    var image = el("img", attrs);
    image.setAttribute("alt", "");
    image.setAttribute("loading", "lazy");
    image.addEventListener("error", function () {
      if (image.parentNode) image.parentNode.replaceChild(fallback(), image);
    });
    image.setAttribute("src", src);
    return image;
  }

  /** The address resolved against the page, if it is http(s); null for anything else (javascript:, data:…). */
  function webAddress(url) {
    if (!url || typeof url !== "string") return null;
    try {
      var parsed = new URL(url, document.baseURI);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (ignored) {
      return null;
    }
  }

  function initials(name) {
    var words = String(name || "").trim().split(/\s+/).filter(Boolean).slice(0, 2);
    // The first character of each word, a surrogate pair kept whole.
    return words.map(function (word) { return word.match(/^[\uD800-\uDBFF][\uDC00-\uDFFF]|^./)[0]; })
      .join("").toUpperCase() || "?";
  }

  /** "{name} said:" with its slots filled; the result only ever goes into textContent or an attribute. */
  function fill(template, slots) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return slots[key] !== undefined && slots[key] !== null ? String(slots[key]) : whole;
    });
  }

  function bubbleOf(message) {
    return message.querySelector(".shopagent-bubble");
  }

  function addNotice(title, detail) {
    var node = el("div", {
      class: "shopagent-notice shopagent-notice--handoff",
      "data-testid": "shopagent-handoff"
    }, [
      el("p", { class: "shopagent-notice-title" }, title),
      detail ? el("p", { class: "shopagent-notice-detail", "data-testid": "shopagent-handoff-summary" }, detail) : null
    ]);
    appendToLog(node);
    return node;
  }

  function showError(text) {
    appendToLog(el("p", { class: "shopagent-error", "data-testid": "shopagent-error", role: "alert" }, text));
  }

  function formatPrice(price) {
    var amount = Number(price);
    if (price === null || price === undefined || price === "" || !isFinite(amount)) return String(price || "");
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: config.currency }).format(amount);
    } catch (ignored) {
      return amount.toFixed(2) + " " + config.currency; // an unknown currency code must not break the card
    }
  }

  function formatOptions(options) {
    return Object.keys(options || {}).map(function (name) {
      return name + ": " + options[name];
    }).join(" · ");
  }

  function renderProductCard(card) {
    var available = card.available !== false;
    var options = formatOptions(card.options);
    var link = webAddress(card.url);
    return el("li", {
      class: "shopagent-product-card",
      "data-testid": "shopagent-product-card",
      "data-product-id": card.product_id,
      "data-item-id": card.item_id
    }, [
      productImage(card),
      el("div", { class: "shopagent-product-body" }, [
        el("p", { class: "shopagent-product-name", "data-testid": "shopagent-product-name" }, link
          ? [el("a", { class: "shopagent-product-link", "data-testid": "shopagent-product-link", href: link },
            card.name || "")]
          : card.name || ""),
        options ? el("p", { class: "shopagent-product-options", "data-testid": "shopagent-product-options" }, options)
          : null,
        el("div", { class: "shopagent-product-footer" }, [
          el("span", { class: "shopagent-product-price", "data-testid": "shopagent-product-price" },
            formatPrice(card.price)),
          el("span", {
            class: "shopagent-badge " + (available ? "shopagent-badge--in-stock" : "shopagent-badge--out-of-stock"),
            "data-testid": "shopagent-product-availability",
            "data-available": String(available)
          }, available ? TEXT.inStock : TEXT.outOfStock),
          addToCartButton(card, available)
        ])
      ])
    ]);
  }

  /** The catalogue's picture, or the product's initials on a tinted square (no network fetch, no broken image). */
  function productImage(card) {
    var placeholder = function () {
      return el("span", {
        class: "shopagent-product-image shopagent-product-image--placeholder shopagent-tint-" + tint(card.product_id),
        "data-testid": "shopagent-product-image",
        "aria-hidden": "true"
      }, initials(card.name));
    };
    return imageOr(card.image_url, { class: "shopagent-product-image", "data-testid": "shopagent-product-image" },
      placeholder);
  }

  function tint(key) {
    var hash = 0;
    String(key || "").split("").forEach(function (ch) { hash = (hash * 31 + ch.charCodeAt(0)) >>> 0; });
    return hash % 6; // widget.css has .shopagent-tint-0 … -5
  }

  /** "Add to cart" hands the item to the host page, which owns the cart: a bubbling DOM event (server/API.md). */
  function addToCartButton(card, available) {
    var options = formatOptions(card.options);
    var button = el("button", {
      type: "button",
      class: "shopagent-add-to-cart",
      "data-testid": "shopagent-add-to-cart",
      "aria-label": fill(TEXT.addToCartLabel, { name: (card.name || "") + (options ? " (" + options + ")" : "") })
    }, TEXT.addToCart);
    button.disabled = !available;
    button.addEventListener("click", function () {
      button.dispatchEvent(new CustomEvent("shopagent:add-to-cart", {
        bubbles: true,
        detail: {
          product_id: card.product_id,
          item_id: card.item_id,
          name: card.name,
          price: card.price,
          options: JSON.parse(JSON.stringify(card.options || {})) // the page's copy: it cannot change our card
        }
      }));
    });
    return button;
  }

  function renderProducts(cards) {
    return el("ul", { class: "shopagent-products", "data-testid": "shopagent-products", "aria-label": TEXT.productsLabel },
      cards.map(renderProductCard));
  }

  function renderConfirmation(data) {
    return el("div", {
      class: "shopagent-quick-replies",
      "data-testid": "shopagent-confirmation",
      role: "group",
      "aria-label": fill(TEXT.confirmLabel, { summary: data.summary || TEXT.theAction })
    }, [
      data.summary ? el("p", { class: "shopagent-confirmation-summary" }, data.summary) : null,
      quickReply(TEXT.confirmYes, TEXT.confirmYes, "shopagent-confirm-yes"),
      quickReply(TEXT.confirmNo, TEXT.confirmNo, "shopagent-confirm-no")
    ]);
  }

  /** An unasked suggestion: its own labelled card after the reply, with a "No thanks" that declines it. */
  function renderSuggestion(data, declinable) {
    var card = el("aside", {
      class: "shopagent-suggestion",
      "data-testid": "shopagent-suggestion",
      "data-suggestion-id": data.id || "",
      "data-kind": data.kind || "",
      "aria-label": data.label || TEXT.suggestionLabel
    }, [
      el("p", { class: "shopagent-suggestion-label", "data-testid": "shopagent-suggestion-label" },
        data.label || TEXT.suggestionLabel),
      el("p", { class: "shopagent-suggestion-text", "data-testid": "shopagent-suggestion-text" }, data.text || ""),
      data.product ? renderProducts([data.product]) : null
    ]);
    if (declinable) card.appendChild(quickReply(TEXT.noThanks, TEXT.noThanks, "shopagent-suggestion-decline"));
    return card;
  }

  // --- feedback (server/API.md: POST /api/sessions/{id}/feedback) ------------------------------------------

  /** 👍 / 👎 under a reply; the chosen one stays pressed, a second click on the other changes the rating. */
  function renderRating(messageId) {
    var group = el("div", { class: "shopagent-rating", role: "group", "aria-label": TEXT.rateReply,
      "data-testid": "shopagent-rating" });
    var up = feedbackButton("👍", TEXT.helpful, "shopagent-thumbs-up");
    var down = feedbackButton("👎", TEXT.notHelpful, "shopagent-thumbs-down");
    var choose = function (chosen, other, kind) {
      sendFeedback(messageId, kind).then(function (ok) {
        if (!ok) return;
        chosen.setAttribute("aria-pressed", "true");
        other.setAttribute("aria-pressed", "false");
        group.setAttribute("data-rated", kind);
      });
    };
    up.addEventListener("click", function () { choose(up, down, "thumbs_up"); });
    down.addEventListener("click", function () { choose(down, up, "thumbs_down"); });
    group.appendChild(up);
    group.appendChild(down);
    return group;
  }

  function feedbackButton(symbol, label, testId) {
    var button = el("button", { type: "button", class: "shopagent-feedback-button", "aria-label": label,
      "aria-pressed": "false", title: label, "data-testid": testId });
    button.appendChild(el("span", { "aria-hidden": "true" }, symbol));
    return button;
  }

  /** "Was this solved? Yes / No", once, about the last reply; the answer is replaced by a thank-you. */
  function askSolved() {
    if (state.solvedAsked || state.lastReplyId === null || !ui) return;
    state.solvedAsked = true;
    var messageId = state.lastReplyId;
    var prompt = el("div", { class: "shopagent-solved", role: "group", "aria-label": TEXT.solvedQuestion,
      "data-testid": "shopagent-solved" }, [el("p", { class: "shopagent-solved-question" }, TEXT.solvedQuestion)]);
    [["solved_yes", TEXT.solvedYes, "shopagent-solved-yes"], ["solved_no", TEXT.solvedNo, "shopagent-solved-no"]]
      .forEach(function (choice) {
        var button = el("button", { type: "button", class: "shopagent-feedback-button", "data-testid": choice[2] },
          choice[1]);
        button.addEventListener("click", function () {
          sendFeedback(messageId, choice[0]).then(function (ok) {
            if (ok) prompt.textContent = TEXT.feedbackThanks;
          });
        });
        prompt.appendChild(button);
      });
    appendToLog(prompt);
  }

  /** Resolves true once stored; a failure is only logged: feedback must never get in the customer's way. */
  function sendFeedback(messageId, kind) {
    if (!state.session) return Promise.resolve(false);
    return api("/api/sessions/" + encodeURIComponent(state.session.id) + "/feedback",
      { method: "POST", body: { message_id: Number(messageId), kind: kind } }).then(function (response) {
      if (!response.ok && window.console) console.warn("shopagent: feedback not stored", response.status);
      return response.ok;
    }, function () { return false; });
  }

  function quickReply(label, text, testId) {
    var button = el("button", { type: "button", class: "shopagent-quick-reply", "data-testid": testId }, label);
    button.disabled = state.busy; // it arrives mid-turn: usable once the turn is done
    button.addEventListener("click", function () {
      if (state.busy) return;
      retireQuickReplies();
      sendMessage(text);
    });
    return button;
  }

  function retireQuickReplies() {
    // An answer (clicked or typed) makes every earlier Yes/No stale: they must not confirm a later question.
    var buttons = ui.log.querySelectorAll(".shopagent-quick-reply");
    Array.prototype.forEach.call(buttons, function (button) {
      button.disabled = true;
      button.setAttribute("data-stale", "");
    });
  }

  function appendToLog(node) {
    var stick = isNearEnd();
    ui.log.appendChild(node);
    scrollToEnd(stick);
  }

  function isNearEnd() {
    var log = ui.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  }

  function scrollToEnd(force) {
    // Follow new text only if the customer hasn't scrolled up to reread something.
    if (force) ui.log.scrollTop = ui.log.scrollHeight;
  }

  function setStatus(text) {
    ui.status.textContent = text || "";
    ui.status.classList.toggle("shopagent-status--active", Boolean(text));
  }

  function autoGrow() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight, 120) + "px";
  }

  // --- busy state -----------------------------------------------------------------------------------------

  function setBusy(busy) {
    // Disabling the focused button (Send, Yes, Talk to a person) drops focus to <body>: note where it was.
    var focusWasInPanel = ui.panel.contains(document.activeElement);
    state.busy = busy;
    ui.send.disabled = busy;
    ui.handoff.disabled = busy;
    // readOnly rather than disabled: a disabled field drops keyboard focus to <body> mid-conversation.
    ui.input.readOnly = busy;
    ui.log.setAttribute("aria-busy", String(busy)); // screen readers read the reply once, not word by word
    Array.prototype.forEach.call(ui.log.querySelectorAll(".shopagent-quick-reply:not([data-stale])"),
      function (button) { button.disabled = busy; });
    if (busy) {
      state.focusWasInPanel = focusWasInPanel;
    } else if (state.open && state.focusWasInPanel && focusIsLost()) {
      ui.input.focus(); // focus was lost, not moved: back to typing, never pulled from where the customer went
    }
  }

  function focusIsLost() {
    return !document.activeElement || document.activeElement === document.body;
  }

  // --- a turn ---------------------------------------------------------------------------------------------

  function submitInput() {
    var text = ui.input.value.trim();
    if (!text || state.busy) return;
    if (text.length > MAX_LENGTH) {
      showError(TEXT.tooLong);
      return;
    }
    ui.input.value = "";
    autoGrow();
    retireQuickReplies();
    sendMessage(text);
  }

  function sendMessage(text) {
    setBusy(true);
    state.turn = null;
    // Wait for the greeting and history so the new message lands after them, never above.
    loadConversation().then(function () {
      addMessage("user", text);
      setStatus(TEXT.thinking);
      return streamTurn(text, true);
    }).catch(function (error) {
      showError(turnErrorText(error));
      if (state.turn) finishTurn();
    }).then(function () {
      setStatus("");
      state.turn = null;
      setBusy(false);
    });
  }

  function turnErrorText(error) {
    var status = error && error.status;
    if (status === 413 || status === 422) return TEXT.tooLong;
    if (status === 429) return TEXT.tooFast;
    return status ? TEXT.error : TEXT.networkError; // no status: fetch itself failed (offline, DNS, CORS)
  }

  function streamTurn(text, mayRetry) {
    return ensureSession().then(function (session) {
      return api("/api/sessions/" + encodeURIComponent(session.id) + "/messages",
        { method: "POST", body: { text: text }, accept: "text/event-stream" });
    }).then(function (response) {
      if (response.status === 404 && mayRetry) {
        // The session expired between turns: open a new one and send the message there, once.
        forgetSession();
        return streamTurn(text, false);
      }
      if (!response.ok) throw httpError(response);
      return readEventStream(response, handleEvent).then(function (sawDone) {
        if (!sawDone) {
          // The stream ended early (proxy timeout, server restart): say so instead of leaving half a reply.
          if (state.turn) finishTurn();
          showError(TEXT.cutOff);
        }
      });
    });
  }

  /** The assistant message of this turn, created when the first thing to show arrives. */
  function currentTurn() {
    if (!state.turn) {
      var node = addMessage("assistant", "");
      node.setAttribute("data-state", "streaming");
      state.turn = node;
    }
    return state.turn;
  }

  function appendToTurn(node) {
    var stick = isNearEnd();
    currentTurn().appendChild(node);
    scrollToEnd(stick);
  }

  function finishTurn() {
    var node = state.turn;
    node.setAttribute("data-state", "final");
    // Nothing streamed and no final text (e.g. only cards): drop the empty bubble rather than show a blob.
    if (!bubbleOf(node).textContent) bubbleOf(node).classList.add("shopagent-bubble--empty");
  }

  function handleEvent(name, data) {
    var handler = EVENT_HANDLERS[name];
    if (handler) handler(data || {});
    // Unknown events are ignored so that the server can add new ones without breaking deployed widgets.
  }

  var EVENT_HANDLERS = {
    status: function (data) {
      setStatus(data.text || TEXT.working);  // the server's plain words for the step under way
    },
    products: function (data) {
      if (data.products && data.products.length) appendToTurn(renderProducts(data.products));
    },
    confirmation: function (data) {
      appendToTurn(renderConfirmation(data));
    },
    handoff: function (data) {
      setLanguage(data.language);
      addNotice(TEXT.handoffTitle, data.notice);
    },
    suggestion: function (data) {
      if (state.turn) finishTurn();
      appendToLog(renderSuggestion(data, true));
    },
    token: function (data) {
      var stick = isNearEnd();
      setStatus("");
      bubbleOf(currentTurn()).appendChild(document.createTextNode(data.text || ""));
      scrollToEnd(stick);
    },
    message: function (data) {
      setLanguage(data.language);
      var node = currentTurn();
      bubbleOf(node).textContent = data.text || "";
      if (data.id !== undefined) {
        node.setAttribute("data-message-id", String(data.id));
        node.appendChild(renderRating(data.id));
        state.lastReplyId = data.id;
      }
      finishTurn();
      if (data.closing) askSolved();
    },
    error: function (data) {
      if (window.console && data.detail) console.warn("shopagent:", data.detail);
      showError(TEXT.error); // details are for logs; the apology message that follows speaks to the customer
    },
    done: function () {
      if (state.turn) finishTurn();
    }
  };

  // --- the event stream ----------------------------------------------------------------------------------

  /**
   * Read a fetch Response body as text/event-stream, calling onEvent(name, parsedData) per event.
   * Resolves with whether a `done` event arrived. EventSource can't be used: it only does GET.
   */
  function readEventStream(response, onEvent) {
    var sawDone = false;
    var parser = createSseParser(function (name, rawData) {
      var data;
      try {
        data = JSON.parse(rawData);
      } catch (ignored) {
        return; // one malformed event must not abort the rest of the reply
      }
      if (name === "done") sawDone = true;
      onEvent(name, data);
    });
    if (!response.body || !response.body.getReader) {
      // Very old browsers: no streaming, but the whole body still parses the same way.
      return response.text().then(function (text) {
        parser.push(text);
        parser.end();
        return sawDone;
      });
    }
    var reader = response.body.getReader();
    var decoder = new TextDecoder("utf-8");
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          parser.push(decoder.decode()); // flush a multi-byte character split across the last chunks
          parser.end();
          return sawDone;
        }
        parser.push(decoder.decode(chunk.value, { stream: true }));
        return pump();
      });
    }
    return pump();
  }

  /**
   * An incremental parser for the text/event-stream format (WHATWG HTML §9.2.6): feed it text in arbitrary
   * pieces with push(), then end(). Handles CRLF/CR/LF line ends, multi-line data, comments (keep-alives).
   */
  function createSseParser(onEvent) {
    var buffer = "";
    var eventName = "";
    var dataLines = [];

    function dispatch() {
      if (dataLines.length) onEvent(eventName || "message", dataLines.join("\n"));
      eventName = "";
      dataLines = [];
    }

    function processLine(line) {
      if (line === "") return dispatch();
      if (line.charAt(0) === ":") return; // a comment, e.g. a keep-alive ping
      var colon = line.indexOf(":");
      var field = colon === -1 ? line : line.slice(0, colon);
      var value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.charAt(0) === " ") value = value.slice(1);
      if (field === "event") eventName = value;
      else if (field === "data") dataLines.push(value);
      // id and retry only matter for reconnecting, which a POSTed turn never does.
    }

    function push(text) {
      buffer += text;
      var start = 0;
      for (var i = 0; i < buffer.length; i++) {
        var ch = buffer.charAt(i);
        if (ch !== "\n" && ch !== "\r") continue;
        // A CR at the very end may be the first half of a CRLF split across chunks: wait for the next one.
        if (ch === "\r" && i === buffer.length - 1) break;
        processLine(buffer.slice(start, i));
        if (ch === "\r" && buffer.charAt(i + 1) === "\n") i++;
        start = i + 1;
      }
      buffer = buffer.slice(start);
    }

    function end() {
      // Be lenient with a server that closes without the final blank line: the last event still counts.
      if (buffer) processLine(buffer.replace(/\r$/, ""));
      buffer = "";
      dispatch();
    }

    return { push: push, end: end };
  }

  // --- talk to a person -----------------------------------------------------------------------------------

  function requestHandoff() {
    if (state.busy) return;
    setBusy(true);
    setStatus(TEXT.connecting);
    loadConversation().then(ensureSession).then(function (session) {
      return api("/api/sessions/" + encodeURIComponent(session.id) + "/handoff", { method: "POST", body: {} });
    }).then(function (response) {
      if (!response.ok) throw httpError(response);
      return response.json();
    }).then(function (data) {
      addNotice(TEXT.handoffTitle, data.notice);
    }, function () {
      showError(TEXT.handoffError);
    }).then(function () {
      setStatus("");
      setBusy(false);
    });
  }

  // --- public surface ------------------------------------------------------------------------------------

  function whenMounted(action) {
    return function () { if (ui) action(); }; // a call before the page has loaded is a no-op, not a crash
  }

  window.ShopAgent = {
    version: "1.0.0",
    open: whenMounted(open),
    close: whenMounted(close),
    toggle: whenMounted(toggle),
    /** Exposed for tests of the stream parser; not a stable API. */
    createSseParser: createSseParser
  };

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
