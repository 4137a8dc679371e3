// OGraf v1 entry point for title-card.html (graphic "title_card"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("title-card.html");
