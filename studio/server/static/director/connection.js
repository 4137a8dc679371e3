/*
 * director/connection.js: the director token, the shared client on the director channel, the
 * resync rule, the /api/state poll, and the lock that follows from them.
 *
 * - The token comes from ?token= or #token= (then kept in sessionStorage for this tab only and
 *   removed from the address bar), else from sessionStorage, else the panel asks for it.
 * - Locked until in sync: the panel may operate only while its socket is up, its last seq has
 *   reached the studio's (read after the socket opened), /api/state answers and the store is up.
 *
 * One of the director panel's scripts (studio/server/static/director/, see panel.js): plain
 * ES2020, sharing the page's global scope; it only declares, and main.js starts the panel.
 */
"use strict";

const TOKEN_KEY = "gavel.director.token";
const POLL_MS = 2000;
const POLL_TIMEOUT_MS = 4000;

function canOperate() {
  return !!(ui.client && ui.client.connected && ui.synced && ui.api.ok !== false && storeUp() && ui.token);
}

// The studio's store (Redis) is gone: nothing can be logged, so no command can be acknowledged.
function storeUp() {
  return !(ui.api.store && ui.api.store.ok === false);
}

// ---------------------------------------------------------------------------------------
// Token
// ---------------------------------------------------------------------------------------

function readToken() {
  const fromQuery = new URLSearchParams(location.search).get("token");
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
  const given = fromQuery || fromHash;
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    // Keep the secret off the screen, out of the history and out of screenshots.
    const url = new URL(location.href);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search);
    return given;
  }
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function showAuth(message) {
  stop();
  ui.token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  setText($("auth-message"), message || "");
  $("auth").hidden = false;
  $("auth-token").value = "";
  $("auth-token").focus();
  redraw();
}

// The token form and Sign out.
function wireAuth() {
  $("auth-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("auth-token").value.trim();
    if (!token) { setText($("auth-message"), "Enter the director token."); return; }
    sessionStorage.setItem(TOKEN_KEY, token);
    $("auth").hidden = true;
    boot(token);
  });

  $("forget-btn").addEventListener("click", () => showAuth("Signed out."));
}

// ---------------------------------------------------------------------------------------
// Connection: the shared client on the director channel, the resync rule, the /api/state poll
// ---------------------------------------------------------------------------------------

function boot(token) {
  stop();
  ui.token = token;
  ui.synced = false;
  ui.everSynced = false;
  ui.log = []; ui.sent.clear(); ui.logVersion++;
  ui.pollSeen.clear();
  ui.safetyLog = []; ui.safetyVersion++; ui.holdSeq.clear(); ui.holdHits.clear();
  ui.training.clear(); ui.trainingVersion++;
  ui.debate = null;
  ui.deadlines.director.clear(); ui.deadlines.program.clear(); ui.measuredDelay = null;
  ui.api = { ok: null, failures: 0, engines: {}, engines_ready: false, engine_errors: {}, last_seq: null, at: 0, delay_s: null };
  ui.client = new GavelClient({
    channel: "director",
    token,
    render: () => redraw(),
    onStatus: onStatus,
    onEvent: onEvent,
  });
  poll();
  fetchOverlayVersion();
  redraw();
}

function stop() {
  if (ui.client) { ui.client.close(); ui.client = null; }
  if (ui.program) { ui.program.close(); ui.program = null; }
  clearTimeout(ui.pollTimer);
  ui.synced = false;
}

function onStatus(st) {
  ui.conn = st;
  ui.synced = false; // any change of connection means: locked until caught up again
  ui.syncTarget = null;
  if (st.connected) beginResync();
  redraw();
}

// Caught up = the client's last seq has reached the studio's last seq as read *after* the
// socket opened. Until then the panel may be showing an old state, so it stays locked.
async function beginResync() {
  const attempt = ++ui.syncAttempt;
  while (ui.client && ui.client.connected && attempt === ui.syncAttempt) {
    try {
      const state = await fetchState();
      if (attempt !== ui.syncAttempt) return;
      ui.syncTarget = typeof state.last_seq === "number" ? state.last_seq : 0;
      checkSynced();
      return;
    } catch (e) {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function checkSynced() {
  if (ui.synced || !ui.client || !ui.client.connected || ui.syncTarget == null) return;
  if (ui.client.lastSeq >= ui.syncTarget) {
    ui.synced = true;
    if (ui.everSynced) note("reconnected and resynced at #" + ui.client.lastSeq);
    ui.everSynced = true;
    redraw();
  }
}

async function fetchState() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), POLL_TIMEOUT_MS);
  try {
    const res = await fetch("/api/state", { headers: { Authorization: "Bearer " + ui.token }, cache: "no-store", signal: ctl.signal });
    if (res.status === 401 || res.status === 403) {
      const body = await res.json().catch(() => ({}));
      showAuth(`The studio refused this token (${res.status}: ${body.error || "forbidden"}).`);
      throw new Error("auth");
    }
    if (!res.ok) throw new Error("HTTP " + res.status);
    return await res.json();
  } finally {
    clearTimeout(timer);
  }
}

async function poll() {
  clearTimeout(ui.pollTimer);
  const token = ui.token;
  if (!token) return;
  try {
    const s = await fetchState();
    if (token !== ui.token) return;
    ui.api = { ok: true, failures: 0, engines: s.engines || {}, engines_ready: !!s.engines_ready,
      engine_errors: s.engine_errors || {}, last_seq: s.last_seq, at: Date.now(), delay_s: scriptDelay(s),
      store: isObject(s.store) ? s.store : { ok: true } };
    followProgram(ui.api.delay_s === null);
  } catch (e) {
    if (token !== ui.token || e.message === "auth") return;
    ui.api.failures += 1;
    if (ui.api.failures >= 2) { ui.api.ok = false; ui.synced = false; ui.syncTarget = null; }
  }
  if (ui.api.ok && !ui.synced && ui.client && ui.client.connected && ui.syncTarget == null) beginResync();
  redraw();
  if (ui.token === token) ui.pollTimer = setTimeout(poll, POLL_MS);
}

async function fetchOverlayVersion() {
  try {
    const res = await fetch("/overlays/version.json", { cache: "no-store" });
    if (res.ok) ui.overlayVersion = String((await res.json()).version || "");
  } catch (e) { /* shown as unknown */ }
}

function renderConnection() {
  const banner = $("banner"), link = $("link");
  const c = ui.client, st = ui.conn;
  let state, text = "", sub = "";
  if (!ui.token) { state = "hidden"; }
  else if (ui.api.ok && !storeUp()) {
    state = "store-down";
    text = "STUDIO STORE (REDIS) UNREACHABLE — CONTROLS LOCKED";
    const since = typeof ui.api.store.down_since === "number" ? clockText(new Date(ui.api.store.down_since * 1000)) : "?";
    sub = `since ${since}: ${ui.api.store.error || "no answer"} · the studio is reconnecting; nothing is acknowledged until it is back`;
  } else if (c && c.connected && ui.api.ok === false) {
    state = "api-down";
    text = "STUDIO API NOT ANSWERING — CONTROLS LOCKED";
    sub = "the event feed is up but /api/state has failed twice; commands could not be delivered";
  } else if (c && c.connected && !ui.synced) {
    state = ui.everSynced ? "resyncing" : "connecting";
    text = ui.everSynced ? "RECONNECTED — RESYNCING, CONTROLS LOCKED" : "CONNECTING — LOADING THE SHOW";
    sub = `at event #${c.lastSeq}` + (ui.syncTarget != null ? ` of #${ui.syncTarget}` : "");
  } else if (c && c.connected) {
    state = "hidden";
  } else if (ui.everSynced || (c && c.reconnects > 0)) {
    state = "disconnected";
    text = "DISCONNECTED FROM THE STUDIO — CONTROLS LOCKED";
    const retry = st.status === "waiting" ? `retrying in ${(st.retryInMs / 1000).toFixed(1)} s` : "retrying now";
    sub = `${retry} · showing the last state received (event #${c ? c.lastSeq : 0}); nothing here is live`;
  } else {
    state = "connecting";
    text = "CONNECTING TO THE STUDIO…";
    sub = "controls are locked until the panel is in sync";
  }
  banner.hidden = state === "hidden";
  setData(banner, "state", state);
  setText($("banner-text"), text);
  setText($("banner-sub"), sub);
  const linkState = !c || !c.connected ? (ui.everSynced ? "down" : "connecting") : ui.synced && ui.api.ok !== false ? "live" : "resyncing";
  setData(link, "state", linkState);
  setText($("link-text"), { live: "LIVE", down: "DISCONNECTED", connecting: "CONNECTING", resyncing: "RESYNCING" }[linkState]);
  const behind = ui.api.last_seq != null && c ? ui.api.last_seq - c.lastSeq : 0;
  setText($("link-seq"), `#${c ? c.lastSeq : 0}` + (behind > 50 ? ` (${behind} behind)` : ""));
}

function applyLock() {
  const ok = canOperate();
  document.body.classList.toggle("locked", !ok);
  // data-na: a control that does not apply to what it is on (a closed poll's CLOSE, say).
  for (const b of document.querySelectorAll("[data-control]")) {
    const off = !ok || b.dataset.na === "true";
    if (b.disabled !== off) b.disabled = off;
  }
}
