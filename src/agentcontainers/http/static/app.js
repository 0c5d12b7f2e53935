// The chat page: pick an agent, run prompts as background runs followed over SSE, list,
// resume and delete sessions. Uses only the public HTTP API (docs/http.md).
import { auth, followRun, login } from "/static/api.js";
import { Conversation, describeError, statsLine } from "/static/conversation.js";
import { handleCopyClick } from "/static/markdown.js";
import { renderSessionList, sessionsTotal } from "/static/sessions.js";
import { asking, call, renewLogin } from "/static/signin.js";

const $ = (id) => document.getElementById(id);
const ui = {
  sidebar: $("sidebar"),
  scrim: $("scrim"),
  menu: $("menu"),
  newChat: $("new-chat"),
  sessionList: $("session-list"),
  sessionsEmpty: $("sessions-empty"),
  usageTotal: $("usage-total"),
  agent: $("agent"),
  title: $("title"),
  connection: $("connection"),
  conversation: $("conversation"),
  welcome: $("welcome"),
  welcomeName: $("welcome-name"),
  welcomeDescription: $("welcome-description"),
  welcomeTools: $("welcome-tools"),
  composer: $("composer"),
  prompt: $("prompt"),
  send: $("send"),
  stop: $("stop"),
  sessionStats: $("session-stats"),
};

const AGENT_STORAGE = "agentcontainers.agent";
const RUN_STORAGE = "agentcontainers.run";

const state = {
  agents: [],
  sessions: [],
  sessionId: null, // the session shown (null: a new chat)
  sessionAgent: null,
  run: null, // {id, follower, reply, stopping, agent, prompt}
};

const conversation = new Conversation($("messages"), ui.conversation);

// --- agents ------------------------------------------------------------------------------

async function loadAgents() {
  state.agents = (await call("/v1/agents")) || [];
  if (!Array.isArray(state.agents)) state.agents = state.agents.agents || [];
  ui.agent.replaceChildren(
    ...state.agents.map((agent) => {
      const option = document.createElement("option");
      option.value = agent.name;
      option.textContent = agent.name;
      option.title = agent.description || "";
      return option;
    }),
  );
  // The last agent used here, else the server's default, else the built-in assistant.
  const known = (name) => name && state.agents.some((a) => a.name === name);
  const preferred = [localStorage.getItem(AGENT_STORAGE), state.agents.find((a) => a.default)?.name, "assistant"];
  const choice = preferred.find(known);
  if (choice) ui.agent.value = choice;
  showWelcome();
}

const currentAgent = () => state.sessionAgent || ui.agent.value;

function showWelcome() {
  const agent = state.agents.find((a) => a.name === ui.agent.value);
  ui.welcomeName.textContent = agent ? `Chat with ${agent.name}` : "No agents are configured";
  ui.welcomeDescription.textContent = agent?.description || "";
  const tools = [...(agent?.tools || []), ...(agent?.mcp_servers || []).map((name) => `${name} (MCP)`)];
  ui.welcomeTools.textContent = tools.length ? `Tools: ${tools.join(", ")}` : "";
  ui.welcome.hidden = !conversation.empty;
}

ui.agent.addEventListener("change", () => {
  localStorage.setItem(AGENT_STORAGE, ui.agent.value);
  // A session belongs to one agent: another agent means a new chat.
  if (state.sessionId && state.sessionAgent !== ui.agent.value) newChat({ keepAgent: true });
  showWelcome();
});

// --- sessions ----------------------------------------------------------------------------

async function loadSessions() {
  const data = (await call("/v1/sessions")) || [];
  state.sessions = Array.isArray(data) ? data : data.sessions || [];
  state.sessions.sort((a, b) => (b.updated_at || 0) - (a.updated_at || 0));
  renderSessions();
}

function renderSessions() {
  ui.sessionsEmpty.hidden = state.sessions.length > 0;
  renderSessionList(ui.sessionList, state.sessions, {
    current: state.sessionId,
    onOpen: (id) => openSession(id),
    onDelete: (id) => deleteSession(id),
  });
  ui.usageTotal.textContent = sessionsTotal(state.sessions);
  showSessionStats();
}

async function deleteSession(id) {
  try {
    await call(`/v1/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
  } catch (err) {
    return toast(`Could not delete the session: ${err.message}`);
  }
  if (state.sessionId === id) newChat();
  await loadSessions().catch(() => {});
}

function showSessionStats() {
  const session = state.sessions.find((s) => s.session_id === state.sessionId);
  ui.sessionStats.textContent = session
    ? `Session: ${statsLine({ turns: session.turns, input: session.input_tokens, output: session.output_tokens, cost: session.total_cost_usd })}`
    : "";
  ui.sessionStats.hidden = !session;
}

async function openSession(id, { quiet = false, pendingPrompt = "" } = {}) {
  if (state.run && state.sessionId !== id) detachRun();
  closeDrawer();
  let session;
  try {
    session = await call(`/v1/sessions/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!quiet) toast(err.status === 404 ? "That session no longer exists." : err.message);
    return false;
  }
  state.sessionId = id;
  state.sessionAgent = session.agent || null;
  if (session.agent && state.agents.some((a) => a.name === session.agent)) ui.agent.value = session.agent;
  setTitle(session.title);
  conversation.showTranscript(session.transcript || [], { cutAtPrompt: pendingPrompt });
  ui.welcome.hidden = !conversation.empty;
  history.replaceState(null, "", `#session=${encodeURIComponent(id)}`);
  const known = state.sessions.findIndex((s) => s.session_id === id);
  const { transcript, ...record } = session;
  if (known >= 0) state.sessions[known] = { ...state.sessions[known], ...record };
  renderSessions();
  ui.prompt.focus({ preventScroll: true });
  return true;
}

function newChat({ keepAgent = false } = {}) {
  if (state.run) detachRun();
  state.sessionId = null;
  state.sessionAgent = null;
  if (!keepAgent) ui.agent.value = localStorage.getItem(AGENT_STORAGE) || ui.agent.value;
  conversation.clear();
  setTitle("");
  history.replaceState(null, "", location.pathname);
  renderSessions();
  showWelcome();
  closeDrawer();
  ui.prompt.focus();
}

function setTitle(title) {
  ui.title.textContent = title || "New chat";
  document.title = title ? `${title} · AgentContainers` : "AgentContainers";
}

ui.newChat.addEventListener("click", () => newChat());

// --- runs --------------------------------------------------------------------------------

function setRunning(running) {
  ui.send.hidden = running;
  ui.stop.hidden = !running;
  ui.agent.disabled = running;
  ui.composer.classList.toggle("running", running);
}

async function send(prompt) {
  if (state.run || !prompt.trim()) return;
  const agent = currentAgent();
  if (!agent) return toast("No agent to talk to.");
  ui.welcome.hidden = true;
  conversation.addUser(prompt);
  const reply = conversation.addReply();
  const body = { prompt };
  if (state.sessionId) body.resume_session_id = state.sessionId;
  state.run = { id: null, reply, stopping: false, follower: null, agent, prompt };
  setRunning(true);
  let started;
  try {
    // The key makes a retried POST (after a 401 prompt, say) join the run it already started.
    const headers = { "Idempotency-Key": randomKey() };
    const url = `/v1/agents/${encodeURIComponent(agent)}/runs?text_deltas=true`;
    started = await call(url, { method: "POST", body, headers });
  } catch (err) {
    reply.fail(err.body || { error: { message: err.message } }, err.status);
    endRun();
    return;
  }
  if (!state.run || state.run.reply !== reply) return;
  if (!state.sessionId) {
    if (started.session_id) adoptSession(started.session_id, agent, prompt);
    else setTitle(prompt.slice(0, 60));
  }
  state.run.id = started.run_id;
  saveRun();
  attach(started.run_id, reply, 0);
  if (state.run.stopping) stop();
}

/** A random id; crypto.randomUUID() exists only on secure origins (https, localhost). */
function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A new chat got its session id: remember it in the URL and the list. */
function adoptSession(id, agent, prompt) {
  if (state.sessionId === id) return;
  state.sessionId = id;
  state.sessionAgent = agent;
  history.replaceState(null, "", `#session=${encodeURIComponent(id)}`);
  if (!state.sessions.some((s) => s.session_id === id)) {
    const now = Date.now() / 1000;
    state.sessions.unshift({ session_id: id, agent, title: prompt.slice(0, 80), created_at: now, updated_at: now, turns: 0, total_cost_usd: 0, status: "running" });
  }
  setTitle(state.sessions.find((s) => s.session_id === id)?.title || prompt.slice(0, 80));
  renderSessions();
  saveRun();
}

function attach(runId, reply, afterId, retried = false) {
  const run = state.run;
  run.follower = followRun(runId, {
    afterId,
    onEvent: (name, data) => onRunEvent(run, name, data),
    onConnection: (status) => setConnection(status === "reconnecting" ? "Reconnecting…" : ""),
    onLost: async (lastId) => {
      // The server refused the stream (an expired login cookie, a restart): renew the cookie
      // and try once more from the last event seen, then fall back to the run's own record.
      if (state.run !== run) return;
      let info;
      try {
        info = await call(`/v1/runs/${encodeURIComponent(runId)}`);
      } catch (err) {
        const message = err.status === 404 ? "The run was lost: the server no longer knows it." : err.message;
        reply.fail({ error: { message } }, err.status);
        return endRun();
      }
      if (state.run !== run) return;
      if (!retried) {
        if (auth.key) await login(auth.key).catch(() => {});
        return attach(runId, reply, lastId, true);
      }
      if (info.result) return onRunEvent(run, info.http_status === 200 ? "result" : "error", info.result);
      reply.fail({ error: { message: "Lost the connection to this run; it goes on on the server." } });
      endRun();
    },
  });
}

function onRunEvent(run, name, data) {
  if (state.run !== run) return;
  const { reply } = run;
  setConnection("");
  switch (name) {
    case "run":
    case "init":
      if (data.session_id && !state.sessionId) adoptSession(data.session_id, run.agent, run.prompt);
      break;
    case "text":
      if (!data.parent_tool_use_id) reply.text(data.text || "", { block: true });
      break;
    case "text_delta":
      if (!data.parent_tool_use_id) reply.delta(data.text || "");
      break;
    case "tool_use":
      reply.toolUse(data);
      break;
    case "tool_result":
      reply.toolResult(data);
      break;
    case "result":
      if (data.session_id && !state.sessionId) adoptSession(data.session_id, run.agent, run.prompt);
      reply.finish(data);
      endRun();
      break;
    case "error":
      reply.fail(data);
      endRun();
      break;
  }
}

function endRun() {
  if (state.run?.follower) state.run.follower.close();
  state.run = null;
  sessionStorage.removeItem(RUN_STORAGE);
  setRunning(false);
  setConnection("");
  loadSessions().catch(() => {});
}

/** Stop following the current run (the run itself goes on on the server). */
function detachRun() {
  state.run?.follower?.close();
  state.run = null;
  setRunning(false);
  setConnection("");
}

async function stop() {
  const run = state.run;
  if (!run) return;
  run.stopping = true;
  if (!run.id) return; // stopped as soon as the run has an id (see send)
  ui.stop.disabled = true;
  try {
    await call(`/v1/runs/${encodeURIComponent(run.id)}/cancel`, { method: "POST" });
  } catch (err) {
    if (err.status !== 404 && err.status !== 409) toast(`Could not stop the run: ${err.message}`);
  } finally {
    ui.stop.disabled = false;
  }
}

const ACTIVE = new Set(["queued", "running"]);

/** Remember the run this tab follows, so a reload can pick it up again. */
function saveRun() {
  const run = state.run;
  if (!run?.id) return;
  const saved = { runId: run.id, sessionId: state.sessionId, agent: run.agent, prompt: run.prompt };
  sessionStorage.setItem(RUN_STORAGE, JSON.stringify(saved));
}

/** The run this tab was following before a reload, if it is still going. */
async function savedActiveRun() {
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(RUN_STORAGE) || "null");
  } catch {
    /* unreadable: forget it */
  }
  sessionStorage.removeItem(RUN_STORAGE);
  if (!saved?.runId) return null;
  try {
    const info = await call(`/v1/runs/${encodeURIComponent(saved.runId)}`);
    if (!ACTIVE.has(info?.status)) return null;
    return { ...saved, sessionId: info.session_id || saved.sessionId };
  } catch {
    return null;
  }
}

/** Follow a run again after a reload: its events are replayed from the first one. */
function resumeRun(saved) {
  if (!state.sessionId && saved.agent && state.agents.some((a) => a.name === saved.agent))
    ui.agent.value = saved.agent;
  if (saved.prompt) conversation.addUser(saved.prompt);
  ui.welcome.hidden = true;
  const reply = conversation.addReply();
  state.run = { id: saved.runId, reply, stopping: false, follower: null, agent: saved.agent || currentAgent(), prompt: saved.prompt || "" };
  saveRun();
  setRunning(true);
  attach(saved.runId, reply, 0);
}

function setConnection(text) {
  ui.connection.textContent = text;
}

// --- composer and shortcuts --------------------------------------------------------------

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const prompt = ui.prompt.value;
  if (!prompt.trim() || state.run) return;
  ui.prompt.value = "";
  autosize();
  send(prompt);
});

ui.prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

function autosize() {
  if (CSS.supports?.("field-sizing", "content")) return;
  ui.prompt.style.height = "auto";
  ui.prompt.style.height = `${Math.min(ui.prompt.scrollHeight, 240)}px`;
}
ui.prompt.addEventListener("input", autosize);

ui.stop.addEventListener("click", stop);

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !asking()) {
    if (state.run) {
      event.preventDefault();
      stop();
    } else if (ui.sidebar.classList.contains("open")) {
      closeDrawer();
    }
  } else if (event.key.toLowerCase() === "o" && event.shiftKey && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    newChat();
  }
});

document.addEventListener("click", handleCopyClick);

// --- phone drawer ------------------------------------------------------------------------

function openDrawer() {
  ui.sidebar.classList.add("open");
  ui.scrim.hidden = false;
  ui.menu.setAttribute("aria-expanded", "true");
}

function closeDrawer() {
  ui.sidebar.classList.remove("open");
  ui.scrim.hidden = true;
  ui.menu.setAttribute("aria-expanded", "false");
}

ui.menu.addEventListener("click", () => (ui.sidebar.classList.contains("open") ? closeDrawer() : openDrawer()));
ui.scrim.addEventListener("click", closeDrawer);

// --- toasts ------------------------------------------------------------------------------

function toast(message) {
  const node = document.createElement("div");
  node.className = "toast";
  node.setAttribute("role", "alert");
  node.textContent = message;
  document.body.append(node);
  setTimeout(() => node.remove(), 5000);
}

// --- start -------------------------------------------------------------------------------

async function boot() {
  await renewLogin();
  try {
    await loadAgents();
    await loadSessions();
  } catch (err) {
    const { title, message } = describeError(err.body || { error: { message: err.message } }, err.status);
    conversation.addReply().fail({ error: { message: `${title}: ${message}` } });
    return;
  }
  const pending = await savedActiveRun();
  const match = /#session=([^&]+)/.exec(location.hash);
  const sessionId = pending?.sessionId || (match && decodeURIComponent(match[1]));
  if (sessionId) await openSession(sessionId, { quiet: true, pendingPrompt: pending?.prompt });
  if (pending) resumeRun(pending);
  document.body.dataset.ready = "true";
  ui.prompt.focus({ preventScroll: true });
}

boot();
