// failover: play connect-four with think time while `load-tests/run failover` kills a node with
// kill -9 mid-run. Players whose socket dies reconnect (through TARGET, or the next of TARGETS)
// and resume; a game whose owner died is rebuilt elsewhere once its lease expires. Measures the
// time from a lost socket to the next acknowledged move (playable_again), the resume latency,
// the slowest move acknowledgements (a live player whose game's owner died waits in move_ack),
// and counts resumed games and acknowledged moves lost (must be 0).
import { Table, executor, summary, tableClock, TREND_STATS } from './lib.js';

export const options = {
  scenarios: { failover: executor({ vus: 20, duration: '40s' }) },
  summaryTrendStats: TREND_STATS,
  thresholds: {
    lost_acked_moves: ['count==0'],
    games_resumed: ['count>0'],
    game_ok: ['rate>0.95'],
    playable_again: ['p(99)<10000'],
  },
};

export default async function () {
  const table = new Table({
    kind: __ENV.GAME && __ENV.GAME !== 'mix' ? __ENV.GAME : 'connect4',
    clockMs: tableClock(),
    reconnectOnLoss: true,
    timeoutMs: 120000,
  });
  await table.play();
}

export const handleSummary = summary('failover');
