// OGraf v1 entry point for attention.html (graphic "attention"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("attention.html");
