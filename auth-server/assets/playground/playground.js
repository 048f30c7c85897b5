// The token playground: plain JavaScript, no framework, no build step.
// Every request goes through exchange(), which also writes it to the log,
// so what the learner sees is exactly what was sent and received.
"use strict";

// The auth server put the resource server's URL here (no inline script may
// run under the page's Content-Security-Policy, so it cannot be a variable).
const RESOURCE_URL = document.querySelector('meta[name="resource-url"]').content;
const $ = (id) => document.getElementById(id);

// What the page holds: the current tokens, and the refresh token that the
// last rotation replaced (kept only to demonstrate reuse detection).
const state = { access: null, header: null, claims: null, refresh: null, oldRefresh: null, expiredShown: false };

// ---------------------------------------------------------------- the wire

// Sends one request, logs it with its answer, and returns the answer with
// its body parsed as JSON when it is JSON. `shownBody` is what the log
// shows instead of the body (the password masked).
async function exchange(method, url, { headers = {}, body = null, shownBody = body } = {}) {
  let response = null;
  let text = "";
  try {
    // No cookies: the API takes bearer tokens, the token endpoint forms.
    response = await fetch(url, { method, headers, body, credentials: "omit", cache: "no-store" });
    text = await response.text();
  } catch (error) {
    text = String(error);
  }
  logExchange({ method, url, headers, shownBody, response, text });
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON: keep null */ }
  return { status: response ? response.status : 0, headers: response ? response.headers : new Headers(), json };
}

// A form body (what OAuth token endpoints take), and its shown copy with
// the password replaced by stars.
function formBody(params) {
  const body = new URLSearchParams(params);
  const shown = new URLSearchParams(params);
  if (shown.has("password")) shown.set("password", "********");
  return { body: body.toString(), shownBody: shown.toString() };
}

const FORM = { "Content-Type": "application/x-www-form-urlencoded" };

function bearer() {
  return { Authorization: `Bearer ${state.access}` };
}

// ------------------------------------------------------------------ the log

// Pretty-prints JSON bodies, leaves anything else as it came.
function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function logExchange({ method, url, headers, shownBody, response, text }) {
  const log = $("log");
  const status = response ? response.status : 0;
  const path = new URL(url, location.href);
  const where = path.origin === location.origin ? "auth server" : "resource server";

  const request = [`${method} ${path.href}`]
    .concat(Object.entries(headers).map(([name, value]) => `${name}: ${value}`))
    .join("\n") + (shownBody ? `\n\n${shownBody}` : "");
  const answer = response
    ? [`${response.status} ${response.statusText}`]
        .concat([...response.headers].map(([name, value]) => `${name}: ${value}`))
        .join("\n") + (text ? `\n\n${pretty(text)}` : "")
    : `no response: ${text}\n(network error, or the browser blocked it: does the ` +
      `resource server allow this page's origin, ${location.origin}, with --cors-origin?)`;

  const summary = element("summary", {},
    element("span", { className: "status", textContent: status || "failed" }), " ",
    `${method} ${path.pathname} `,
    element("span", { className: "hint", textContent: `${where}, ${new Date().toLocaleTimeString()}` }));
  const wire = element("div", { className: "wire" },
    element("div", {}, element("h4", { textContent: "Request" }), element("pre", { textContent: request })),
    element("div", {}, element("h4", { textContent: "Response" }), element("pre", { textContent: answer })));
  const item = element("li", { className: "exchange" }, element("details", { open: true }, summary, wire));
  item.dataset.status = String(status);
  item.dataset.class = String(status).charAt(0);

  // Only the newest exchange stays unfolded, so the log stays readable.
  for (const details of log.querySelectorAll("details[open]")) details.open = false;
  log.prepend(item);
  log.dataset.count = String(log.children.length);
}

// ----------------------------------------------------------- the tokens

// A JWT is three base64url parts: header, claims, signature. Reading the
// first two needs no key; trusting them needs the signature checked.
function decodeJwt(token) {
  const part = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  };
  const [header, claims] = token.split(".");
  return { header: part(header), claims: part(claims) };
}

function takeTokens(json) {
  state.access = json.access_token;
  ({ header: state.header, claims: state.claims } = decodeJwt(json.access_token));
  if (json.refresh_token) state.refresh = json.refresh_token;
  state.expiredShown = false;
  render();
}

function render() {
  $("access-token").textContent = state.access || "none";
  $("jwt-header").textContent = state.header ? JSON.stringify(state.header, null, 2) : "none";
  $("jwt-claims").textContent = state.claims ? JSON.stringify(state.claims, null, 2) : "none";
  $("refresh-token").textContent = state.refresh || "none";
  $("old-refresh-token").textContent = state.oldRefresh || "none";
  for (const id of ["call-me", "call-notes", "add-note"]) $(id).disabled = !state.access;
  for (const id of ["refresh", "revoke"]) $(id).disabled = !state.refresh;
  $("replay").disabled = !state.oldRefresh;
  tick();
}

// The live countdown to `exp`, redrawn four times a second.
function tick() {
  const countdown = $("countdown");
  const bar = $("lifetime");
  if (!state.claims) {
    countdown.textContent = "No access token.";
    countdown.dataset.state = "none";
    bar.value = 0;
    return;
  }
  const { exp, iat } = state.claims;
  const left = exp - Date.now() / 1000;
  const at = new Date(exp * 1000).toLocaleTimeString();
  if (left > 0) {
    countdown.textContent = `Valid for ${Math.ceil(left)} s more (exp ${exp}, ${at}).`;
    countdown.dataset.state = "valid";
    bar.value = Math.min(1, left / Math.max(1, exp - iat));
  } else {
    countdown.textContent = `Expired ${Math.floor(-left)} s ago (exp ${exp}, ${at}).`;
    countdown.dataset.state = "expired";
    bar.value = 0;
    if (!state.expiredShown) {
      state.expiredShown = true;
      explain("warn", "The access token has expired. Call the API to see the 401 " +
        "(once the API's clock-skew leeway has passed too), then Refresh.");
    }
  }
}

// The one-line explanation of what just happened.
function explain(tone, text) {
  const line = $("explain");
  line.dataset.tone = tone;
  line.textContent = text;
}

function oauthError(json) {
  return json && json.error ? `${json.error}: ${json.error_description || ""}` : "no OAuth error body";
}

// ---------------------------------------------------------------- actions

async function login(event) {
  event.preventDefault();
  const params = {
    grant_type: "password",
    username: $("username").value,
    password: $("password").value,
    client_id: $("client-id").value,
  };
  if ($("scope").value.trim()) params.scope = $("scope").value.trim();
  const { status, json } = await exchange("POST", "/oauth/token", { headers: FORM, ...formBody(params) });
  if (status === 200) {
    state.oldRefresh = null;
    takeTokens(json);
    explain("ok", `Logged in: a ${json.expires_in} s access token for user ${state.claims.sub} ` +
      "(its sub claim), and a refresh token that starts a new token family.");
  } else {
    explain("bad", `Login refused (${status}), ${oauthError(json)}.`);
  }
}

async function callApi(method, path, body) {
  const headers = body ? { ...bearer(), "Content-Type": "application/json" } : bearer();
  const { status, headers: answer, json } = await exchange(method, RESOURCE_URL + path,
    { headers, body: body ? JSON.stringify(body) : null });
  if (status >= 200 && status < 300) {
    explain("ok", `${status}: the API checked the token's signature and claims itself, ` +
      "without asking the auth server.");
  } else if (status === 401 || status === 403) {
    const challenge = answer.get("WWW-Authenticate") || "(not visible to the page)";
    explain("bad", `${status}: the API refused the token. WWW-Authenticate: ${challenge}`);
  } else {
    explain("bad", status ? `${status}: ${oauthError(json)}.` : "No answer from the API (see the log).");
  }
}

// Exchanges `token` for a new pair. Rotation: the token used is spent.
async function refreshWith(token, replay) {
  const params = { grant_type: "refresh_token", refresh_token: token, client_id: $("client-id").value };
  const { status, json } = await exchange("POST", "/oauth/token", { headers: FORM, ...formBody(params) });
  if (status === 200) {
    state.oldRefresh = token;
    takeTokens(json);
    explain(replay ? "warn" : "ok", replay
      ? "Accepted as a retry within the reuse grace window (--refresh-reuse-grace): " +
        "the previous answer may have been lost, so the family lives on."
      : "Refreshed: a new access token, and a new refresh token in the same family; " +
        "the one just sent is now used up.");
  } else if (replay) {
    explain("bad", "Reuse detected: that refresh token was already used, so the server " +
      "assumes it was stolen and revokes its whole family; the current refresh token " +
      `is dead too (try Refresh). ${oauthError(json)}.`);
  } else {
    explain("bad", `Refresh refused (${status}), ${oauthError(json)}. The token was used, ` +
      "revoked or expired, or its family was revoked: log in again.");
  }
}

async function revoke() {
  const params = { token: state.refresh, token_type_hint: "refresh_token", client_id: $("client-id").value };
  const { status, json } = await exchange("POST", "/oauth/revoke", { headers: FORM, ...formBody(params) });
  explain(status === 200 ? "ok" : "bad", status === 200
    ? "Revoked (RFC 7009): the refresh token's whole family is gone. The access token " +
      "still works until it expires: it is a self-contained JWT."
    : `Revocation refused (${status}), ${oauthError(json)}.`);
}

// --------------------------------------------------------------- wiring

document.addEventListener("DOMContentLoaded", () => {
  $("resource-url").textContent = RESOURCE_URL;
  $("login").addEventListener("submit", login);
  $("call-me").addEventListener("click", () => callApi("GET", "/api/me"));
  $("call-notes").addEventListener("click", () => callApi("GET", "/api/notes"));
  $("note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    callApi("POST", "/api/notes", { text: $("note-text").value });
  });
  $("refresh").addEventListener("click", () => refreshWith(state.refresh, false));
  $("replay").addEventListener("click", () => refreshWith(state.oldRefresh, true));
  $("revoke").addEventListener("click", revoke);
  render();
  setInterval(tick, 250);
});
