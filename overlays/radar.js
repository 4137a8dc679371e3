/*
 * radar.js: the contestant radar (radar.html). Data: title, subtitle.
 *
 * The figure (axes, normalisation, colours) is built in Python by results/radar.py from the show
 * state of this page's output; the page fetches /figures/radar?channel=<program|preview> at load
 * and after every scoreboard (and snapshot), and draws it with Plotly.react. plotly.js is loaded
 * from the studio (/vendor/plotly.min.js), retried until the studio answers.
 */
(function () {
  "use strict";

  const { setText, str, t, currentStage } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const parts = { title: q("rd-title"), subtitle: q("rd-subtitle"), plot: q("rd-plot") };
  const REFETCH_ON = new Set(["scoreboard", "snapshot", "show.opened"]);
  let fetching = false;
  let again = false;
  let page = null;

  function loadPlotly() {
    const script = document.createElement("script");
    script.src = page.client.httpUrl("/vendor/plotly.min.js");
    script.onload = refresh;
    script.onerror = () => { script.remove(); setTimeout(loadPlotly, 3000); };
    document.head.append(script);
  }

  // One request at a time; a scoreboard that arrives meanwhile asks for one more.
  async function refresh() {
    if (!window.Plotly) return;
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      // The graphics token rides in the query (a header would need a CORS preflight from file:// pages).
      const auth = page.client.token ? `&token=${encodeURIComponent(page.client.token)}` : "";
      const response = await fetch(page.client.httpUrl(`/figures/radar?channel=${page.client.output}${auth}`), { cache: "no-store" });
      if (response.ok) {
        const figure = await response.json();
        const layout = Object.assign({}, figure.layout, {
          width: parts.plot.clientWidth, height: parts.plot.clientHeight, autosize: false,
        });
        await window.Plotly.react(parts.plot, figure.data || [], layout, { staticPlot: true, displayModeBar: false });
        parts.plot.dataset.drawnSeq = String(page.client.lastSeq);
      }
    } catch (e) {
      if (window.console) console.warn("radar: figure not loaded", e);
    } finally {
      fetching = false;
      if (again) { again = false; refresh(); }
    }
  }

  function draw({ state, data, batch }) {
    const stage = currentStage(state);
    setText(parts.title, str(data.title) || t(state, "radar.title"));
    setText(parts.subtitle, data.subtitle != null ? str(data.subtitle) : stage ? stage.title : state.show ? state.show.title : "");
    if (batch.some((ev) => REFETCH_ON.has(ev.type))) refresh();
  }

  page = window.GavelUI.mount({ graphic: "radar", draw });
  loadPlotly();
})();
