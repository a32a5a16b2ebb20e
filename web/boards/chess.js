// Chess: the board drawn from a FEN (flipped for black), with the last move, check and the
// legal-move hints of the selected piece; moves are UCI, chosen by clicking a piece then a
// square (and a piece to promote to). The rules are in ../chess.js.
import * as chess from "../chess.js";
import { el } from "../dom.js";

// Filled glyphs for both sides (coloured by CSS), forced to text presentation.
const GLYPH = { k: "♚", q: "♛", r: "♜", b: "♝", n: "♞", p: "♟" };
const PROMOTION = {
  q: ["♕", "♛", "queen"],
  r: ["♖", "♜", "rook"],
  b: ["♗", "♝", "bishop"],
  n: ["♘", "♞", "knight"],
};

export default {
  kind: "chess",
  title: "Chess",
  glyph: "♞",
  marks: ["♔", "♚"],

  /** `pick`: the selected square (an index) and its legal moves by target square, or null. */
  render(root, game, { playable, pick }) {
    const selected = pick?.selected ?? null;
    const targets = pick?.targets ?? new Map();
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
  },

  /** The move list in standard notation. */
  moves(game) {
    return chess.replay(game.moves).sans.map((text) => ({ text }));
  },

  /** A click on a square: a hinted target moves (or asks which piece to promote to), an own piece selects, anything else clears. */
  click(target, game, pick) {
    if (!target.dataset.square) return null;
    const square = chess.squareIndex(target.dataset.square);
    const chosen = pick?.targets.get(square);
    if (chosen) {
      if (chosen.length === 1) return { move: chosen[0].uci };
      const white = game.you === "first";
      return {
        choose: chosen.map((m) => {
          const [whiteGlyph, blackGlyph, name] = PROMOTION[m.promotion];
          return { data: { promotion: m.promotion }, text: white ? whiteGlyph : blackGlyph, label: `promote to ${name}`, move: m.uci };
        }),
      };
    }
    const pos = chess.parseFen(game.position);
    const piece = pos.board[square];
    const own = piece && (piece === piece.toUpperCase() ? "w" : "b") === (game.you === "first" ? "w" : "b");
    if (!own || pick?.selected === square) return { pick: null };
    const targets = new Map();
    for (const m of chess.legalMoves(pos).filter((m) => m.from === square)) {
      targets.set(m.to, [...(targets.get(m.to) ?? []), m]);
    }
    return { pick: { selected: square, targets } };
  },
};
