// OGraf v1 entry point for lower-third.html (graphic "lower_third"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("lower-third.html");
