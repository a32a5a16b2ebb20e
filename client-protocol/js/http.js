// http.js: the node's HTTP API (accounts, users, finished games, queues), and URLs relative to
// the node.
import { RookeryError } from "./errors.js";

function defaultBase() {
  if (typeof document !== "undefined" && document.baseURI) return document.baseURI;
  if (typeof location !== "undefined" && location.href) return location.href;
  throw new TypeError("rookery: pass baseUrl (e.g. 'http://127.0.0.1:8080') outside a browser");
}

/** Resolves a path (without leading slash) against the node's base URL. */
export function resolve(path, baseUrl) {
  let base = baseUrl ?? defaultBase();
  if (baseUrl != null && !String(base).endsWith("/")) base = `${base}/`;
  return new URL(path, base);
}

async function httpJson(method, path, { baseUrl, body, token, fetch: fetchImpl } = {}) {
  const doFetch = fetchImpl ?? globalThis.fetch;
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await doFetch(resolve(path, baseUrl), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  let value = null;
  try {
    value = text ? JSON.parse(text) : null;
  } catch {
    value = null;
  }
  if (!response.ok) {
    const code = value?.code ?? "http_error";
    throw new RookeryError(code, value?.message ?? `HTTP ${response.status}`, {
      status: response.status,
    });
  }
  return value;
}

/** `POST /api/auth/guest`: a guest account. Resolves with `{token, session, user}`. */
export function guest(options = {}) {
  return httpJson("POST", "api/auth/guest", options);
}

/** `POST /api/auth/register`. Resolves with `{token, session, user}`. */
export function register(username, password, options = {}) {
  return httpJson("POST", "api/auth/register", { ...options, body: { username, password } });
}

/** `POST /api/auth/login`. Resolves with `{token, session, user}`. */
export function login(username, password, options = {}) {
  return httpJson("POST", "api/auth/login", { ...options, body: { username, password } });
}

/** `GET /api/me` (with `options.token`, or the login cookie in a browser). */
export function me(options = {}) {
  return httpJson("GET", "api/me", options);
}

/** `GET /api/users/{name}`: a profile. */
export function getUser(name, options = {}) {
  return httpJson("GET", `api/users/${encodeURIComponent(name)}`, options);
}

/** `GET /api/users/{name}/games?limit=N`: finished games, newest first. */
export function getUserGames(name, options = {}) {
  const limit = options.limit ?? 20;
  return httpJson("GET", `api/users/${encodeURIComponent(name)}/games?limit=${limit}`, options);
}

/** `GET /api/games/{id}`: a finished game. */
export function getGame(id, options = {}) {
  return httpJson("GET", `api/games/${encodeURIComponent(id)}`, options);
}

/** `GET /api/queues`: players waiting per queue. */
export function getQueues(options = {}) {
  return httpJson("GET", "api/queues", options);
}
