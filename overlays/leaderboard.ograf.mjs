// OGraf v1 entry point for leaderboard.html (graphic "leaderboard"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("leaderboard.html");
