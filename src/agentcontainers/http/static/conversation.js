// The message list: user prompts, assistant replies built from run events (text, tool cards,
// stats, errors), and past transcripts. Nothing the model wrote reaches innerHTML unsanitised:
// markdown goes through renderMarkdown, everything else is textContent.
import { renderMarkdown } from "/static/markdown.js";

const $ = (selector, root = document) => root.querySelector(selector);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function formatTokens(n) {
  n = Number(n) || 0;
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}

export function formatCost(usd) {
  usd = Number(usd) || 0;
  if (usd === 0) return "$0";
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** "2 turns · 1.2k in · 340 out · $0.0123" for a result body or a session record. */
export function statsLine({ turns, input, output, cost, durationMs }) {
  const parts = [plural(Number(turns) || 0, "turn"), `${formatTokens(input)} in`, `${formatTokens(output)} out`, formatCost(cost)];
  if (durationMs) parts.push(`${(durationMs / 1000).toFixed(1)} s`);
  return parts.join(" · ");
}

/** A short, plain description of what went wrong, from an error or is_error result body. */
export function describeError(body, status = 0) {
  const error = body?.error || {};
  const code = String(error.code || body?.subtype || "");
  const message = String(error.message || body?.result || "The run failed.");
  const apiStatus = Number(body?.api_error_status || error.status || status || 0);
  const haystack = `${code} ${message}`.toLowerCase();
  if (/cancel/.test(haystack)) return { kind: "stopped", title: "Stopped", message: "" };
  if (apiStatus === 529 || apiStatus === 503 || /overload/.test(haystack))
    return { kind: "error", title: "The model is overloaded", message };
  if (/budget/.test(haystack)) return { kind: "error", title: "Budget limit reached", message };
  if (apiStatus === 401 || apiStatus === 403 || /auth|credential|api key|forbidden/.test(haystack))
    return { kind: "error", title: "Not authorised", message };
  if (apiStatus === 429 || /rate.?limit|too many/.test(haystack))
    return { kind: "error", title: "Rate limited", message };
  if (/timeout|timed out/.test(haystack)) return { kind: "error", title: "The run timed out", message };
  if (/busy/.test(haystack)) return { kind: "error", title: "This session is busy", message };
  if (apiStatus >= 500 || /api_error|model/.test(haystack))
    return { kind: "error", title: "The model API failed", message };
  return { kind: "error", title: "Error", message };
}

function toolBrief(name, input) {
  if (!input || typeof input !== "object") return "";
  const preferred = input.command ?? input.file_path ?? input.path ?? input.pattern ?? input.url ?? input.query ?? input.description;
  const value = preferred ?? Object.values(input).find((v) => typeof v === "string");
  if (typeof value !== "string") return "";
  const line = value.split("\n")[0];
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

function toolOutputText(content) {
  if (content == null) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content.map((block) => (typeof block === "string" ? block : block?.text ?? JSON.stringify(block))).join("\n");
  return JSON.stringify(content, null, 2);
}

export class Conversation {
  constructor(list, scroller) {
    this.list = list;
    this.scroller = scroller;
    this.template = $("#tool-card");
  }

  clear() {
    this.list.replaceChildren();
  }

  get empty() {
    return this.list.childElementCount === 0;
  }

  /** Keep the newest content in view unless the reader scrolled up. */
  follow(action) {
    const s = this.scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
    action();
    if (atBottom) s.scrollTop = s.scrollHeight;
  }

  addUser(text) {
    const item = element("li", "message user");
    item.append(element("div", "bubble", text));
    this.follow(() => this.list.append(item));
    return item;
  }

  /** Start an assistant reply; returns the Reply that run events are fed into. */
  addReply() {
    const reply = new Reply(this);
    this.follow(() => this.list.append(reply.item));
    return reply;
  }

  /**
   * Render a stored transcript: [{role, text?, tool_use?, tool_result?}]. With cutAtPrompt,
   * the turn that prompt started (still running, replayed from its events) is left out.
   */
  showTranscript(transcript, { cutAtPrompt = "" } = {}) {
    this.clear();
    let entries = transcript || [];
    const prompt = cutAtPrompt.trim();
    if (prompt) {
      const start = entries.findLastIndex((e) => e.role === "user" && (e.text || "").trim() === prompt);
      if (start >= 0) entries = entries.slice(0, start);
    }
    let reply = null;
    for (const entry of entries) {
      if (entry.role === "user" && entry.text) {
        this.addUser(entry.text);
        reply = null;
        continue;
      }
      if (!reply && (entry.text || entry.tool_use) && entry.role !== "user") reply = this.addReply();
      if (entry.tool_use) reply.toolUse(entry.tool_use);
      else if (entry.tool_result) (reply || this.addReply()).toolResult(entry.tool_result);
      else if (entry.text && reply) reply.text(entry.text, { block: true });
    }
    for (const r of this.list.querySelectorAll(".message.assistant")) r.classList.remove("pending");
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}

export class Reply {
  constructor(conversation) {
    this.conversation = conversation;
    this.item = element("li", "message assistant pending");
    this.bubble = element("div", "bubble");
    this.parts = element("div", "parts");
    this.typing = element("div", "typing");
    this.typing.setAttribute("aria-label", "The agent is working");
    this.typing.append(element("span"), element("span"), element("span"));
    this.bubble.append(this.parts, this.typing);
    this.item.append(this.bubble);
    this.segment = null; // the markdown block text events append to
    this.segments = [];
    this.live = null; // where the streaming pieces of the current message start in the block
    this.frame = 0;
    this.tools = new Map();
  }

  update(action) {
    this.conversation.follow(action);
  }

  /**
   * Text events append to the current block; a tool call in between starts a new block. The
   * whole text of a message whose pieces streamed in (text_delta) replaces those pieces.
   */
  text(text, { block = false } = {}) {
    if (!text) return;
    this.update(() => {
      if (this.live !== null) {
        this.segment.source = this.segment.source.slice(0, this.live) + text;
        this.live = null;
      } else {
        this.openSegment(block);
        this.segment.source += text;
      }
      this.render();
    });
  }

  /** A piece of text as the model writes it (rendered at most once a frame). */
  delta(text) {
    if (!text) return;
    if (this.live === null) {
      this.openSegment(true);
      this.live = this.segment.source.length;
    }
    this.segment.source += text;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.update(() => this.render());
    });
  }

  openSegment(block) {
    if (!this.segment) {
      this.segment = { source: "", node: element("div", "markdown") };
      this.segments.push(this.segment);
      this.parts.append(this.segment.node);
    } else if (block && this.segment.source && !this.segment.source.endsWith("\n")) {
      this.segment.source += "\n\n";
    }
  }

  render() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (this.segment) this.segment.node.replaceChildren(renderMarkdown(this.segment.source));
  }

  toolUse({ id, name, input }) {
    const card = this.conversation.template.content.firstElementChild.cloneNode(true);
    card.dataset.toolUseId = id || "";
    card.dataset.state = "running";
    $(".tool-name", card).textContent = name || "tool";
    $(".tool-brief", card).textContent = toolBrief(name, input);
    $(".tool-input", card).textContent = JSON.stringify(input ?? {}, null, 2);
    this.tools.set(id, card);
    this.render();
    this.segment = null;
    this.live = null;
    this.update(() => this.parts.append(card));
  }

  toolResult({ tool_use_id: id, content, is_error: isError }) {
    let card = this.tools.get(id);
    if (!card) {
      this.toolUse({ id, name: "tool", input: {} });
      card = this.tools.get(id);
    }
    card.dataset.state = isError ? "error" : "done";
    const output = $(".tool-output", card);
    const text = toolOutputText(content);
    output.textContent = text || "(no output)";
    output.classList.toggle("is-error", Boolean(isError));
  }

  /** The run finished: show the final text if nothing streamed, and the reply's numbers. */
  finish(result) {
    this.render();
    this.item.classList.remove("pending");
    for (const card of this.tools.values()) if (card.dataset.state === "running") card.dataset.state = "unknown";
    // Stopping at a limit is a completed run (is_error with subtype error_max_*), not a failure.
    const subtype = String(result.subtype || "");
    const limit = subtype.startsWith("error_max_turns")
      ? "turn"
      : subtype.startsWith("error_max_budget")
        ? "budget"
        : "";
    if (result.is_error && !limit) return this.fail(result);
    if (!this.parts.querySelector(".markdown") && result.result) this.text(String(result.result));
    if (limit) this.notice(`Stopped at the ${limit} limit (${plural(Number(result.num_turns) || 0, "turn")}).`);
    else if (subtype.startsWith("error")) this.notice(`Stopped early (${subtype}).`);
    this.stats(result);
  }

  stats(result) {
    const usage = result.usage || {};
    const line = element(
      "p",
      "reply-stats muted",
      statsLine({
        turns: result.num_turns,
        input: usage.input_tokens,
        output: usage.output_tokens,
        cost: result.total_cost_usd,
        durationMs: result.duration_ms,
      }),
    );
    const cached = (usage.cache_read_input_tokens || 0) + (usage.cache_creation_input_tokens || 0);
    if (cached) line.title = `plus ${formatTokens(cached)} cached input tokens`;
    this.update(() => this.bubble.append(line));
  }

  notice(text) {
    this.update(() => this.bubble.append(element("p", "notice muted", text)));
  }

  /** Show an error body ({error: {code, message}} or an is_error result) plainly. */
  fail(body, status) {
    this.render();
    this.item.classList.remove("pending");
    const { kind, title, message } = describeError(body, status);
    if (kind === "stopped") {
      this.notice("Stopped.");
    } else {
      // The CLI words a failed model call as an assistant message; the alert says it once.
      for (const segment of this.segments)
        if (/^API Error\b/.test(segment.source)) segment.node.remove();
      this.segment = null;
      const box = element("div", "alert");
      box.setAttribute("role", "alert");
      box.append(element("strong", "", title));
      if (message && message !== title) box.append(element("p", "", message));
      this.update(() => this.bubble.append(box));
    }
    if (body && (body.num_turns || body.total_cost_usd)) this.stats(body);
  }
}
