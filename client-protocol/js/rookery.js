// rookery.js: the JavaScript SDK for the rookery wire protocol v1 (client-protocol/README.md).
//
// Plain ES modules with no dependencies: import this one in a browser straight from a node
// (`/sdk/rookery.js`) or in Node 20+ (pass a WebSocket implementation where there is no global
// one). Types are in rookery.d.ts; the message types there are generated from the JSON Schema
// in client-protocol/schema/ (npm run gen-types), and so is protocol.js.
//
// The modules behind it, by concern:
//   client.js      RookeryClient: events, the state getters, a method per client message
//   connection.js  the socket: opening, reconnect with backoff, session resume, close codes
//   requests.js    `ref` → promise matching, timeouts, re-sending what is safe to repeat
//   view.js        the state fold (identity, queue, matchup, game, watched games), the clock helpers
//   http.js        the HTTP API (sign-in renewal and logout too);  errors.js  RookeryError;
//                  messages.js  the message types
//   protocol.js    GENERATED: close codes, limits, timers from client-protocol/src/constants.rs

export * from "./protocol.js";
export { RookeryError } from "./errors.js";
export { CLIENT_MESSAGE_TYPES, HELPERS, SERVER_MESSAGE_TYPES } from "./messages.js";
export { getGame, getLiveGames, getQueues, getUser, getUserGames, guest, login, logout, me, refresh, register } from "./http.js";
export {
  AUDIT_TYPES, banUser, getAdminUser, muteUser, searchAudit, setUserRoles, unbanUser, unmuteUser, verifyAudit,
} from "./http.js";
export {
  addRegistration, cancelTournament, createTournament, getRegistrations, getTournament, getTournaments,
  joinTournament, removeRegistration, TOURNAMENT_STATUSES, withdrawTournament,
} from "./http.js";
export { opponentGraceLeftMs, remainingMs } from "./view.js";
export { backoffDelay, FINAL_CLOSE_CODES, RESTART_CLOSE_CODE } from "./connection.js";
export { connect, RookeryClient } from "./client.js";
