// Chess rules for the page: FEN parsing, legal moves (for move hints), applying UCI moves, and
// standard notation for the move list. The node decides what is legal; this only helps the
// player click the right squares.

const FILES = "abcdefgh";

/** Square index 0..63: a8 is 0, h8 is 7, a1 is 56, h1 is 63. */
export const squareName = (i) => `${FILES[i % 8]}${8 - Math.floor(i / 8)}`;
export const squareIndex = (name) => (8 - Number(name[1])) * 8 + FILES.indexOf(name[0]);

const white = (p) => p !== null && p === p.toUpperCase();
const colorOf = (p) => (p === null ? null : white(p) ? "w" : "b");

/** Parses a FEN into `{board, turn, castling, ep, halfmove, fullmove}`. */
export function parseFen(fen) {
  const [placement, turn = "w", castling = "-", ep = "-", halfmove = "0", fullmove = "1"] = fen.trim().split(/\s+/);
  const board = [];
  for (const row of placement.split("/")) {
    for (const ch of row) {
      if (/\d/.test(ch)) for (let k = 0; k < Number(ch); k += 1) board.push(null);
      else board.push(ch);
    }
  }
  if (board.length !== 64) throw new Error(`bad FEN: ${fen}`);
  return {
    board,
    turn,
    castling: castling === "-" ? "" : castling,
    ep: ep === "-" ? null : squareIndex(ep),
    halfmove: Number(halfmove),
    fullmove: Number(fullmove),
  };
}

export const START_FEN = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";

const KNIGHT = [[-2, -1], [-2, 1], [-1, -2], [-1, 2], [1, -2], [1, 2], [2, -1], [2, 1]];
const KING = [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]];
const ROOK = [[-1, 0], [1, 0], [0, -1], [0, 1]];
const BISHOP = [[-1, -1], [-1, 1], [1, -1], [1, 1]];

function step(sq, dr, df) {
  const r = Math.floor(sq / 8) + dr;
  const f = (sq % 8) + df;
  return r >= 0 && r < 8 && f >= 0 && f < 8 ? r * 8 + f : -1;
}

/** Is `sq` attacked by side `by` ("w" or "b")? */
export function attacked(board, sq, by) {
  const own = (p) => p !== null && colorOf(p) === by;
  const is = (p, kind) => own(p) && p.toLowerCase() === kind;
  // Pawns attack diagonally forward: a white pawn on the row below.
  const pawnRow = by === "w" ? 1 : -1;
  for (const df of [-1, 1]) {
    const from = step(sq, pawnRow, df);
    if (from >= 0 && is(board[from], "p")) return true;
  }
  for (const [dr, df] of KNIGHT) {
    const from = step(sq, dr, df);
    if (from >= 0 && is(board[from], "n")) return true;
  }
  for (const [dr, df] of KING) {
    const from = step(sq, dr, df);
    if (from >= 0 && is(board[from], "k")) return true;
  }
  for (const [dirs, kinds] of [[ROOK, "rq"], [BISHOP, "bq"]]) {
    for (const [dr, df] of dirs) {
      let at = step(sq, dr, df);
      while (at >= 0) {
        const p = board[at];
        if (p !== null) {
          if (own(p) && kinds.includes(p.toLowerCase())) return true;
          break;
        }
        at = step(at, dr, df);
      }
    }
  }
  return false;
}

export function inCheck(pos, side = pos.turn) {
  const king = pos.board.findIndex((p) => p === (side === "w" ? "K" : "k"));
  return king >= 0 && attacked(pos.board, king, side === "w" ? "b" : "w");
}

/** Moves that follow the pieces' rules, ignoring whether they leave the king in check. */
function pseudoMoves(pos) {
  const { board, turn } = pos;
  const enemy = turn === "w" ? "b" : "w";
  const moves = [];
  const add = (from, to, promotion) => moves.push({ from, to, promotion });
  for (let from = 0; from < 64; from += 1) {
    const p = board[from];
    if (p === null || colorOf(p) !== turn) continue;
    const kind = p.toLowerCase();
    if (kind === "p") {
      const dir = turn === "w" ? -1 : 1;
      const startRow = turn === "w" ? 6 : 1;
      const lastRow = turn === "w" ? 0 : 7;
      const push = (to) => {
        if (Math.floor(to / 8) === lastRow) for (const q of "qrbn") add(from, to, q);
        else add(from, to);
      };
      const one = step(from, dir, 0);
      if (one >= 0 && board[one] === null) {
        push(one);
        const two = step(one, dir, 0);
        if (Math.floor(from / 8) === startRow && board[two] === null) add(from, two);
      }
      for (const df of [-1, 1]) {
        const to = step(from, dir, df);
        if (to < 0) continue;
        if ((board[to] !== null && colorOf(board[to]) === enemy) || to === pos.ep) push(to);
      }
    } else if (kind === "n" || kind === "k") {
      for (const [dr, df] of kind === "n" ? KNIGHT : KING) {
        const to = step(from, dr, df);
        if (to >= 0 && colorOf(board[to]) !== turn) add(from, to);
      }
    } else {
      const dirs = kind === "r" ? ROOK : kind === "b" ? BISHOP : [...ROOK, ...BISHOP];
      for (const [dr, df] of dirs) {
        let to = step(from, dr, df);
        while (to >= 0) {
          if (board[to] === null) add(from, to);
          else {
            if (colorOf(board[to]) === enemy) add(from, to);
            break;
          }
          to = step(to, dr, df);
        }
      }
    }
  }
  // Castling: the king and rook have not moved (rights), the squares between are empty, and
  // the king does not pass through or land on an attacked square.
  const homeRow = turn === "w" ? 56 : 0;
  const king = homeRow + 4;
  if (board[king] === (turn === "w" ? "K" : "k") && !attacked(board, king, enemy)) {
    const rights = turn === "w" ? pos.castling.replace(/[a-z]/g, "") : pos.castling.replace(/[A-Z]/g, "").toUpperCase();
    if (rights.includes("K") && board[king + 1] === null && board[king + 2] === null && board[king + 3]?.toLowerCase() === "r" &&
        !attacked(board, king + 1, enemy) && !attacked(board, king + 2, enemy)) {
      add(king, king + 2);
    }
    if (rights.includes("Q") && board[king - 1] === null && board[king - 2] === null && board[king - 3] === null &&
        board[king - 4]?.toLowerCase() === "r" && !attacked(board, king - 1, enemy) && !attacked(board, king - 2, enemy)) {
      add(king, king - 2);
    }
  }
  return moves;
}

/** The position after a move `{from, to, promotion}` (assumed pseudo-legal). */
export function applyMove(pos, move) {
  const board = pos.board.slice();
  const piece = board[move.from];
  const kind = piece.toLowerCase();
  const captured = board[move.to];
  board[move.to] = move.promotion ? (pos.turn === "w" ? move.promotion.toUpperCase() : move.promotion) : piece;
  board[move.from] = null;
  let ep = null;
  if (kind === "p") {
    if (move.to === pos.ep) board[move.to + (pos.turn === "w" ? 8 : -8)] = null;
    if (Math.abs(move.to - move.from) === 16) ep = (move.to + move.from) / 2;
  }
  if (kind === "k" && Math.abs(move.to - move.from) === 2) {
    const kingside = move.to > move.from;
    const rookFrom = kingside ? move.from + 3 : move.from - 4;
    const rookTo = kingside ? move.from + 1 : move.from - 1;
    board[rookTo] = board[rookFrom];
    board[rookFrom] = null;
  }
  let castling = pos.castling;
  const drop = (chars) => {
    for (const c of chars) castling = castling.replace(c, "");
  };
  if (piece === "K") drop("KQ");
  if (piece === "k") drop("kq");
  for (const [sq, right] of [[63, "K"], [56, "Q"], [7, "k"], [0, "q"]]) {
    if (move.from === sq || move.to === sq) drop(right);
  }
  return {
    board,
    turn: pos.turn === "w" ? "b" : "w",
    castling,
    ep,
    halfmove: kind === "p" || captured !== null ? 0 : pos.halfmove + 1,
    fullmove: pos.fullmove + (pos.turn === "b" ? 1 : 0),
  };
}

export const uci = (m) => `${squareName(m.from)}${squareName(m.to)}${m.promotion ?? ""}`;

/** Every legal move, each `{from, to, promotion?, uci}`. */
export function legalMoves(pos) {
  return pseudoMoves(pos)
    .filter((m) => !inCheck(applyMove(pos, m), pos.turn))
    .map((m) => ({ ...m, uci: uci(m) }));
}

/** Parses a UCI move against a position; castling as king two squares (`e1g1`). */
export function fromUci(pos, text) {
  return legalMoves(pos).find((m) => m.uci === text) ?? null;
}

/** Standard algebraic notation of a legal move. */
export function san(pos, move) {
  const piece = pos.board[move.from];
  const kind = piece.toLowerCase();
  let text;
  if (kind === "k" && Math.abs(move.to - move.from) === 2) {
    text = move.to > move.from ? "O-O" : "O-O-O";
  } else {
    const capture = pos.board[move.to] !== null || (kind === "p" && move.to === pos.ep);
    const target = squareName(move.to);
    if (kind === "p") {
      text = `${capture ? `${squareName(move.from)[0]}x` : ""}${target}${move.promotion ? `=${move.promotion.toUpperCase()}` : ""}`;
    } else {
      const rivals = legalMoves(pos).filter(
        (m) => m.to === move.to && m.from !== move.from && pos.board[m.from] === piece,
      );
      let hint = "";
      if (rivals.length) {
        const from = squareName(move.from);
        const sameFile = rivals.some((m) => squareName(m.from)[0] === from[0]);
        const sameRank = rivals.some((m) => squareName(m.from)[1] === from[1]);
        hint = !sameFile ? from[0] : !sameRank ? from[1] : from;
      }
      text = `${kind.toUpperCase()}${hint}${capture ? "x" : ""}${target}`;
    }
  }
  const next = applyMove(pos, move);
  if (inCheck(next)) text += legalMoves(next).length ? "+" : "#";
  return text;
}

/** Counts leaf positions `depth` plies deep (for testing the move generator). */
export function perft(pos, depth) {
  if (depth === 0) return 1;
  let total = 0;
  for (const m of legalMoves(pos)) total += perft(applyMove(pos, m), depth - 1);
  return total;
}

/** Replays UCI moves from the start: the SAN of each, and the final position. */
export function replay(moves, fen = START_FEN) {
  let pos = parseFen(fen);
  const sans = [];
  for (const text of moves) {
    const move = fromUci(pos, String(text));
    if (!move) {
      sans.push(String(text));
      break;
    }
    sans.push(san(pos, move));
    pos = applyMove(pos, move);
  }
  return { sans, position: pos };
}
