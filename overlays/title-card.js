/*
 * title-card.js: the title card (title-card.html). Data: stage (an index: announce that stage,
 * e.g. the next one before it starts; default the current stage), show (true: announce the show),
 * title (default: the stage's title, else the show's), subtitle (default: the show's title, when
 * it is not the title). The kicker says which stage it is ("Stage 2 / 5 · Speed Q&A").
 */
(function () {
  "use strict";

  const { setText, toggle, str, t, currentStage } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const parts = { kicker: q("tc-kicker"), title: q("tc-title"), subtitle: q("tc-subtitle") };

  // data.stage (an index) names the stage to announce (autopilot cues the next stage's card
  // before it starts); data.show = true announces the show itself, whatever stage is on.
  function stageOf(state, data) {
    if (data.show === true) return null;
    if (Number.isInteger(data.stage)) return state.stages.find((s) => s.index === data.stage) || null;
    return currentStage(state);
  }

  function draw({ state, data }) {
    const stage = stageOf(state, data);
    const showTitle = state.show ? str(state.show.title) : "";
    const title = str(data.title) || (stage ? str(stage.title) : "") || showTitle;
    const subtitle = data.subtitle != null ? str(data.subtitle) : showTitle === title ? "" : showTitle;
    let kicker = "";
    if (stage) {
      const pos = state.stages.indexOf(stage) + 1;
      kicker = [t(state, "show.stage_number", { number: pos, of: state.stages.length }), t(state, `stage.kind.${stage.kind}`)]
        .filter(Boolean).join(" · ");
    }
    setText(parts.kicker, kicker);
    setText(parts.title, title);
    setText(parts.subtitle, subtitle);
    toggle(parts.title, "tc-long", title.length > 16 && title.length <= 32);
    toggle(parts.title, "tc-xlong", title.length > 32);
  }

  window.GavelUI.mount({ graphic: "title_card", draw });
})();
