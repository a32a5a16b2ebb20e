// The boards the page knows, one module per game kind under boards/ (each draws its kind from
// the node's position, lists its moves, and turns clicks into moves). Adding a kind is one new
// file there plus its import and its name below; tests/browser/boards.test.mjs checks that
// these are exactly the node's kinds (GameKind in the JSON Schema) and src/http/web.rs serves
// each file. Styles are in style.css, by kind.
import chess from "./boards/chess.js";
import connect4 from "./boards/connect4.js";
import tictactoe from "./boards/tictactoe.js";

/**
 * @typedef {object} Board
 * @property {string} kind the `GameKind` on the wire
 * @property {string} title its name in the lobby, the history and under the game
 * @property {string} glyph the lobby's icon
 * @property {[string, string]} marks the players' badges: first side, second side
 * @property {Record<string, string>} [reasons] end reasons in this kind's words (`line`)
 * @property {(root: HTMLElement, game: object, options: {playable: boolean, pick: any}) => void} render
 *   draws the position into the (empty) board element
 * @property {(game: object) => Array<{mark?: string, text: string}>} moves the move list
 * @property {(target: HTMLElement, game: object, pick: any) => BoardAction|null} click
 *   a click on one of the board's buttons, on the player's turn
 *
 * @typedef {{move: string|number} | {pick: any} | {choose: Array<{data: Record<string, string>, text: string, label: string, move: string|number}>}} BoardAction
 *   send a move; keep a selection for the next render (`pick`, null to clear); or let the
 *   player choose among moves (a promotion)
 */

/** Every board by kind, in the lobby's order. */
export const BOARDS = Object.freeze(Object.fromEntries([tictactoe, connect4, chess].map((board) => [board.kind, board])));

/** The kind the lobby offers first. */
export const DEFAULT_KIND = "chess";

/** The board for a kind, or undefined. */
export const boardFor = (kind) => BOARDS[kind];

/**
 * Draws `game` into `root`. `options`: `playable` (it is your turn) and `pick` (the board's
 * selection, from its `click`).
 */
export function renderBoard(root, game, options = {}) {
  const opts = { playable: false, pick: null, ...options };
  root.replaceChildren();
  root.className = `board ${game.kind}`;
  root.dataset.kind = game.kind;
  root.dataset.you = game.you;
  root.dataset.seq = String(game.seq);
  root.dataset.status = game.status;
  root.dataset.toMove = game.toMove;
  boardFor(game.kind)?.render(root, game, opts);
}
