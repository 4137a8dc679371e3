// OGraf v1 entry point for question.html (graphic "question"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("question.html");
