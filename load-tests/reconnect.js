// reconnect: like play, but in every game one player drops its socket mid-game right after
// sending a move, reconnects with the same session, and resends the move if it was not
// acknowledged (same seq: applied at most once). Measures the resume latency (new socket ->
// client/RESUME_GAME) and counts acknowledged moves missing after the resume (must be 0).
import { Table, executor, summary, tableClock, TREND_STATS } from './lib.js';

export const options = {
  scenarios: { reconnect: executor({ vus: 10, duration: '30s' }) },
  summaryTrendStats: TREND_STATS,
  thresholds: {
    game_ok: ['rate>0.99'],
    games_resumed: ['count>0'],
    lost_acked_moves: ['count==0'],
    protocol_errors: ['count==0'],
    resume_latency: ['p(99)<500'],
  },
};

export default async function () {
  // Connect-four games are long enough to drop after 2 to 7 moves.
  const table = new Table({
    kind: __ENV.GAME && __ENV.GAME !== 'mix' ? __ENV.GAME : 'connect4',
    clockMs: tableClock(),
    dropAfterMoves: 2 + Math.floor(Math.random() * 6),
  });
  await table.play();
}

export const handleSummary = summary('reconnect');
