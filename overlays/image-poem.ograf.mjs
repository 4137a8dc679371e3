// OGraf v1 entry point for image-poem.html (graphic "image_poem"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("image-poem.html");
