// play: every VU seats two players (guests, or registered users with probability REGISTERED)
// who queue, accept the matchup, get ready and play tic-tac-toe or connect-four to the end with
// think time, game after game. Measures the move round trip to the opponent, the matchup wait
// and the games completed. See lib.js for the environment variables (TARGET, VUS, DURATION...).
import { Table, executor, pickGame, summary, tableClock, TREND_STATS } from './lib.js';

export const options = {
  scenarios: { play: executor({ vus: 10, duration: '30s' }) },
  summaryTrendStats: TREND_STATS,
  thresholds: {
    game_ok: ['rate>0.99'],
    games_completed: ['count>0'],
    lost_acked_moves: ['count==0'],
    protocol_errors: ['count==0'],
    move_to_opponent: ['p(99)<250'],
    move_ack: ['p(99)<250'],
  },
};

export default async function () {
  const table = new Table({ kind: pickGame(), clockMs: tableClock() });
  await table.play();
}

export const handleSummary = summary('play');
