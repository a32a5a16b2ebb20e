// hold: every VU opens SOCKETS authenticated sockets (a guest per socket, SHARE users per
// guest if set) and keeps them idle, answering the node's pings, for HOLD (default 30s); then
// closes them. Counts sockets opened, failed and dropped during the hold. The runner samples the
// node's RSS and its rookery_sessions_connected gauge meanwhile. k6 costs megabytes per VU and a
// few per thousand sockets: for tens of thousands use load-tests/loadgen (`run hold-max`).
import { sleep } from 'k6';
import { WebSocket } from 'k6/experimental/websockets';
import { Counter } from 'k6/metrics';
import { identity, metrics, summary, wsUrl, TARGETS, TREND_STATS } from './lib.js';

const SOCKETS = Number(__ENV.SOCKETS || 50);
const SHARE = Math.max(1, Number(__ENV.SHARE || 1));
const HOLD_MS = parseDuration(__ENV.HOLD || '30s');
const opened = new Counter('sockets_opened');
const failed = new Counter('sockets_failed');
const dropped = new Counter('sockets_dropped');

function parseDuration(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
  if (!m) return 30000;
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60000 }[m[2] || 's']);
}

export const options = {
  scenarios: {
    hold: { executor: 'per-vu-iterations', vus: Number(__ENV.VUS || 4), iterations: 1, maxDuration: `${Math.ceil(HOLD_MS / 1000) + 120}s` },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: {
    sockets_failed: ['count==0'],
    sockets_dropped: ['count==0'],
    sockets_opened: ['count>0'],
  },
};

export default async function () {
  const sockets = [];
  let who = null;
  let holding = true;
  await new Promise((resolve) => {
    let pending = SOCKETS;
    const settled = () => {
      pending -= 1;
      if (pending === 0) resolve();
    };
    for (let i = 0; i < SOCKETS; i++) {
      if (i % SHARE === 0) who = identity(TARGETS[0], false);
      if (!who) {
        failed.add(1);
        settled();
        continue;
      }
      const base = TARGETS[(__VU + i) % TARGETS.length];
      const started = Date.now();
      const ws = new WebSocket(wsUrl(base, { token: who.token, session: i % SHARE === 0 ? who.session : '' }));
      let first = true;
      ws.onmessage = (e) => {
        if (!first) return;
        first = false;
        const m = JSON.parse(e.data);
        if (m.type === 'client/SESSION_STARTED' || m.type === 'client/RESUME_SESSION') {
          metrics.connect.add(Date.now() - started);
          opened.add(1);
        } else {
          failed.add(1);
        }
        settled();
      };
      ws.onerror = () => {};
      ws.onclose = () => {
        if (first) {
          first = false;
          failed.add(1);
          settled();
        } else if (holding) {
          dropped.add(1);
        }
      };
      sockets.push(ws);
    }
  });
  // Hold: the sockets stay idle; the runtime answers the node's pings.
  await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
  holding = false;
  sockets.forEach((ws) => ws.readyState <= 1 && ws.close());
  sleep(0.1);
}

export const handleSummary = summary('hold');
