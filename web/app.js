// The rookery page: log in or play as a guest, queue, accept a matchup, play, see the result
// and the history. Everything goes through the SDK (../sdk/rookery.js), which reconnects and
// resumes by itself; the token and session are kept in localStorage so a reload resumes too.
// All URLs are relative, so the page works behind a proxy or load balancer unchanged. Each game
// kind's board (drawing, move list, clicks) is in boards/, found through boards.js. Staff (the
// `admin` and `moderator` roles) also get the admin view, in admin.js.
import * as rookery from "../sdk/rookery.js";
import { createAdminView, isStaff } from "./admin.js";
import { BOARDS, boardFor, DEFAULT_KIND, renderBoard } from "./boards.js";

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
};

const admin = createAdminView({ token: () => ui.client?.token ?? loadJson(AUTH_KEY)?.token ?? null });

// ----- storage ---------------------------------------------------------------------------------

function loadJson(key) {
  try {
    return JSON.parse(localStorage.getItem(key) ?? "null");
  } catch {
    return null;
  }
}
const saveJson = (key, value) => localStorage.setItem(key, JSON.stringify(value));

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
};
const errorText = (error) => ERROR_TEXT[error?.code] ?? error?.message ?? String(error);

// ----- connecting ------------------------------------------------------------------------------

/** Starts a client for stored or fresh credentials; it reconnects by itself from then on. */
function start(auth) {
  const previous = ui.client;
  ui.client = null;
  previous?.close();
  const client = new rookery.RookeryClient({ token: auth.token, session: auth.session ?? null });
  ui.client = client;
  ui.user = auth.user ?? null;
  const mine = (fn) => (payload) => {
    if (ui.client === client) fn(payload);
  };
  client.on("session", mine(({ token, session, user }) => {
    ui.user = user;
    saveJson(AUTH_KEY, { token, session, user });
    render();
  }));
  client.on("game", mine(onGame));
  client.on("message", mine(() => render()));
  client.on("connected", mine(() => render()));
  client.on("disconnected", mine(() => render()));
  client.on("reconnecting", mine(() => render()));
  client.on("closed", mine((event) => onClosed(client, event)));
  client.on("client/START_GAME", mine((view) => {
    ui.resultFor = null;
    ui.pick = null;
    ui.adminOpen = false;
    ready(view.game);
  }));
  client.on("client/RESUME_GAME", mine((view) => {
    if (view.status === "waiting_ready") ready(view.game);
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
  client.on("client/NOTIFICATION", mine((notification) => notify(notification.text, { sticky: true })));
  client.on("client/RESUME_SESSION", mine((resume) => {
    if (resume.queue) ui.queuedAt = ui.queuedAt || Date.now();
  }));
  client.connect().catch(() => {
    // handled by the "closed" event
  });
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
  if (ui.adminOpen && isStaff(ui.user)) return "admin";
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
  toggle.hidden = !client || !isStaff(ui.user) || view === "game";
  toggle.textContent = view === "admin" ? "Lobby" : "Admin";
  toggle.setAttribute("aria-pressed", String(view === "admin"));
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

function renderPlayers(game) {
  const you = game.players.find((p) => p.side === game.you);
  const opponent = game.players.find((p) => p.side !== game.you);
  for (const [id, player] of [["player-you", you], ["player-opponent", opponent]]) {
    const box = $(id);
    const mark = boardFor(game.kind)?.marks ?? ["", ""];
    const badge = document.createElement("span");
    badge.className = `mark ${game.kind} ${player?.side ?? ""}`;
    badge.textContent = mark[player?.side === "first" ? 0 : 1];
    box.querySelector(".pname").replaceChildren(badge, ` ${player?.name ?? ""}`);
    box.dataset.side = player?.side ?? "";
    box.querySelector(".prating").textContent = player ? `(${player.rating})` : "";
  }
}

function renderGame(client) {
  const game = client.game;
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

  const list = $("moves");
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
  $("game-meta").textContent = `${kindTitle(game.kind)} · ${clockText(game.clock)} · ${game.rated ? "rated" : "unrated"} · game ${game.game}`;
  renderResult(game);
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
}

/** Clocks and the presence countdown, between server updates. */
function tickGame() {
  const game = ui.client?.game;
  if (!game || currentView() !== "game") return;
  const now = performance.now();
  for (const [id, side] of [["clock-you", game.you], ["clock-opponent", game.you === "first" ? "second" : "first"]]) {
    const clock = $(id);
    clock.dataset.side = side;
    if (!game.clock) {
      clock.textContent = "—";
      clock.dataset.ms = "";
      continue;
    }
    const ms = Math.round(rookery.remainingMs(game, side, now));
    clock.textContent = formatClock(ms);
    clock.dataset.ms = String(ms);
    const running = game.status === "playing" && game.clocks.running === side;
    clock.classList.toggle("running", running);
    clock.classList.toggle("low", running && ms < 10_000);
  }
  const presence = $("presence");
  const left = game.status === "over" ? null : rookery.opponentGraceLeftMs(game, now);
  presence.hidden = left == null;
  if (left != null) presence.textContent = `Opponent disconnected — ${Math.ceil(left / 1000)} s to return`;
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
  if (client && view === "admin") admin.render(ui.user);
  renderMatchup(client);
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
    ui.client?.close();
    ui.client = null;
    ui.user = null;
    ui.historyFor = null;
    ui.adminOpen = false;
    admin.reset();
    localStorage.removeItem(AUTH_KEY);
    render();
  });
  $("find").addEventListener("click", () => queue(chosenQueue()));
  $("admin-toggle").addEventListener("click", () => {
    ui.adminOpen = !ui.adminOpen;
    render();
  });
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
    render();
  });
  $("play-again").addEventListener("click", () => {
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
  }, 100);
}

wire();
const saved = loadJson(AUTH_KEY);
if (saved?.token) start(saved);
else render();
