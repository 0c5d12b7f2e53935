// The HTTP API (docs/http.md) as the browser uses it: JSON calls with an optional bearer key,
// and run events over EventSource that survive dropped connections.

const KEY_STORAGE = "agentcontainers.apiKey";

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the server could not be reached)
   * @param {object} body the parsed error body, if any
   */
  constructor(status, body, fallback) {
    const error = (body && body.error) || {};
    super(error.message || (body && body.result) || fallback || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (body && body.subtype) || "";
    this.body = body;
  }
}

export const auth = {
  get key() {
    try {
      return localStorage.getItem(KEY_STORAGE) || sessionKey;
    } catch {
      return sessionKey;
    }
  },
  /** Keep the key in this browser (remember) or for this page only. */
  setKey(key, remember) {
    sessionKey = key;
    try {
      if (remember) localStorage.setItem(KEY_STORAGE, key);
      else localStorage.removeItem(KEY_STORAGE);
    } catch {
      /* storage disabled: the cookie still carries the login */
    }
  },
  forget() {
    sessionKey = "";
    try {
      localStorage.removeItem(KEY_STORAGE);
    } catch {
      /* nothing stored */
    }
  },
};
let sessionKey = "";

/**
 * Call the API. Resolves to the parsed JSON body (or null for 204); rejects with ApiError.
 * @param {string} path
 * @param {{method?: string, body?: any, key?: string, headers?: object, signal?: AbortSignal}} [options]
 */
export async function api(path, { method = "GET", body, key, headers: extra, signal } = {}) {
  const headers = { Accept: "application/json", ...extra };
  const bearer = key ?? auth.key;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, null, "The server could not be reached. Check your connection.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { result: text.slice(0, 300) };
    }
  }
  if (!response.ok) throw new ApiError(response.status, data, response.statusText);
  return data;
}

/** Exchange the bearer key for the HttpOnly cookie that EventSource needs. */
export function login(key) {
  return api("/v1/login", { method: "POST", key });
}

export function logout() {
  return api("/v1/logout", { method: "POST" }).catch(() => null);
}

const EVENT_NAMES = ["run", "init", "text", "text_delta", "tool_use", "tool_result", "result", "error"];
const FINAL = new Set(["result", "error"]);

/**
 * Follow a run's events. EventSource reconnects by itself after a dropped connection and sends
 * Last-Event-ID, so the server replays what was missed; ids already seen are skipped here too.
 *
 * @param {string} runId
 * @param {{onEvent: (name: string, data: any, id: number) => void,
 *          onConnection?: (state: "open"|"reconnecting") => void,
 *          onLost?: () => void, afterId?: number}} handlers
 * @returns {{close: () => void}}
 */
export function followRun(runId, { onEvent, onConnection, onLost, afterId = 0 }) {
  let lastId = afterId;
  let done = false;
  const query = afterId ? `?last_event_id=${afterId}` : "";
  const source = new EventSource(`/v1/runs/${encodeURIComponent(runId)}/events${query}`);
  const close = () => {
    done = true;
    source.close();
  };
  for (const name of EVENT_NAMES) {
    source.addEventListener(name, (message) => {
      // A server event named "error" shares its name with EventSource's own connection error.
      if (done || !(message instanceof MessageEvent)) return;
      const id = Number(message.lastEventId);
      if (Number.isFinite(id) && id > 0) {
        if (id <= lastId) return;
        lastId = id;
      }
      let data = {};
      try {
        data = message.data ? JSON.parse(message.data) : {};
      } catch {
        data = { text: message.data };
      }
      if (FINAL.has(name)) close();
      onEvent(name, data, lastId);
    });
  }
  source.addEventListener("open", () => onConnection?.("open"));
  source.addEventListener("error", (event) => {
    if (done || event instanceof MessageEvent) return;
    if (source.readyState === EventSource.CONNECTING) {
      onConnection?.("reconnecting");
    } else {
      // The server refused the stream (401, 404, ...): the caller asks the run's status.
      close();
      onLost?.(lastId);
    }
  });
  return { close, get lastId() { return lastId; } };
}
