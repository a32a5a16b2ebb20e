// Tic-tac-toe: a 3×3 grid drawn from rows of `x`/`o`/`.`; a move is a cell 0-8, row-major from
// the top left, read from the clicked button's `data-cell`.
import { el } from "../dom.js";

const MARKS = { x: "✕", o: "◯" };

/** Cell `i` (0-8, row-major from the top left) as a1..c3. */
export const cellName = (i) => `${"abc"[i % 3]}${3 - Math.floor(i / 3)}`;

export default {
  kind: "tictactoe",
  title: "Tic-tac-toe",
  glyph: "✕",
  marks: [MARKS.x, MARKS.o],
  reasons: { line: "three in a row" },

  render(root, game, { playable }) {
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
  },

  moves(game) {
    return game.moves.map((m, i) => ({ mark: i % 2 === 0 ? MARKS.x : MARKS.o, text: cellName(Number(m)) }));
  },

  click(target) {
    return target.dataset.cell != null ? { move: Number(target.dataset.cell) } : null;
  },
};
