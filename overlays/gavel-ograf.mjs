/*
 * The OGraf v1 Web Component every Gavel graphic shares (each *.ograf.mjs is two lines).
 *
 * The graphic itself is an HTML page; this element hosts it in a transparent iframe loaded with
 * ?manual=1 (hidden until playAction) and maps the OGraf actions onto its template calls:
 * updateAction -> update(data), playAction -> play() (then, for graphics with steps, next() per
 * step of `delta`), stopAction -> stop(), customAction "next" -> next(), other custom actions ->
 * update(the data the graphic names for them), dispose -> remove().
 *
 *   import { graphicElement } from "./gavel-ograf.mjs";
 *   export default graphicElement("lower-third.html");
 */

export function graphicElement(page, { customUpdates = {} } = {}) {
  return class GavelGraphic extends HTMLElement {
    constructor() {
      super();
      this._frame = null;
      this._currentStep = undefined;
    }

    async load(params = {}) {
      if (params.renderType && params.renderType !== "realtime") {
        return { statusCode: 400, statusMessage: "Only realtime rendering is supported" };
      }
      const data = params.data || {};
      const url = new URL(`./${page}`, import.meta.url);
      url.searchParams.set("manual", "1");
      for (const key of ["channel", "token", "server"]) {
        if (typeof data[key] === "string" && data[key]) url.searchParams.set(key, data[key]);
      }
      const frame = document.createElement("iframe");
      frame.setAttribute("allowtransparency", "true");
      frame.setAttribute("scrolling", "no");
      Object.assign(frame.style, {
        position: "absolute", inset: "0", width: "100%", height: "100%",
        border: "0", background: "transparent", colorScheme: "normal",
      });
      const loaded = new Promise((resolve) => frame.addEventListener("load", resolve, { once: true }));
      frame.src = url.href;
      this._frame = frame;
      this.appendChild(frame);
      await loaded;
      this._call("update", data);
      return { statusCode: 200 };
    }

    async dispose() {
      this._call("remove");
      if (this._frame) this._frame.remove();
      this._frame = null;
      return { statusCode: 200 };
    }

    async updateAction(params = {}) {
      this._call("update", params.data || {});
      return { statusCode: 200 };
    }

    async playAction(params = {}) {
      if (this._currentStep === undefined) {
        this._call("play");
        this._currentStep = 0;
      } else {
        const steps = Math.max(1, Number(params.delta) || 1);
        for (let i = 0; i < steps; i += 1) this._call("next");
        this._currentStep += steps;
      }
      return { statusCode: 200, currentStep: this._currentStep };
    }

    async stopAction() {
      this._call("stop");
      this._currentStep = undefined;
      return { statusCode: 200 };
    }

    async customAction(params = {}) {
      if (params.id === "next") this._call("next");
      else if (params.id in customUpdates) this._call("update", customUpdates[params.id]);
      else return { statusCode: 404, statusMessage: `Unknown custom action ${params.id}` };
      return { statusCode: 200 };
    }

    // Same origin: call the template function directly. Otherwise postMessage, which the page
    // accepts only from its parent.
    _call(name, data) {
      const win = this._frame && this._frame.contentWindow;
      if (!win) return;
      try {
        if (typeof win[name] === "function") { win[name](data); return; }
      } catch (e) {
        // cross-origin: fall through
      }
      win.postMessage({ gavel: name, data }, "*");
    }
  };
}
