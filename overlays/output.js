/*
 * output.js: the program monitor (output.html). One transparent full-frame iframe per graphic,
 * bottom to top in LAYERS' order, each loading the graphic's page with this page's channel,
 * token, server and debug parameters. Each page follows the studio on its own (its socket, its
 * visibility); this page only stacks them. It draws no text of its own.
 */
(function () {
  "use strict";

  // Bottom to top: the full-frame stage graphics first, the cards that cover everything last.
  const LAYERS = [
    ["duel", "program.html"],
    ["image_poem", "image-poem.html"],
    ["subtitles", "subtitles.html"],
    ["question", "question.html"],
    ["path", "generation-path.html"],
    ["attention", "attention.html"],
    ["radar", "radar.html"],
    ["training", "training.html"],
    ["leaderboard", "leaderboard.html"],
    ["vote_bars", "vote-bars.html"],
    ["lower_third", "lower-third.html"],
    ["title_card", "title-card.html"],
    ["end_card", "end-card.html"],
  ];
  const PASSED = ["channel", "token", "server", "debug"];

  const here = new URLSearchParams(location.search);
  const query = new URLSearchParams();
  for (const name of PASSED) if (here.get(name)) query.set(name, here.get(name));
  const suffix = query.toString() ? `?${query}` : "";

  const box = document.getElementById("layers");
  LAYERS.forEach(([graphic, page], i) => {
    const frame = document.createElement("iframe");
    frame.setAttribute("allowtransparency", "true");
    frame.setAttribute("scrolling", "no");
    frame.setAttribute("aria-hidden", "true");
    frame.dataset.graphic = graphic;
    frame.dataset.testid = `layer-${graphic}`;
    frame.style.zIndex = String(i + 1);
    frame.src = page + suffix;
    box.append(frame);
  });
  window.gavelOutput = { layers: LAYERS.map(([graphic]) => graphic), channel: here.get("channel") || "program" };
})();
