// messages.js: every message type of the protocol, both ways, and the `RookeryClient` method
// that sends each client message (schema.test.mjs checks both lists against the schema).

/** Every `type` a client may send (`server/` and `game/`), as in the schema. */
export const CLIENT_MESSAGE_TYPES = Object.freeze([
  "server/REGISTER_USER",
  "server/LOGIN",
  "server/GUEST",
  "server/START_MATCHMAKING",
  "server/CANCEL_MATCHMAKING",
  "server/REPLY_MATCHUP",
  "game/PLAYER_READY",
  "game/PLAYER_MOVE",
  "game/OFFER_DRAW",
  "game/DECLINE_DRAW",
  "game/CONCEDE",
  "server/JOIN_TOURNAMENT",
  "server/WITHDRAW_TOURNAMENT",
  "server/WATCH_TOURNAMENT",
  "server/UNWATCH_TOURNAMENT",
  "server/WATCH_GAME",
  "server/UNWATCH_GAME",
  "server/CHAT_JOIN",
  "server/CHAT_LEAVE",
  "server/CHAT_SEND",
  "server/CHAT_DELETE",
]);

/** Every `type` a node sends (`client/`): each is also an event name of `RookeryClient`. */
export const SERVER_MESSAGE_TYPES = Object.freeze([
  "client/SESSION_STARTED",
  "client/RESUME_SESSION",
  "client/QUEUED",
  "client/ALREADY_IN_QUEUE",
  "client/QUEUE_LEFT",
  "client/PROPOSE_MATCHUP",
  "client/MATCHUP_CANCELLED",
  "client/START_GAME",
  "client/RESUME_GAME",
  "client/UPDATE_GAME",
  "client/OFFER_DRAW",
  "client/OPPONENT_PRESENCE",
  "client/GAME_OVER",
  "client/TOURNAMENT_JOINED",
  "client/TOURNAMENT_LEFT",
  "client/TOURNAMENT_UPDATE",
  "client/NOTIFICATION",
  "client/WATCH_GAME",
  "client/UNWATCHED",
  "client/CROWD",
  "client/CHAT_HISTORY",
  "client/CHAT_MESSAGE",
  "client/CHAT_DELETED",
  "client/ERROR",
]);

function camelMethod(type) {
  const name = type.split("/")[1].toLowerCase();
  return name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
}

/** The helper method of `RookeryClient` for each client message type. */
export const HELPERS = Object.freeze(
  Object.fromEntries(CLIENT_MESSAGE_TYPES.map((type) => [type, camelMethod(type)])),
);
