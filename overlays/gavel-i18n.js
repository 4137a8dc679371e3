/*
 * gavel-i18n.js: the show's language for the pages that do not follow show.opened — the phones'
 * vote page (/vote) and the judges' page (/judge). Defines window.GavelI18n.
 *
 * GavelI18n.load() asks the studio for GET /api/locale ({locale, messages}: the show's message
 * table, overlays/locales/<locale>.json), again until it answers (0.5 s doubling to 5 s), then
 * fills the markup's data-i18n nodes, sets <html lang> and resolves: a page starts drawing after
 * it. Meanwhile <html class="i18n-wait"> keeps the page blank (the page's CSS), for at most
 * REVEAL_MS, so a viewer never sees the words of the wrong language flash by.
 * GavelI18n.t(key, params)               the text for key, {name} placeholders filled ("" if absent)
 * GavelI18n.plural(key, count, params)   key, or key_one when count is 1 (where the table has it)
 * GavelI18n.word(prefix, value)          prefix+value's text, else the value as it came
 * The on-air graphics do not use this file: their table comes in show.opened (GavelUI.t).
 */
(function (global) {
  "use strict";

  const REVEAL_MS = 3000;
  let table = {};
  let locale = "en";

  function t(key, params) {
    const template = typeof table[key] === "string" ? table[key] : null;
    if (template == null) return "";
    return template.replace(/\{(\w+)\}/g, (m, name) => (params && params[name] != null ? String(params[name]) : ""));
  }

  function plural(key, count, params) {
    const one = count === 1 && typeof table[`${key}_one`] === "string" ? `${key}_one` : key;
    return t(one, Object.assign({ count }, params));
  }

  function word(prefix, value) {
    const w = value == null ? "" : String(value);
    return (w && t(prefix + w.toLowerCase().replace(/[\s-]+/g, "_"))) || w;
  }

  function reveal() {
    document.documentElement.classList.remove("i18n-wait");
  }

  function apply(root) {
    document.documentElement.lang = locale;
    for (const node of (root || document).querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  }

  let loading = null;
  function load(url) {
    if (loading) return loading;
    const timer = setTimeout(reveal, REVEAL_MS);
    loading = (async () => {
      for (let wait = 500; ; wait = Math.min(5000, wait * 2)) {
        try {
          const res = await fetch(url || "/api/locale");
          const body = res.ok ? await res.json() : null;
          if (body && body.messages && typeof body.messages === "object") {
            table = body.messages;
            locale = typeof body.locale === "string" ? body.locale : "en";
            break;
          }
        } catch (e) { /* the studio is not answering yet: ask again */ }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      apply(document);
      clearTimeout(timer);
      reveal();
      return { locale, messages: table };
    })();
    return loading;
  }

  global.GavelI18n = { load, t, plural, word, apply, get locale() { return locale; } };
})(typeof window !== "undefined" ? window : globalThis);
