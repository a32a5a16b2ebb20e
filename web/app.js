// The rookery page: log in or play as a guest, queue, accept a matchup, play, see the result
// and the history. Everything goes through the SDK (../sdk/rookery.js), which reconnects and
// resumes by itself; the token and session are kept in localStorage so a reload resumes too.
// Access tokens live an hour: the SDK renews them with the refresh token (kept with them) before
// it reconnects or makes an HTTP call, and "Log out" ends the sign-in on the node.
// All URLs are relative, so the page works behind a proxy or load balancer unchanged. Each game
// kind's board (drawing, move list, clicks) is in boards/, found through boards.js. Staff (the
// `admin` and `moderator` roles) also get the admin view, in admin.js. Tournaments (the list,
// one tournament live, and for admins their creation and registrations) are a section below;
// the games a tournament starts open by themselves like any other. Spectators and chat: the
// lobby lists the live games (a click watches one, with the board and no controls), and a chat
// panel shows the lobby's room, the player's game room and the watched game's watchers' room.
import * as rookery from "../sdk/rookery.js";
import { createAdminView, durationText, isStaff } from "./admin.js";
import { BOARDS, boardFor, DEFAULT_KIND, renderBoard } from "./boards.js";
import { el } from "./dom.js";

const AUTH_KEY = "rookery.auth";
const PREFS_KEY = "rookery.prefs";

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const views = [...document.querySelectorAll("[data-view]")];

const ui = {
  client: null,
  /** The game whose result panel is showing (the game view stays until "New game"). */
  resultFor: null,
  /** The board's selection (chess: the selected square and its legal moves), from its `click`. */
  pick: null,
  /** A move sent and not yet answered: no second click meanwhile. */
  moving: false,
  /** The matchup already answered. */
  answered: null,
  matchupSeenAt: 0,
  queuedAt: 0,
  resignArmed: null,
  noticeTimer: null,
  lastStatus: new Map(),
  historyFor: null,
  /** Staff chose the admin view (shown while no game is on). */
  adminOpen: false,
  /** The tournaments view is open (shown while no game is on). */
  tournamentsOpen: false,
};

/** The tournaments part of the page (see "tournaments" below). */
const tour = {
  /** The list's status filter ("" for all), the list shown, and a counter against late answers. */
  filter: "",
  list: null,
  listLoads: 0,
  /** The tournament open (its id; watched while set), its latest view, and its registrations (admins). */
  id: null,
  view: null,
  registrations: null,
  registrationLoads: 0,
  /** A join, withdraw or cancel under way. */
  busy: false,
  cancelArmed: null,
  /** Tournament names by id, from every view seen (for the game header). */
  names: new Map(),
  /** Whether this user is registered, by tournament id, from the last TOURNAMENT_JOINED or _LEFT. */
  joined: new Map(),
  /** What was drawn last, so tables are rebuilt only when their data changed. */
  drawn: {},
};

const admin = createAdminView({ client: () => ui.client, token: () => loadJson(AUTH_KEY)?.token ?? null });

// ----- storage ---------------------------------------------------------------------------------

function loadJson(key) {
  try {
    return JSON.parse(localStorage.getItem(key) ?? "null");
  } catch {
    return null;
  }
}
const saveJson = (key, value) => localStorage.setItem(key, JSON.stringify(value));

/** What the page keeps to stay signed in: the SDK's identity (`session` and `tokens` events). */
function saveAuth({ token, refreshToken, expiresAt, session, user }) {
  saveJson(AUTH_KEY, { token, refreshToken: refreshToken ?? null, expiresAt: expiresAt ?? null, session, user });
}

// ----- notices ---------------------------------------------------------------------------------

function notify(text, { kind = "info", sticky = false, action } = {}) {
  const box = $("notice");
  box.replaceChildren(document.createTextNode(text));
  box.dataset.kind = kind;
  if (action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = action.label;
    button.addEventListener("click", () => {
      box.hidden = true;
      action.run();
    });
    box.append(" ", button);
  }
  box.hidden = false;
  clearTimeout(ui.noticeTimer);
  if (!sticky) ui.noticeTimer = setTimeout(() => (box.hidden = true), 6_000);
}

const ERROR_TEXT = {
  bad_credentials: "Wrong username or password.",
  username_taken: "That username is taken.",
  rate_limited: "Too many attempts: wait a minute and try again.",
  illegal_move: "That move is not legal.",
  not_your_turn: "It is your opponent's turn.",
  game_over: "The game is over.",
  unavailable: "The server is busy: try again in a moment.",
  timeout: "The server did not answer in time.",
  disconnected: "The connection dropped before the server answered.",
  tournament_full: "The tournament is full.",
  tournament_closed: "The tournament takes no more registrations.",
  in_tournament_game: "Finish your tournament game first.",
};
const errorText = (error) => ERROR_TEXT[error?.code] ?? error?.message ?? String(error);

// ----- connecting ------------------------------------------------------------------------------

/** Starts a client for stored or fresh credentials; it reconnects by itself from then on. */
function start(auth) {
  const previous = ui.client;
  ui.client = null;
  previous?.close();
  const client = new rookery.RookeryClient({
    token: auth.token,
    session: auth.session ?? null,
    // The SDK renews the token with it when it is about to expire (a reconnect, an HTTP call).
    refreshToken: auth.refreshToken ?? null,
    expiresAt: auth.expiresAt ?? null,
  });
  ui.client = client;
  ui.user = auth.user ?? null;
  const mine = (fn) => (payload) => {
    if (ui.client === client) fn(payload);
  };
  client.on("session", mine((identity) => {
    ui.user = identity.user;
    saveAuth(identity);
    render();
  }));
  // A renewal: keep the new pair (the old refresh token is spent).
  client.on("tokens", mine((identity) => {
    if (identity.token) saveAuth(identity);
  }));
  client.on("game", mine(onGame));
  client.on("message", mine(() => render()));
  client.on("connected", mine(() => render()));
  client.on("disconnected", mine(() => render()));
  client.on("reconnecting", mine(() => render()));
  client.on("closed", mine((event) => onClosed(client, event)));
  client.on("client/START_GAME", mine((view) => {
    // Matched in a queue, or started by a tournament (`tournament` set): either way the game
    // view takes over the page (see currentView) and the player is ready at once.
    ui.resultFor = null;
    ui.pick = null;
    ui.adminOpen = false;
    stopWatching();
    forgetGameRooms(view.game);
    joinRoom(`game:${view.game}`);
    ready(view.game);
  }));
  client.on("client/TOURNAMENT_UPDATE", mine(({ tournament }) => showTournament(tournament)));
  client.on("client/TOURNAMENT_JOINED", mine(({ tournament }) => tour.joined.set(tournament, true)));
  client.on("client/TOURNAMENT_LEFT", mine((left) => {
    tour.joined.set(left.tournament, false);
    if (left.reason === "cancelled") notify(`${tournamentName(left.tournament) ?? "A tournament you registered for"} was cancelled.`, { sticky: true });
  }));
  client.on("client/RESUME_GAME", mine((view) => {
    if (view.status === "waiting_ready") ready(view.game);
    if (view.status !== "over") joinRoom(`game:${view.game}`);
  }));
  // Spectators: the node watches the session's games again by itself after a reload or a
  // reconnect; chat lines, deletions and histories (the SDK joins its rooms again by itself).
  client.on("client/WATCH_GAME", mine(onWatchView));
  client.on("client/UNWATCHED", mine(({ game, ref }) => {
    // Not ours (ours close the view first): the node no longer counts this page as watching.
    if (ref || game !== spectate.id) return;
    stopWatching();
    notify("You no longer watch that game.");
    render();
  }));
  client.on("client/CHAT_HISTORY", mine(({ room, messages }) => {
    setLines(room, messages);
    render();
  }));
  client.on("client/CHAT_MESSAGE", mine((line) => {
    addLine(line);
    render();
  }));
  client.on("client/CHAT_DELETED", mine(({ room, id }) => {
    dropLine(room, id);
    render();
  }));
  client.on("client/QUEUED", mine(() => {
    ui.queuedAt = Date.now();
  }));
  client.on("client/PROPOSE_MATCHUP", mine((proposal) => {
    if (ui.answered !== proposal.matchup) ui.matchupSeenAt = Date.now();
  }));
  client.on("client/MATCHUP_CANCELLED", mine((m) => {
    if (client.queue) notify(m.reason === "declined" ? "Your opponent declined: you are back in the queue." : "Your opponent did not answer: you are back in the queue.");
  }));
  client.on("client/QUEUE_LEFT", mine((left) => {
    if (left.reason === "timeout") notify("You did not answer in time, so you left the queue.");
  }));
  // Something for this account (a sanction, a role, a game that ended while away): shown as
  // a notice; the full list is GET /api/me/notifications.
  client.on("client/NOTIFICATION", mine((notification) => {
    const about = notification.data?.tournament;
    const action = about ? { label: "Open", run: () => openTournament(about) } : undefined;
    notify(notification.text, { sticky: true, action });
  }));
  client.on("client/RESUME_SESSION", mine((resume) => {
    if (resume.queue) ui.queuedAt = ui.queuedAt || Date.now();
  }));
  client.connect().catch(() => {
    // handled by the "closed" event
  });
  // The lobby's chat, for as long as the page is open (the SDK joins it again on a new socket).
  joinRoom("lobby");
  // The tournament open in the page is watched on this client too.
  if (tour.id) watchOpenTournament(client, tour.id);
  render();
}

function onClosed(client, { error }) {
  const auth = loadJson(AUTH_KEY);
  if (error?.code === "forbidden" && auth) {
    // The stored session is not this user's: start a fresh one, reveal nothing.
    saveJson(AUTH_KEY, { ...auth, session: null });
    notify("That saved session belongs to another player, so a fresh one was started.", { kind: "error" });
    start({ ...auth, session: null });
  } else if (error?.code === "unauthenticated") {
    // The token was refused and could not be renewed (logged out elsewhere, or the refresh
    // token expired or was revoked).
    localStorage.removeItem(AUTH_KEY);
    ui.client = null;
    notify("Your login has expired: log in again.", { kind: "error", sticky: true });
  } else if (error?.code === "taken_over") {
    notify("This session is now open in another tab or window.", {
      sticky: true,
      action: { label: "Use it here", run: () => start(loadJson(AUTH_KEY) ?? auth) },
    });
  } else if (error?.code !== "closed") {
    notify(`Disconnected: ${errorText(error)}`, { kind: "error", sticky: true, action: { label: "Reconnect", run: () => start(loadJson(AUTH_KEY) ?? auth) } });
  }
  render();
}

function ready(game) {
  ui.client?.playerReady(game).catch((error) => {
    if (error.code !== "timeout") notify(errorText(error), { kind: "error" });
  });
}

function onGame(game) {
  const before = ui.lastStatus.get(game.game);
  ui.lastStatus.set(game.game, game.status);
  if (game.status === "over" && before !== "over") {
    ui.resultFor = game.game;
    ui.pick = null;
    const mine = game.ratingChange?.[game.you];
    if (mine && ui.user) ui.user = { ...ui.user, rating: mine.after };
    loadHistory(game.game);
  }
  render();
}

// ----- actions ---------------------------------------------------------------------------------

async function authenticate(action, form) {
  const error = $("auth-error");
  error.hidden = true;
  try {
    let auth;
    if (action === "guest") auth = await rookery.guest();
    else {
      const username = form.username.value.trim();
      const password = form.password.value;
      auth = action === "register" ? await rookery.register(username, password) : await rookery.login(username, password);
    }
    saveJson(AUTH_KEY, auth);
    start(auth);
  } catch (e) {
    error.textContent = errorText(e);
    error.hidden = false;
  }
}

function chosenQueue() {
  const game = document.querySelector('input[name="game"]:checked')?.value ?? DEFAULT_KIND;
  const clockValue = $("clock-select").value;
  const clock = clockValue === "untimed" ? null : (() => {
    const [initialMs, incrementMs] = clockValue.split("+").map(Number);
    return { initialMs, incrementMs };
  })();
  const rated = $("rated").checked && !ui.user?.guest;
  return { game, clock, rated };
}

async function queue(spec) {
  saveJson(PREFS_KEY, spec);
  ui.resultFor = null;
  try {
    const reply = await ui.client.startMatchmaking(spec);
    if (reply.type === "client/ALREADY_IN_QUEUE") notify("You are already in a queue.");
  } catch (error) {
    notify(errorText(error), { kind: "error" });
  }
  render();
}

function answer(accept) {
  const proposal = ui.client?.matchup;
  if (!proposal) return;
  ui.answered = proposal.matchup;
  ui.client.replyMatchup(proposal.matchup, accept).catch((error) => notify(errorText(error), { kind: "error" }));
  render();
}

async function move(text) {
  const client = ui.client;
  if (!client?.game || ui.moving) return;
  ui.moving = true;
  ui.pick = null;
  render();
  try {
    await client.move(text);
  } catch (error) {
    if (error.code !== "stale_seq") notify(errorText(error), { kind: "error" });
  } finally {
    ui.moving = false;
    render();
  }
}

function myTurn(game) {
  return game?.status === "playing" && game.toMove === game.you;
}

function onBoardClick(event) {
  const game = ui.client?.game;
  const target = event.target.closest("button");
  if (!game || !target || !myTurn(game) || ui.moving) return;
  const action = boardFor(game.kind)?.click(target, game, ui.pick);
  if (!action) return;
  if ("move" in action) return move(action.move);
  if (action.choose) return askChoice(action.choose);
  ui.pick = action.pick;
  render();
}

/** Lets the player pick one of several moves (a promotion) in a box over the board. */
function askChoice(choices) {
  const box = $("promotion");
  box.replaceChildren();
  for (const choice of choices) {
    const b = document.createElement("button");
    b.type = "button";
    Object.assign(b.dataset, choice.data);
    b.textContent = choice.text;
    b.setAttribute("aria-label", choice.label);
    b.addEventListener("click", () => {
      box.hidden = true;
      move(choice.move);
    });
    box.append(b);
  }
  box.hidden = false;
}

function resign() {
  const button = $("resign");
  if (ui.resignArmed) {
    clearTimeout(ui.resignArmed);
    ui.resignArmed = null;
    button.textContent = "Resign";
    ui.client?.concede().catch((error) => notify(errorText(error), { kind: "error" }));
    return;
  }
  button.textContent = "Really resign?";
  ui.resignArmed = setTimeout(() => {
    ui.resignArmed = null;
    button.textContent = "Resign";
  }, 4_000);
}

// ----- history ---------------------------------------------------------------------------------

const kindTitle = (kind) => boardFor(kind)?.title ?? kind;
const REASON = {
  checkmate: "checkmate",
  resign: "resignation",
  timeout: "time",
  draw_agreed: "agreement",
  stalemate: "stalemate",
  repetition: "threefold repetition",
  fifty_moves: "the fifty-move rule",
  insufficient_material: "insufficient material",
  abandoned: "abandonment",
  line: "a line",
  board_full: "a full board",
};

const clockText = (clock) => {
  if (!clock) return "untimed";
  const minutes = clock.initialMs / 60_000;
  return clock.incrementMs ? `${minutes} + ${clock.incrementMs / 1000}` : `${minutes} min`;
};

/** Why a game ended, in words, for the player whose outcome is `cls` (won, lost, draw...). */
function reasonText(reason, kind, cls) {
  const own = boardFor(kind)?.reasons?.[reason];
  if (own) return own;
  if (reason === "timeout") return cls === "draw" ? "on time, no mating material" : "on time";
  if (reason === "abandoned") return cls === "won" ? "opponent left" : "abandoned";
  if (reason === "board_full") return "the board is full";
  return REASON[reason] ? `by ${REASON[reason]}` : reason;
}

function outcomeFor(result, side) {
  if (result === "draw") return ["draw", "Draw"];
  if (result === "aborted") return ["aborted", "Aborted"];
  if (result == null) return ["over", "Game over"];
  return result === side ? ["won", "Won"] : ["lost", "Lost"];
}

/** Loads the player's newest games; with `expected` (a game that just ended, which reaches the
 *  store a moment after its end), asks again for a few seconds until that game is in. */
async function loadHistory(expected = null) {
  const name = ui.user?.name;
  if (!name) return;
  ui.historyFor = name;
  try {
    let games = await rookery.getUserGames(name, { limit: 10 });
    for (let tries = 0; expected && tries < 20 && !games.some((g) => g.game === expected); tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      games = await rookery.getUserGames(name, { limit: 10 });
    }
    if (ui.user?.name === name) renderHistory(games, name);
  } catch (error) {
    $("history").textContent = `Could not load your games: ${errorText(error)}`;
  }
}

function renderHistory(games, name) {
  const box = $("history");
  if (!games.length) {
    box.innerHTML = '<p class="muted small">No games yet.</p>';
    return;
  }
  const table = document.createElement("table");
  table.innerHTML = "<thead><tr><th>Game</th><th>Opponent</th><th>Result</th><th>Rating</th><th>When</th></tr></thead>";
  const body = document.createElement("tbody");
  for (const g of games) {
    const me = g.players.find((p) => p.name === name);
    const opponent = g.players.find((p) => p !== me);
    const [cls, label] = outcomeFor(g.result, me?.side);
    const row = document.createElement("tr");
    row.dataset.game = g.game;
    const cells = [
      `${kindTitle(g.kind)} · ${clockText(g.clock)}`,
      opponent ? `${opponent.name} (${opponent.rating})` : "—",
      `${label} · ${reasonText(g.reason, g.kind, cls)}`,
      me?.ratingChange ? `${me.ratingChange.delta >= 0 ? "+" : ""}${me.ratingChange.delta}` : "—",
      new Date(g.endedAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
    ];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === 2) td.className = cls;
      row.append(td);
    });
    body.append(row);
  }
  table.append(body);
  box.replaceChildren(table);
}

// ----- rendering -------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");
function formatClock(ms) {
  const total = Math.max(0, ms);
  const minutes = Math.floor(total / 60_000);
  const seconds = Math.floor((total % 60_000) / 1000);
  if (total < 10_000) return `0:${pad(seconds)}.${Math.floor((total % 1000) / 100)}`;
  return `${minutes}:${pad(seconds)}`;
}

function currentView() {
  const client = ui.client;
  if (!client) return "auth";
  const game = client.game;
  if (game && (game.status !== "over" || ui.resultFor === game.game)) return "game";
  if (spectate.id) return "watch";
  if (ui.adminOpen && isStaff(ui.user)) return "admin";
  if (ui.tournamentsOpen) return "tournaments";
  return "lobby";
}

function renderHeader() {
  const client = ui.client;
  const conn = $("conn-status");
  const state = client?.state ?? "idle";
  conn.dataset.state = state;
  conn.querySelector(".conn-text").textContent =
    { idle: "offline", connecting: "connecting…", open: "online", reconnecting: "reconnecting…", closed: "offline" }[state];
  const me = document.querySelector(".me");
  me.hidden = !client;
  $("user-name").textContent = ui.user?.name ?? "";
  $("user-rating").textContent = ui.user ? (ui.user.guest ? "guest" : String(ui.user.rating)) : "";
  const toggle = $("admin-toggle");
  const view = currentView();
  toggle.hidden = !client || !isStaff(ui.user) || view === "game" || view === "watch";
  toggle.textContent = view === "admin" ? "Lobby" : "Admin";
  toggle.setAttribute("aria-pressed", String(view === "admin"));
  const tournaments = $("tournaments-toggle");
  tournaments.hidden = !client || view === "game" || view === "watch";
  tournaments.textContent = view === "tournaments" ? "Lobby" : "Tournaments";
  tournaments.setAttribute("aria-pressed", String(view === "tournaments"));
}

function renderLobby(client) {
  const guest = Boolean(ui.user?.guest);
  const rated = $("rated");
  rated.disabled = guest;
  if (guest) rated.checked = false;
  document.querySelector(".rated-hint").hidden = !guest;
  const queued = client.queue;
  $("find").hidden = Boolean(queued);
  $("find").disabled = client.state !== "open";
  const status = $("queue-status");
  status.hidden = !queued;
  if (queued) {
    status.querySelector(".queue-text").textContent = `Looking for an opponent · ${kindTitle(queued.game)} · ${clockText(queued.clock)}${queued.rated ? " · rated" : ""}`;
  }
  if (ui.historyFor !== ui.user?.name) loadHistory();
  if (!live.loading && Date.now() - live.loadedAt > LIVE_REFRESH_MS) loadLive();
  renderLive();
  renderChat("lobby");
}

function renderMatchup(client) {
  const overlay = $("matchup");
  const proposal = client?.matchup;
  overlay.hidden = !proposal || currentView() === "game";
  if (overlay.hidden) return;
  overlay.dataset.matchup = proposal.matchup;
  $("matchup-opponent").textContent = proposal.opponent.name;
  overlay.querySelector(".opp-rating").textContent = `(${proposal.opponent.rating})`;
  overlay.querySelector(".matchup-what").textContent = `${kindTitle(proposal.queue.game)} · ${clockText(proposal.queue.clock)}${proposal.queue.rated ? " · rated" : ""}`;
  const answered = ui.answered === proposal.matchup;
  $("matchup-accept").disabled = answered;
  $("matchup-decline").disabled = answered;
  overlay.querySelector(".matchup-waiting").hidden = !answered;
  tickMatchup();
}

/** One player's bar above or below a board: mark, name, rating. */
function renderPlayerBox(box, game, player) {
  const mark = boardFor(game.kind)?.marks ?? ["", ""];
  const badge = document.createElement("span");
  badge.className = `mark ${game.kind} ${player?.side ?? ""}`;
  badge.textContent = mark[player?.side === "first" ? 0 : 1];
  box.querySelector(".pname").replaceChildren(badge, ` ${player?.name ?? ""}`);
  box.dataset.side = player?.side ?? "";
  box.querySelector(".prating").textContent = player ? `(${player.rating})` : "";
}

function renderPlayers(game) {
  const you = game.players.find((p) => p.side === game.you);
  const opponent = game.players.find((p) => p.side !== game.you);
  renderPlayerBox($("player-you"), game, you);
  renderPlayerBox($("player-opponent"), game, opponent);
}

/** The move list of a game, two moves a line. */
function renderMoveList(list, game) {
  const texts = boardFor(game.kind)?.moves(game) ?? [];
  list.replaceChildren();
  list.dataset.count = String(game.moves.length);
  for (let i = 0; i < texts.length; i += 2) {
    const li = document.createElement("li");
    for (const [j, text] of [[i, texts[i]], [i + 1, texts[i + 1]]]) {
      if (text == null) continue;
      const span = document.createElement("span");
      span.className = "move";
      span.dataset.index = String(j);
      span.dataset.move = String(game.moves[j]);
      if (!text.mark) span.textContent = text.text;
      else {
        const badge = document.createElement("span");
        badge.className = `mark ${game.kind} ${j % 2 === 0 ? "first" : "second"}`;
        badge.textContent = text.mark;
        span.append(badge, ` ${text.text}`);
      }
      li.append(span);
    }
    list.append(li);
  }
  list.scrollTop = list.scrollHeight;
}

/** "3 watching" (hidden while nobody watches). */
function renderCrowd(box, watchers) {
  const count = watchers ?? 0;
  box.hidden = count === 0;
  box.dataset.watchers = String(count);
  box.textContent = `${count} watching`;
}

function renderGame(client) {
  const game = client.game;
  $("game").dataset.game = game.game;
  const playable = myTurn(game) && !ui.moving;
  renderBoard($("board"), game, { playable, pick: ui.pick });
  renderPlayers(game);
  if (!playable) $("promotion").hidden = true;

  const status = $("game-status");
  status.dataset.status = game.status;
  if (game.status === "waiting_ready") status.textContent = "Waiting for both players to be ready…";
  else if (game.status === "playing") status.textContent = myTurn(game) ? "Your move" : "Opponent's move";
  else status.textContent = "Game over";
  status.classList.toggle("your-turn", myTurn(game));
  document.title = myTurn(game) ? "Your move · rookery" : "rookery";

  const live = game.status !== "over";
  const offer = game.drawOffer;
  $("draw-offer").hidden = !(live && offer && offer !== game.you);
  const offerButton = $("offer-draw");
  offerButton.disabled = !(game.status === "playing") || offer === game.you;
  offerButton.textContent = offer === game.you ? "Draw offered" : "Offer draw";
  $("resign").disabled = !live;
  document.querySelector(".actions").hidden = !live;

  renderMoveList($("moves"), game);
  renderCrowd($("crowd"), game.status === "over" ? 0 : game.watchers);
  $("game-meta").textContent = `${kindTitle(game.kind)} · ${clockText(game.clock)} · ${game.rated ? "rated" : "unrated"} · game ${game.game}`;
  const tag = $("game-tournament");
  tag.hidden = !game.tournament;
  if (game.tournament) {
    const name = tournamentName(game.tournament);
    tag.dataset.tournament = game.tournament;
    tag.textContent = name ? `Tournament game · ${name}` : "Tournament game";
  }
  renderResult(game);
  renderChat("game");
  tickGame();
}

function renderResult(game) {
  const box = $("result");
  box.hidden = game.status !== "over";
  if (box.hidden) return;
  const [cls, label] = outcomeFor(game.result, game.you);
  box.dataset.result = cls;
  const title = { won: "You won", lost: "You lost", draw: "Draw", aborted: "Game aborted", over: "Game over" }[cls];
  box.querySelector(".result-title").textContent = title;
  let reason = game.reason ? reasonText(game.reason, game.kind, cls) : "";
  if (game.endedWhileAway) reason = "It ended while you were away: see your recent games.";
  box.querySelector(".result-reason").textContent = reason;
  const mine = game.ratingChange?.[game.you];
  $("rating-change").textContent = mine
    ? `Rating ${mine.before} → ${mine.after} (${mine.delta >= 0 ? "+" : ""}${mine.delta})`
    : game.rated ? "" : "Unrated game";
  box.dataset.label = label;
  // A tournament pairs its players itself: back to it rather than into a queue.
  $("play-again").hidden = Boolean(game.tournament);
  $("back-to-tournament").hidden = !game.tournament;
}

/** Clocks and the presence countdown, between server updates. */
function tickGame() {
  const game = ui.client?.game;
  if (!game || currentView() !== "game") return;
  const now = performance.now();
  for (const [id, side] of [["clock-you", game.you], ["clock-opponent", game.you === "first" ? "second" : "first"]]) {
    showClock($(id), game, side, now);
  }
  const presence = $("presence");
  const left = game.status === "over" ? null : rookery.opponentGraceLeftMs(game, now);
  presence.hidden = left == null;
  if (left != null) presence.textContent = `Opponent disconnected — ${Math.ceil(left / 1000)} s to return`;
}

/** One side's clock, counting down locally while it runs. */
function showClock(clock, game, side, now) {
  clock.dataset.side = side;
  if (!game.clock) {
    clock.textContent = "—";
    clock.dataset.ms = "";
    return;
  }
  const ms = Math.round(rookery.remainingMs(game, side, now));
  clock.textContent = formatClock(ms);
  clock.dataset.ms = String(ms);
  const running = game.status === "playing" && game.clocks.running === side;
  clock.classList.toggle("running", running);
  clock.classList.toggle("low", running && ms < 10_000);
}

function tickMatchup() {
  const proposal = ui.client?.matchup;
  if (!proposal || $("matchup").hidden) return;
  const left = Math.max(0, proposal.expiresAt - Date.now());
  $("matchup-countdown").textContent = String(Math.ceil(left / 1000));
  const total = Math.max(1, proposal.expiresAt - ui.matchupSeenAt);
  document.querySelector(".countdown-bar").style.width = `${Math.min(100, (left / total) * 100)}%`;
}

function tickQueue() {
  const status = $("queue-status");
  if (status.hidden || !ui.queuedAt) return;
  const seconds = Math.floor((Date.now() - ui.queuedAt) / 1000);
  status.dataset.waiting = String(seconds);
}

function render() {
  const client = ui.client;
  const view = currentView();
  for (const section of views) section.hidden = section.dataset.view !== view;
  renderHeader();
  if (client && view === "lobby") renderLobby(client);
  if (client && view === "game") renderGame(client);
  if (client && view === "watch") renderWatch(client);
  if (client && view === "admin") admin.render(ui.user);
  if (client && view === "tournaments") renderTournaments();
  renderMatchup(client);
}

// ----- tournaments -----------------------------------------------------------------------------
// The list (GET /api/tournaments, a status filter), one tournament open and watched over the
// socket (its standings, current games and the player's next game, live), registering and
// withdrawing over the socket, and for admins the create form, the registrations with who
// registered whom, and cancel (HTTP; the node checks the role on every call). A game the
// tournament starts arrives as client/START_GAME and opens like any other.

const isAdmin = (user) => Boolean(user?.roles?.includes("admin"));
/** HTTP calls as this player: the SDK's client gives its token, renewed first when it is about to expire. */
const as = () => (ui.client ? { client: ui.client } : {});

const STATUS_TEXT = { created: "Upcoming", started: "Running", finished: "Finished", cancelled: "Cancelled" };
const RESULT_TEXT = { first: "1–0", second: "0–1", draw: "½–½", aborted: "aborted" };

const dateTime = (ms) => new Date(ms).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const timeOfDay = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
/** "in 4 min", "in 2 h", "now". */
const fromNow = (ms) => {
  const left = ms - Date.now();
  return left < 30_000 ? "now" : `in ${durationText(left < 3_600_000 ? Math.ceil(left / 60_000) * 60_000 : Math.round(left / 60_000) * 60_000)}`;
};
/** Points and tie-breaks: 1, 1.5, 2.25. */
const points = (n) => String(Math.round(n * 100) / 100);

/** A tournament's name, if the page has seen it. */
function tournamentName(id) {
  if (!tour.names.has(id) && id) {
    // Looked up once; the game header shows it when it comes.
    tour.names.set(id, null);
    rookery.getTournament(id).then((view) => remember(view), () => {});
  }
  return tour.names.get(id) ?? null;
}

function remember(view) {
  const known = tour.names.get(view.id);
  tour.names.set(view.id, view.name);
  if (known !== view.name) render();
}

const formatText = (t) =>
  t.format === "arena" ? `Arena · ${durationText(t.durationMs ?? 0)}` : `Swiss · ${t.rounds} ${t.rounds === 1 ? "round" : "rounds"}`;
const playersText = (t) => (t.maxPlayers ? `${t.players} / ${t.maxPlayers}` : String(t.players));
/** Standings rows a pushed update carries at most (the best; the HTTP view has them all). */
const PUSHED_STANDINGS = 100;
/** My row of the standings, if I am registered (or was, and played) and it is in the view. */
const myStanding = (t) => t?.standings.find((s) => s.name === ui.user?.name) ?? null;
/** Whether I am registered: my row says so, or (a view cut to the best rows) my last join or withdrawal. */
const registered = (t) => {
  const me = myStanding(t);
  if (me) return !me.withdrawn;
  return t.standings.length >= PUSHED_STANDINGS && tour.joined.get(t.id) === true;
};

function setMessage(id, text) {
  const box = $(id);
  box.textContent = text ?? "";
  box.hidden = !text;
}

// ----- navigation ----------------------------------------------------------------------------

function openTournaments() {
  ui.tournamentsOpen = true;
  ui.adminOpen = false;
  if (!tour.id) loadTournaments();
  render();
}

/** Leaves the tournaments view (and stops watching the one open). */
function closeTournaments() {
  leaveTournament();
  ui.tournamentsOpen = false;
}

/** Opens one tournament: watched (live) until the page leaves it. */
function openTournament(id) {
  if (tour.id !== id) leaveTournament();
  ui.tournamentsOpen = true;
  ui.adminOpen = false;
  if (tour.id !== id) {
    tour.id = id;
    tour.view = tour.list?.find((t) => t.id === id) ?? null;
    tour.registrations = null;
    setMessage("tournament-error", null);
    setMessage("registration-error", null);
    setMessage("registration-status", null);
    if (ui.client) watchOpenTournament(ui.client, id);
    if (isAdmin(ui.user)) loadRegistrations();
  }
  render();
}

/** Watches `id` on `client`: the first update is the current view, the rest come as events. */
function watchOpenTournament(client, id) {
  client.watchTournament(id).catch(async (error) => {
    if (tour.id !== id) return;
    if (error.code === "not_found") {
      setMessage("tournament-error", "There is no such tournament.");
      return;
    }
    // Not live for now (the SDK watches again after a reconnect): show what HTTP says.
    try {
      const view = await rookery.getTournament(id);
      if (tour.id === id) showTournament(view);
    } catch (e) {
      setMessage("tournament-error", errorText(e));
    }
  });
}

/** Back to the list: the open tournament is no longer watched. */
function leaveTournament() {
  if (!tour.id) return;
  ui.client?.unwatchTournament(tour.id);
  tour.id = null;
  tour.view = null;
  tour.registrations = null;
  tour.busy = false;
  disarmCancel();
}

// ----- data ----------------------------------------------------------------------------------

async function loadTournaments() {
  const load = (tour.listLoads += 1);
  setMessage("tournament-list-error", null);
  try {
    const { tournaments } = await rookery.getTournaments({ status: tour.filter });
    if (load !== tour.listLoads) return;
    tour.list = tournaments;
    for (const t of tournaments) tour.names.set(t.id, t.name);
  } catch (error) {
    if (load !== tour.listLoads) return;
    setMessage("tournament-list-error", `Could not load the tournaments: ${errorText(error)}`);
  }
  render();
}

async function loadRegistrations() {
  const id = tour.id;
  const load = (tour.registrationLoads += 1);
  try {
    const { registrations } = await rookery.getRegistrations(id, as());
    if (tour.id === id && load === tour.registrationLoads) tour.registrations = registrations;
  } catch (error) {
    if (tour.id === id) setMessage("registration-error", errorText(error));
  }
  render();
}

/** A view from an update or an answer: the open tournament, the list's row, the name. */
function showTournament(view) {
  remember(view);
  if (tour.list) tour.list = tour.list.map((t) => (t.id === view.id ? view : t));
  if (view.id !== tour.id) return;
  const before = tour.view;
  tour.view = view;
  // Someone joined or left: the admin's list of who registered whom follows.
  if (isAdmin(ui.user) && tour.registrations && before && before.players !== view.players) loadRegistrations();
  render();
}

// ----- actions -------------------------------------------------------------------------------

async function tournamentAction(call) {
  if (tour.busy) return;
  tour.busy = true;
  setMessage("tournament-error", null);
  render();
  try {
    await call();
  } catch (error) {
    setMessage("tournament-error", errorText(error));
  } finally {
    tour.busy = false;
    render();
  }
}

function joinTournament() {
  const id = tour.id;
  // The answer is TOURNAMENT_JOINED; the standings come with the next update.
  tournamentAction(() => ui.client.joinTournament(id));
}

function withdrawTournament() {
  const id = tour.id;
  tournamentAction(() => ui.client.withdrawTournament(id));
}

function disarmCancel() {
  clearTimeout(tour.cancelArmed);
  tour.cancelArmed = null;
  $("tournament-cancel").textContent = "Cancel tournament";
}

function cancelTournament() {
  if (!tour.cancelArmed) {
    $("tournament-cancel").textContent = "Really cancel it?";
    tour.cancelArmed = setTimeout(disarmCancel, 4_000);
    return;
  }
  disarmCancel();
  const id = tour.id;
  tournamentAction(async () => showTournament(await rookery.cancelTournament(id, as())));
}

async function registrationChange(button, call, done) {
  setMessage("registration-error", null);
  setMessage("registration-status", null);
  button.disabled = true;
  try {
    showTournament(await call());
    setMessage("registration-status", done);
    await loadRegistrations();
    return true;
  } catch (error) {
    setMessage("registration-error", errorText(error));
    return false;
  } finally {
    button.disabled = false;
  }
}

async function addRegistration(form) {
  const name = form.elements.username.value.trim();
  if (!name || !tour.id) return;
  const id = tour.id;
  const ok = await registrationChange($("registration-add"), () => rookery.addRegistration(id, name, as()), `${name} is registered.`);
  if (ok) form.reset();
}

function removeRegistration(name, button) {
  const id = tour.id;
  registrationChange(button, () => rookery.removeRegistration(id, name, as()), `${name} is no longer registered.`);
}

/** The create form as a `POST /api/tournaments` body. */
function createSpec(form) {
  const f = form.elements;
  const clock = f.clock.value === "untimed" ? null : (() => {
    const [initialMs, incrementMs] = f.clock.value.split("+").map(Number);
    return { initialMs, incrementMs };
  })();
  const arena = f.format.value === "arena";
  return {
    name: f.name.value.trim(),
    format: f.format.value,
    game: f.game.value,
    clock,
    rated: f.rated.checked,
    startsAt: new Date(f.startsAt.value).getTime(),
    durationMs: arena ? Number(f.duration.value) * 60_000 : null,
    rounds: arena ? null : Number(f.rounds.value),
    maxPlayers: f.maxPlayers.value === "" ? null : Number(f.maxPlayers.value),
  };
}

async function createTournament(form) {
  setMessage("tc-error", null);
  const spec = createSpec(form);
  if (!Number.isFinite(spec.startsAt)) {
    setMessage("tc-error", "Pick when it starts.");
    return;
  }
  const submit = $("tc-submit");
  submit.disabled = true;
  try {
    const created = await rookery.createTournament(spec, as());
    form.elements.name.value = "";
    form.elements.startsAt.value = "";
    tour.list = [created, ...(tour.list ?? []).filter((t) => t.id !== created.id)];
    openTournament(created.id);
    showTournament(created);
    notify(`“${created.name}” is created.`);
  } catch (error) {
    setMessage("tc-error", errorText(error));
  } finally {
    submit.disabled = false;
  }
}

/** A datetime-local value for `ms` (local time, to the minute). */
function localInput(ms) {
  const d = new Date(ms);
  const pad2 = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

const FORMAT_HINT = {
  arena: "Arena: for the time it lasts, whoever finishes a game is paired again at once. Win 2, draw 1; after two wins in a row, each win scores 4.",
  swiss: "Swiss: a fixed number of rounds, never the same opponent twice; a round starts when every game of the one before has ended. Win 1, draw ½.",
};

function showFormatFields(form) {
  const format = form.elements.format.value;
  $("tc-format-hint").textContent = FORMAT_HINT[format];
  for (const label of form.querySelectorAll("[data-for-format]")) {
    const on = label.dataset.forFormat === format;
    label.hidden = !on;
    for (const input of label.querySelectorAll("input")) input.disabled = !on;
  }
}

// ----- drawing -------------------------------------------------------------------------------

function statusBadge(status) {
  return el("span", { class: `badge tstatus ${status}`, "data-badge": status }, STATUS_TEXT[status] ?? status);
}

function renderTournaments() {
  const open = Boolean(tour.id);
  $("tournament-browse").hidden = open;
  $("tournament").hidden = !open;
  if (open) renderTournament();
  else renderTournamentList();
}

function renderTournamentList() {
  const admin = isAdmin(ui.user);
  const form = $("tournament-create");
  form.hidden = !admin;
  if (admin && !form.elements.startsAt.value) form.elements.startsAt.value = localInput(Date.now() + 10 * 60_000);
  $("tournament-browse").dataset.role = admin ? "admin" : "player";
  const key = { list: tour.list, user: ui.user?.name };
  if (tour.drawn.list === key.list && tour.drawn.listUser === key.user) return;
  tour.drawn.list = key.list;
  tour.drawn.listUser = key.user;
  const box = $("tournament-list");
  if (!tour.list) return;
  if (!tour.list.length) {
    box.replaceChildren(el("p", { class: "muted small" }, tour.filter ? `No ${STATUS_TEXT[tour.filter].toLowerCase()} tournament.` : "No tournament yet."));
    return;
  }
  const table = el("table", { class: "tournament-table" });
  const head = el("tr");
  for (const title of ["Name", "Game", "Format", "Starts", "Players", "Status"]) head.append(el("th", {}, title));
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const t of tour.list) {
    const row = el("tr", { "data-id": t.id, "data-status": t.status, "data-players": t.players });
    const name = el("td", { class: "tname" });
    const link = el("button", { type: "button", class: "link name-link", "data-testid": "tournament-open" }, t.name);
    link.addEventListener("click", () => openTournament(t.id));
    name.append(link);
    if (registered(t)) name.append(" ", el("span", { class: "badge registered", "data-badge": "registered" }, "registered"));
    row.append(
      name,
      el("td", {}, `${kindTitle(t.game)} · ${clockText(t.clock)}${t.rated ? " · rated" : ""}`),
      el("td", {}, formatText(t)),
      el("td", { class: "when" }, dateTime(t.startsAt)),
      el("td", { class: "num", "data-testid": "tournament-players" }, playersText(t)),
    );
    const status = el("td");
    status.append(statusBadge(t.status));
    row.append(status);
    body.append(row);
  }
  table.append(body);
  box.replaceChildren(table);
}

/** The line under the title that changes with time: when it starts, the round, when it ends. */
function progressText(t) {
  if (t.status === "created") return `Starts ${dateTime(t.startsAt)} (${fromNow(t.startsAt)})`;
  if (t.status === "cancelled") return t.endedAt ? `Cancelled ${dateTime(t.endedAt)}` : "Cancelled";
  if (t.status === "finished") return t.endedAt ? `Finished ${dateTime(t.endedAt)}` : "Finished";
  if (t.format === "swiss") return `Round ${t.round} of ${t.rounds}`;
  const end = t.startsAt + (t.durationMs ?? 0);
  return end > Date.now() ? `Ends ${timeOfDay(end)} (${fromNow(end)})` : "Time is up: the last games are being played";
}

/** What the player does next in this tournament, in words (null: nothing to say). */
function nextGameText(t) {
  const me = myStanding(t) ?? (registered(t) ? { name: ui.user.name, rank: null, score: null, withdrawn: false } : null);
  if (!me) return null;
  if (me.withdrawn) return "You withdrew: you are not paired again.";
  if (t.status === "created") return `You are registered. Your first game starts by itself at ${timeOfDay(t.startsAt)}: keep this page open.`;
  if (t.status === "cancelled") return "This tournament was cancelled.";
  if (t.status === "finished") {
    if (me.rank == null) return "The tournament is over.";
    const of = t.standings.length < PUSHED_STANDINGS ? ` of ${t.standings.length}` : "";
    return `You finished #${me.rank}${of}, with ${points(me.score)} ${me.score === 1 ? "point" : "points"}.`;
  }
  const mine = (t.pairings ?? []).filter((p) => p.first === me.name || p.second === me.name);
  const live = mine.find((p) => p.result == null);
  if (live) return `Your game against ${live.first === me.name ? live.second : live.first} is on.`;
  if (t.format === "arena") {
    if (t.startsAt + (t.durationMs ?? 0) <= Date.now()) return "The arena's time is up: no new games.";
    return "Waiting for an opponent: your next game starts by itself as soon as one is free.";
  }
  const last = t.round >= (t.rounds ?? 0);
  const done = mine.find((p) => p.result != null);
  if (done) {
    const side = done.first === me.name ? "first" : "second";
    const [, outcome] = outcomeFor(done.result, side);
    const opponent = side === "first" ? done.second : done.first;
    return `Round ${t.round}: ${outcome.toLowerCase()} against ${opponent}. ${last ? "That was the last round." : "The next round starts by itself when every game of this one has ended."}`;
  }
  return `You have a bye in round ${t.round} (1 point).${last ? "" : " The next round starts by itself when every game of this one has ended."}`;
}

function renderTournament() {
  const t = tour.view;
  const admin = isAdmin(ui.user);
  const card = $("tournament");
  card.dataset.id = tour.id;
  $("tournament-admin").hidden = !admin || !t;
  if (!t) {
    // Until the first view comes: nothing of the tournament shown before.
    $("tournament-name").textContent = tour.names.get(tour.id) ?? "Tournament";
    $("tournament-meta").textContent = "Loading…";
    for (const id of ["tournament-badges", "tournament-progress", "tournament-standings", "tournament-pairings"]) $(id).replaceChildren();
    for (const id of ["tournament-me", "tournament-join", "tournament-withdraw", "tournament-hint"]) $(id).hidden = true;
    tour.drawn.view = null;
    return;
  }
  card.dataset.status = t.status;
  card.dataset.round = String(t.round);
  card.dataset.players = String(t.players);
  $("tournament-name").textContent = t.name;
  $("tournament-badges").replaceChildren(
    statusBadge(t.status),
    el("span", { class: `badge format ${t.format}` }, t.format),
    ...(t.rated ? [el("span", { class: "badge rated" }, "rated")] : []),
  );
  $("tournament-meta").textContent = [
    `${kindTitle(t.game)} · ${clockText(t.clock)} · ${t.rated ? "rated" : "unrated"}`,
    formatText(t),
    `${playersText(t)} ${t.players === 1 && !t.maxPlayers ? "player" : "players"}`,
    `by ${t.createdBy}`,
  ].join(" · ");
  tickTournament();

  const next = nextGameText(t);
  const me = $("tournament-me");
  me.hidden = !next;
  me.textContent = next ?? "";

  const open = t.status === "created" || (t.status === "started" && t.format === "arena");
  const mine = registered(t);
  const join = $("tournament-join");
  const withdraw = $("tournament-withdraw");
  const guestBarred = Boolean(ui.user?.guest && t.rated);
  const full = Boolean(t.maxPlayers && t.players >= t.maxPlayers);
  join.hidden = mine || !open;
  join.disabled = tour.busy || guestBarred || full || ui.client?.state !== "open";
  join.textContent = myStanding(t)?.withdrawn ? "Rejoin" : "Register";
  withdraw.hidden = !mine || !(t.status === "created" || t.status === "started");
  withdraw.disabled = tour.busy || ui.client?.state !== "open";
  const hint = guestBarred && !mine && open ? "Guests play unrated tournaments only: register to join this one." : full && !mine && open ? "The tournament is full." : null;
  setMessage("tournament-hint", hint);
  $("tournament-cancel").disabled = tour.busy || t.status === "finished" || t.status === "cancelled";

  if (tour.drawn.view !== t || tour.drawn.viewUser !== ui.user?.name) {
    tour.drawn.view = t;
    tour.drawn.viewUser = ui.user?.name;
    renderStandings(t);
    renderPairings(t);
  }
  if (admin && tour.drawn.registrations !== tour.registrations) {
    tour.drawn.registrations = tour.registrations;
    renderRegistrations();
  }
}

function renderStandings(t) {
  const box = $("tournament-standings");
  if (!t.standings.length) {
    box.replaceChildren(el("p", { class: "muted small" }, "Nobody is registered yet."));
    return;
  }
  const swiss = t.format === "swiss";
  const table = el("table", { class: "standings-table" });
  const head = el("tr");
  for (const title of ["#", "Player", "Score", "Games", "W / D / L", swiss ? "Buchholz · SB" : "Tie-breaks", ""]) head.append(el("th", {}, title));
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const s of t.standings) {
    const row = el("tr", {
      "data-name": s.name,
      "data-rank": s.rank,
      "data-score": s.score,
      class: [s.name === ui.user?.name && "mine", s.withdrawn && "withdrawn"].filter(Boolean).join(" ") || null,
    });
    const player = el("td", { class: "pname-cell" });
    player.append(el("span", { class: "standing-name" }, s.name), " ", el("span", { class: "muted" }, `(${s.rating})`));
    const marks = el("td", { class: "marks" });
    if (s.byes) marks.append(el("span", { class: "badge bye", "data-badge": "bye", title: "Byes: 1 point each, no game" }, s.byes === 1 ? "bye" : `${s.byes} byes`));
    if (s.streak) marks.append(el("span", { class: "badge streak", "data-badge": "streak", title: "On a streak: the next win scores 4" }, "🔥 streak"));
    if (s.withdrawn) marks.append(el("span", { class: "badge withdrawn", "data-badge": "withdrawn" }, "withdrawn"));
    row.append(
      el("td", { class: "num" }, String(s.rank)),
      player,
      el("td", { class: "num score" }, points(s.score)),
      el("td", { class: "num" }, String(s.games)),
      el("td", { class: "num wdl" }, `${s.wins} / ${s.draws} / ${s.losses}`),
      el("td", { class: "num" }, s.tieBreak.length ? s.tieBreak.map(points).join(" · ") : "—"),
      marks,
    );
    body.append(row);
  }
  table.append(body);
  box.replaceChildren(table);
}

function renderPairings(t) {
  const box = $("tournament-pairings");
  const pairings = t.pairings ?? [];
  $("tournament-pairings-title").textContent = t.format === "swiss" ? (t.round ? `Round ${t.round}` : "Games") : "Games being played";
  if (!pairings.length) {
    const text = t.status === "created" ? "The first games start with the tournament." : t.format === "arena" && t.status === "started" ? "No game is being played right now." : "No games.";
    box.replaceChildren(el("p", { class: "muted small" }, text));
    return;
  }
  const marks = boardFor(t.game)?.marks ?? ["", ""];
  const table = el("table", { class: "pairings-table" });
  const head = el("tr");
  for (const title of ["Round", marks[0] ? `${marks[0]} First` : "First", marks[1] ? `${marks[1]} Second` : "Second", "Result"]) head.append(el("th", {}, title));
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const p of pairings) {
    const mine = p.first === ui.user?.name || p.second === ui.user?.name;
    const row = el("tr", { "data-game": p.game, "data-result": p.result ?? "", class: mine ? "mine" : null });
    row.append(
      el("td", { class: "num" }, String(p.round)),
      el("td", {}, p.first),
      el("td", {}, p.second),
      el("td", { class: p.result ? "result-cell" : "result-cell muted" }, p.result ? (RESULT_TEXT[p.result] ?? p.result) : "playing…"),
    );
    body.append(row);
  }
  table.append(body);
  box.replaceChildren(table);
}

function renderRegistrations() {
  const list = $("registrations");
  const registrations = tour.registrations;
  if (!registrations) {
    list.replaceChildren(el("li", { class: "muted small" }, "Loading…"));
    return;
  }
  if (!registrations.length) {
    list.replaceChildren(el("li", { class: "muted small" }, "Nobody is registered."));
    return;
  }
  list.replaceChildren(
    ...registrations.map((r) => {
      const li = el("li", { class: "registration", "data-name": r.name, "data-by": r.by ?? "" });
      const text = el("div", { class: "registration-text" });
      const by = !r.by || r.by === r.name ? "registered themselves" : `registered by ${r.by}`;
      text.append(
        el("strong", {}, r.name),
        ` (${r.rating})`,
        el("span", { class: "muted small registration-by" }, `${by}, ${dateTime(r.registeredAt)}`),
      );
      const remove = el("button", { type: "button", class: "secondary small-button", "data-testid": "registration-remove" }, "Remove");
      remove.addEventListener("click", () => removeRegistration(r.name, remove));
      li.append(text, remove);
      return li;
    }),
  );
}

/** The time-dependent line of the open tournament ("starts in 4 min"), between updates. */
function tickTournament() {
  const t = tour.view;
  if (!t || currentView() !== "tournaments") return;
  const line = $("tournament-progress");
  const text = progressText(t);
  if (line.textContent !== text) line.textContent = text;
}

function wireTournaments() {
  const form = $("tournament-create");
  for (const board of Object.values(BOARDS)) form.elements.game.append(el("option", { value: board.kind }, board.title));
  form.elements.game.value = DEFAULT_KIND;
  // The same clocks as the lobby's.
  for (const option of $("clock-select").options) form.elements.clock.append(option.cloneNode(true));
  form.elements.format.addEventListener("change", () => showFormatFields(form));
  showFormatFields(form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    createTournament(form);
  });
  $("tournament-filter").addEventListener("change", (event) => {
    tour.filter = event.currentTarget.value;
    loadTournaments();
  });
  $("tournament-refresh").addEventListener("click", loadTournaments);
  $("tournaments-close").addEventListener("click", () => {
    closeTournaments();
    render();
  });
  $("tournament-back").addEventListener("click", () => {
    leaveTournament();
    loadTournaments();
    render();
  });
  $("tournament-join").addEventListener("click", joinTournament);
  $("tournament-withdraw").addEventListener("click", withdrawTournament);
  $("tournament-cancel").addEventListener("click", cancelTournament);
  $("registration-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addRegistration(event.currentTarget);
  });
}

// ----- live games and watching -------------------------------------------------------------------
// The lobby's list of live games (GET /api/games/live, most watched first, every few seconds
// while the lobby shows) and one game watched (server/WATCH_GAME). The SDK folds the watched
// game's frames into client.watchedGame(id); the page draws it with the game's board, with no
// controls. The session keeps the watch: after a reconnect or a reload the node sends
// client/WATCH_GAME again by itself. It ends by itself with the game.

const LIVE_REFRESH_MS = 3_000;

const live = {
  /** The list's game-kind filter ("" for all), the games listed, and a counter against late answers. */
  filter: "",
  games: null,
  error: null,
  loading: false,
  loadedAt: 0,
  loads: 0,
  /** What was drawn last. */
  drawn: null,
};

const spectate = {
  /** The game watched (its id) while the watch view is open. */
  id: null,
  /** Its row of the live list when it was opened (the players, before the view comes). */
  entry: null,
  /** How many watch it until a client/CROWD says (which comes only when the count changes). */
  crowd: 0,
  /** A watched game's stored record, for one whose view came over (a view has no result). */
  record: null,
  /** Games this page stopped watching: a late client/WATCH_GAME of one does not reopen it. */
  closed: new Set(),
};

async function loadLive() {
  const load = (live.loads += 1);
  live.loading = true;
  try {
    const { games } = await rookery.getLiveGames({ game: live.filter, limit: 20 });
    if (load !== live.loads) return;
    live.games = games;
    live.error = null;
  } catch (error) {
    if (load !== live.loads) return;
    live.error = `Could not load the live games: ${errorText(error)}`;
  } finally {
    if (load === live.loads) {
      live.loading = false;
      live.loadedAt = Date.now();
    }
  }
  if (currentView() === "lobby") renderLive();
}

function renderLive() {
  const key = `${live.filter}|${live.error ?? ""}`;
  if (live.drawn?.games === live.games && live.drawn.key === key) return;
  live.drawn = { games: live.games, key };
  const box = $("live-games");
  if (live.error) {
    box.replaceChildren(el("p", { class: "error small", role: "alert" }, live.error));
    return;
  }
  if (!live.games) {
    box.replaceChildren(el("p", { class: "muted small" }, "Loading…"));
    return;
  }
  if (!live.games.length) {
    const kind = live.filter ? ` of ${kindTitle(live.filter).toLowerCase()}` : "";
    box.replaceChildren(el("p", { class: "muted small" }, `No game${kind} is being played right now.`));
    return;
  }
  const table = el("table", { class: "live-table" });
  const head = el("tr");
  for (const title of ["Game", "Players", "Moves", "Watching", ""]) head.append(el("th", {}, title));
  table.append(el("thead"));
  table.tHead.append(head);
  const body = el("tbody");
  for (const g of live.games) {
    const row = el("tr", { "data-game": g.game, "data-kind": g.kind, "data-watchers": g.watchers, class: "live-row" });
    const kind = el("td", { class: "live-kind" }, `${boardFor(g.kind)?.glyph ?? ""} ${kindTitle(g.kind)}`);
    if (g.rated) kind.append(" ", el("span", { class: "badge rated" }, "rated"));
    if (g.tournament) kind.append(" ", el("span", { class: "badge tournament", title: tournamentName(g.tournament) ?? "Tournament game" }, "tournament"));
    const marks = boardFor(g.kind)?.marks ?? ["", ""];
    const who = el("td", { class: "live-players" });
    for (const side of ["first", "second"]) {
      const p = g.players.find((player) => player.side === side);
      if (!p) continue;
      const span = el("span", { class: "live-player", "data-side": side });
      span.append(el("span", { class: `mark ${g.kind} ${side}` }, marks[side === "first" ? 0 : 1]), ` ${p.name} `, el("span", { class: "muted" }, `(${p.rating})`));
      who.append(span);
    }
    const watch = el("button", { type: "button", class: "secondary small-button", "data-testid": "live-watch" }, "Watch");
    const action = el("td", { class: "num" });
    action.append(watch);
    row.append(kind, who, el("td", { class: "num" }, String(g.seq)), el("td", { class: "num live-watchers" }, String(g.watchers)), action);
    row.addEventListener("click", () => openWatch(g.game, g));
    body.append(row);
  }
  table.append(body);
  box.replaceChildren(table);
}

/** Opens the watch view of `id` and watches it (the view, then its updates, come from the SDK). */
function openWatch(id, entry = null) {
  const client = ui.client;
  if (!client) return;
  if (spectate.id && spectate.id !== id) stopWatching();
  spectate.id = id;
  spectate.entry = entry;
  // The list's count, and this page.
  spectate.crowd = entry ? entry.watchers + 1 : 0;
  spectate.record = null;
  spectate.closed.delete(id);
  closeTournaments();
  ui.adminOpen = false;
  render();
  client.watchGame(id).then(
    (view) => {
      if (spectate.id === id) watching(view);
    },
    (error) => {
      if (spectate.id !== id) return;
      if (error.code === "no_such_game") {
        spectate.id = null;
        spectate.entry = null;
        notify("That game is no longer being played.");
        loadLive();
      } else {
        notify(`Could not watch that game: ${errorText(error)}`, { kind: "error" });
      }
      render();
    },
  );
}

/** A watched game's view came: its watchers' chat, or (over already) its stored result. */
function watching(view) {
  if (view.status === "over") loadRecord(view.game);
  else joinRoom(`watchers:${view.game}`);
  if (!spectate.entry && view.status !== "over") seedCrowd(view);
  render();
}

/**
 * A watch the page did not open from the list (after a reload): the count from the live list,
 * since a client/CROWD comes only when it changes, and a reload may leave it as it was.
 */
async function seedCrowd(view) {
  const { games } = await rookery.getLiveGames({ game: view.kind, limit: 100 }).catch(() => ({ games: [] }));
  const entry = games.find((g) => g.game === view.game);
  if (!entry || spectate.id !== view.game) return;
  spectate.crowd = Math.max(1, entry.watchers);
  render();
}

/** A client/WATCH_GAME: ours (answered above), or the node watching again by itself. */
function onWatchView(view) {
  if (view.ref) return;
  if (spectate.id === view.game) {
    // Back after a drop: the game may have ended meanwhile (a view has no result).
    if (view.status === "over" && ui.client?.watchedGame(view.game)?.result == null) loadRecord(view.game);
    return;
  }
  if (spectate.closed.has(view.game)) return;
  const own = ui.client?.game;
  if (spectate.id || (own && own.status !== "over") || view.status === "over") {
    // A watch the page no longer shows (another game open, or a game of one's own): ended.
    if (view.status !== "over") ui.client?.unwatchGame(view.game).catch(() => {});
    return;
  }
  // After a reload: the session was watching this game, so the page shows it again.
  spectate.id = view.game;
  spectate.entry = null;
  spectate.crowd = 1;
  spectate.record = null;
  watching(view);
}

/** Leaves the watch view: the game is no longer watched, its watchers' chat forgotten. */
function stopWatching() {
  const id = spectate.id;
  if (!id) return;
  spectate.id = null;
  spectate.entry = null;
  spectate.record = null;
  spectate.closed.add(id);
  chat.lines.delete(`watchers:${id}`);
  ui.client?.unwatchGame(id).catch(() => {});
}

/**
 * The stored record of a watched game that ended unseen. It reaches the store a moment after
 * the end, so the first player's games are asked (a list, never a 404) until it is there.
 */
async function loadRecord(id) {
  const name = ui.client?.watchedGame(id)?.players[0]?.name;
  if (!name) return;
  for (let tries = 0; tries < 20 && spectate.id === id && !spectate.record; tries += 1) {
    if (tries) await new Promise((resolve) => setTimeout(resolve, 250));
    const games = await rookery.getUserGames(name, { limit: 10 }).catch(() => []);
    const record = games.find((g) => g.game === id);
    if (record && spectate.id === id) spectate.record = record;
  }
  render();
}

function watchResultText(game) {
  const result = game.result ?? spectate.record?.result ?? null;
  const reason = game.reason ?? spectate.record?.reason ?? null;
  const winner = game.players.find((p) => p.side === result);
  const mark = (boardFor(game.kind)?.marks ?? ["", ""])[result === "first" ? 0 : 1];
  const title =
    result === "draw" ? "Draw" : result === "aborted" ? "Game aborted" : winner ? `${mark} ${winner.name} won` : "Game over";
  return { result, title, reason: reason ? reasonText(reason, game.kind, result === "draw" ? "draw" : "over") : "" };
}

function renderWatch(client) {
  const id = spectate.id;
  const game = client.watchedGame(id);
  const section = $("watch");
  section.dataset.game = id;
  section.dataset.status = game?.status ?? "loading";
  if (!game) {
    // Until the view comes: the players from the list, an empty board.
    const entry = spectate.entry;
    const shell = entry ? { kind: entry.kind, players: entry.players } : null;
    for (const [box, side] of [[$("watch-bottom"), "first"], [$("watch-top"), "second"]]) {
      if (shell) renderPlayerBox(box, shell, shell.players.find((p) => p.side === side));
      box.querySelector(".clock").textContent = "";
    }
    $("watch-board").replaceChildren();
    $("watch-board").className = `board ${entry?.kind ?? ""}`;
    $("watch-status").textContent = "Joining the game…";
    $("watch-result").hidden = true;
    $("watch-draw").hidden = true;
    $("watch-moves").replaceChildren();
    $("watch-meta").textContent = `game ${id}`;
    renderCrowd($("watch-crowd"), spectate.crowd);
    renderChat("watch");
    return;
  }
  renderBoard($("watch-board"), game, { playable: false });
  // The first side at the bottom (white, in chess), as the board draws it for a watcher.
  renderPlayerBox($("watch-bottom"), game, game.players.find((p) => p.side === "first"));
  renderPlayerBox($("watch-top"), game, game.players.find((p) => p.side === "second"));
  const status = $("watch-status");
  status.dataset.status = game.status;
  const marks = boardFor(game.kind)?.marks ?? ["", ""];
  const mover = game.players.find((p) => p.side === game.toMove);
  if (game.status === "waiting_ready") status.textContent = "Waiting for both players to be ready…";
  else if (game.status === "playing") {
    const badge = el("span", { class: `mark ${game.kind} ${game.toMove}` }, marks[game.toMove === "first" ? 0 : 1]);
    status.replaceChildren(badge, ` ${mover?.name ?? ""} to move`);
  }
  else status.textContent = "Game over";
  const offer = game.status === "playing" ? game.drawOffer : null;
  const draw = $("watch-draw");
  draw.hidden = !offer;
  if (offer) draw.textContent = `${game.players.find((p) => p.side === offer)?.name ?? "A player"} offers a draw.`;
  renderCrowd($("watch-crowd"), game.watchers ?? spectate.crowd);
  renderMoveList($("watch-moves"), game);
  $("watch-meta").textContent = `${kindTitle(game.kind)} · ${clockText(game.clock)} · ${game.rated ? "rated" : "unrated"} · game ${game.game}`;
  const box = $("watch-result");
  box.hidden = game.status !== "over";
  if (!box.hidden) {
    const { result, title, reason } = watchResultText(game);
    box.dataset.result = result ?? "over";
    box.querySelector(".result-title").textContent = title;
    box.querySelector(".result-reason").textContent = reason;
  }
  renderChat("watch");
  tickWatch();
}

/** The watched game's clocks, between updates. */
function tickWatch() {
  const game = spectate.id ? ui.client?.watchedGame(spectate.id) : null;
  if (!game || currentView() !== "watch") return;
  const now = performance.now();
  showClock($("watch-clock-bottom"), game, "first", now);
  showClock($("watch-clock-top"), game, "second", now);
}

// ----- chat ----------------------------------------------------------------------------------
// Three panels, each showing one room: the lobby's (`lobby`, joined while the page is open),
// the player's game (`game:<id>`: its two players are in it; joining reads its history) and the
// watched game's watchers (`watchers:<id>`, joined once the watch's view came). Lines come from
// client/CHAT_HISTORY (the room's last 50, which replace what the page had: the SDK joins again
// on a new socket), client/CHAT_MESSAGE (added once, by id: the sender's own copy is one too)
// and client/CHAT_DELETED (the line goes). Refusals show in the panel.

const chat = {
  /** The lines of each room, oldest first; an array is replaced on each change. */
  lines: new Map(),
  /** Each panel: its elements, the room it shows, what it drew, its error, a send under way. */
  panels: {},
};
const NO_LINES = Object.freeze([]);

function setLines(room, messages) {
  chat.lines.set(room, [...messages]);
}

function addLine(line) {
  const lines = chat.lines.get(line.room) ?? NO_LINES;
  if (lines.some((l) => l.id === line.id)) return;
  const { type: _type, ref: _ref, ...kept } = line;
  chat.lines.set(line.room, [...lines, kept]);
}

function dropLine(room, id) {
  const lines = chat.lines.get(room);
  if (lines?.some((l) => l.id === id)) chat.lines.set(room, lines.filter((l) => l.id !== id));
}

/** The game's rooms of earlier games are forgotten when a new one starts. */
function forgetGameRooms(game) {
  for (const room of [...chat.lines.keys()]) {
    if (room.startsWith("game:") && room !== `game:${game}`) chat.lines.delete(room);
  }
}

/** Joins a room (its history comes as client/CHAT_HISTORY), unless the client is in it. */
function joinRoom(room) {
  const client = ui.client;
  if (!client || client.rooms.includes(room)) return;
  client.chatJoin(room).catch((error) => {
    // A drop: the SDK joins it again on the new socket.
    if (error.code === "disconnected" || ui.client !== client) return;
    for (const panel of Object.values(chat.panels)) {
      if (panel.room === room) panel.errorText = `The chat is unavailable: ${errorText(error)}`;
    }
    render();
  });
}

/** Where a panel is now: its room, whether one may write there, and a note (null: nothing to show). */
function panelRoom(key) {
  const client = ui.client;
  if (!client) return null;
  if (key === "lobby") {
    const joined = client.rooms.includes("lobby");
    return { room: "lobby", open: joined, note: joined ? null : "Joining the lobby’s chat…" };
  }
  if (key === "game") {
    const game = client.game;
    if (!game) return null;
    const live = game.status !== "over";
    return { room: `game:${game.game}`, open: live, note: live ? null : "The game is over: its chat is closed." };
  }
  if (!spectate.id) return null;
  const room = `watchers:${spectate.id}`;
  const game = client.watchedGame(spectate.id);
  if (game?.status === "over") return { room, open: false, note: "The game is over: its chat is closed." };
  const joined = Boolean(game) && client.rooms.includes(room);
  return { room, open: joined, note: joined ? null : "Joining the spectators’ chat…" };
}

function chatErrorText(error) {
  switch (error.code) {
    case "chat_flood":
      return "Slow down: at most 5 messages in 10 seconds, and not one of your last two again.";
    case "muted":
      return error.frame?.until ? `You are muted until ${dateTime(error.frame.until)}.` : "You are muted.";
    case "invalid_field":
      return `Not sent: ${String(error.message).replace(/^text: /, "")}.`;
    case "forbidden":
      return `You cannot write here: ${error.message}.`;
    case "disconnected":
      return "Not sent: the connection dropped. Send it again.";
    default:
      return `Not sent: ${errorText(error)}`;
  }
}

function buildChatPanel(key) {
  const root = $(`chat-${key}`);
  const lines = el("ol", { class: "chat-lines", "data-testid": "chat-lines", "aria-live": "polite", "aria-label": "Messages" });
  const note = el("p", { class: "chat-note muted small", "data-testid": "chat-note", hidden: true });
  const error = el("p", { class: "chat-error", "data-testid": "chat-error", role: "alert", hidden: true });
  const form = el("form", { class: "chat-form", "data-testid": "chat-form", autocomplete: "off" });
  const input = el("input", {
    name: "text", "data-testid": "chat-input", maxlength: 500, placeholder: "Say something…", "aria-label": "Message", spellcheck: "true",
  });
  const send = el("button", { type: "submit", "data-testid": "chat-send" }, "Send");
  form.append(input, send);
  root.append(lines, note, error, form);
  const panel = { key, root, lines, note, error, input, send, room: null, drawn: null, errorText: null, sending: false };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendChat(panel);
  });
  input.addEventListener("input", () => {
    if (panel.errorText) {
      panel.errorText = null;
      renderChat(key);
    }
  });
  lines.addEventListener("click", (event) => {
    const button = event.target.closest('[data-testid="chat-delete"]');
    if (button) deleteChat(panel, button.closest("li").dataset.id);
  });
  chat.panels[key] = panel;
}

function chatLine(line, staff) {
  const mine = line.from === ui.user?.name;
  const li = el("li", { class: mine ? "chat-line mine" : "chat-line", "data-id": line.id, "data-from": line.from });
  li.append(
    el("time", { class: "chat-at", datetime: new Date(line.at).toISOString() }, timeOfDay(line.at)),
    el("span", { class: "chat-from" }, line.from),
    el("span", { class: "chat-text" }, line.text),
  );
  if (staff) {
    li.append(el("button", { type: "button", class: "link chat-delete", "data-testid": "chat-delete", title: "Delete (moderator)", "aria-label": `Delete the message of ${line.from}` }, "×"));
  }
  return li;
}

function renderChat(key) {
  const panel = chat.panels[key];
  const where = panelRoom(key);
  if (!panel || !where) return;
  if (panel.room !== where.room) {
    panel.room = where.room;
    panel.drawn = null;
    panel.errorText = null;
  }
  panel.root.dataset.room = where.room;
  panel.root.dataset.open = String(where.open);
  const lines = chat.lines.get(where.room) ?? NO_LINES;
  const staff = isStaff(ui.user);
  if (panel.drawn?.lines !== lines || panel.drawn.staff !== staff) {
    panel.drawn = { lines, staff };
    panel.lines.replaceChildren(...lines.map((line) => chatLine(line, staff)));
    panel.lines.dataset.count = String(lines.length);
    panel.lines.scrollTop = panel.lines.scrollHeight;
  }
  const note = where.note ?? (lines.length ? null : key === "watch" ? "No messages yet. The players cannot read this chat." : "No messages yet.");
  panel.note.hidden = !note;
  panel.note.textContent = note ?? "";
  panel.error.hidden = !panel.errorText;
  panel.error.textContent = panel.errorText ?? "";
  panel.input.disabled = !where.open;
  panel.send.disabled = !where.open || panel.sending;
}

async function sendChat(panel) {
  const where = panelRoom(panel.key);
  const text = panel.input.value;
  if (!where?.open || panel.sending || !text.trim()) return;
  panel.sending = true;
  panel.errorText = null;
  renderChat(panel.key);
  try {
    const line = await ui.client.chatSend(where.room, text);
    addLine(line);
    if (panel.input.value === text) panel.input.value = "";
  } catch (error) {
    if (panel.room === where.room) panel.errorText = chatErrorText(error);
  } finally {
    panel.sending = false;
    render();
  }
}

async function deleteChat(panel, id) {
  const room = panel.room;
  if (!room || !id) return;
  try {
    await ui.client.chatDelete(room, id);
    dropLine(room, id);
  } catch (error) {
    if (panel.room === room) panel.errorText = `Not deleted: ${errorText(error)}`;
  }
  render();
}

function wireSpectators() {
  const filter = $("live-filter");
  for (const board of Object.values(BOARDS)) filter.append(el("option", { value: board.kind }, board.title));
  filter.addEventListener("change", () => {
    live.filter = filter.value;
    live.games = null;
    loadLive();
    renderLive();
  });
  for (const key of ["lobby", "game", "watch"]) buildChatPanel(key);
  const back = () => {
    stopWatching();
    loadLive();
    render();
  };
  $("watch-close").addEventListener("click", back);
  $("watch-back").addEventListener("click", back);
  setInterval(() => {
    if (ui.client && currentView() === "lobby" && !live.loading) loadLive();
  }, LIVE_REFRESH_MS);
}

// ----- wiring ----------------------------------------------------------------------------------

/** The lobby's choice of game: one option per board, the default one checked. */
function gameChoices() {
  const box = $("game-choice");
  for (const board of Object.values(BOARDS)) {
    const label = document.createElement("label");
    label.className = "game-option";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "game";
    input.value = board.kind;
    input.dataset.testid = `game-${board.kind}`;
    input.checked = board.kind === DEFAULT_KIND;
    const glyph = document.createElement("span");
    glyph.className = "glyph";
    glyph.textContent = board.glyph;
    const title = document.createElement("span");
    title.textContent = board.title;
    label.append(input, glyph, title);
    box.append(label);
  }
}

function wire() {
  gameChoices();
  const form = $("auth-form");
  // The protocol's limits (client-protocol/src/constants.rs, by way of the SDK).
  form.username.minLength = rookery.USERNAME_MIN_CHARS;
  form.username.maxLength = rookery.USERNAME_MAX_CHARS;
  form.password.minLength = rookery.PASSWORD_MIN_CHARS;
  form.password.maxLength = rookery.PASSWORD_MAX_CHARS;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    authenticate(event.submitter?.dataset.action ?? "login", form);
  });
  $("auth-guest").addEventListener("click", () => authenticate("guest"));
  $("logout").addEventListener("click", () => {
    leaveTournament();
    stopWatching();
    spectate.closed.clear();
    chat.lines.clear();
    live.games = null;
    // The sign-in ends on the node too: its tokens are refused from now on, on every node.
    const client = ui.client;
    const saved = loadJson(AUTH_KEY);
    ui.client = null;
    const ended = client
      ? client.logout()
      : saved?.token || saved?.refreshToken
      ? rookery.logout({ token: saved.token ?? undefined, refreshToken: saved.refreshToken, session: saved.session })
      : null;
    ended?.catch(() => {
      // Offline: signed out here all the same; the tokens expire by themselves.
    });
    ui.user = null;
    ui.historyFor = null;
    ui.adminOpen = false;
    ui.tournamentsOpen = false;
    tour.list = null;
    admin.reset();
    localStorage.removeItem(AUTH_KEY);
    render();
  });
  // Another tab of this player renewed the tokens: take the new pair, so this tab never
  // presents a refresh token that the other has spent (the node would end the sign-in).
  window.addEventListener("storage", (event) => {
    if (event.key !== AUTH_KEY || !ui.client) return;
    const auth = loadJson(AUTH_KEY);
    const client = ui.client;
    if (!auth?.token || auth.user?.id !== client.user?.id || auth.refreshToken === client.refreshToken) return;
    if (auth.expiresAt != null && client.expiresAt != null && auth.expiresAt < client.expiresAt) return;
    client.token = auth.token;
    client.refreshToken = auth.refreshToken ?? null;
    client.expiresAt = auth.expiresAt ?? null;
  });
  $("find").addEventListener("click", () => queue(chosenQueue()));
  $("admin-toggle").addEventListener("click", () => {
    ui.adminOpen = !ui.adminOpen;
    if (ui.adminOpen) closeTournaments();
    render();
  });
  $("tournaments-toggle").addEventListener("click", () => {
    if (currentView() === "tournaments") closeTournaments();
    else openTournaments();
    render();
  });
  wireTournaments();
  wireSpectators();
  $("admin-close").addEventListener("click", () => {
    ui.adminOpen = false;
    render();
  });
  $("cancel-queue").addEventListener("click", () => {
    ui.client?.cancelMatchmaking().catch((error) => notify(errorText(error), { kind: "error" }));
  });
  $("matchup-accept").addEventListener("click", () => answer(true));
  $("matchup-decline").addEventListener("click", () => answer(false));
  $("board").addEventListener("click", onBoardClick);
  $("offer-draw").addEventListener("click", () => ui.client?.offerDraw().catch((error) => notify(errorText(error), { kind: "error" })));
  $("draw-accept").addEventListener("click", () => ui.client?.offerDraw().catch((error) => notify(errorText(error), { kind: "error" })));
  $("draw-decline").addEventListener("click", () => ui.client?.declineDraw().catch((error) => notify(errorText(error), { kind: "error" })));
  $("resign").addEventListener("click", resign);
  $("new-game").addEventListener("click", () => {
    ui.resultFor = null;
    closeTournaments();
    render();
  });
  $("back-to-tournament").addEventListener("click", () => {
    const id = ui.client?.game?.tournament;
    ui.resultFor = null;
    if (id) openTournament(id);
    render();
  });
  $("play-again").addEventListener("click", () => {
    closeTournaments();
    const game = ui.client?.game;
    queue(game ? { game: game.kind, clock: game.clock ?? null, rated: game.rated } : chosenQueue());
  });

  const prefs = loadJson(PREFS_KEY);
  if (prefs) {
    const radio = document.querySelector(`input[name="game"][value="${prefs.game}"]`);
    if (radio) radio.checked = true;
    const value = prefs.clock ? `${prefs.clock.initialMs}+${prefs.clock.incrementMs}` : "untimed";
    if ([...$("clock-select").options].some((o) => o.value === value)) $("clock-select").value = value;
    $("rated").checked = Boolean(prefs.rated);
  }
  setInterval(() => {
    tickGame();
    tickMatchup();
    tickQueue();
    tickTournament();
    tickWatch();
  }, 100);
}

wire();
const saved = loadJson(AUTH_KEY);
if (saved?.token) start(saved);
else render();
