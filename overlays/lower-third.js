/*
 * lower-third.js: the lower third (lower-third.html). Data: contestant (an id: name, team,
 * model and adapter come from the show's contestants) and/or explicit name, team, model, adapter
 * (an explicit field wins).
 */
(function () {
  "use strict";

  const { setText, toggle, str, t, contestant, slot } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const box = q("lower-third");
  const parts = { name: q("lt-name"), team: q("lt-team"), model: q("lt-model"), adapter: q("lt-adapter") };

  function draw({ state, data }) {
    const id = str(data.contestant);
    const c = id ? contestant(state, id) : null;
    const pick = (k) => (data[k] != null && data[k] !== "" ? str(data[k]) : c && c[k] != null ? str(c[k]) : "");
    const text = { name: pick("name") || id, team: pick("team"), model: pick("model"), adapter: pick("adapter") };
    for (const [k, node] of Object.entries(parts)) {
      setText(node, text[k]);
      toggle(node, "is-empty", !text[k]);
    }
    box.dataset.slot = c ? slot(state, c.id) : "";
    parts.adapter.dataset.label = t(state, "lt.adapter"); // drawn before the adapter's name (lower-third.css)
  }

  window.GavelUI.mount({ graphic: "lower_third", draw });
})();
