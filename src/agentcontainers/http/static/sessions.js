// The session list in the sidebar: one row per session (open it, delete it in two taps).
import { formatCost } from "/static/conversation.js";

function relativeTime(seconds) {
  if (!seconds) return "";
  const ms = seconds > 1e12 ? seconds : seconds * 1000;
  const diff = (Date.now() - ms) / 1000;
  if (diff < 60) return "just now";
  if (diff < 3600) return `${Math.floor(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.floor(diff / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * Render the sessions into the list.
 * @param {HTMLElement} list the <ul>
 * @param {object[]} sessions records from GET /v1/sessions
 * @param {{current: string|null, onOpen: (id: string) => void, onDelete: (id: string) => void}} options
 */
export function renderSessionList(list, sessions, { current, onOpen, onDelete }) {
  list.replaceChildren(
    ...sessions.map((session) => {
      const item = document.createElement("li");
      item.className = "session";
      item.dataset.sessionId = session.session_id;
      if (session.session_id === current) item.setAttribute("aria-current", "true");

      const open = document.createElement("button");
      open.type = "button";
      open.className = "session-open";
      const title = document.createElement("span");
      title.className = "session-title";
      title.textContent = session.title || "Untitled session";
      const meta = document.createElement("span");
      meta.className = "session-meta muted";
      const parts = [session.agent, relativeTime(session.updated_at), plural(Number(session.turns) || 0, "turn"), formatCost(session.total_cost_usd)];
      if (session.status === "running") parts.push("running");
      meta.textContent = parts.filter(Boolean).join(" · ");
      open.append(title, meta);
      open.addEventListener("click", () => onOpen(session.session_id));

      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "session-delete";
      remove.textContent = "✕";
      remove.title = "Delete";
      remove.setAttribute("aria-label", `Delete session ${session.title || session.session_id}`);
      remove.addEventListener("click", () => {
        if (arm(remove)) onDelete(session.session_id);
      });
      item.append(open, remove);
      return item;
    }),
  );
}

/** Two taps to delete: the first arms the button for a few seconds. True on the second. */
function arm(button) {
  if (button.dataset.armed === "true") return true;
  button.dataset.armed = "true";
  button.textContent = "Delete";
  button.classList.add("armed");
  setTimeout(() => {
    button.dataset.armed = "false";
    button.textContent = "✕";
    button.classList.remove("armed");
  }, 3000);
  return false;
}

/** "3 sessions · $0.12 in total" */
export function sessionsTotal(sessions) {
  if (!sessions.length) return "";
  const total = sessions.reduce((sum, s) => sum + (Number(s.total_cost_usd) || 0), 0);
  return `${plural(sessions.length, "session")} · ${formatCost(total)} in total`;
}
