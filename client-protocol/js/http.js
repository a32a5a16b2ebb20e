// http.js: the node's HTTP API (accounts and their renewal, users, finished and live games,
// queues, administration, tournaments), and URLs relative to the node. Every call takes
// `options.token` (Bearer), or `options.client`: a RookeryClient whose token is used, renewed
// first when it is expired or about to be.
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

async function httpJson(method, path, options = {}) {
  const { client } = options;
  if (client && options.token === undefined) {
    // The client's token, renewed first when it is expired or about to be; a 401 after that
    // renews once more (the node may have refused it for its own reasons) and tries again.
    const token = await client.freshToken();
    const through = { ...options, client: undefined, baseUrl: options.baseUrl ?? client.baseUrl, fetch: options.fetch ?? client.fetch, token };
    try {
      return await httpJson(method, path, through);
    } catch (error) {
      if (error.status !== 401 || error.code !== "unauthenticated" || !client.refreshToken) throw error;
      const renewed = await client.refresh();
      return httpJson(method, path, { ...through, token: renewed.token });
    }
  }
  const { baseUrl, body, token, fetch: fetchImpl } = options;
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

/**
 * When a JWT was issued and when it expires (ms since the epoch), read from its payload
 * without checking it (the node does that); null for what is not a JWT.
 */
export function tokenTimes(token) {
  try {
    const part = String(token).split(".")[1];
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    const claims = JSON.parse(atob(base64));
    if (!Number.isFinite(claims.exp)) return null;
    return { issuedAt: Number.isFinite(claims.iat) ? claims.iat * 1000 : null, expiresAt: claims.exp * 1000 };
  } catch {
    return null;
  }
}

/**
 * `POST /api/auth/guest`: a guest account. Resolves with
 * `{token, session, user, refreshToken, expiresAt}` (as do `register` and `login`).
 */
export function guest(options = {}) {
  return httpJson("POST", "api/auth/guest", options);
}

/** `POST /api/auth/register`. Resolves with `{token, session, user, refreshToken, expiresAt}`. */
export function register(username, password, options = {}) {
  return httpJson("POST", "api/auth/register", { ...options, body: { username, password } });
}

/** `POST /api/auth/login`. Resolves with `{token, session, user, refreshToken, expiresAt}`. */
export function login(username, password, options = {}) {
  return httpJson("POST", "api/auth/login", { ...options, body: { username, password } });
}

/**
 * `POST /api/auth/refresh`: a refresh token renews the sign-in. Resolves with
 * `{token, session, user, refreshToken, expiresAt}`; the refresh token passed is spent (keep
 * the new one). `refreshToken` null leaves it to the browser's `rookery_refresh` cookie;
 * `options.session` is the session to keep (else a new one starts). A bad, spent or revoked
 * refresh token: `unauthenticated` (401).
 */
export function refresh(refreshToken, options = {}) {
  const body = {};
  if (refreshToken) body.refreshToken = refreshToken;
  if (options.session) body.session = options.session;
  return httpJson("POST", "api/auth/refresh", { ...options, token: undefined, client: undefined, body });
}

/**
 * `POST /api/auth/logout`: ends the sign-in on every node (`options.token` as Bearer and/or
 * `options.refreshToken`; an expired access token still logs out, and in a browser the
 * cookies stand in for both). The session `options.session` can no longer be resumed.
 * Resolves with null (204); `unauthenticated` (401) when neither token is valid.
 */
export function logout(options = {}) {
  const { refreshToken, session, ...rest } = options;
  const body = {};
  if (refreshToken) body.refreshToken = refreshToken;
  if (session) body.session = session;
  const query = session ? `?${new URLSearchParams({ session })}` : "";
  return httpJson("POST", `api/auth/logout${query}`, { ...rest, client: undefined, body });
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

/**
 * `GET /api/games/live?game=&limit=` (v1.1): the games being played, most watched first;
 * `game` (a kind) filters, `limit` is 1-100. Resolves with `{games}`.
 */
export function getLiveGames(query = {}, options = {}) {
  const params = new URLSearchParams();
  if (query.game) params.set("game", query.game);
  if (query.limit != null) params.set("limit", String(query.limit));
  const search = params.toString();
  return httpJson("GET", `api/games/live${search ? `?${search}` : ""}`, options);
}

// ----- administration (v1.1): roles, moderation, the audit log ---------------------------------
// Every route takes `options.token` (Bearer) and the node checks the role on each call: 401
// without a valid token, 403 `forbidden` without the role, then 404 for an unknown user.

/** Every audit event type, in the protocol's order (the `AuditType` of the schema). */
export const AUDIT_TYPES = Object.freeze([
  "register", "login", "login_failed", "logout", "token_refused", "session_refused",
  "origin_refused", "rate_limited", "role_changed", "ban", "unban", "mute", "unmute",
  "tournament_created", "tournament_cancelled", "registration_added", "registration_removed",
  "playban", "cheat_flagged", "job_buried", "event_dead_lettered", "chat_deleted",
]);

const adminUserPath = (name, rest = "") => `api/admin/users/${encodeURIComponent(name)}${rest}`;

/** `GET /api/admin/users/{name}` (moderator): the account with its roles, sanctions and flags. */
export function getAdminUser(name, options = {}) {
  return httpJson("GET", adminUserPath(name), options);
}

/** `PUT /api/admin/users/{name}/roles` (admin). Resolves with the account as it is now. */
export function setUserRoles(name, roles, options = {}) {
  return httpJson("PUT", adminUserPath(name, "/roles"), { ...options, body: { roles } });
}

const sanctionBody = ({ reason = "", durationMs = null } = {}) => ({ reason, durationMs });

/** `POST /api/admin/users/{name}/ban` (moderator): `durationMs` null bans until lifted. */
export function banUser(name, sanction, options = {}) {
  return httpJson("POST", adminUserPath(name, "/ban"), { ...options, body: sanctionBody(sanction) });
}

/** `DELETE /api/admin/users/{name}/ban` (moderator). */
export function unbanUser(name, options = {}) {
  return httpJson("DELETE", adminUserPath(name, "/ban"), options);
}

/** `POST /api/admin/users/{name}/mute` (moderator): `durationMs` null mutes until lifted. */
export function muteUser(name, sanction, options = {}) {
  return httpJson("POST", adminUserPath(name, "/mute"), { ...options, body: sanctionBody(sanction) });
}

/** `DELETE /api/admin/users/{name}/mute` (moderator). */
export function unmuteUser(name, options = {}) {
  return httpJson("DELETE", adminUserPath(name, "/mute"), options);
}

const AUDIT_FILTERS = ["type", "actor", "target", "since", "until", "limit", "before"];

/**
 * `GET /api/admin/audit` (admin): `{events, next}`, newest first. `query` holds any of `type`,
 * `actor`, `target`, `since`, `until` (ms instants), `limit` and `before` (the `next` of the
 * page before); empty and null ones are left out.
 */
export function searchAudit(query = {}, options = {}) {
  const params = new URLSearchParams();
  for (const key of AUDIT_FILTERS) {
    const value = query[key];
    if (value != null && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return httpJson("GET", `api/admin/audit${search ? `?${search}` : ""}`, options);
}

/** `GET /api/admin/audit/verify` (admin): walks the hash chain, `{ok, checked, firstBad}`. */
export function verifyAudit(options = {}) {
  return httpJson("GET", "api/admin/audit/verify", options);
}

// ----- tournaments (v1.1) ----------------------------------------------------------------------
// Anyone lists and reads them; players join and withdraw with their own `options.token`; the
// admin routes (create, cancel, registrations) check the `admin` role on every call (401, then
// 403 `forbidden`, then 404 `not_found`). Refusals: `tournament_full` and `tournament_closed`
// (409), a guest joining a rated tournament `forbidden` (403), `invalid_field` (400).

/** Every status a tournament goes through, in order (the `TournamentStatus` of the schema). */
export const TOURNAMENT_STATUSES = Object.freeze(["created", "started", "finished", "cancelled"]);

const tournamentPath = (id, rest = "") => `api/tournaments/${encodeURIComponent(id)}${rest}`;

/**
 * `GET /api/tournaments?status=`: `{tournaments}`, at most 100; `created` soonest first, the
 * others newest first. `query.status` empty or null lists every status.
 */
export function getTournaments(query = {}, options = {}) {
  const status = query?.status;
  const search = status ? `?${new URLSearchParams({ status })}` : "";
  return httpJson("GET", `api/tournaments${search}`, options);
}

/** `GET /api/tournaments/{id}`: the tournament view. */
export function getTournament(id, options = {}) {
  return httpJson("GET", tournamentPath(id), options);
}

/**
 * `POST /api/tournaments` (admin): resolves with the new tournament's view (201). `spec`:
 * `{name, format, game, clock, rated, startsAt, durationMs, rounds, maxPlayers}`; `clock`
 * null (or absent) is untimed, `durationMs` is for an arena, `rounds` (1-20) for a swiss, and
 * what is absent is sent as null. A `startsAt` not in the future starts at once.
 */
export function createTournament(spec, options = {}) {
  const body = {
    name: spec.name,
    format: spec.format,
    game: spec.game,
    clock: spec.clock ?? null,
    rated: Boolean(spec.rated),
    startsAt: spec.startsAt,
    durationMs: spec.durationMs ?? null,
    rounds: spec.rounds ?? null,
    maxPlayers: spec.maxPlayers ?? null,
  };
  return httpJson("POST", "api/tournaments", { ...options, body });
}

/** `POST /api/tournaments/{id}/cancel` (admin): resolves with the view, `cancelled`. */
export function cancelTournament(id, options = {}) {
  return httpJson("POST", tournamentPath(id, "/cancel"), options);
}

/** `POST /api/tournaments/{id}/join`: the caller (`options.token`) registers; resolves with the view. */
export function joinTournament(id, options = {}) {
  return httpJson("POST", tournamentPath(id, "/join"), options);
}

/** `POST /api/tournaments/{id}/withdraw`: the caller withdraws; resolves with the view. */
export function withdrawTournament(id, options = {}) {
  return httpJson("POST", tournamentPath(id, "/withdraw"), options);
}

/** `GET /api/tournaments/{id}/registrations` (admin): `{registrations: [{name, rating, registeredAt, by}]}`, oldest first. */
export function getRegistrations(id, options = {}) {
  return httpJson("GET", tournamentPath(id, "/registrations"), options);
}

/** `POST /api/tournaments/{id}/registrations` `{username}` (admin): registers that player; resolves with the view. */
export function addRegistration(id, username, options = {}) {
  return httpJson("POST", tournamentPath(id, "/registrations"), { ...options, body: { username } });
}

/** `DELETE /api/tournaments/{id}/registrations/{name}` (admin): removes that player; resolves with the view. */
export function removeRegistration(id, name, options = {}) {
  return httpJson("DELETE", tournamentPath(id, `/registrations/${encodeURIComponent(name)}`), options);
}
