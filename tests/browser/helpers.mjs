// Helpers for the Chromium tests: Debian's chromium driven by playwright-core, a node to test
// against (ROOKERY_URL, or one started from the built binary), players that click through the
// page like people do, and screenshots under artifacts/.
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { after } from "node:test";
import { chromium } from "playwright-core";

// The SDK's test helpers know how to start a node and a proxy that can drop connections.
import { startNode, startProxy } from "../../client-protocol/js/test/helpers.mjs";

export { startProxy };

export const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
mkdirSync(ARTIFACTS, { recursive: true });

/** The flags this machine needs (no sandbox as root, no background traffic to the internet). */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let node = null;

/** The node under test. */
export async function baseUrl() {
  if (process.env.ROOKERY_URL) return process.env.ROOKERY_URL.replace(/\/$/, "");
  if (!node) {
    node = startNode();
    after(async () => (await node).stop());
  }
  return (await node).url;
}

/**
 * A node of this test file's own, started with `env` on top of the test settings (for what
 * ROOKERY_URL's node was not started with, e.g. `ROOKERY_ADMINS`); stopped after the file.
 */
export async function ownNode(env) {
  const started = await startNode({ env });
  after(async () => {
    await started.stop();
    rmSync(started.dataDir, { recursive: true, force: true });
  });
  return started.url;
}

/** Registers `username` through the page's form and waits for the lobby, online. */
export async function registerInPage(player, username, password) {
  const { page } = player;
  await byTest(page, "auth-username").fill(username);
  await byTest(page, "auth-password").fill(password);
  await byTest(page, "auth-register").click();
  await byTest(page, "lobby").waitFor({ state: "visible" });
  await page.locator('[data-testid="conn-status"][data-state="open"]').waitFor();
  player.user = JSON.parse(await page.evaluate(() => localStorage.getItem("rookery.auth"))).user;
}

/** Headless Chromium, with a fresh profile (playwright-core makes a new user data dir). */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout: 60_000,
  });
  after(() => browser.close());
  return browser;
}

/**
 * A player: a browser context of its own (its own localStorage and cookies) with the page
 * open at `url`. Page errors and console errors are collected in `errors`.
 */
export async function openPlayer(browser, url, name) {
  const context = await browser.newContext({ viewport: { width: 1180, height: 820 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors = [];
  const watch = (p) => {
    p.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
    p.on("console", (message) => {
      if (message.type() === "error") errors.push(`console: ${message.text()}`);
    });
  };
  watch(page);
  await page.goto(`${url}/`);
  return { name, context, page, errors, url, watch };
}

export const byTest = (page, id) => page.locator(`[data-testid="${id}"]`);

export async function playAsGuest(player) {
  await byTest(player.page, "auth-guest").click();
  await byTest(player.page, "lobby").waitFor({ state: "visible" });
  await player.page.locator('[data-testid="conn-status"][data-state="open"]').waitFor();
  player.user = JSON.parse(await player.page.evaluate(() => localStorage.getItem("rookery.auth"))).user;
}

/** Picks a game and a clock (an option value of the clock select) and queues. */
export async function queue(player, game, clock) {
  const { page } = player;
  await page.locator(`label:has([data-testid="game-${game}"])`).click();
  await byTest(page, "clock-select").selectOption(clock);
  await byTest(page, "find").click();
  await byTest(page, "queue-status").waitFor({ state: "visible" });
}

/** Accepts the proposed matchup on both pages and waits for both boards. */
export async function acceptMatchup(...players) {
  for (const { page } of players) {
    await byTest(page, "matchup").waitFor({ state: "visible" });
    assert.match(await byTest(page, "matchup-countdown").textContent(), /^\d+$/);
  }
  for (const { page } of players) await byTest(page, "matchup-accept").click();
  for (const { page } of players) {
    await page.locator('[data-testid="board"][data-status="playing"]').waitFor();
  }
}

/** Which side each player got: resolves with `{first, second}`. */
export async function sides(a, b) {
  const side = await byTest(a.page, "board").getAttribute("data-you");
  return side === "first" ? { first: a, second: b } : { first: b, second: a };
}

/** Waits until the board shows `seq` moves. */
export async function waitForSeq(player, seq) {
  await player.page.locator(`[data-testid="board"][data-seq="${seq}"]`).waitFor();
}

/**
 * Plays moves alternately (first side first), each as clicks on `selector(move)`: one or more
 * selectors clicked in order. Waits for both boards after each move.
 */
export async function playMoves({ first, second }, moves, clicks, startSeq = 0) {
  let seq = startSeq;
  for (const [i, move] of moves.entries()) {
    const mover = (startSeq + i) % 2 === 0 ? first : second;
    try {
      await waitForSeq(mover, seq);
      await mover.page.locator('[data-testid="game-status"].your-turn').waitFor();
      for (const selector of clicks(move)) await mover.page.locator(selector).click();
      seq += 1;
      await waitForSeq(first, seq);
      await waitForSeq(second, seq);
    } catch (error) {
      // Leave the evidence: what each page showed when the move got stuck.
      await screenshot(first, `failed-move-${seq}-first`).catch(() => {});
      await screenshot(second, `failed-move-${seq}-second`).catch(() => {});
      throw error;
    }
  }
}

export async function screenshot(player, name) {
  const path = `${ARTIFACTS}${name}.png`;
  await player.page.screenshot({ path, fullPage: false });
  return path;
}

/**
 * Cuts `player`'s network (`proxy`) and waits until the page showed "reconnecting" and then
 * "open" again; every connection state it shows, however briefly, is recorded.
 */
export async function cutAndReconnect(player, proxy) {
  await player.page.evaluate(() => {
    const status = document.querySelector('[data-testid="conn-status"]');
    window.shownStates = [];
    new MutationObserver(() => window.shownStates.push(status.dataset.state)).observe(status, { attributes: true });
  });
  proxy.cut();
  await player.page.waitForFunction(() => window.shownStates.includes("reconnecting") && window.shownStates.at(-1) === "open");
}

export async function storedAuth(player) {
  return JSON.parse(await player.page.evaluate(() => localStorage.getItem("rookery.auth")));
}

/** The clocks as shown: `{first, second}` in ms, read from the data attributes. */
export async function shownClocks(player) {
  return player.page.evaluate(() => {
    const out = {};
    for (const id of ["clock-you", "clock-opponent"]) {
      const el = document.querySelector(`[data-testid="${id}"]`);
      out[el.dataset.side] = Number(el.dataset.ms);
    }
    const running = document.querySelector(".clock.running");
    out.running = running ? running.dataset.side : null;
    return out;
  });
}

export async function shownMoves(player) {
  return player.page.locator('[data-testid="moves"] .move').allTextContents();
}

export function assertNoErrors(...players) {
  for (const player of players) {
    assert.deepEqual(player.errors, [], `${player.name}: no page errors`);
  }
}
