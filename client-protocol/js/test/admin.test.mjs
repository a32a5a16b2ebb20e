// The administration helpers against a real node started with ROOKERY_ADMINS (whatever
// ROOKERY_URL names has no admin): lookup, ban, mute, roles, audit search and verify, and the
// node's refusals as RookeryError (401, 403, 404, 400).
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, test } from "node:test";

import * as rookery from "../rookery.js";
import { RookeryError } from "../rookery.js";
import { SCHEMA, startNode } from "./helpers.mjs";

const unique = (prefix) => `${prefix}${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const ADMIN = unique("adm");
const node = await startNode({ env: { ROOKERY_ADMINS: ADMIN } });
after(async () => {
  await node.stop();
  rmSync(node.dataDir, { recursive: true, force: true });
});
const base = node.url;
const HOUR = 3_600_000;

test("AUDIT_TYPES is the schema's AuditType, in its order", () => {
  assert.deepEqual([...rookery.AUDIT_TYPES], SCHEMA.$defs.AuditType.enum);
  assert.ok(Object.isFrozen(rookery.AUDIT_TYPES));
});

test("an admin looks up, bans, mutes, lifts and sets roles; the audit log lists it all", async () => {
  const admin = await rookery.register(ADMIN, "password one", { baseUrl: base });
  assert.deepEqual(admin.user.roles, ["admin"]);
  const as = { baseUrl: base, token: admin.token };
  const name = unique("ply");
  const target = await rookery.register(name, "password two", { baseUrl: base });
  assert.deepEqual(target.user.roles, []);

  const card = await rookery.getAdminUser(name, as);
  assert.equal(card.name, name);
  assert.deepEqual([card.banned, card.muted, card.sanctions, card.flags], [false, false, [], []]);

  const before = Date.now();
  const banned = await rookery.banUser(name, { reason: "spam", durationMs: HOUR }, as);
  assert.equal(banned.banned, true);
  assert.ok(banned.bannedUntil >= before + HOUR && banned.bannedUntil <= Date.now() + HOUR);
  assert.deepEqual(banned.sanctions.map(({ kind, reason, by }) => ({ kind, reason, by })), [{ kind: "ban", reason: "spam", by: ADMIN }]);
  await assert.rejects(rookery.login(name, "password two", { baseUrl: base }), { code: "banned", status: 403 });
  const muted = await rookery.muteUser(name, { reason: "rude" }, as);
  assert.deepEqual([muted.muted, muted.mutedUntil], [true, null]);
  const lifted = await rookery.unbanUser(name, as);
  assert.deepEqual([lifted.banned, lifted.muted], [false, true]);
  assert.deepEqual((await rookery.unmuteUser(name, as)).sanctions, []);
  const promoted = await rookery.setUserRoles(name, ["moderator"], as);
  assert.deepEqual(promoted.roles, ["moderator"]);
  assert.deepEqual((await rookery.me({ baseUrl: base, token: target.token })).roles, ["moderator"]);

  const page = await rookery.searchAudit({ target: name, type: "", actor: null }, as);
  assert.deepEqual(page.events.map((e) => e.type), ["role_changed", "unmute", "unban", "mute", "ban"]);
  assert.ok(page.events.every((e) => e.actor === ADMIN && e.outcome === "ok"));
  assert.equal(page.events[4].details.reason, "spam");
  assert.equal(page.events[4].details.durationMs, HOUR);
  assert.equal(page.next, null);
  const bans = await rookery.searchAudit({ type: "ban", target: name, since: before - 1, until: Date.now() + 1 }, as);
  assert.deepEqual(bans.events.map((e) => e.type), ["ban"]);

  // Paging: `next` is the `before` of the next page, newest first, no event twice.
  const first = await rookery.searchAudit({ target: name, limit: 2 }, as);
  assert.equal(first.events.length, 2);
  assert.equal(first.next, first.events[1].id);
  const second = await rookery.searchAudit({ target: name, limit: 2, before: first.next }, as);
  assert.deepEqual(second.events.map((e) => e.type), ["unban", "mute"]);
  assert.ok(second.events[0].id < first.events[1].id);

  const verified = await rookery.verifyAudit(as);
  assert.equal(verified.ok, true);
  assert.equal(verified.firstBad, null);
  assert.ok(verified.checked >= 7);
});

test("refusals: no token 401, a player 403, no such user 404, a bad filter 400", async () => {
  const player = await rookery.register(unique("ply"), "password three", { baseUrl: base });
  const admin = await rookery.login(ADMIN, "password one", { baseUrl: base });
  const check = (code, status) => (e) => {
    assert.ok(e instanceof RookeryError);
    assert.deepEqual([e.code, e.status], [code, status]);
    assert.ok(e.message.length > 0);
    return true;
  };
  await assert.rejects(rookery.getAdminUser(ADMIN, { baseUrl: base }), check("unauthenticated", 401));
  await assert.rejects(rookery.searchAudit({}, { baseUrl: base, token: player.token }), check("forbidden", 403));
  await assert.rejects(rookery.banUser(ADMIN, { reason: "x" }, { baseUrl: base, token: player.token }), check("forbidden", 403));
  await assert.rejects(rookery.getAdminUser("nobody-here", { baseUrl: base, token: admin.token }), check("not_found", 404));
  await assert.rejects(rookery.searchAudit({ type: "nope" }, { baseUrl: base, token: admin.token }), check("invalid_field", 400));
  const guest = await rookery.guest({ baseUrl: base });
  await assert.rejects(rookery.setUserRoles(guest.user.name, ["moderator"], { baseUrl: base, token: admin.token }), check("conflict", 409));
});
