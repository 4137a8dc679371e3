// OGraf v1 entry point for end-card.html (graphic "end_card"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("end-card.html");
