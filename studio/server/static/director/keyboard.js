/*
 * director/keyboard.js: the keys (one command per physical press, never while typing in a field
 * or while the panel is locked), the rule that controls never take the keyboard focus, and F1's
 * help.
 *
 * One of the director panel's scripts (studio/server/static/director/, see panel.js): plain
 * ES2020, sharing the page's global scope; it only declares, and main.js starts the panel.
 */
"use strict";

const SHORTCUTS = [
  ["Enter", "NEXT stage (START when the show is idle)"],
  ["Space", "TAKE: preview's graphics go to program"],
  ["Esc", "PANIC: every graphic off, on every output"],
  ["P", "pause / resume (toggles from the show's status)"],
  ["S then S", "skip the running stage (second S within 2 s)"],
  ["X then X", "abort the show (second X within 2 s)"],
  ["1 – 9", "toggle graphic N on / off on preview"],
  ["O", "new poll: the poll form takes the keyboard (Ctrl+Enter opens the poll)"],
  ["L then L", "close the current poll (second L within 2 s)"],
  ["V", "reveal the current poll's result to viewers' phones"],
  ["A", "APPROVE the oldest held answer: its held text goes on air"],
  ["R", "REJECT the oldest held answer: it ends as a DNF (withheld)"],
  ["D then D", "DUMP every answer from the broadcast delay (second D within 2 s)"],
  ["T", "CUT the debate turn on air short (what was said stands)"],
  ["Y", "decide the oldest uncertain verdict RIGHT (it airs ✓ and counts)"],
  ["N", "decide the oldest uncertain verdict WRONG (it airs ✗)"],
  ["↑ / ↓", "move the focus in the rundown"],
  ["Home / End", "focus the first / last stage"],
  ["C", "focus back on the current stage"],
  ["F1 or ?", "show / hide this help"],
];

// ---------------------------------------------------------------------------------------
// Keyboard
// ---------------------------------------------------------------------------------------

function keyAction(e) {
  const k = e.key;
  if (k === "Enter") return { cmd: () => actions.go() };
  if (k === " " || e.code === "Space") return { cmd: () => actions.take() };
  if (k === "Escape") return { cmd: () => actions.panic() };
  if (k === "p" || k === "P") return { cmd: () => actions.pauseToggle() };
  if (k === "s" || k === "S") return { cmd: () => actions.skip("S") };
  if (k === "x" || k === "X") return { cmd: () => actions.abort("X") };
  if (/^[1-9]$/.test(k)) {
    return { cmd: () => {
      const name = graphicNames(ui.client.state)[Number(k) - 1];
      if (name) actions.toggle(name); else flash(`no graphic ${k}`);
    } };
  }
  if (k === "o" || k === "O") return { nav: () => $("poll-title").focus() };
  if (k === "l" || k === "L") {
    return { cmd: () => {
      const p = currentPoll();
      if (!p) flash("no poll to close");
      else if (p.status !== "open") flash(`poll ${p.poll_id} is closed already`);
      else armOrFire("L", "poll_close", { poll: p.poll_id }, `PRESS L AGAIN WITHIN 2 s TO CLOSE POLL ${p.poll_id}`);
    } };
  }
  if (k === "v" || k === "V") {
    return { cmd: () => {
      const p = currentPoll();
      if (!p) flash("no poll to reveal");
      else if (p.revealed) flash(`poll ${p.poll_id} is revealed already`);
      else actions.pollReveal(p.poll_id);
    } };
  }
  if (k === "a" || k === "A") return { cmd: () => actions.resolveOldest("approve") };
  if (k === "r" || k === "R") return { cmd: () => actions.resolveOldest("reject") };
  if (k === "d" || k === "D") return { cmd: () => actions.dumpAll("D") };
  if (k === "t" || k === "T") return { cmd: () => actions.cut() };
  if (k === "y" || k === "Y") return { cmd: () => actions.decideOldest(true) };
  if (k === "n" || k === "N") return { cmd: () => actions.decideOldest(false) };
  const cur = ui.focus == null ? -1 : ui.focus;
  if (k === "ArrowUp") return { nav: () => moveFocus(cur - 1) };
  if (k === "ArrowDown") return { nav: () => moveFocus(cur + 1) };
  if (k === "Home") return { nav: () => moveFocus(0) };
  if (k === "End") return { nav: () => moveFocus(1e9) };
  if (k === "c" || k === "C") return { nav: () => { ui.focusPinned = false; redraw(); } };
  if (k === "F1" || k === "?") return { nav: () => toggleHelp() };
  return null;
}

function typingIn(target) {
  return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
}

function toggleHelp(force) {
  $("help").hidden = force === undefined ? !$("help").hidden : !force;
}

// Keys, the mouse's focus rule, the help button and the help's rows.
function wireKeyboard() {
  document.addEventListener("keydown", (e) => {
    if (!$("auth").hidden) return; // the token form has the keyboard
    if (typingIn(e.target)) {
      if (e.key === "Escape") { e.preventDefault(); e.target.blur(); closeEditor(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return; // browser shortcuts stay the browser's
    const action = keyAction(e);
    if (!action) return;
    e.preventDefault(); // also stops a focused button from being "clicked" by Enter
    e.stopPropagation();
    if (action.nav) { action.nav(); return; } // navigation may auto-repeat; it sends nothing
    // One command per physical press: auto-repeat is ignored, and so is a second keydown of a
    // key that has not been released (some remote-desktop tools repeat without the flag). A key
    // seen down but silent for over a second is taken as a new press (its keyup was lost).
    const now = Date.now();
    const last = ui.pressed.get(e.code || e.key);
    ui.pressed.set(e.code || e.key, now);
    if (e.repeat || (last !== undefined && now - last < 1000)) return;
    if (!canOperate()) { flash("LOCKED — not in sync with the studio: nothing was sent"); return; }
    action.cmd();
  }, true);

  document.addEventListener("keyup", (e) => {
    ui.pressed.delete(e.code || e.key);
    if ((e.key === " " || e.key === "Enter") && !typingIn(e.target) && $("auth").hidden) e.preventDefault(); // no button activation on keyup
  }, true);
  window.addEventListener("blur", () => ui.pressed.clear());

  // Mouse: controls never take the keyboard focus (Space/Enter must mean TAKE/NEXT, not "click
  // the last button I touched").
  document.addEventListener("mousedown", (e) => {
    if (e.target.closest && e.target.closest("button") && !e.target.closest("#auth, #editor")) e.preventDefault();
  });

  $("help-btn").addEventListener("click", () => toggleHelp());
  // Help rows
  $("help-rows").replaceChildren(...SHORTCUTS.map(([keys, what]) => el("tr", {}, [el("td", {}, keys.split(" ").map((k) => ["then", "or", "/", "–"].includes(k) ? " " + k + " " : el("kbd", { text: k }))), el("td", { text: what })])));
}
