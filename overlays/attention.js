/*
 * attention.js: the attention heatmap (attention.html). Data: contestant, question_id (default:
 * the latest ready heatmap, of that contestant if one is named), at (0-based answer token to
 * focus), title.
 *
 * Which heatmaps exist comes from the shared show state (state.attention, from `attention`
 * events); the figure itself is built in Python (results/attention_figure.py) and fetched from
 * /figures/attention?key=…&at=…, then drawn with Plotly.react. plotly.js is loaded from the
 * studio (/vendor/plotly.min.js), retried until the studio answers.
 */
(function () {
  "use strict";

  const { setText, str, t, word, contestant } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const parts = { title: q("at-title"), subtitle: q("at-subtitle"), plot: q("at-plot") };
  let page = null;
  let drawn = "";     // what the plot shows now: key|at
  let wanted = "";    // what it should show
  let fetching = false;

  function loadPlotly() {
    const script = document.createElement("script");
    script.src = page.client.httpUrl("/vendor/plotly.min.js");
    script.onload = () => page.redraw();
    script.onerror = () => { script.remove(); setTimeout(loadPlotly, 3000); };
    document.head.append(script);
  }

  function pick(state, data) {
    const ready = Object.values(state.attention || {}).filter((a) => a && a.status === "ready");
    const id = str(data.contestant);
    const qid = str(data.question_id);
    const fits = ready.filter((a) => (!id || a.contestant === id) && (!qid || a.question_id === qid));
    return fits.length ? fits[fits.length - 1] : null;
  }

  async function fetchFigure(key, at) {
    if (!window.Plotly || fetching) return;
    fetching = true;
    const target = `${key}|${at}`;
    try {
      const auth = page.client.token ? `&token=${encodeURIComponent(page.client.token)}` : "";
      const url = `/figures/attention?key=${encodeURIComponent(key)}&at=${at}${auth}`;
      const response = await fetch(page.client.httpUrl(url), { cache: "no-store" });
      if (response.ok) {
        const figure = await response.json();
        const layout = Object.assign({}, figure.layout, { width: parts.plot.clientWidth, height: parts.plot.clientHeight, autosize: false });
        await window.Plotly.react(parts.plot, figure.data || [], layout, { staticPlot: true, displayModeBar: false });
        drawn = target;
        parts.plot.dataset.drawn = target;
      }
    } catch (e) {
      if (window.console) console.warn("attention: figure not loaded", e);
    } finally {
      fetching = false;
      if (wanted !== drawn) setTimeout(() => page.redraw(), 500);
    }
  }

  function draw({ state, data }) {
    const chosen = pick(state, data);
    const c = chosen ? contestant(state, chosen.contestant) : null;
    setText(parts.title, str(data.title) || t(state, "att.title"));
    setText(parts.subtitle, chosen
      ? t(state, "att.subtitle", { name: c ? c.name : chosen.contestant, tokens: chosen.answer_tokens, aggregate: word(state, "att.agg.", chosen.aggregate) })
      : t(state, "att.none"));
    if (!chosen) return;
    const at = Math.max(0, Math.floor(Number(data.at) || 0));
    wanted = `${chosen.key}|${at}`;
    if (wanted !== drawn) fetchFigure(chosen.key, at);
  }

  page = window.GavelUI.mount({ graphic: "attention", draw });
  loadPlotly();
})();
