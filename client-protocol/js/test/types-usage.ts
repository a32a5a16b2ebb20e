// Compiled (not run) by schema.test.mjs: the declarations describe what a game developer writes.
import { CLOSE_TAKEN_OVER, FINAL_CLOSE_CODES, RookeryClient, guest, remainingMs, type GameState, type ServerFrame } from "../rookery.js";
import {
  AUDIT_TYPES, banUser, getAdminUser, muteUser, searchAudit, setUserRoles, unbanUser, unmuteUser, verifyAudit,
  type AdminUserView, type AuditType, type Role,
} from "../rookery.js";
import { getLiveGames, type ChatRoom, type LiveGame, type WatchedGame } from "../rookery.js";
import { logout, refresh, type Identity, type SignedIn } from "../rookery.js";
import {
  addRegistration, cancelTournament, createTournament, getRegistrations, getTournament, getTournaments, joinTournament,
  removeRegistration, TOURNAMENT_STATUSES, withdrawTournament, type Standing, type TournamentView,
} from "../rookery.js";

export async function example(): Promise<void> {
  const auth = await guest({ baseUrl: "http://127.0.0.1:8080" });
  const client = new RookeryClient({ baseUrl: "http://127.0.0.1:8080", token: auth.token, session: auth.session });
  const opening = await client.connect();
  const session: string | undefined = opening?.session;
  client.on("client/PROPOSE_MATCHUP", (p) => void client.replyMatchup(p.matchup, true));
  client.on("client/START_GAME", (view) => void client.playerReady(view.game));
  client.on("client/GAME_OVER", (over) => {
    const delta: number | undefined = over.ratingChange?.first.delta;
    console.log(over.result, over.reason, delta, session);
  });
  client.on("game", (game: GameState) => {
    const mine = remainingMs(game, game.you);
    if (game.status === "playing" && game.toMove === game.you) void client.move(4);
    console.log(mine, game.moves.length);
  });
  client.on("closed", ({ code, error }) => console.log(code === CLOSE_TAKEN_OVER, error.code));
  const takenOver: 4001 = FINAL_CLOSE_CODES.TAKEN_OVER;
  console.log(takenOver);
  const queued = await client.startMatchmaking({ game: "tictactoe", clock: { initialMs: 60_000, incrementMs: 0 } });
  if (queued.type === "client/QUEUED") console.log(queued.queuedAt);
  const frame: ServerFrame = queued;
  console.log(frame.type);
  const ack = await client.playerMove("g", 0, "e2e4");
  console.log(ack.seq, ack.position);
}

export async function adminExample(token: string): Promise<void> {
  const as = { baseUrl: "http://127.0.0.1:8080", token };
  const card: AdminUserView = await banUser("bob", { reason: "spam", durationMs: 3_600_000 }, as);
  const until: number | null | undefined = card.bannedUntil;
  await unbanUser("bob", as);
  await muteUser("bob", { reason: "rude", durationMs: null }, as);
  await unmuteUser("bob", as);
  const roles: Role[] = (await setUserRoles("bob", ["moderator"], as)).roles;
  const looked = await getAdminUser("bob", as);
  const type: AuditType = AUDIT_TYPES[0];
  const page = await searchAudit({ type, target: looked.name, since: until ?? null, limit: 10 }, as);
  const more = page.next == null ? null : await searchAudit({ target: "bob", before: page.next }, as);
  const { ok, firstBad } = await verifyAudit(as);
  console.log(roles, page.events[0]?.outcome, more?.events.length, ok, firstBad);
}

export async function tournamentExample(client: RookeryClient, adminToken: string, playerToken: string): Promise<void> {
  const admin = { baseUrl: "http://127.0.0.1:8080", token: adminToken };
  const created: TournamentView = await createTournament(
    { name: "Friday", format: "swiss", game: "chess", clock: { initialMs: 180_000, incrementMs: 2_000 }, rated: true, startsAt: Date.now(), rounds: 5 },
    admin,
  );
  await addRegistration(created.id, "bob", admin);
  const { registrations } = await getRegistrations(created.id, admin);
  await removeRegistration(created.id, registrations[0]?.name ?? "bob", admin);
  await joinTournament(created.id, { token: playerToken });
  await withdrawTournament(created.id, { token: playerToken });
  const { tournaments } = await getTournaments({ status: TOURNAMENT_STATUSES[0] });
  const one = await getTournament(tournaments[0]?.id ?? created.id);
  await cancelTournament(one.id, admin);

  const joined = await client.joinTournament(created.id);
  const first = await client.watchTournament(joined.tournament);
  client.on("client/TOURNAMENT_UPDATE", ({ tournament }) => {
    const leader: Standing | undefined = tournament.standings[0];
    console.log(tournament.round, leader?.score, leader?.withdrawn, tournament.pairings?.length);
  });
  client.on("client/TOURNAMENT_LEFT", (left) => console.log(left.reason));
  client.on("client/START_GAME", (view) => console.log(view.tournament ?? "not a tournament game"));
  const left = await client.withdrawTournament(first.tournament.id);
  client.unwatchTournament(left.tournament);
  console.log(client.watching.length);
}

export async function spectatorExample(client: RookeryClient): Promise<void> {
  const { games } = await getLiveGames({ game: "chess", limit: 10 });
  const top: LiveGame | undefined = games[0];
  if (!top) return;
  const view = await client.watchGame(top.game);
  const watcher: boolean = view.you == null;
  client.on("watched", (game: WatchedGame) => {
    const white = remainingMs(game, "first");
    console.log(game.seq, game.watchers ?? 0, game.result, white, watcher);
  });
  client.on("client/CROWD", ({ game, watchers }) => console.log(game, watchers));
  const room: ChatRoom = `watchers:${top.game}`;
  const history = await client.chatJoin(room);
  console.log(history.messages.map((line) => `${line.from}: ${line.text}`), client.rooms);
  client.on("client/CHAT_MESSAGE", (line) => console.log(line.room, line.id, line.at));
  client.on("client/CHAT_DELETED", ({ room: where, id }) => console.log(where, id));
  const mine = await client.chatSend(room, "nice move");
  await client.chatDelete(room, mine.id);
  client.chatLeave(room);
  const over: WatchedGame | null = client.watchedGame(top.game);
  console.log(over?.status, client.watchedGames.length);
  const left = await client.unwatchGame(top.game);
  console.log(left.game, client.game?.watchers);
}

export async function staySignedIn(): Promise<void> {
  const base = "http://127.0.0.1:8080";
  const auth = await guest({ baseUrl: base });
  const stored: Identity[] = [];
  const client = new RookeryClient({
    baseUrl: base,
    token: auth.token,
    session: auth.session,
    refreshToken: auth.refreshToken ?? null,
    expiresAt: auth.expiresAt ?? null,
    onTokens: (tokens) => stored.push(tokens),
  });
  client.on("tokens", ({ refreshToken, expiresAt }: Identity) => console.log(refreshToken, expiresAt));
  const renewed: SignedIn = await client.refresh();
  const expiresAt: number = renewed.expiresAt;
  const token: string | null = await client.freshToken();
  const protocols: string[] | null = client.socketProtocols();
  console.log(expiresAt, token, protocols, client.refreshToken, client.expiresAt, stored.length);
  const games = await getLiveGames({ limit: 5 }, { client });
  console.log(games.games.length);
  await client.logout();
  const again = await refresh(renewed.refreshToken, { baseUrl: base, session: renewed.session });
  await logout({ baseUrl: base, token: again.token, refreshToken: again.refreshToken, session: again.session });
}
