// Tournaments in the page, on a node of their own (ROOKERY_ADMINS=alice, a fast tournament
// clock). First, alice creates an arena through the form; bob registers in his page and the
// list shows it with 1 player; alice sees him in the registrations, live, registered by
// himself; she adds carol by username and removes her; bob gets no admin parts; alice cancels
// and bob's page says so. Then a swiss of two: both players register in their pages, and the
// game the tournament starts opens in each tab by itself, marked as a tournament game; they
// play it out and the standings show the result.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as rookery from "../../client-protocol/js/rookery.js";
import {
  byTest, launch, openPlayer, ownNode, playMoves, registerInPage, screenshot, sides, storedAuth,
} from "./helpers.mjs";

const PASSWORD = "correct horse battery";
const url = await ownNode({ ROOKERY_ADMINS: "alice", ROOKERY_TOURNAMENT_TICK_MS: "100" });
const http = { baseUrl: url };

/** Page errors, less the console lines Chromium logs for HTTP refusals. */
function unexpectedErrors(player) {
  return player.errors.filter((e) => !/^console: Failed to load resource: the server responded with a status of 40\d/.test(e));
}

const listRow = (page, id) => page.locator(`[data-testid="tournament-list"] tr[data-id="${id}"]`);
const standingNames = (page) =>
  page.locator('[data-testid="tournament-standings"] tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.name));
const registrationNames = (page) =>
  page.locator('[data-testid="registrations"] li[data-name]').evaluateAll((items) => items.map((li) => `${li.dataset.name}<${li.dataset.by}`));

async function openTournamentsView(page) {
  await byTest(page, "tournaments-toggle").click();
  await byTest(page, "tournaments").waitFor({ state: "visible" });
}

/** Opens the tournament `name` from the list. */
async function openFromList(page, name) {
  await page.locator('[data-testid="tournament-list"] [data-testid="tournament-open"]', { hasText: name }).click();
  await byTest(page, "tournament").waitFor({ state: "visible" });
  await page.locator('[data-testid="tournament-name"]', { hasText: name }).waitFor();
}

test("an admin creates a tournament in the form, a player registers in the page, the list shows 1 player; registrations; cancel", { timeout: 180_000 }, async () => {
  const browser = await launch();
  const alice = await openPlayer(browser, url, "alice");
  await registerInPage(alice, "alice", PASSWORD);
  const admin = alice.page;
  await openTournamentsView(admin);
  assert.equal(await byTest(admin, "tournaments-toggle").textContent(), "Lobby");
  await admin.locator('[data-testid="tournament-list"]', { hasText: "No tournament yet." }).waitFor();

  // The form: an arena of tic-tac-toe, 3 + 2, 45 minutes, at most 8 players, starting in 10 min.
  const form = byTest(admin, "tournament-create");
  await form.waitFor({ state: "visible" });
  await screenshot(alice, "tournament-create");
  assert.match(await byTest(admin, "tc-starts").inputValue(), /^\d{4}-\d\d-\d\dT\d\d:\d\d$/, "a start time is offered");
  assert.equal(await byTest(admin, "tc-rounds").isVisible(), false, "an arena has no rounds");
  await byTest(admin, "tc-format").selectOption("swiss");
  assert.equal(await byTest(admin, "tc-rounds").isVisible(), true);
  assert.equal(await byTest(admin, "tc-duration").isVisible(), false);
  await byTest(admin, "tc-format").selectOption("arena");
  await byTest(admin, "tc-name").fill("Friday <b>Blitz</b>");
  await byTest(admin, "tc-game").selectOption("tictactoe");
  await byTest(admin, "tc-clock").selectOption("180000+2000");
  await byTest(admin, "tc-duration").fill("45");
  await byTest(admin, "tc-max").fill("8");
  await byTest(admin, "tc-submit").click();

  // It opens: upcoming, the name as text (not markup), nobody registered.
  const detail = admin.locator('[data-testid="tournament"][data-status="created"]');
  await detail.waitFor();
  const id = await detail.getAttribute("data-id");
  assert.equal(await byTest(admin, "tournament-name").textContent(), "Friday <b>Blitz</b>");
  assert.equal(await admin.locator('[data-testid="tournament-name"] b').count(), 0);
  assert.equal(await byTest(admin, "tournament-meta").textContent(), "Tic-tac-toe · 3 + 2 · unrated · Arena · 45 min · 0 / 8 players · by alice");
  assert.match(await byTest(admin, "tournament-progress").textContent(), /^Starts .+ \(in (10|9) min\)$/);
  assert.equal(await byTest(admin, "tournament-badges").textContent(), "Upcomingarena");
  await admin.locator('[data-testid="registrations"]', { hasText: "Nobody is registered." }).waitFor();
  const view = await rookery.getTournament(id, http);
  assert.deepEqual(
    [view.name, view.format, view.game, view.clock, view.durationMs, view.maxPlayers, view.rated, view.createdBy],
    ["Friday <b>Blitz</b>", "arena", "tictactoe", { initialMs: 180_000, incrementMs: 2_000 }, 45 * 60_000, 8, false, "alice"],
  );
  assert.ok(Math.abs(view.startsAt - (Date.now() + 10 * 60_000)) < 90_000, "starts about 10 minutes from now");

  // bob registers in his page.
  const bob = await openPlayer(browser, url, "bob");
  await registerInPage(bob, "bob", PASSWORD);
  const player = bob.page;
  await openTournamentsView(player);
  assert.equal(await byTest(player, "tournament-create").isVisible(), false, "players get no create form");
  await listRow(player, id).waitFor();
  assert.equal(await listRow(player, id).getAttribute("data-players"), "0");
  await openFromList(player, "Friday <b>Blitz</b>");
  assert.equal(await byTest(player, "tournament-admin").isVisible(), false, "players get no registrations card");
  assert.equal(await byTest(player, "tournament-withdraw").isVisible(), false);
  await byTest(player, "tournament-join").click();
  await player.locator('[data-testid="tournament-standings"] tr[data-name="bob"].mine').waitFor();
  assert.match(await byTest(player, "tournament-me").textContent(), /^You are registered\. Your first game starts by itself at .+: keep this page open\.$/);
  await byTest(player, "tournament-withdraw").waitFor({ state: "visible" });
  assert.equal(await byTest(player, "tournament-join").isVisible(), false);

  // The list shows it with 1 player, and that bob is in.
  await byTest(player, "tournament-back").click();
  await player.locator(`[data-testid="tournament-list"] tr[data-id="${id}"][data-players="1"]`).waitFor();
  const row = listRow(player, id);
  assert.equal(await row.locator('[data-testid="tournament-players"]').textContent(), "1 / 8");
  assert.equal(await row.locator('[data-badge="registered"]').count(), 1);
  assert.match(await row.textContent(), /Friday <b>Blitz<\/b> registered.*Tic-tac-toe · 3 \+ 2.*Arena · 45 min.*1 \/ 8.*Upcoming/);
  await screenshot(bob, "tournament-list");
  // The status filter: upcoming has it, finished does not.
  await byTest(player, "tournament-filter").selectOption("finished");
  await player.locator('[data-testid="tournament-list"]', { hasText: "No finished tournament." }).waitFor();
  await byTest(player, "tournament-filter").selectOption("created");
  await listRow(player, id).waitFor();

  // alice, watching, sees him live: in the standings and in the registrations, by himself.
  await admin.locator('[data-testid="tournament"][data-players="1"]').waitFor();
  assert.deepEqual(await standingNames(admin), ["bob"]);
  await admin.locator('[data-testid="registrations"] li[data-name="bob"]').waitFor();
  assert.deepEqual(await registrationNames(admin), ["bob<bob"]);
  assert.match(await admin.locator('[data-testid="registrations"] li[data-name="bob"]').textContent(), /^bob \(1500\)registered themselves, /);

  // She adds carol by username (an unknown name is refused), then removes her.
  await rookery.register("carol", PASSWORD, http);
  await byTest(admin, "registration-name").fill("nobody-here");
  await byTest(admin, "registration-add").click();
  await byTest(admin, "registration-error").waitFor({ state: "visible" });
  await byTest(admin, "registration-name").fill("carol");
  await byTest(admin, "registration-add").click();
  await admin.locator('[data-testid="registrations"] li[data-name="carol"][data-by="alice"]').waitFor();
  assert.equal(await byTest(admin, "registration-error").isVisible(), false);
  assert.equal(await byTest(admin, "registration-status").textContent(), "carol is registered.");
  assert.match(await admin.locator('[data-testid="registrations"] li[data-name="carol"]').textContent(), /registered by alice, /);
  await admin.locator('[data-testid="tournament"][data-players="2"]').waitFor();
  await screenshot(alice, "tournament-admin");
  await admin.locator('[data-testid="registrations"] li[data-name="carol"] [data-testid="registration-remove"]').click();
  await admin.locator('[data-testid="registrations"] li[data-name="carol"]').waitFor({ state: "detached" });
  assert.deepEqual(await registrationNames(admin), ["bob<bob"]);
  assert.equal(await byTest(admin, "registration-status").textContent(), "carol is no longer registered.");

  // bob opens it again: live while open; alice cancels (two clicks), and bob's page says so.
  await openFromList(player, "Friday <b>Blitz</b>");
  await screenshot(bob, "tournament-player");
  const cancel = byTest(admin, "tournament-cancel");
  await cancel.click();
  assert.equal(await cancel.textContent(), "Really cancel it?");
  await cancel.click();
  await admin.locator('[data-testid="tournament"][data-status="cancelled"]').waitFor();
  await player.locator('[data-testid="tournament"][data-status="cancelled"]').waitFor();
  assert.match(await byTest(player, "tournament-progress").textContent(), /^Cancelled /);
  await player.locator('[data-testid="notice"]', { hasText: "Friday <b>Blitz</b> was cancelled." }).waitFor();
  assert.equal(await byTest(player, "tournament-join").isVisible(), false);
  assert.equal(await byTest(player, "tournament-withdraw").isVisible(), false);
  assert.equal((await rookery.getTournament(id, http)).status, "cancelled");

  // Leaving the view: back to the lobby.
  await byTest(player, "tournaments-toggle").click();
  await byTest(player, "lobby").waitFor({ state: "visible" });
  for (const p of [alice, bob]) assert.deepEqual(unexpectedErrors(p), [], `${p.name}: no page errors`);
});

test("a tournament game opens in each player's tab by itself, marked as a tournament game", { timeout: 180_000 }, async () => {
  const browser = await launch();
  const admin = await rookery.login("alice", PASSWORD, http).catch(() => rookery.register("alice", PASSWORD, http));
  const dan = await openPlayer(browser, url, "dan");
  const eve = await openPlayer(browser, url, "eve");
  await registerInPage(dan, "dan", PASSWORD);
  await registerInPage(eve, "eve", PASSWORD);
  const startsAt = Date.now() + 8_000;
  const t = await rookery.createTournament(
    { name: "Quick Swiss", format: "swiss", game: "tictactoe", clock: { initialMs: 180_000, incrementMs: 2_000 }, rated: true, startsAt, rounds: 1 },
    { ...http, token: admin.token },
  );

  // dan registers in the page and stays on the tournament; eve registers over HTTP and waits
  // in the lobby.
  await openTournamentsView(dan.page);
  await openFromList(dan.page, "Quick Swiss");
  await byTest(dan.page, "tournament-join").click();
  await dan.page.locator('[data-testid="tournament-standings"] tr[data-name="dan"]').waitFor();
  await rookery.joinTournament(t.id, { ...http, token: (await storedAuth(eve)).token });
  await dan.page.locator('[data-testid="tournament"][data-players="2"]').waitFor();
  assert.ok(Date.now() < startsAt, "both registered before the start");
  assert.equal(await byTest(eve.page, "lobby").isVisible(), true);

  // At the start, the game opens in both tabs by itself; both are ready, so it is on.
  for (const p of [dan, eve]) {
    await p.page.locator('[data-testid="board"][data-status="playing"]').waitFor({ timeout: 30_000 });
    const tag = byTest(p.page, "game-tournament");
    assert.equal(await tag.isVisible(), true);
    assert.equal(await tag.getAttribute("data-tournament"), t.id);
    await p.page.locator('[data-testid="game-tournament"]', { hasText: "Tournament game · Quick Swiss" }).waitFor();
    assert.match(await byTest(p.page, "game-meta").textContent(), /^Tic-tac-toe · 3 \+ 2 · rated · game \S+$/);
  }
  await screenshot(dan, "tournament-game");
  const players = await sides(dan, eve);
  await playMoves(players, [0, 3, 1, 4, 2], (cell) => [`[data-testid="board"] [data-cell="${cell}"]`]);
  const { first: winner, second: loser } = players;
  for (const [p, title] of [[winner, "You won"], [loser, "You lost"]]) {
    const result = byTest(p.page, "result");
    await result.waitFor({ state: "visible" });
    assert.equal(await result.locator(".result-title").textContent(), title);
    assert.equal(await byTest(p.page, "play-again").isVisible(), false, "a tournament pairs its players itself");
  }

  // Back to the tournament: finished, the winner first with a point.
  await byTest(winner.page, "back-to-tournament").click();
  const finished = winner.page.locator('[data-testid="tournament"][data-status="finished"]');
  await finished.waitFor();
  assert.deepEqual(await standingNames(winner.page), [winner.name, loser.name]);
  const top = winner.page.locator('[data-testid="tournament-standings"] tbody tr').first();
  assert.deepEqual(
    await top.locator("td").evaluateAll((cells) => cells.slice(0, 5).map((c) => c.textContent)),
    ["1", `${winner.name} (${winner.user.rating})`, "1", "1", "1 / 0 / 0"],
  );
  assert.equal(await byTest(winner.page, "tournament-me").textContent(), "You finished #1 of 2, with 1 point.");
  assert.equal(await winner.page.locator('[data-testid="tournament-pairings"] tr[data-result="first"]').count(), 1);
  await screenshot(winner, "tournament-finished");
  for (const p of [dan, eve]) assert.deepEqual(unexpectedErrors(p), [], `${p.name}: no page errors`);
});
