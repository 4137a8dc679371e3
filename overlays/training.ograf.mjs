// OGraf v1 entry point for training.html (graphic "training"); see gavel-ograf.mjs.
import { graphicElement } from "./gavel-ograf.mjs";

export default graphicElement("training.html");
