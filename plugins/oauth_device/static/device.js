// The /device page's behaviour: show one server-rendered view at a time and call the JSON API.
// No framework and no build step. Approval logic stays on the server; this only moves between views.
(function () {
  "use strict";

  var API = "/openapi/v1/oauth/device";
  // What a person may type between characters (whitespace, any dash, _ and .); nothing else is ignored.
  var SEPARATORS = /[\s\p{Pd}_.]+/gu;
  var root = document.getElementById("device");
  if (!root) return;
  // The user-code alphabet and group size, as the server renders them (one definition, the server's).
  var ALPHABET = root.getAttribute("data-code-alphabet") || "";
  var GROUP = Number(root.getAttribute("data-code-group")) || 4;

  // Either case, ASCII only: "ſ" upper-cases to "S" but is not one.
  function inAlphabet(ch) {
    return ch.charCodeAt(0) < 128 && ALPHABET.indexOf(ch.toUpperCase()) >= 0;
  }

  // Single sign-on routes, rendered by the server when a plugin offers external sign-in.
  var SSO_CONTEXT = root.getAttribute("data-sso-context");
  var SSO_APPROVE = root.getAttribute("data-sso-approve");

  var state = {
    signedIn: root.getAttribute("data-signed-in") === "true",
    code: "", // the normalised code being confirmed
    request: "", // one line naming the request being confirmed (client, device, code)
    sso: null, // the SSO approval context, when the identity provider sent the user back here
    busy: false,
  };

  // Read, then scrub, the query: the code must not linger in history, bookmarks or shared URLs.
  var params = new URLSearchParams(window.location.search);
  var ssoVerified = params.get("sso_verified") === "1";
  if (params.has("user_code") || params.has("sso_verified") || params.has("sso_error")) {
    window.history.replaceState(null, "", window.location.pathname);
  }

  function $(selector) {
    return root.querySelector(selector);
  }

  function bind(name, text) {
    var nodes = root.querySelectorAll('[data-bind="' + name + '"]');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = text;
  }

  function show(name, focusTarget) {
    var views = root.querySelectorAll("[data-view]");
    var current = null;
    for (var i = 0; i < views.length; i++) {
      var match = views[i].getAttribute("data-view") === name;
      views[i].hidden = !match;
      if (match) current = views[i];
    }
    if (!current) return;
    var heading = current.querySelector("h1");
    $("#status").textContent = heading ? heading.textContent : "";
    var target = focusTarget ? current.querySelector(focusTarget) : heading;
    if (target) target.focus();
  }

  function compact(raw) {
    return String(raw || "").replace(SEPARATORS, "");
  }

  function normalise(raw) {
    var kept = Array.from(compact(raw));
    if (kept.length !== GROUP * 2 || !kept.every(inAlphabet)) return null;
    kept = kept.join("").toUpperCase();
    return kept.slice(0, GROUP) + "-" + kept.slice(GROUP);
  }

  // Why a typed code cannot be one (the same rule as the server's), or "" when it can.
  function codeProblem(raw) {
    var kept = Array.from(compact(raw));
    if (!kept.every(inAlphabet)) return FOREIGN_CODE;
    return kept.length === GROUP * 2 ? "" : BAD_CODE;
  }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return "";
  }

  function csrfToken() {
    return cookie("__Host-csrf_token") || cookie("csrf_token");
  }

  // One request helper: JSON in and out, same-origin cookies, never throws on HTTP errors.
  function call(method, url, body, csrf) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (csrf) headers["X-CSRF-Token"] = csrf;
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { status: response.status, ok: response.ok, data: data || {} };
          });
      },
      function () {
        return { status: 0, ok: false, data: {} }; // network failure
      }
    );
  }

  function setBusy(form, busy) {
    state.busy = busy;
    var buttons = (form || root).querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = busy;
    (form || root).setAttribute("aria-busy", busy ? "true" : "false");
  }

  function fieldError(input, errorNode, message) {
    errorNode.textContent = message || "";
    errorNode.hidden = !message;
    if (message) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    } else {
      input.removeAttribute("aria-invalid");
    }
  }

  var BAD_CODE = "Enter the 8-character code shown in your terminal, for example BDJK-MPQR.";
  var FOREIGN_CODE =
    "That code contains characters no code has: codes use the letters A to Y (without I and O) " +
    "and the digits 3 to 9, for example BDJK-MPQR.";

  // --- Sign in -----------------------------------------------------------------------------

  function signinMessage(text) {
    var alert = $("#signin-error");
    alert.textContent = text || "";
    alert.hidden = !text;
  }

  function loadAccount() {
    return call("GET", "/console/api/account/profile").then(function (profile) {
      if (!profile.ok) return false;
      bind("account-email", profile.data.email || "");
      bind("confirm-account", profile.data.email || "");
      return call("POST", "/console/api/workspaces/current", {}, csrfToken()).then(function (ws) {
        var name = ws.ok ? ws.data.name || "" : "";
        bind("workspace-name", name);
        $('[data-bind="workspace-sep"]').hidden = !name;
        return true;
      });
    });
  }

  // What shows for a visitor who is signed in (or came back from single sign-on) and what for one
  // who is not: the account line, the Account row, Approve/Deny versus "Sign in to approve".
  function setSignedIn(signedIn) {
    state.signedIn = signedIn;
    root.setAttribute("data-signed-in", signedIn ? "true" : "false");
    var authed = signedIn || !!state.sso;
    var nodes = root.querySelectorAll("[data-when]");
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].hidden = (nodes[i].getAttribute("data-when") === "signed-in") !== authed;
    }
  }

  // Sign-in comes after the visitor has seen what asks for access: the request is repeated above
  // the form, and single sign-on carries the same code.
  function askSignin(message) {
    setSignedIn(false);
    signinMessage(message);
    bind("signin-request", state.request || "");
    var ssoCode = $("#sso-code");
    if (ssoCode) ssoCode.value = state.code;
    show("signin", message ? null : "#signin-email");
  }

  var signinForm = $("#signin-form");
  if (signinForm) {
    signinForm.addEventListener("submit", function (event) {
      event.preventDefault();
      if (state.busy) return;
      var email = $("#signin-email").value.trim();
      var password = $("#signin-password").value;
      if (!email || !password) {
        signinMessage("Enter your email and password.");
        (email ? $("#signin-password") : $("#signin-email")).focus();
        return;
      }
      signinMessage("");
      setBusy(signinForm, true);
      call("POST", "/console/api/login", { email: email, password: password })
        .then(function (result) {
          if (!result.ok) {
            var text =
              result.status === 429
                ? "Too many sign-in attempts. Wait a few minutes, then try again."
                : result.status === 401 || result.status === 400
                ? result.data.message || "Email or password is incorrect."
                : "Sign-in failed. Try again in a moment.";
            signinMessage(text);
            $("#signin-password").value = "";
            $("#signin-password").focus();
            return;
          }
          $("#signin-password").value = "";
          return loadAccount().then(function (ok) {
            if (!ok) return askSignin("Sign-in failed. Try again in a moment.");
            setSignedIn(true);
            if (!state.code) return show("code", "#user-code");
            // Look again: the request may have been answered or expired while this person signed in.
            return lookup(state.code).then(function (outcome) {
              if (outcome.view) show(outcome.view);
              else showConfirm(state.code, outcome.data);
            });
          });
        })
        .then(function () {
          setBusy(signinForm, false);
        });
    });
  }

  root.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-action]") : null;
    if (!target || state.busy) return;
    var action = target.getAttribute("data-action");
    if (action === "sign-out") signOut();
    else if (action === "start-over") startOver();
    else if (action === "approve") decide("approve");
    else if (action === "deny") decide("deny");
    else if (action === "to-signin") askSignin("");
    else if (action === "not-mine") show("not-mine");
  });

  function signOut() {
    setBusy(null, true);
    call("POST", "/console/api/logout", {}, csrfToken()).then(function () {
      setBusy(null, false);
      setSignedIn(false);
      startOver();
    });
  }

  function startOver() {
    state.code = "";
    state.request = "";
    state.sso = null;
    setSignedIn(state.signedIn);
    $("#user-code").value = "";
    show("code", "#user-code");
  }

  // --- SSO (enterprise): the form goes to sso-initiate with the code already checked ------------

  var ssoForm = $("#sso-form");
  if (ssoForm) {
    ssoForm.addEventListener("submit", function (event) {
      var input = $("#sso-code");
      var code = normalise(state.code || input.value);
      if (!code) {
        event.preventDefault();
        startOver();
        return;
      }
      input.value = code; // then the browser navigates: sso-initiate redirects to the identity provider
    });
  }

  // --- Code entry and confirmation ---------------------------------------------------------

  function minutes(seconds) {
    var m = Math.max(1, Math.ceil(seconds / 60));
    return m === 1 ? "1 minute" : m + " minutes";
  }

  function lookup(code) {
    return call("GET", API + "/lookup?user_code=" + encodeURIComponent(code)).then(function (result) {
      if (result.status === 429) return { view: "error-rate-limited" };
      if (!result.ok) return { view: "error-failed" };
      var data = result.data;
      if (!data.valid) return { view: data.client_id ? "error-used" : "error-invalid" };
      return { data: data };
    });
  }

  // When the code was requested, in this browser's time zone, and how long ago.
  function requestedText(iso) {
    var when = iso ? new Date(iso) : null;
    if (!when || isNaN(when.getTime())) return "";
    var ago = Math.max(0, Math.round((Date.now() - when.getTime()) / 60000));
    var time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return time + (ago < 1 ? ", less than a minute ago" : ago === 1 ? ", 1 minute ago" : ", " + ago + " minutes ago");
  }

  // Where it was requested from, as the server saw it, and whether that is this browser's address.
  function addressText(data) {
    if (!data.requested_from) return "";
    var same = data.requested_from_this_address;
    var note = same === true ? " (this browser's address too)" : same === false ? " (not this browser's address)" : "";
    return "from " + data.requested_from + note;
  }

  function showConfirm(code, data, accountText) {
    state.code = code;
    var client = data.client_id || "unknown application";
    var label = data.device_label || "unnamed device";
    state.request = client + " \u2014 \u201c" + label + "\u201d \u2014 code " + code;
    setSignedIn(state.signedIn);
    bind("client-id", client);
    bind("device-label", label);
    bind("user-code", code);
    bind("requested-at", requestedText(data.requested_at));
    bind("requested-from", addressText(data));
    $('[data-bind="address-warning"]').hidden = data.requested_from_this_address !== false;
    if (accountText) bind("confirm-account", accountText);
    bind(
      "expires",
      data.expires_in_remaining ? "This request expires in " + minutes(data.expires_in_remaining) + "." : ""
    );
    $('[data-action="deny"]').hidden = !!state.sso; // deny needs a console session
    show("confirm");
  }

  var codeForm = $("#code-form");
  codeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.busy) return;
    var input = $("#user-code");
    var code = normalise(input.value);
    fieldError(input, $("#user-code-error"), code ? "" : codeProblem(input.value));
    if (!code) return;
    input.value = code;
    setBusy(codeForm, true);
    lookup(code).then(function (outcome) {
      setBusy(codeForm, false);
      if (outcome.view) show(outcome.view);
      else showConfirm(code, outcome.data);
    });
  });

  // What the approve/deny endpoints answer, mapped to the view that explains it.
  function errorView(result) {
    var code = result.data.error || result.data.code || "";
    if (result.status === 429) return "error-rate-limited";
    if (code === "expired_or_unknown") return "error-invalid";
    if (code === "already_resolved" || code === "user_code_not_pending") return "error-used";
    if (code === "approve_in_progress") return "error-busy";
    if (code === "state_lost" || code === "user_code_mismatch") return "error-state-lost";
    if (code === "approval_outcome_unknown") return "error-outcome-unknown";
    if (result.status === 404) return "error-invalid";
    if (result.status === 409) return "error-used";
    return "error-failed";
  }

  function decide(action) {
    var confirmView = root.querySelector('[data-view="confirm"]');
    var sso = state.sso;
    var url = sso ? SSO_APPROVE : API + "/" + action;
    var csrf = sso ? sso.csrf_token : csrfToken();
    setBusy(confirmView, true);
    call("POST", url, { user_code: state.code }, csrf).then(function (result) {
      setBusy(confirmView, false);
      if (result.ok) {
        state.sso = null;
        show(action === "approve" ? "approved" : "denied");
      } else if (result.status === 401 && !sso) {
        askSignin("Your session has ended. Sign in again to approve or deny this request.");
      } else if (result.status === 401 || result.status === 403) {
        show("error-sso");
      } else {
        show(errorView(result));
      }
    });
  }

  // --- Returning from the identity provider (enterprise SSO) -------------------------------

  function resumeSso() {
    if (!SSO_CONTEXT) return show("error-sso"); // back from an identity provider no plugin offers now
    call("GET", SSO_CONTEXT).then(function (context) {
      if (!context.ok || !context.data.user_code) {
        show(context.status === 429 ? "error-rate-limited" : "error-sso");
        return;
      }
      var code = normalise(context.data.user_code) || context.data.user_code;
      lookup(code).then(function (outcome) {
        if (outcome.view) return show(outcome.view);
        state.sso = context.data;
        setSignedIn(state.signedIn);
        showConfirm(code, outcome.data, (context.data.subject_email || "") + " (single sign-on)");
      });
    });
  }

  // --- First paint -------------------------------------------------------------------------

  var initial = root.querySelector("[data-view]:not([hidden])");
  var initialName = initial ? initial.getAttribute("data-view") : "";
  if (initialName === "loading" && ssoVerified) {
    resumeSso();
  } else if (initialName === "signin") {
    $("#signin-email").focus();
  } else if (initialName === "code") {
    var field = $("#user-code");
    if (field.value) codeForm.querySelector('button[type="submit"]').focus();
    else field.focus();
  }
})();
