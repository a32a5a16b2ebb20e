// The Colyseus rooms of the comparison (load-tests/peers/driver.mjs, `load-tests/run compare`):
// two players per room playing tic-tac-toe or connect-four, game after game, in the same room.
// The room checks that the move is the mover's turn, has the expected seq and lands on a free
// cell (a column with room left), relays it to both players at once (for the mover it is the
// acknowledgement, as rookery's `client/UPDATE_GAME`), detects a line or a full board, and starts
// the next game with the other player first. The first game starts once both players have sent
// "ready" (as rookery's game/PLAYER_READY), so no client misses it. No schema state: a
// state-synced room would deliver each move with the next patch (patchRate, 50 ms by default),
// so plain messages are Colyseus's fastest path for a turn-based relay.
//
// Messages, client -> room: "ready", "move" {seq, move}. Room -> clients: "start" {first} (the
// sessionId that moves first), "move" {seq, move, by}, "over" {result: sessionId | "draw",
// reason: "line" | "board_full"}, "error" {code, seq}.
import { Room } from "@colyseus/core";

/** Tic-tac-toe: a move is a cell 0-8. */
const TICTACTOE_LINES = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8],
  [0, 3, 6], [1, 4, 7], [2, 5, 8],
  [0, 4, 8], [2, 4, 6],
];
export const tictactoe = {
  cells: 9,
  /** The board index the move fills, or -1 if it is not legal. */
  place(board, move) {
    return Number.isInteger(move) && move >= 0 && move < 9 && board[move] === 0 ? move : -1;
  },
  wins(board, at, mark) {
    return TICTACTOE_LINES.some((line) => line.includes(at) && line.every((i) => board[i] === mark));
  },
};

/** Connect-four: a move is a column 0-6; the board is 6 rows of 7, row 0 at the bottom. */
const COLS = 7;
const ROWS = 6;
export const connect4 = {
  cells: COLS * ROWS,
  place(board, move) {
    if (!Number.isInteger(move) || move < 0 || move >= COLS) return -1;
    for (let row = 0; row < ROWS; row++) {
      if (board[row * COLS + move] === 0) return row * COLS + move;
    }
    return -1;
  },
  wins(board, at, mark) {
    const row = Math.floor(at / COLS);
    const col = at % COLS;
    const run = (dr, dc) => {
      let n = 0;
      for (let r = row + dr, c = col + dc; r >= 0 && r < ROWS && c >= 0 && c < COLS; r += dr, c += dc) {
        if (board[r * COLS + c] !== mark) break;
        n++;
      }
      return n;
    };
    return [[0, 1], [1, 0], [1, 1], [1, -1]].some(([dr, dc]) => 1 + run(dr, dc) + run(-dr, -dc) >= 4);
  },
};

/** A room for one pair: `rules` is tictactoe or connect4. */
class BoardRoom extends Room {
  maxClients = 2;

  onCreate() {
    this.seats = []; // the two clients, in join order
    this.ready = new Set();
    this.firstSeat = 0; // who starts the current game
    this.onMessage("ready", (client) => {
      this.ready.add(client);
      if (this.ready.size === 2 && this.seats.length === 2 && !this.board) this.newGame();
    });
    this.onMessage("move", (client, message) => this.onMove(client, message));
  }

  onJoin(client) {
    this.seats.push(client);
  }

  onLeave(client) {
    this.seats = this.seats.filter((c) => c !== client);
    this.ready.delete(client);
    this.board = null; // no game without two players; the room is disposed when empty
  }

  newGame() {
    this.board = new Uint8Array(this.rules.cells);
    this.seq = 0;
    this.toMove = this.firstSeat;
    this.broadcast("start", { first: this.seats[this.firstSeat].sessionId });
  }

  onMove(client, { seq, move } = {}) {
    const seat = this.seats.indexOf(client);
    if (!this.board || seat !== this.toMove) return client.send("error", { code: "not_your_turn", seq });
    if (seq !== this.seq) return client.send("error", { code: "stale_seq", seq });
    const at = this.rules.place(this.board, move);
    if (at < 0) return client.send("error", { code: "illegal_move", seq });
    const mark = seat + 1;
    this.board[at] = mark;
    this.seq++;
    this.toMove = 1 - seat;
    this.broadcast("move", { seq, move, by: client.sessionId });
    const won = this.rules.wins(this.board, at, mark);
    if (won || this.seq === this.rules.cells) {
      this.broadcast("over", won ? { result: client.sessionId, reason: "line" } : { result: "draw", reason: "board_full" });
      this.firstSeat = 1 - this.firstSeat;
      this.newGame();
    }
  }
}

export class TicTacToeRoom extends BoardRoom {
  rules = tictactoe;
}

export class ConnectFourRoom extends BoardRoom {
  rules = connect4;
}
