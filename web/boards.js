// Boards for the three games, drawn from the node's position: tic-tac-toe and connect-four
// from rows of `x`/`o`/`.`, chess from a FEN. Clicks are read by app.js from data attributes
// (`data-cell`, `data-col`, `data-square`).
import * as chess from "./chess.js";

const el = (tag, attrs = {}, text) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  if (text != null) node.textContent = text;
  return node;
};

const MARKS = { x: "✕", o: "◯" };

/** Tic-tac-toe cell `i` (0-8, row-major from the top left) as a1..c3. */
export const cellName = (i) => `${"abc"[i % 3]}${3 - Math.floor(i / 3)}`;

function tictactoe(root, game, { playable }) {
  const rows = game.position;
  const last = game.lastMove == null ? null : Number(game.lastMove);
  rows.join("").split("").forEach((mark, i) => {
    const empty = mark === ".";
    root.append(
      el(
        "button",
        {
          type: "button",
          class: `cell ttt ${mark === "x" ? "x" : mark === "o" ? "o" : ""} ${i === last ? "last" : ""}`,
          "data-cell": i,
          "data-mark": empty ? "" : mark,
          "aria-label": `${cellName(i)} ${empty ? "empty" : mark}`,
          disabled: !(playable && empty),
        },
        MARKS[mark] ?? "",
      ),
    );
  });
}

function connect4(root, game, { playable }) {
  const rows = game.position;
  const lastCol = game.lastMove == null ? null : Number(game.lastMove);
  const lastRow = lastCol == null ? -1 : rows.findIndex((row) => row[lastCol] !== ".");
  rows.forEach((row, r) => {
    row.split("").forEach((mark, c) => {
      const full = rows[0][c] !== ".";
      root.append(
        el("button", {
          type: "button",
          class: `slot ${mark === "x" ? "x" : mark === "o" ? "o" : ""} ${r === lastRow && c === lastCol ? "last" : ""}`,
          "data-col": c,
          "data-row": r,
          "data-mark": mark === "." ? "" : mark,
          "aria-label": `column ${c + 1}, row ${r + 1}: ${mark === "." ? "empty" : mark}`,
          disabled: !(playable && !full),
        }),
      );
    });
  });
}

// Filled glyphs for both sides (coloured by CSS), forced to text presentation.
const GLYPH = { k: "♚", q: "♛", r: "♜", b: "♝", n: "♞", p: "♟" };

function chessBoard(root, game, { playable, selected, targets }) {
  const pos = chess.parseFen(game.position);
  const flip = game.you === "second";
  const last = typeof game.lastMove === "string" && game.lastMove.length >= 4
    ? [chess.squareIndex(game.lastMove.slice(0, 2)), chess.squareIndex(game.lastMove.slice(2, 4))]
    : [];
  const checked = chess.inCheck(pos) ? pos.board.findIndex((p) => p === (pos.turn === "w" ? "K" : "k")) : -1;
  for (let n = 0; n < 64; n += 1) {
    const i = flip ? 63 - n : n;
    const piece = pos.board[i];
    const name = chess.squareName(i);
    const dark = (Math.floor(i / 8) + (i % 8)) % 2 === 1;
    const target = targets.get(i);
    const classes = [
      "sq",
      dark ? "dark" : "light",
      i === selected ? "selected" : "",
      last.includes(i) ? "last" : "",
      i === checked ? "check" : "",
      target ? (piece ? "capture-hint" : "hint") : "",
    ];
    const square = el("button", {
      type: "button",
      class: classes.join(" ").trim(),
      "data-square": name,
      "data-piece": piece ?? "",
      "aria-label": `${name}${piece ? ` ${piece}` : ""}`,
      disabled: !playable,
    });
    if (piece) {
      square.append(el("span", { class: `piece ${piece === piece.toUpperCase() ? "w" : "b"}` }, `${GLYPH[piece.toLowerCase()]}\uFE0E`));
    }
    const row = Math.floor(n / 8);
    const col = n % 8;
    if (col === 0) square.append(el("span", { class: "coord rank" }, name[1]));
    if (row === 7) square.append(el("span", { class: "coord file" }, name[0]));
    root.append(square);
  }
}

/**
 * Draws `game` into `root`. `options`: `playable` (it is your turn), and for chess `selected`
 * (a square index) and `targets` (a Map of square index to legal move).
 */
export function renderBoard(root, game, options = {}) {
  const opts = { playable: false, selected: null, targets: new Map(), ...options };
  root.replaceChildren();
  root.className = `board ${game.kind}`;
  root.dataset.kind = game.kind;
  root.dataset.you = game.you;
  root.dataset.seq = String(game.seq);
  root.dataset.status = game.status;
  root.dataset.toMove = game.toMove;
  if (game.kind === "tictactoe") tictactoe(root, game, opts);
  else if (game.kind === "connect4") connect4(root, game, opts);
  else chessBoard(root, game, opts);
}

/** The move list: chess in standard notation, the others as marks and cells or columns. */
export function moveTexts(game) {
  if (game.kind === "chess") return chess.replay(game.moves).sans;
  return game.moves.map((m, i) => {
    if (game.kind === "connect4") return `● col ${Number(m) + 1}`;
    return `${i % 2 === 0 ? MARKS.x : MARKS.o} ${cellName(Number(m))}`;
  });
}
