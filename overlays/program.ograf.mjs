// OGraf v1 entry point for the duel (program.html); see gavel-ograf.mjs and program.ograf.json.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("program.html", {
  customUpdates: { showScoreboard: { view: "scoreboard" }, showAnswers: { view: "answers" } },
});
