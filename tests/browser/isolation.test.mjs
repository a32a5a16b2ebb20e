// A guest whose page holds another user's session id is refused and gets a fresh state of its
// own: never the other player's game (only the lobby's public list of live games names it).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  acceptMatchup, assertNoErrors, baseUrl, byTest, launch, openPlayer, playAsGuest, queue,
  screenshot, storedAuth,
} from "./helpers.mjs";

test("a guest cannot see another user's session", { timeout: 120_000 }, async () => {
  const url = await baseUrl();
  const browser = await launch();
  const alice = await openPlayer(browser, url, "alice");
  const carol = await openPlayer(browser, url, "carol");
  const mallory = await openPlayer(browser, url, "mallory");
  for (const p of [alice, carol, mallory]) await playAsGuest(p);
  await queue(alice, "connect4", "60000+0");
  await queue(carol, "connect4", "60000+0");
  await acceptMatchup(alice, carol);
  const victim = await storedAuth(alice);

  // Mallory keeps her own token but puts Alice's session id in her page's storage.
  const own = await storedAuth(mallory);
  assert.notEqual(own.session, victim.session);
  await mallory.page.evaluate(
    ([token, session, user]) => localStorage.setItem("rookery.auth", JSON.stringify({ token, session, user })),
    [own.token, victim.session, own.user],
  );
  await mallory.page.reload();

  const notice = byTest(mallory.page, "notice");
  await notice.waitFor({ state: "visible" });
  assert.match(await notice.textContent(), /belongs to another player/);
  await byTest(mallory.page, "lobby").waitFor({ state: "visible" });
  await mallory.page.locator('[data-testid="conn-status"][data-state="open"]').waitFor();
  assert.equal(await byTest(mallory.page, "game").isVisible(), false, "no game view");
  assert.equal(await byTest(mallory.page, "queue-status").isVisible(), false, "not in any queue");
  assert.equal(await byTest(mallory.page, "user-name").textContent(), own.user.name);
  // The lobby's live games list is public (every lobby lists every game in play, players
  // included): nothing else on the page may name them.
  const text = await mallory.page.evaluate(() => {
    const live = document.querySelector('[data-testid="live-games"]');
    live.style.display = "none";
    const shown = document.body.innerText;
    live.style.display = "";
    return shown;
  });
  for (const name of [victim.user.name, (await storedAuth(carol)).user.name]) {
    assert.ok(!text.includes(name), `${name} is not shown to mallory`);
  }
  const after = await storedAuth(mallory);
  assert.ok(after.session && after.session !== victim.session, "a session of her own");
  assert.equal(after.user.name, own.user.name);
  await screenshot(mallory, "isolation-refused");

  // Alice's game is untouched: still connected, still hers to play.
  assert.equal(await byTest(alice.page, "conn-status").getAttribute("data-state"), "open");
  assert.equal(await byTest(alice.page, "board").getAttribute("data-status"), "playing");
  assert.equal(await byTest(alice.page, "presence").isVisible(), false);
  assert.equal(await byTest(carol.page, "presence").isVisible(), false, "carol never saw alice leave");
  await screenshot(alice, "isolation-victim");
  assertNoErrors(alice, carol, mallory);
});
