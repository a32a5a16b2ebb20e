// The admin view, on a node of its own started with ROOKERY_ADMINS=alice: alice registers in
// the page and gets the view; she looks up an account registered over HTTP, bans it for an hour
// (the card shows the ban, its reason, who and until when), lifts it, searches the audit log
// (the ban and the unban, newest first, paged with "More") and verifies the chain. She makes
// the account a moderator, who gets the view without the audit log and whose refused action is
// shown as the node's error. A player gets no admin view at all.
import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { test } from "node:test";

import * as rookery from "../../client-protocol/js/rookery.js";
import { byTest, launch, openPlayer, ownNode, registerInPage, screenshot } from "./helpers.mjs";

const PASSWORD = "correct horse battery";

/** Page errors, less the console lines Chromium logs for the HTTP refusals the test asks for. */
function unexpectedErrors(player) {
  return player.errors.filter((e) => !/^console: Failed to load resource: the server responded with a status of 40[34]/.test(e));
}

const auditTypes = (page) => page.locator('[data-testid="audit-table"] tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.type));
const auditIds = (page) => page.locator('[data-testid="audit-table"] tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.dataset.id)));

async function lookUp(page, name) {
  await byTest(page, "admin-lookup-name").fill(name);
  await byTest(page, "admin-lookup-go").click();
}

test("admin view: look up, ban for an hour, unban, audit search with paging, verify; moderators and players", { timeout: 180_000 }, async () => {
  const url = await ownNode({ ROOKERY_ADMINS: "alice" });
  const http = { baseUrl: url };
  const browser = await launch();

  // alice registers in the page: the header offers the admin view, the lobby stays the default.
  const alice = await openPlayer(browser, url, "alice");
  await registerInPage(alice, "alice", PASSWORD);
  assert.deepEqual(alice.user.roles, ["admin"]);
  const page = alice.page;
  const toggle = byTest(page, "admin-toggle");
  await toggle.waitFor({ state: "visible" });
  assert.equal(await byTest(page, "admin").isVisible(), false);
  await toggle.click();
  await byTest(page, "admin").waitFor({ state: "visible" });
  assert.equal(await byTest(page, "lobby").isVisible(), false);
  assert.equal(await toggle.textContent(), "Lobby");
  assert.equal(await byTest(page, "audit").isVisible(), true, "an admin gets the audit log");
  // Every event type is offered.
  const types = await byTest(page, "audit-type").locator("option").evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(types, ["", ...rookery.AUDIT_TYPES]);

  // An unknown name: the node's 404, in words.
  await lookUp(page, "nobody-here");
  const error = byTest(page, "admin-error");
  await error.waitFor({ state: "visible" });
  assert.match(await error.textContent(), /^Not found \(404 not_found\): no user "nobody-here"/);
  assert.equal(await byTest(page, "admin-card").isVisible(), false);

  // bob registers over HTTP; alice looks him up.
  await rookery.register("bob", PASSWORD, http);
  await lookUp(page, "bob");
  const card = byTest(page, "admin-card");
  await page.locator('[data-testid="admin-card"][data-name="bob"][data-banned="false"]').waitFor();
  assert.equal(await error.isVisible(), false);
  assert.equal(await byTest(page, "admin-card-name").textContent(), "bob");
  assert.match(await byTest(page, "admin-card-meta").textContent(), /^rating 1500 · 0 games · joined .+ · id \S+$/);
  assert.match(await byTest(page, "admin-sanctions").textContent(), /Nothing/);

  // Banned for 1 hour, with a reason.
  await byTest(page, "admin-reason").fill("spamming the lobby");
  await byTest(page, "admin-duration").selectOption({ label: "1 hour" });
  await byTest(page, "admin-ban").click();
  await page.locator('[data-testid="admin-card"][data-banned="true"]').waitFor();
  assert.equal(await byTest(page, "admin-status").textContent(), "bob is banned for 1 h.");
  const ban = page.locator('[data-testid="admin-sanctions"] li[data-kind="ban"]');
  const banText = await ban.locator(".sanction-text").innerText();
  assert.match(banText, /^Banned until .+ \(in (1 h|60 min)\)/);
  assert.match(banText, /\n“spamming the lobby”\nby alice, /);
  assert.equal(await byTest(page, "admin-reason-ban").textContent(), "“spamming the lobby”");
  assert.equal(await card.locator('[data-badge="banned"]').textContent(), "banned");
  await assert.rejects(rookery.login("bob", PASSWORD, http), { code: "banned", status: 403 });

  // Unbanned.
  await byTest(page, "admin-unban").click();
  await page.locator('[data-testid="admin-card"][data-banned="false"]').waitFor();
  assert.equal(await byTest(page, "admin-status").textContent(), "bob's ban is lifted.");
  assert.equal(await ban.count(), 0);
  await rookery.login("bob", PASSWORD, http);

  // The audit log: what was done to bob, newest first.
  await byTest(page, "audit-target").fill("bob");
  await byTest(page, "audit-search").click();
  await byTest(page, "audit-table").waitFor();
  assert.deepEqual(await auditTypes(page), ["unban", "ban"]);
  const banRow = page.locator('[data-testid="audit-table"] tr[data-type="ban"]');
  assert.match(await banRow.textContent(), /alice.*bob.*for 1 h · “spamming the lobby”/);
  assert.equal(await banRow.getAttribute("data-outcome"), "ok");
  assert.equal(await byTest(page, "audit-more").isVisible(), false);
  // By type only.
  await byTest(page, "audit-type").selectOption("ban");
  await byTest(page, "audit-search").click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr').length === 1);
  assert.deepEqual(await auditTypes(page), ["ban"]);
  // A time range that ended before anything happened.
  await byTest(page, "audit-type").selectOption("");
  await byTest(page, "audit-until").fill("2001-01-01T00:00:00");
  await byTest(page, "audit-search").click();
  await page.locator('[data-testid="audit-results"]', { hasText: "No event matches." }).waitFor();
  await byTest(page, "audit-until").fill("");

  // Paging: enough events for more than a page of 10, "More" loads the older ones.
  for (let i = 0; i < 8; i += 1) await rookery.register(`extra${i}`, PASSWORD, http);
  await byTest(page, "audit-target").fill("");
  await byTest(page, "audit-limit").selectOption("10");
  await byTest(page, "audit-search").click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr').length === 10);
  const firstPage = await auditIds(page);
  const more = byTest(page, "audit-more");
  await more.waitFor({ state: "visible" });
  await more.click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr').length > 10);
  const ids = await auditIds(page);
  assert.deepEqual(ids.slice(0, 10), firstPage);
  assert.ok(ids.every((id, i) => i === 0 || id < ids[i - 1]), `newest first, no event twice: ${ids}`);
  assert.match(await byTest(page, "audit-summary").textContent(), new RegExp(`^${ids.length} events, newest first`));

  // The chain verifies.
  await byTest(page, "audit-verify").click();
  const verified = page.locator('[data-testid="audit-verify-result"][data-ok="true"]');
  await verified.waitFor();
  assert.match(await verified.textContent(), /^✓ Chain intact · \d+ events checked$/);

  // bob becomes a moderator; a mute for a day shows on the card with its reason.
  await lookUp(page, "bob");
  await page.locator('[data-testid="admin-card"][data-name="bob"]').waitFor();
  await byTest(page, "admin-role-moderator").check();
  await byTest(page, "admin-roles-save").click();
  await page.locator('[data-testid="admin-card"][data-roles="moderator"]').waitFor();
  assert.equal(await byTest(page, "admin-status").textContent(), "bob's roles: moderator.");
  await byTest(page, "admin-reason").fill("insults in game chat");
  await byTest(page, "admin-duration").selectOption({ label: "1 day" });
  await byTest(page, "admin-mute").click();
  await page.locator('[data-testid="admin-card"][data-muted="true"]').waitFor();
  assert.match(await page.locator('[data-testid="admin-sanctions"] li[data-kind="mute"] .sanction-text').innerText(), /^Muted until .+ \(in (1 day|24 h)\)\n“insults in game chat”\nby alice, /);

  // The screenshot: the card with a sanction in force, and what was done to bob in the log.
  await byTest(page, "audit-target").fill("bob");
  await byTest(page, "audit-search").click();
  await page.locator('[data-testid="audit-table"] tr[data-type="mute"]').waitFor();
  assert.deepEqual(await auditTypes(page), ["mute", "role_changed", "unban", "ban"]);
  const shot = await screenshot(alice, "admin-view");
  copyFileSync(shot, "/tmp/admin-view.png");

  // bob, a moderator, logs in in the page: the accounts part, not the audit log; banning an
  // admin is refused by the node, and the page says so.
  const moderator = await openPlayer(browser, url, "bob");
  await byTest(moderator.page, "auth-username").fill("bob");
  await byTest(moderator.page, "auth-password").fill(PASSWORD);
  await byTest(moderator.page, "auth-login").click();
  await byTest(moderator.page, "admin-toggle").click();
  await byTest(moderator.page, "admin").waitFor({ state: "visible" });
  assert.equal(await byTest(moderator.page, "audit").isVisible(), false);
  await lookUp(moderator.page, "alice");
  await moderator.page.locator('[data-testid="admin-card"][data-name="alice"]').waitFor();
  assert.equal(await moderator.page.locator(".roles-editor").isVisible(), false);
  const adminBadge = await moderator.page.locator('[data-testid="admin-badges"] [data-badge="admin"]').boundingBox();
  assert.ok(adminBadge.width < 120, `the admin badge is a small pill, not ${adminBadge.width} px wide`);
  await byTest(moderator.page, "admin-reason").fill("mutiny");
  await byTest(moderator.page, "admin-ban").click();
  const refused = byTest(moderator.page, "admin-error");
  await refused.waitFor({ state: "visible" });
  assert.equal(await refused.textContent(), "Not allowed (403 forbidden): only an admin may sanction a moderator or admin.");
  assert.equal(await moderator.page.locator('[data-testid="admin-card"]').getAttribute("data-banned"), "false");
  await screenshot(moderator, "admin-moderator-refused");

  // A player: no admin view, and no way to it in the header.
  const carol = await openPlayer(browser, url, "carol");
  await registerInPage(carol, "carol", PASSWORD);
  assert.deepEqual(carol.user.roles, []);
  assert.equal(await byTest(carol.page, "admin-toggle").isVisible(), false);
  assert.equal(await byTest(carol.page, "admin").isVisible(), false);
  assert.equal(await byTest(carol.page, "lobby").isVisible(), true);
  await assert.rejects(rookery.searchAudit({}, { ...http, token: (await rookery.login("carol", PASSWORD, http)).token }), { code: "forbidden" });

  // Logging out leaves nothing of the admin view behind for the next user of the tab.
  await byTest(page, "logout").click();
  await registerInPage(alice, "dave", PASSWORD);
  assert.equal(await byTest(page, "admin-toggle").isVisible(), false);
  assert.equal(await byTest(page, "admin").isVisible(), false);

  for (const player of [alice, moderator, carol]) assert.deepEqual(unexpectedErrors(player), [], `${player.name}: no page errors`);
});
