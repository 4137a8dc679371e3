// OGraf v1 entry point for generation-path.html (graphic "path"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("generation-path.html");
