/*
 * question-card.js: the question card (number, text, choices, countdown ring), shared by the
 * duel (program.html) and the question graphic (question.html). Load after gavel-ui.js.
 *
 * const card = GavelUI.questionCard(sectionElement);
 * card.draw(state, batch, client, override)  // override: {text, choices, label, show_timer}
 * The header says what is asked (question n/N, the debate's motion and round, a dilemma, the
 * picture), in the show's language.
 * card.tick()                                // redraw the countdown (call every ~100 ms)
 *
 * The countdown runs to question.deadline_ts on the SERVER clock (client.serverNow(): the page
 * clock corrected by the offset seen in event timestamps), never the page clock alone.
 */
(function (global) {
  "use strict";

  const { el, setText, toggle, t } = global.GavelUI;
  const LOW_TIME_MS = 5000;
  const RING_LENGTH = 2 * Math.PI * 52; // circumference of the ring (r=52)
  const SVG = "http://www.w3.org/2000/svg";

  function ring() {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "q-ring");
    svg.setAttribute("viewBox", "0 0 120 120");
    svg.setAttribute("aria-hidden", "true");
    const circle = (cls) => {
      const c = document.createElementNS(SVG, "circle");
      for (const [k, v] of [["class", cls], ["cx", "60"], ["cy", "60"], ["r", "52"]]) c.setAttribute(k, v);
      svg.append(c);
      return c;
    };
    circle("q-ring-bg");
    return { svg, fg: circle("q-ring-fg") };
  }

  // The card's header names what is asked, as the stage asks it: a quiz question, a debate's
  // motion and round (with the turn on now), a dilemma, the picture of image-to-poem.
  function questionLabel(state, qu) {
    const n = { number: qu.number, of: qu.of };
    switch (qu.kind) {
      case "debate": {
        const turn = state.debate && state.debate.turn;
        const motion = t(state, "label.motion", n);
        return turn && turn.kind ? `${motion} · ${t(state, `turn.${turn.kind}`)}` : motion;
      }
      case "dilemma":
        return t(state, "label.dilemma", n);
      case "poem":
        return t(state, "label.picture");
      default:
        return t(state, "label.question", n);
    }
  }

  function questionCard(section) {
    const testid = (node, id) => { node.dataset.testid = id; return node; };
    const num = testid(el("span", "q-num"), "question-number");
    const text = testid(el("div", "q-text"), "question-text");
    const choices = testid(el("ol", "q-choices"), "question-choices");
    const head = el("div", "q-head");
    head.append(num);
    const body = el("div", "q-body");
    body.append(head, text, choices);
    const timer = testid(el("div", "q-timer"), "countdown");
    const { svg, fg } = ring();
    const timerNum = testid(el("div", "q-timer-num"), "countdown-value");
    timer.append(svg, timerNum);
    section.replaceChildren(body, timer);

    let key = null;
    let closed = null; // question_id of the last question.closed
    let last = { state: null, client: null, showTimer: true };

    function draw(state, batch, client, override) {
      const o = override || {};
      for (const ev of batch || []) {
        if (ev.type === "question.closed") closed = ev.data && ev.data.question_id;
        if (ev.type === "question.asked" || ev.type === "snapshot") closed = null;
      }
      const live = state.question;
      const manual = typeof o.text === "string" && o.text !== "";
      const qu = manual ? { question_id: "manual", text: o.text, choices: o.choices } : live;
      last = { state, client, showTimer: !manual && o.show_timer !== false };
      toggle(section, "is-empty", !qu);
      if (!qu) { key = null; tick(); return; }
      const label = typeof o.label === "string" && o.label ? o.label : questionLabel(state, qu);
      const k = JSON.stringify([qu.question_id, label, qu.text, qu.choices]);
      if (k !== key) {
        key = k;
        setText(num, label);
        const t = typeof qu.text === "string" ? qu.text : "";
        setText(text, t);
        toggle(text, "q-long", t.length > 110 && t.length <= 200);
        toggle(text, "q-xlong", t.length > 200);
        choices.replaceChildren();
        (Array.isArray(qu.choices) ? qu.choices : []).forEach((choice, i) => {
          const li = el("li");
          li.dataset.testid = `choice-${i}`;
          li.append(el("span", "ch-key", String.fromCharCode(65 + i)), el("span", "ch-text", choice));
          choices.append(li);
        });
        section.classList.remove("q-enter"); // restart the entry animation for a new question
        void section.offsetWidth;
        section.classList.add("q-enter");
      }
      tick();
    }

    function tick() {
      const { state, client, showTimer } = last;
      const qu = state && state.question;
      if (!client || !showTimer || !qu || typeof qu.deadline_ts !== "number") {
        toggle(timer, "is-empty", true);
        return;
      }
      toggle(timer, "is-empty", false);
      const answers = Object.values(state.answers);
      const settled = answers.length > 0 && answers.every((a) => a.status !== "streaming");
      const finished = closed === qu.question_id || settled;
      const remaining = qu.deadline_ts * 1000 - client.serverNow();
      const limit = typeof qu.time_limit_s === "number" && qu.time_limit_s > 0 ? qu.time_limit_s * 1000 : 30000;
      toggle(timer, "done", finished);
      timer.dataset.remainingMs = String(Math.round(remaining));
      if (finished) return;
      toggle(timer, "over", remaining <= 0);
      toggle(timer, "low", remaining > 0 && remaining <= LOW_TIME_MS);
      setText(timerNum, remaining <= 0 ? t(state, "countdown.over") : String(Math.ceil(remaining / 1000)));
      const frac = Math.max(0, Math.min(1, remaining / limit));
      fg.style.strokeDashoffset = String(RING_LENGTH * (1 - frac));
    }

    return { draw, tick };
  }

  global.GavelUI.questionCard = questionCard;
})(typeof window !== "undefined" ? window : globalThis);
