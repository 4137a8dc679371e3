/*
 * question.js: the question graphic (question.html). The card is question-card.js's; data
 * (cue or update()): label, text + choices (a question the host reads, no countdown), show_timer.
 */
(function () {
  "use strict";

  const card = window.GavelUI.questionCard(document.querySelector('[data-testid="question"]'));
  const page = window.GavelUI.mount({
    graphic: "question",
    draw: ({ state, data, batch, client }) => card.draw(state, batch, client, data),
  });
  page.every(100, card.tick);
})();
