/*
 * title-card.js: the title card (title-card.html). Data: title (default: the current stage's
 * title, else the show's), subtitle (default: the show's title, when it is not the title).
 * The kicker says which stage it is ("Stage 2 of 5 · speed qa").
 */
(function () {
  "use strict";

  const { setText, toggle, str, humanize, currentStage } = window.GavelUI;
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const parts = { kicker: q("tc-kicker"), title: q("tc-title"), subtitle: q("tc-subtitle") };

  function draw({ state, data }) {
    const stage = currentStage(state);
    const showTitle = state.show ? str(state.show.title) : "";
    const title = str(data.title) || (stage ? str(stage.title) : "") || showTitle;
    const subtitle = data.subtitle != null ? str(data.subtitle) : showTitle === title ? "" : showTitle;
    let kicker = "";
    if (stage) {
      const pos = state.stages.indexOf(stage) + 1;
      kicker = [state.stages.length > 1 ? `Stage ${pos} of ${state.stages.length}` : "Stage", humanize(stage.kind)]
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
