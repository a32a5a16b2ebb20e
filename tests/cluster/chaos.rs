//! The chaos suite: trials on a 3-node cluster of real processes, each one rated game between
//! players on two different nodes, with one fault chosen by the trial's seed at a random move:
//! kill -9 of the game's owner (between moves, or right after a move was sent and before its
//! acknowledgement), the owner and then another node in a row, a SIGSTOP of the owner for
//! longer than the lease (then SIGCONT), or a kill -9 of the node holding the queue while a
//! matchup is pending. Every trial plays the game to its end and checks that the stored move
//! list is exactly the acknowledged moves in order, the game is stored once, and each
//! player's `gamesPlayed` went up by one and their rating changed once, as `GAME_OVER` said.
//!
//! `ROOKERY_CHAOS_TRIALS` (default 3), `ROOKERY_CHAOS_SEED` (replay one seed),
//! `ROOKERY_CHAOS_BASE` (the first seed of a run; 1 unless given). `scripts/chaos` runs 100.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::harness::*;
use crate::helpers::{Client, Identity};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    /// kill -9 of the node owning the game, between two moves.
    KillOwner,
    /// kill -9 of the owner 0-30 ms after a move was sent, before its acknowledgement.
    KillOwnerMidMove,
    /// kill -9 of the owner, then of another node 0-1.5 s later.
    KillTwo,
    /// SIGSTOP of the owner for the lease TTL plus 0.2-1.5 s, then SIGCONT.
    FreezeOwner,
    /// kill -9 of the node holding the queue, both players having been proposed the matchup.
    KillQueue,
}

const FAULTS: [Fault; 5] = [
    Fault::KillOwner,
    Fault::KillOwnerMidMove,
    Fault::KillTwo,
    Fault::FreezeOwner,
    Fault::KillQueue,
];

/// What one trial does, all of it from its seed.
#[derive(Debug)]
struct Plan {
    seed: u64,
    fault: Fault,
    kind: &'static str,
    moves: Vec<u64>,
    /// The move number at which the fault strikes (before, or for `KillOwnerMidMove` just
    /// after, that move is sent).
    at: usize,
}

impl Plan {
    fn new(seed: u64) -> Plan {
        let mut rng = StdRng::seed_from_u64(seed);
        let fault = FAULTS[rng.random_range(0..FAULTS.len())];
        let kind = if rng.random_bool(0.5) {
            "tictactoe"
        } else {
            "connect4"
        };
        let moves = random_game(kind, &mut rng);
        let at = if fault == Fault::KillQueue {
            0
        } else {
            rng.random_range(0..moves.len())
        };
        Plan {
            seed,
            fault,
            kind,
            moves,
            at,
        }
    }
}

/// A random legal game played to its end (a line, or a full board).
fn random_game(kind: &str, rng: &mut StdRng) -> Vec<u64> {
    let (width, height, line) = if kind == "tictactoe" {
        (3usize, 3usize, 3usize)
    } else {
        (7, 6, 4)
    };
    // board[row][col], row 0 at the bottom (connect-four) or the top (tic-tac-toe: no gravity).
    let mut board = vec![vec![0u8; width]; height];
    let mut moves = Vec::new();
    let mut player = 1u8;
    loop {
        let choices: Vec<(usize, usize)> = if kind == "tictactoe" {
            (0..9)
                .map(|c| (c / 3, c % 3))
                .filter(|&(r, c)| board[r][c] == 0)
                .collect()
        } else {
            (0..width)
                .filter_map(|c| (0..height).find(|&r| board[r][c] == 0).map(|r| (r, c)))
                .collect()
        };
        if choices.is_empty() {
            return moves;
        }
        let (r, c) = choices[rng.random_range(0..choices.len())];
        board[r][c] = player;
        moves.push(if kind == "tictactoe" {
            (r * 3 + c) as u64
        } else {
            c as u64
        });
        let count = |dr: isize, dc: isize| {
            let mut n = 0;
            let (mut y, mut x) = (r as isize + dr, c as isize + dc);
            while y >= 0
                && x >= 0
                && (y as usize) < height
                && (x as usize) < width
                && board[y as usize][x as usize] == player
            {
                n += 1;
                y += dr;
                x += dc;
            }
            n
        };
        let won = [(0, 1), (1, 0), (1, 1), (1, -1)]
            .iter()
            .any(|&(dr, dc)| 1 + count(dr, dc) + count(-dr, -dc) >= line);
        if won {
            return moves;
        }
        player = 3 - player;
    }
}

struct Outcome {
    seed: u64,
    fault: Fault,
    /// Kill (or SIGSTOP) to the next acknowledged move.
    playable: Option<Duration>,
    error: Option<String>,
}

/// The players: index 0 queued first on n1 (the queue's and the game's node), 1 on n2.
struct Table {
    seed: u64,
    nodes: Vec<NodeProc>,
    alive: Vec<bool>,
    who: Vec<Identity>,
    clients: Vec<Client>,
    node_of: Vec<usize>,
    /// A player resumed with no game: the game ended with the move in flight at the kill.
    ended: bool,
}

/// A failed trial keeps its nodes' logs (the cluster's directory goes with it).
impl Drop for Table {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let dir = std::env::temp_dir()
            .join("rookery-chaos")
            .join(format!("seed-{}", self.seed));
        let _ = std::fs::create_dir_all(&dir);
        for node in &self.nodes {
            let _ = std::fs::copy(&node.log, dir.join(format!("{}.log", node.id)));
        }
        println!("chaos: seed {}: node logs in {}", self.seed, dir.display());
    }
}

impl Table {
    fn survivors(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&n| self.alive[n]).collect()
    }

    fn kill(&mut self, n: usize) {
        self.nodes[n].kill9();
        self.alive[n] = false;
    }

    /// The one live node hosting the game (0 or 2 owners is an error right away).
    async fn owner(&self) -> usize {
        let mut owners = Vec::new();
        for n in self.survivors() {
            if self.nodes[n].hosted_games().await > 0 {
                owners.push(n);
            }
        }
        assert_eq!(
            owners.len(),
            1,
            "one owner of the game, got nodes {owners:?}"
        );
        owners[0]
    }

    /// Every player whose node is dead reconnects to a random survivor and resumes: the
    /// session first, then (in a game) the game. Returns the game views.
    async fn reconnect_orphans(&mut self, rng: &mut StdRng, game: Option<&str>) -> Vec<Value> {
        let mut views = Vec::new();
        for p in 0..self.who.len() {
            if self.alive[self.node_of[p]] {
                continue;
            }
            let survivors = self.survivors();
            let n = survivors[rng.random_range(0..survivors.len())];
            let mut client = self.nodes[n].connect(&self.who[p]).await;
            let session = resumed(&mut client).await;
            if let Some(game) = game {
                if session["game"].is_null() {
                    // The game ended meanwhile: the move sent just before the kill was its
                    // last, applied, and the player finds it in the history.
                    self.ended = true;
                } else {
                    assert_eq!(
                        session["game"], game,
                        "the session knows its game: {session}"
                    );
                    views.push(client.expect("client/RESUME_GAME").await);
                }
            }
            self.clients[p] = client;
            self.node_of[p] = n;
        }
        views
    }
}

fn queue_of(kind: &str) -> Value {
    json!({"game": kind, "clock": {"initialMs": 600_000, "incrementMs": 0}, "rated": true})
}

/// Sends an acceptance of `matchup`; returns its `ref`.
async fn send_accept(client: &mut Client, matchup: &Value) -> String {
    let reference = format!("accept-{}", rand::random::<u16>());
    client
        .send(json!({"type": "server/REPLY_MATCHUP", "matchup": matchup, "accept": true, "ref": reference}))
        .await;
    reference
}

/// Waits for the game's `client/START_GAME` after an acceptance sent with `reference`,
/// accepting again on `unavailable` (the queue being rebuilt elsewhere).
async fn started(client: &mut Client, matchup: &Value, mut reference: String) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = client
            .expect_matching("START_GAME or an error", |m| {
                m["type"] == "client/START_GAME"
                    || (m["type"] == "client/ERROR" && m["ref"] == reference.as_str())
            })
            .await;
        if answer["type"] == "client/START_GAME" {
            return answer;
        }
        assert_eq!(answer["code"], "unavailable", "{answer}");
        assert!(Instant::now() < deadline, "the matchup never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
        reference = send_accept(client, matchup).await;
    }
}

/// The queue, the matchup, and (for `KillQueue`) the death of the queue's node while the
/// matchup is pending. Returns the game id, which player moves first, and the fault's instant.
async fn start(
    table: &mut Table,
    plan: &Plan,
    rng: &mut StdRng,
) -> (String, usize, Option<Instant>) {
    let queue = queue_of(plan.kind);
    let mut clients = Vec::new();
    for p in 0..2 {
        let mut c = table.nodes[table.node_of[p]].connect(&table.who[p]).await;
        resumed(&mut c).await;
        c.send(json!({"type": "server/START_MATCHMAKING", "queue": queue}))
            .await;
        c.next_is("client/QUEUED").await;
        clients.push(c);
    }
    table.clients = clients;
    let mut matchup = Value::Null;
    for c in table.clients.iter_mut() {
        matchup = c.expect("client/PROPOSE_MATCHUP").await["matchup"].clone();
    }
    let mut fault_at = None;
    if plan.fault == Fault::KillQueue {
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..200))).await;
        table.kill(0);
        fault_at = Some(Instant::now());
        table.reconnect_orphans(rng, None).await;
        // The resume repeats the pending proposal, or the queue, rebuilt, does.
        let again = table.clients[0].expect("client/PROPOSE_MATCHUP").await;
        assert_eq!(
            again["matchup"], matchup,
            "the same matchup after the queue moved"
        );
    }
    let mut references = Vec::new();
    for c in table.clients.iter_mut() {
        references.push(send_accept(c, &matchup).await);
    }
    let mut starts = Vec::new();
    for (c, reference) in table.clients.iter_mut().zip(references) {
        starts.push(started(c, &matchup, reference).await);
    }
    let game = starts[0]["game"].as_str().unwrap().to_owned();
    assert_eq!(starts[1]["game"], game.as_str());
    for c in table.clients.iter_mut() {
        c.send(json!({"type": "game/PLAYER_READY", "game": game}))
            .await;
    }
    for c in table.clients.iter_mut() {
        c.expect_matching("the game playing", |m| {
            m["type"] == "client/UPDATE_GAME" && m["status"] == "playing"
        })
        .await;
    }
    let first = if starts[0]["you"] == "first" { 0 } else { 1 };
    (game, first, fault_at)
}

async fn trial(plan: &Plan) -> Option<Duration> {
    let mut rng = StdRng::seed_from_u64(plan.seed ^ 0x9e37_79b9_7f4a_7c15);
    let cluster = Cluster::start();
    let mut nodes = Vec::new();
    // A listener's events pending on a killed node are claimed after 1 s (30 s by default):
    // the finished game reaches MongoDB within the trial's wait.
    let claim = [("ROOKERY_LISTENER_CLAIM_MS", "1000".to_owned())];
    for id in ["n1", "n2", "n3"] {
        nodes.push(cluster.node_with(id, &claim).await);
    }
    let who = vec![
        nodes[0].register("alice").await,
        nodes[1].register("bob").await,
    ];
    let mut before = Vec::new();
    for w in &who {
        before.push(nodes[2].get(&format!("/api/users/{}", w.name)).await.1);
    }
    let mut table = Table {
        seed: plan.seed,
        nodes,
        alive: vec![true; 3],
        who,
        clients: Vec::new(),
        node_of: vec![0, 1],
        ended: false,
    };
    let (game, first, mut fault_at) = start(&mut table, plan, &mut rng).await;
    let mover = |seq: usize| {
        if seq.is_multiple_of(2) {
            first
        } else {
            1 - first
        }
    };

    let mut acknowledged: Vec<Value> = Vec::new();
    let mut playable = None;
    let mut thaw = None;
    for (seq, &mv) in plan.moves.iter().enumerate() {
        let mv = json!(mv);
        if seq == plan.at && plan.fault != Fault::KillQueue {
            let owner = table.owner().await;
            match plan.fault {
                Fault::KillOwner | Fault::KillOwnerMidMove => {
                    if plan.fault == Fault::KillOwnerMidMove {
                        let reference = format!("pending-{seq}");
                        table.clients[mover(seq)]
                            .send(json!({"type": "game/PLAYER_MOVE", "game": game, "seq": seq, "move": mv, "ref": reference}))
                            .await;
                        tokio::time::sleep(Duration::from_millis(rng.random_range(0..30))).await;
                    }
                    table.kill(owner);
                    fault_at = Some(Instant::now());
                    table.reconnect_orphans(&mut rng, Some(&game)).await;
                }
                Fault::KillTwo => {
                    table.kill(owner);
                    fault_at = Some(Instant::now());
                    if rng.random_bool(0.5) {
                        // The orphans come back first (the game may be rebuilt where they land).
                        table.reconnect_orphans(&mut rng, Some(&game)).await;
                    }
                    tokio::time::sleep(Duration::from_millis(rng.random_range(0..1500))).await;
                    let survivors = table.survivors();
                    let second = survivors[rng.random_range(0..survivors.len())];
                    table.kill(second);
                    table.reconnect_orphans(&mut rng, Some(&game)).await;
                }
                Fault::FreezeOwner => {
                    // Frozen for longer than the lease, thawed by a timer; meanwhile the
                    // mover sends its move at a random moment of the freeze.
                    table.nodes[owner].freeze(true);
                    fault_at = Some(Instant::now());
                    let frozen_for = LEASE_TTL_MS + rng.random_range(200..1500);
                    let pid = table.nodes[owner].pid().expect("the owner runs");
                    thaw = Some(tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(frozen_for)).await;
                        let _ = std::process::Command::new("kill")
                            .arg("-CONT")
                            .arg(pid.to_string())
                            .status();
                    }));
                    let wait = rng.random_range(0..frozen_for + 500);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                Fault::KillQueue => unreachable!(),
            }
        }
        if table.ended {
            assert_eq!(
                seq + 1,
                plan.moves.len(),
                "only the last move can end the game"
            );
            acknowledged.push(mv);
            break;
        }
        let ack = move_acked(
            &mut table.clients[mover(seq)],
            &game,
            seq as u64,
            mv.clone(),
        )
        .await;
        let played = acked_move(&ack, seq);
        assert_eq!(played, mv, "move {seq} acknowledged as another: {ack}");
        acknowledged.push(played);
        if let (Some(at), None) = (fault_at, playable) {
            playable = Some(at.elapsed());
        }
    }
    if let Some(thaw) = thaw {
        thaw.await.unwrap();
    }
    let last = mover(plan.moves.len() - 1);
    let over = if table.ended {
        Value::Null
    } else {
        let over = table.clients[last].expect("client/GAME_OVER").await;
        assert_eq!(over["game"], game.as_str());
        over
    };

    // The record: once, with exactly the acknowledged moves.
    let reader = table.survivors()[0];
    let node = &table.nodes[reader];
    let stored = eventually("the finished game in MongoDB", || async {
        let (status, record) = node.get(&format!("/api/games/{game}")).await;
        (status == 200).then_some(record)
    })
    .await;
    eventually("every finished game recorded", || async {
        cluster.outbox_settled().await.then_some(())
    })
    .await;
    assert_eq!(
        stored["moves"],
        Value::Array(acknowledged.clone()),
        "stored moves = acknowledged moves, in order"
    );
    for (p, before) in before.iter().enumerate() {
        let name = &table.who[p].name;
        let side = if p == first { "first" } else { "second" };
        let (_, games) = node
            .get(&format!("/api/users/{name}/games?limit=100"))
            .await;
        let copies = games
            .as_array()
            .map(|g| g.iter().filter(|r| r["game"] == game.as_str()).count());
        assert_eq!(
            copies,
            Some(1),
            "{name}'s history holds the game once: {games}"
        );
        let (_, profile) = node.get(&format!("/api/users/{name}")).await;
        let played_before = before["gamesPlayed"].as_u64().unwrap_or(0);
        assert_eq!(
            profile["gamesPlayed"].as_u64(),
            Some(played_before + 1),
            "{name} counted once: {profile}"
        );
        // GAME_OVER's rating change, or (for a game that ended as its owner died) the record's.
        let recorded = stored["players"]
            .as_array()
            .and_then(|players| players.iter().find(|pl| pl["name"] == name.as_str()))
            .map(|pl| pl["ratingChange"].clone())
            .unwrap_or_default();
        let change = if over.is_null() {
            &recorded
        } else {
            &over["ratingChange"][side]
        };
        assert_eq!(
            change["before"], before["rating"],
            "{name}'s rating before: {over}"
        );
        assert_eq!(
            profile["rating"], change["after"],
            "{name}'s rating changed once: {profile} vs {over}"
        );
    }
    playable
}

fn percentile(sorted: &[Duration], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_millis()
}

fn panic_text(panic: Box<dyn std::any::Any + Send>) -> String {
    let text = if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "a panic".to_owned()
    };
    text.chars().take(600).collect()
}

#[tokio::test]
async fn chaos_trials() {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let seeds: Vec<u64> = match env("ROOKERY_CHAOS_SEED") {
        Some(seed) => vec![seed],
        None => {
            let trials = env("ROOKERY_CHAOS_TRIALS").unwrap_or(3);
            // A fixed first seed unless asked: CI replays the same trials every run.
            let base = env("ROOKERY_CHAOS_BASE").unwrap_or(1);
            println!("chaos: {trials} trials, seeds {base}..{}", base + trials);
            (base..base + trials).collect()
        }
    };
    let mut outcomes = Vec::new();
    for seed in seeds {
        let plan = Plan::new(seed);
        let started = Instant::now();
        let description = format!(
            "seed {seed}: {:?} at move {} of {} ({} moves)",
            plan.fault,
            plan.at,
            plan.kind,
            plan.moves.len()
        );
        let handle = tokio::spawn(async move { trial(&plan).await });
        let abort = handle.abort_handle();
        let result = tokio::time::timeout(Duration::from_secs(120), handle).await;
        let (playable, error) = match result {
            Ok(Ok(playable)) => (playable, None),
            Ok(Err(e)) if e.is_panic() => (None, Some(panic_text(e.into_panic()))),
            Ok(Err(e)) => (None, Some(e.to_string())),
            Err(_) => {
                abort.abort();
                (None, Some("the trial did not end within 120 s".to_owned()))
            }
        };
        match &error {
            None => println!(
                "chaos ok   {description}: playable again after {} ms (trial {:.1} s)",
                playable.map_or(0, |d| d.as_millis()),
                started.elapsed().as_secs_f64()
            ),
            Some(error) => println!("chaos FAIL {description}: {error}"),
        }
        outcomes.push(Outcome {
            seed,
            fault: Plan::new(seed).fault,
            playable,
            error,
        });
    }

    let mut per_fault: BTreeMap<Fault, (usize, usize, Vec<Duration>)> = BTreeMap::new();
    for o in &outcomes {
        let entry = per_fault.entry(o.fault).or_default();
        entry.0 += 1;
        if o.error.is_some() {
            entry.1 += 1;
        }
        entry.2.extend(o.playable);
    }
    let mut all: Vec<Duration> = outcomes.iter().filter_map(|o| o.playable).collect();
    all.sort();
    println!();
    println!("| fault | trials | failures | kill to playable p50 (ms) | p99 (ms) | max (ms) |");
    println!("|---|---|---|---|---|---|");
    let row = |name: String, trials: usize, failures: usize, mut d: Vec<Duration>| {
        d.sort();
        println!(
            "| {name} | {trials} | {failures} | {} | {} | {} |",
            percentile(&d, 50.0),
            percentile(&d, 99.0),
            d.last().map_or(0, |m| m.as_millis())
        );
    };
    for (fault, (trials, failures, d)) in &per_fault {
        row(format!("{fault:?}"), *trials, *failures, d.clone());
    }
    let failures: Vec<&Outcome> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    row("all".to_owned(), outcomes.len(), failures.len(), all);
    for f in &failures {
        println!(
            "failed: ROOKERY_CHAOS_SEED={} ({:?}): {}",
            f.seed,
            f.fault,
            f.error.as_deref().unwrap_or_default()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} chaos trials failed",
        failures.len(),
        outcomes.len()
    );
}
