// OGraf v1 entry point for vote-bars.html (graphic "vote_bars"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("vote-bars.html");
