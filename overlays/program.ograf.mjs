/*
 * OGraf v1 entry point for the program graphic (see program.ograf.json).
 *
 * The graphic itself is program.html; this Web Component hosts it in a transparent iframe and
 * maps the OGraf actions onto its CasparCG-style calls: updateAction -> update(data),
 * playAction -> play(), stopAction -> stop(), customAction "next" -> next(),
 * dispose -> remove(). The iframe is loaded with ?manual=1 so it stays hidden until playAction.
 */

class GavelProgramGraphic extends HTMLElement {
  constructor() {
    super();
    this._frame = null;
    this._ready = null;
    this._currentStep = undefined;
  }

  async load(params = {}) {
    if (params.renderType && params.renderType !== "realtime") {
      return { statusCode: 400, statusMessage: "Only realtime rendering is supported" };
    }
    const data = params.data || {};
    const url = new URL("./program.html", import.meta.url);
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
    this._ready = new Promise((resolve) => frame.addEventListener("load", resolve, { once: true }));
    frame.src = url.href;
    this._frame = frame;
    this.appendChild(frame);
    await this._ready;
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

  async playAction() {
    this._call("play");
    this._currentStep = 0;
    return { statusCode: 200, currentStep: this._currentStep };
  }

  async stopAction() {
    this._call("stop");
    this._currentStep = undefined;
    return { statusCode: 200 };
  }

  async customAction(params = {}) {
    if (params.id === "next") {
      this._call("next");
    } else if (params.id === "showScoreboard" || params.id === "showAnswers") {
      this._call("update", { view: params.id === "showScoreboard" ? "scoreboard" : "answers" });
    } else {
      return { statusCode: 404, statusMessage: `Unknown custom action ${params.id}` };
    }
    return { statusCode: 200 };
  }

  // Same origin: call the template function directly. Otherwise: postMessage, which the
  // graphic accepts only from its parent.
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
}

export default GavelProgramGraphic;
