/*
 * director/polls.js: the poll form (it builds poll_open's args, as studio/show/poll_host.py
 * parse_poll_request reads them) and the polls: live counts as of the event that set them, CLOSE
 * (with the director's winner, or the audience's), REVEAL.
 *
 * One of the director panel's scripts (studio/server/static/director/, see panel.js): plain
 * ES2020, sharing the page's global scope; it only declares, and main.js starts the panel.
 */
"use strict";

// ---------------------------------------------------------------------------------------
// Polls: the form builds poll_open's args (studio/show/poll_host.py parse_poll_request)
// ---------------------------------------------------------------------------------------

const CHOICE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

// One line -> {id, label}. A contestant's name or id becomes that contestant (a verdict's ballot
// names contestants by id); anything else gets an id made from its label.
function pollChoices(text, contestants) {
  const out = [], used = new Set();
  for (const raw of text.split(/\r?\n/)) {
    const label = raw.trim();
    if (!label) continue;
    const c = contestants.find((x) => x.id.toLowerCase() === label.toLowerCase() || String(x.name || "").toLowerCase() === label.toLowerCase());
    let id = c ? c.id : label.toLowerCase().normalize("NFKD").replace(/[^a-z0-9_.:-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40);
    if (!CHOICE_ID.test(id)) id = `c${out.length + 1}`;
    let unique = id, n = 2;
    while (used.has(unique)) unique = `${id}-${n++}`;
    used.add(unique);
    out.push({ id: unique, label: c && label.toLowerCase() === c.id.toLowerCase() ? String(c.name || c.id) : label.slice(0, 200) });
  }
  return out;
}

function pollRequest() {
  const title = $("poll-title").value.trim();
  const kind = $("poll-kind").value;
  if (!title) return { error: "title: the question viewers see (1–200 characters)" };
  const args = { title, kind, allow_change: $("poll-change").checked };
  if (kind !== "rating") {
    const choices = pollChoices($("poll-choices").value, (ui.client && ui.client.state.contestants) || []);
    if (choices.length < 2 || choices.length > 20) return { error: "choices: 2 to 20, one per line" };
    args.choices = choices;
  }
  const dimension = $("poll-dimension").value;
  if (dimension) args.dimension = dimension;
  const dur = $("poll-duration").value.trim();
  if (dur) {
    const n = Number(dur);
    if (!isFinite(n) || n <= 0 || n > 3600) return { error: "closes after: 1 to 3600 seconds, or empty (you close it)" };
    args.duration_s = n;
  }
  return { args };
}

function submitPollForm() {
  if (!canOperate()) { flash("LOCKED — not in sync with the studio: nothing was sent"); return; }
  if (pendingOf("poll_open")) { flash("a poll is being opened: wait for the studio's answer"); return; }
  const req = pollRequest();
  if (req.error) { setText($("poll-err"), req.error); return; }
  setText($("poll-err"), "");
  send("poll_open", req.args, "poll-form");
}

function resetPollForm() {
  $("poll-title").value = "";
  $("poll-choices").value = "";
  $("poll-duration").value = "";
  $("poll-change").checked = false;
  $("poll-kind").value = "choice";
  $("poll-dimension").value = "";
  setText($("poll-err"), "");
  syncPollKind();
}

function syncPollKind() {
  $("poll-choices").disabled = $("poll-kind").value === "rating";
}

// The poll the single-key shortcuts act on: the current one (the poll phones show).
function currentPoll() {
  const state = ui.client ? ui.client.state : null;
  const id = state && state.current_poll;
  return id && state.polls && state.polls[id] ? state.polls[id] : null;
}

function pct(n, total) {
  return total > 0 ? Math.round((n / total) * 100) + "%" : "—";
}

const DECIDED = { audience: "decided by the audience", director: "decided by the director (override)", none: "no votes: no winner" };

function renderPolls(state) {
  const polls = isObject(state.polls) ? state.polls : {};
  const ids = Object.keys(polls).reverse(); // newest first
  const opening = [...ui.sent.values()].filter((e) => e.phase === "sent" && e.command === "poll_open");
  const keys = opening.map((e) => "sent:" + e.command_id).concat(ids.map((id) => "poll:" + id));
  $("polls-empty").hidden = keys.length > 0;
  const box = $("polls");
  syncKeyed(box, keys, (key) => {
    if (key.startsWith("sent:")) return el("div", { class: "poll", "data-pending-open": "true", "data-testid": "poll-sending" });
    const id = key.slice(5);
    const p = polls[id];
    const close = el("button", { type: "button", class: "mini", "data-control": "", "data-testid": `poll-close-${id}`, text: "CLOSE" });
    const pick = el("select", { "data-testid": `poll-winner-${id}`, title: "the director's pick: overrides the audience" },
      (p.choices || []).map((c) => el("option", { value: c.id, text: c.label })));
    const closeWith = el("button", { type: "button", class: "mini", "data-control": "", "data-testid": `poll-close-winner-${id}`, text: "CLOSE · WINNER" });
    const reveal = el("button", { type: "button", class: "mini", "data-control": "", "data-testid": `poll-reveal-${id}`, text: "REVEAL" });
    close.addEventListener("click", guard(() => actions.pollClose(id)));
    closeWith.addEventListener("click", guard(() => actions.pollClose(id, pick.value)));
    pick.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) guard(() => actions.pollClose(id, pick.value))(e); });
    reveal.addEventListener("click", guard(() => actions.pollReveal(id)));
    return el("div", { class: "poll", "data-testid": `poll-${id}` }, [
      el("div", { class: "phead" }, [
        el("span", { class: "badge pstatus", "data-testid": `poll-status-${id}` }),
        el("span", { class: "badge prevealed", "data-testid": `poll-revealed-${id}` }),
        el("span", { class: "ptitle" }),
      ]),
      el("div", { class: "pmeta" }),
      el("div", { class: "choices" }),
      el("div", { class: "asof", "data-testid": `poll-asof-${id}` }),
      el("div", { class: "presult", "data-testid": `poll-result-${id}` }),
      el("div", { class: "pacts" }, [close, pick, closeWith, reveal]),
    ]);
  }, (node, key) => {
    if (key.startsWith("sent:")) {
      const e = ui.sent.get(key.slice(5));
      setText(node, `SENT… opening ${json(e ? e.args.title : "")}: shown here once the studio's poll.opened arrives`);
      return;
    }
    const id = key.slice(5);
    const p = polls[id];
    const open = p.status === "open";
    setData(node, "status", p.status);
    setData(node, "revealed", !!p.revealed);
    setData(node, "decidedBy", p.decided_by || "");
    setData(node, "current", state.current_poll === id);
    const st = node.querySelector(".pstatus");
    setData(st, "status", p.status);
    setText(st, open ? "OPEN" : "CLOSED");
    const rv = node.querySelector(".prevealed");
    setData(rv, "revealed", !!p.revealed);
    setText(rv, p.revealed ? "REVEALED" : "not revealed");
    setText(node.querySelector(".ptitle"), `${id} · ${p.title}`);
    const meta = [p.kind === "rating" ? "rating 1–5" : "choice", p.allow_change ? "votes may change" : "one vote per device"];
    if (p.dimension) meta.push("verdict → " + p.dimension);
    if (open && typeof p.closes_ts === "number" && ui.client) meta.push(`closes in ${Math.max(0, Math.ceil(p.closes_ts - ui.client.serverNow() / 1000))} s`);
    if (state.current_poll === id) meta.push("current (L L / V act here)");
    setText(node.querySelector(".pmeta"), meta.join(" · "));
    const counts = isObject(p.counts) ? p.counts : {};
    const sum = (p.choices || []).reduce((n, c) => n + (Number(counts[c.id]) || 0), 0);
    syncKeyed(node.querySelector(".choices"), (p.choices || []).map((c) => c.id), (cid) => el("div", { class: "choice", "data-testid": `poll-choice-${id}-${cid}` }, [
      el("i", { class: "bar" }), el("span", { class: "lbl" }),
      el("span", { class: "cnt", "data-testid": `poll-count-${id}-${cid}` }), el("span", { class: "pct", "data-testid": `poll-pct-${id}-${cid}` }),
    ]), (row, cid) => {
      const c = p.choices.find((x) => x.id === cid);
      const n = Number(counts[cid]) || 0;
      setText(row.querySelector(".lbl"), c.label.toLowerCase() === c.id.toLowerCase() ? c.label : `${c.label} (${c.id})`);
      setText(row.querySelector(".cnt"), n);
      setText(row.querySelector(".pct"), pct(n, sum));
      row.querySelector(".bar").style.width = sum > 0 ? `${(100 * n) / sum}%` : "0";
      setData(row, "winner", p.status === "closed" && p.winner === cid);
    });
    const seen = ui.pollSeen.get(id);
    const when = seen ? `#${seen.seq} (${seen.type}) ${clockText(new Date((seen.ts || 0) * 1000))}` : "the panel's current state";
    const total = typeof p.total === "number" ? p.total : sum;
    setText(node.querySelector(".asof"), `${total} vote${total === 1 ? "" : "s"} — ${open ? "counts as of" : "final counts, from"} ${when}, as the log confirmed`);
    const result = node.querySelector(".presult");
    if (open) setText(result, "");
    else {
      const w = (p.choices || []).find((c) => c.id === p.winner);
      setText(result, `CLOSED · winner: ${w ? w.label : p.winner || "none"} — ${DECIDED[p.decided_by] || "decided by " + p.decided_by}`);
    }
    const [close, pick, closeWith, reveal] = node.querySelector(".pacts").children;
    setData(close, "na", !open);
    setData(closeWith, "na", !open);
    pick.disabled = !open;
    setData(reveal, "na", !!p.revealed);
    setData(close, "pending", pendingOf("poll_close", (e) => e.args.poll === id && !e.args.winner));
    setData(closeWith, "pending", pendingOf("poll_close", (e) => e.args.poll === id && !!e.args.winner));
    setData(reveal, "pending", pendingOf("poll_reveal", (e) => e.args.poll === id));
    const armed = ui.armed && Date.now() < ui.armed.until ? ui.armed : null;
    setData(close, "armed", !!armed && armed.command === "poll_close" && armed.args.poll === id);
  });
  setData($("poll-open"), "pending", pendingOf("poll_open"));
}

// The poll form's keys and buttons.
function wirePolls() {
  // Poll form: Enter in the title moves on to the choices, Ctrl+Enter anywhere opens the poll,
  // Enter in the duration opens it too (the form's submit).
  $("poll-form").addEventListener("submit", (e) => { e.preventDefault(); actions.pollOpen(); });
  $("poll-form").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); actions.pollOpen(); }
    else if (e.key === "Enter" && e.target === $("poll-title")) { e.preventDefault(); ($("poll-choices").disabled ? $("poll-kind") : $("poll-choices")).focus(); }
  });
  $("poll-kind").addEventListener("change", syncPollKind);
  $("poll-form").addEventListener("input", () => setText($("poll-err"), "")); // a fix clears the old complaint
  $("poll-contestants").addEventListener("click", (e) => {
    e.preventDefault();
    const cs = (ui.client && ui.client.state.contestants) || [];
    $("poll-choices").value = cs.map((c) => c.name || c.id).join("\n");
  });
}
