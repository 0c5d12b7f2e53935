// Model output -> safe DOM. Markdown is rendered by marked, raw HTML in it is shown as text
// (never parsed), images become links (no request leaves the page on the model's say-so), and
// the result still goes through DOMPurify before it touches the document.
import { Marked } from "/static/vendor/marked.esm.js";
import DOMPurify from "/static/vendor/purify.es.mjs";
import hljs from "/static/vendor/highlight.min.js";

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    // Raw HTML written by the model is text to read, not markup to run.
    html({ text }) {
      return escapeHtml(text);
    },
    image({ href, text }) {
      const label = escapeHtml(text || href);
      return `<a href="${escapeHtml(href)}">${label}</a>`;
    },
  },
});

const PURIFY = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["style", "img", "svg", "math", "form", "input", "button", "iframe", "video", "audio"],
  FORBID_ATTR: ["style", "class", "id"],
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

// marked marks fenced code with class="language-x"; classes are forbidden above, so the
// language travels in a data attribute added after sanitising.
const LANG_ATTR = "data-lang";

/**
 * Render markdown written by the model into a DocumentFragment that is safe to insert.
 * @param {string} markdown
 * @returns {DocumentFragment}
 */
export function renderMarkdown(markdown) {
  const tokens = marked.lexer(markdown || "");
  const languages = [];
  marked.walkTokens(tokens, (token) => {
    if (token.type === "code") languages.push((token.lang || "").trim().split(/\s+/)[0].toLowerCase());
  });
  const html = marked.parser(tokens);
  const fragment = DOMPurify.sanitize(html, PURIFY);
  fragment.querySelectorAll("pre > code").forEach((code, i) => {
    const lang = languages[i] || "";
    if (lang) code.setAttribute(LANG_ATTR, lang);
    highlight(code, lang);
  });
  fragment.querySelectorAll("pre").forEach(addCopyButton);
  return fragment;
}

function highlight(code, lang) {
  const text = code.textContent;
  if (text.length > 100_000) return;
  // hljs escapes its input; the returned markup holds only <span class="hljs-...">.
  const result =
    lang && hljs.getLanguage(lang)
      ? hljs.highlight(text, { language: lang, ignoreIllegals: true })
      : hljs.highlightAuto(text);
  code.innerHTML = result.value;
  code.classList.add("hljs");
}

function addCopyButton(pre) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "Copy";
  button.setAttribute("aria-label", "Copy code");
  pre.append(button);
}

/** Delegated handler for the copy buttons added by renderMarkdown. */
export function handleCopyClick(event) {
  const button = event.target.closest("pre > button.copy");
  if (!button) return;
  const code = button.parentElement.querySelector("code");
  const text = (code || button.parentElement).textContent;
  navigator.clipboard?.writeText(text).then(
    () => flash(button, "Copied"),
    () => flash(button, "Copy failed"),
  );
}

function flash(button, label) {
  button.textContent = label;
  setTimeout(() => (button.textContent = "Copy"), 1500);
}
