// Signing in with an API key: the key prompt, the login cookie for EventSource, and call(),
// the api() that asks for the key on a 401 and retries.
import { api, ApiError, auth, login, logout } from "/static/api.js";

const $ = (id) => document.getElementById(id);
const dialog = $("key-dialog");
const form = $("key-form");
const input = $("key-input");
const remember = $("key-remember");
const error = $("key-error");
const forget = $("logout");

let keyPrompt = null;

/** Ask for the API key; every caller waiting on a 401 shares the same prompt. */
export function askForKey(message = "") {
  if (!keyPrompt) {
    keyPrompt = new Promise((resolve) => {
      error.textContent = message;
      input.value = "";
      dialog.showModal();
      input.focus();
      form.onsubmit = async (event) => {
        event.preventDefault();
        const key = input.value.trim();
        if (!key) return;
        error.textContent = "";
        try {
          await login(key);
        } catch (err) {
          // A server without the login route still takes the key in the header.
          if (!(err instanceof ApiError && err.status === 404)) {
            error.textContent =
              err.status === 401 || err.status === 403 ? "That key was not accepted." : err.message;
            return;
          }
        }
        auth.setKey(key, remember.checked);
        dialog.close();
        forget.hidden = false;
        keyPrompt = null;
        resolve();
      };
    });
  }
  return keyPrompt;
}

// Escape must not dismiss the key prompt: nothing works until it is answered.
dialog.addEventListener("cancel", (event) => event.preventDefault());

/** The key dialog is open (Esc belongs to it then). */
export const asking = () => dialog.open;

/** api() that asks for a key on 401 and retries. */
export async function call(path, options) {
  for (;;) {
    try {
      return await api(path, options);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        await askForKey(auth.key ? "That key is no longer accepted." : "");
        continue;
      }
      throw err;
    }
  }
}

/** Renew the login cookie from a remembered key (EventSource relies on the cookie). */
export async function renewLogin() {
  forget.hidden = !auth.key;
  if (auth.key) await login(auth.key).catch(() => {});
}

forget.addEventListener("click", async () => {
  await logout();
  auth.forget();
  location.reload();
});
