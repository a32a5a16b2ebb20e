// The Colyseus 0.18 server of the comparison (`load-tests/run compare`): @colyseus/core with the
// default WebSocket transport (the `ws` package), the in-process presence and matchmaker
// driver, and two room types from rooms.mjs, "tictactoe" and "connect4".
//
// Usage: node server.mjs [--port N] [--host H] [--port-file PATH]
//   --port 0 picks a free port; the port is printed ("listening on PORT") and, with
//   --port-file, written to that file once the server accepts connections.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Server } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { ConnectFourRoom, TicTacToeRoom } from "./rooms.mjs";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "2567" },
    host: { type: "string", default: "127.0.0.1" },
    "port-file": { type: "string" },
  },
});

const transport = new WebSocketTransport();
const server = new Server({ transport, greet: false });
server.define("tictactoe", TicTacToeRoom);
server.define("connect4", ConnectFourRoom);
await server.listen(Number(args.port), args.host);

const port = transport.server.address().port;
console.log(`listening on ${port}`);
if (args["port-file"]) writeFileSync(args["port-file"], `${port}\n`);

// SIGTERM and SIGINT: Colyseus's own graceful shutdown (it disconnects the rooms, then exits).
