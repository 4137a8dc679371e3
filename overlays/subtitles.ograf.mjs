// OGraf v1 entry point for subtitles.html (graphic "subtitles"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("subtitles.html");
