// The page's boards (web/boards.js and web/boards/) against the node's game kinds: no browser
// needed. A kind the server plays but the page cannot draw, or a board file left out of the
// registry, fails here.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { BOARDS, DEFAULT_KIND } from "../../web/boards.js";

const SCHEMA = JSON.parse(readFileSync(new URL("../../client-protocol/schema/rookery.schema.json", import.meta.url), "utf8"));
const KINDS = SCHEMA.$defs.GameKind.enum;

test("the page has a board for every game kind of the node, and for nothing else", () => {
  assert.deepEqual(Object.keys(BOARDS).sort(), [...KINDS].sort());
  assert.ok(KINDS.includes(DEFAULT_KIND), `DEFAULT_KIND ${DEFAULT_KIND} is a kind`);
});

test("every file in web/boards/ is a board in the registry, named after its kind", () => {
  const files = readdirSync(new URL("../../web/boards/", import.meta.url)).sort();
  assert.deepEqual(files, Object.keys(BOARDS).map((kind) => `${kind}.js`).sort());
});

test("every board has what the page uses", () => {
  for (const [kind, board] of Object.entries(BOARDS)) {
    assert.equal(board.kind, kind);
    assert.equal(typeof board.title, "string", kind);
    assert.equal(typeof board.glyph, "string", kind);
    assert.equal(board.marks.length, 2, kind);
    for (const method of ["render", "moves", "click"]) assert.equal(typeof board[method], "function", `${kind}.${method}`);
    assert.deepEqual(board.moves({ kind, moves: [] }), [], `${kind}: no moves, an empty list`);
  }
});
