// OGraf v1 entry point for radar.html (graphic "radar"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("radar.html");
