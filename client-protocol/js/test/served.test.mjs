// The node serves this SDK and the page, embedded in its binary: the same bytes as here (every
// module of the SDK, every file under web/), with the right content types and revalidation.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { nodeUrl } from "./helpers.mjs";

const base = await nodeUrl();
const local = (path) => readFileSync(new URL(path, import.meta.url), "utf8");

/** Every file under `dir` (a URL ending in `/`), as paths relative to it. */
function filesUnder(dir, prefix = "") {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}
const SDK_MODULES = readdirSync(new URL("../", import.meta.url)).filter((name) => name.endsWith(".js"));
const WEB = new URL("../../../web/", import.meta.url);

test("/sdk/rookery.js and .d.ts are this SDK, byte for byte", async () => {
  for (const [route, file, type] of [
    ["/sdk/rookery.js", "../rookery.js", "text/javascript; charset=utf-8"],
    ["/sdk/rookery.d.ts", "../rookery.d.ts", "application/typescript; charset=utf-8"],
    ...SDK_MODULES.map((name) => [`/sdk/${name}`, `../${name}`, "text/javascript; charset=utf-8"]),
  ]) {
    const response = await fetch(`${base}${route}`);
    assert.equal(response.status, 200, route);
    assert.equal(response.headers.get("content-type"), type);
    assert.equal(await response.text(), local(file), `${route} is stale: rebuild the node (cargo build)`);
  }
});

test("the page and its files, with content types, security headers and 304s", async () => {
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(page.headers.get("content-security-policy"), /default-src 'self'/);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  const html = await page.text();
  assert.equal(html, local("../../../web/index.html"));
  const types = { js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8", svg: "image/svg+xml" };
  const others = filesUnder(WEB).filter((file) => file !== "index.html");
  for (const [file, type] of [
    ["app.js", "text/javascript; charset=utf-8"],
    ["boards.js", "text/javascript; charset=utf-8"],
    ["chess.js", "text/javascript; charset=utf-8"],
    ["style.css", "text/css; charset=utf-8"],
    ["favicon.svg", "image/svg+xml"],
    ...others.map((file) => [file, types[file.split(".").pop()]]),
  ]) {
    const response = await fetch(`${base}/static/${file}`);
    assert.equal(response.status, 200, file);
    assert.equal(response.headers.get("content-type"), type, file);
    assert.equal(await response.text(), local(`../../../web/${file}`), `${file} is stale: rebuild the node`);
    const etag = response.headers.get("etag");
    const again = await fetch(`${base}/static/${file}`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304, file);
  }
  const missing = await fetch(`${base}/static/nope.js`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).code, "not_found");
});
