// Connect four: 6 rows of 7 drawn from rows of `x`/`o`/`.` (top row first); a move is a column
// 0-6, read from the clicked slot's `data-col`.
import { el } from "../dom.js";

export default {
  kind: "connect4",
  title: "Connect four",
  glyph: "●",
  marks: ["●", "●"],
  reasons: { line: "four in a row" },

  render(root, game, { playable }) {
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
  },

  moves(game) {
    return game.moves.map((m) => ({ mark: "●", text: `col ${Number(m) + 1}` }));
  },

  click(target) {
    return target.dataset.col != null ? { move: Number(target.dataset.col) } : null;
  },
};
