//! The session actor: one per websocket. It parses and rate-limits client frames, answers
//! `server/` messages, forwards `game/` messages to game actors, and pushes `client/` messages
//! to the socket through one bounded writer queue (a slow client is disconnected, never
//! buffered without bound). Its session state is snapshotted on every change.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_ws::{CloseCode, CloseReason};
use client_protocol::constants;
use client_protocol::*;
use tokio::sync::mpsc;

use super::chat::{Member, Watched};
use super::frame::{self, RateLimiter, Verdict};
use super::opening::Opening;
use super::route::{route, AccountRequest, ChatRequest, Route};
use super::state::SessionState;
use super::transport::{Inbound, TransportError};
use super::SessionEnv;
use crate::audit::{AuditOutcome, AuditType, NewEvent};
use crate::auth::{banned_message, AuthError};
use crate::cluster::{Mailbox, Passivate};
use crate::domain::{now_ms, GameId, QueueKey, SessionId};
use crate::messages::{
    Address, Body, Envelope, FeedEvent, FeedFrame, GameAction, GameCommand, QueueAction,
    QueueCommand, Sender, SessionEvent, TicketRating, UserEvent,
};
use crate::rooms::{fingerprint, PostError, Room};
use crate::telemetry::names;

/// Missing this many heartbeats in a row closes the socket.
const MISSED_HEARTBEATS: u32 = 3;
/// A watch request whose view has not come by then is given up (the game does not exist).
const WATCH_ANSWER: Duration = Duration::from_secs(5);
/// How many of its own chat frames a socket remembers, to skip their copies from the room.
const ECHOES: usize = 32;

/// What the writer task sends on the socket.
#[derive(Debug)]
pub enum Outbound {
    Text(String),
    Ping,
    Pong(actix_web::web::Bytes),
    Close(Option<CloseReason>),
}

// ---------------------------------------------------------------------------------------------
// The actor

enum Identity {
    Anonymous,
    Player(Box<SessionState>),
}

pub struct SessionActor {
    env: SessionEnv,
    out: mpsc::Sender<Outbound>,
    peer: Option<IpAddr>,
    identity: Identity,
    opening: Option<Opening>,
    limiter: RateLimiter,
    last_heard: Instant,
    /// A queue we asked to join, until it answers.
    queue_pending: Option<QueueSpec>,
    /// Set when another socket took this session: do not tell the game we left.
    taken_over: bool,
    /// This socket's id, to tell our own takeover notice from another socket's.
    connection: u64,
    /// The groups this socket was asked to watch (`server/WATCH_TOURNAMENT`,
    /// `server/WATCH_GAME`).
    watching: std::collections::BTreeSet<String>,
    /// The games it watches whose view came, by id.
    watched: std::collections::HashMap<String, Watched>,
    /// The chat rooms it joined (`server/CHAT_JOIN`).
    rooms: std::collections::BTreeSet<String>,
    /// Its own chat messages and deletions, answered directly (with their `ref`): their copies
    /// from the room are skipped.
    echoes: std::collections::VecDeque<String>,
    /// The fan-out groups this socket is in: what it watches and the tournaments its session
    /// is in (see `sync_groups`); left when it closes.
    joined: std::collections::BTreeSet<String>,
}

impl SessionActor {
    pub fn new(
        env: SessionEnv,
        out: mpsc::Sender<Outbound>,
        peer: Option<IpAddr>,
        opening: Opening,
    ) -> Self {
        let config = &env.config;
        let limiter = RateLimiter::new(
            config.rate_per_sec,
            config.rate_burst,
            Duration::from_millis(config.rate_close_after_ms),
            Instant::now(),
        );
        SessionActor {
            env,
            out,
            peer,
            identity: Identity::Anonymous,
            opening: Some(opening),
            limiter,
            last_heard: Instant::now(),
            queue_pending: None,
            taken_over: false,
            connection: rand::random(),
            watching: Default::default(),
            watched: Default::default(),
            rooms: Default::default(),
            echoes: Default::default(),
            joined: Default::default(),
        }
    }

    fn state(&self) -> Option<&SessionState> {
        match &self.identity {
            Identity::Player(state) => Some(state),
            Identity::Anonymous => None,
        }
    }

    fn sender(&self, reference: Option<String>) -> Option<Sender> {
        self.state().map(|s| Sender {
            session: s.id.clone(),
            user: s.user_id.clone(),
            reference,
            node: Some(self.env.router.node_id().into()),
        })
    }

    /// Writes a frame to the socket's queue; a full queue means a slow client: disconnect.
    fn write(&mut self, frame: &ServerFrame, ctx: &mut Context<Self>) {
        if let ServerMessage::Error { code, .. } = &frame.message {
            metrics::counter!(names::ERRORS, "code" => code.as_str()).increment(1);
        }
        self.write_text(serde_json::to_string(frame).expect("frames serialise"), ctx);
    }

    fn write_text(&mut self, text: String, ctx: &mut Context<Self>) {
        match self.out.try_send(Outbound::Text(text)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!(names::SLOW_CONSUMERS).increment(1);
                tracing::info!("slow consumer disconnected");
                self.close(
                    CloseCode::Other(constants::CLOSE_POLICY),
                    "too slow to read its messages",
                    ctx,
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => ctx.stop(),
        }
    }

    fn reply(
        &mut self,
        message: ServerMessage,
        reference: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        self.write(&ServerFrame { reference, message }, ctx);
    }

    fn error(
        &mut self,
        code: ErrorCode,
        message: impl Into<String>,
        reference: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        self.reply(ServerMessage::error(code, message), reference, ctx);
    }

    fn close(&mut self, code: CloseCode, description: &str, ctx: &mut Context<Self>) {
        let reason = CloseReason {
            code,
            description: Some(description.to_owned()),
        };
        let _ = self.out.try_send(Outbound::Close(Some(reason)));
        ctx.stop();
    }

    /// Pushes a frame: fold it into the session state, snapshot if it changed, then send.
    fn push(&mut self, frame: ServerFrame, ctx: &mut Context<Self>) {
        if let ServerMessage::WatchGame(view) = &frame.message {
            let watched = Watched {
                seq: view.seq,
                players: view.players.iter().map(|p| p.name.clone()).collect(),
            };
            self.watched.insert(view.game.clone(), watched);
            if view.status == GameStatus::Over {
                self.stop_watching(&view.game);
            }
        }
        if matches!(
            frame.message,
            ServerMessage::Queued { .. }
                | ServerMessage::AlreadyInQueue { .. }
                | ServerMessage::QueueLeft { .. }
        ) {
            self.queue_pending = None;
        }
        let changed = match &mut self.identity {
            Identity::Player(state) => state.apply(&frame).then(|| (**state).clone()),
            Identity::Anonymous => None,
        };
        match changed {
            Some(state) => {
                let follow = self.sync_groups(ctx);
                ctx.spawn(follow.into_actor(self));
                self.save_then(state, ctx, move |act, ctx| act.write(&frame, ctx))
            }
            None => self.write(&frame, ctx),
        }
    }

    /// A frame of a watchers group: folded like any pushed frame, written as the text the
    /// node rendered once for every member.
    fn push_feed(&mut self, feed: std::sync::Arc<FeedFrame>, ctx: &mut Context<Self>) {
        if !self.shows(&feed.frame.message) {
            return;
        }
        let changed = match &mut self.identity {
            Identity::Player(state) => state.apply(&feed.frame).then(|| (**state).clone()),
            Identity::Anonymous => None,
        };
        match changed {
            Some(state) => {
                let follow = self.sync_groups(ctx);
                ctx.spawn(follow.into_actor(self));
                self.save_then(state, ctx, move |act, ctx| {
                    act.write_text(feed.text().to_owned(), ctx)
                })
            }
            None => self.write_text(feed.text().to_owned(), ctx),
        }
    }

    /// Whether a frame from a group is for this socket's client: a watched game's frames in
    /// order (an update older than what the socket has, or one before its view, is dropped),
    /// and no copy of its own chat frames. A watched game's end ends the watching.
    fn shows(&mut self, message: &ServerMessage) -> bool {
        match message {
            ServerMessage::UpdateGame(update) => match self.watched.get_mut(&update.game) {
                Some(watched) if update.seq >= watched.seq => {
                    watched.seq = update.seq;
                    true
                }
                Some(_) => false,
                // Not watched (yet): a player's own updates never come through a group.
                None => false,
            },
            ServerMessage::OfferDraw { game, .. } | ServerMessage::Crowd { game, .. } => {
                self.watched.contains_key(game) || self.plays(game)
            }
            ServerMessage::GameOver { game, .. } => {
                let watched = self.watched.contains_key(game);
                self.stop_watching(game);
                watched
            }
            ServerMessage::ChatMessage(line) => !self.echoes.contains(&echo_of_message(&line.id)),
            ServerMessage::ChatDeleted { room, id } => {
                !self.echoes.contains(&echo_of_delete(room, id))
            }
            _ => true,
        }
    }

    fn plays(&self, game: &str) -> bool {
        self.state()
            .and_then(|s| s.game.as_ref())
            .is_some_and(|g| g.as_str() == game)
    }

    /// Forgets a watched game (its watchers' room too); the groups follow at the next sync.
    fn stop_watching(&mut self, game: &str) {
        self.watched.remove(game);
        if let Some(id) = GameId::parse(game) {
            self.watching.remove(Address::game_watchers(&id).key());
            self.rooms.remove(&Room::Watchers(id).to_string());
        }
    }

    fn remember_echo(&mut self, echo: String) {
        if self.echoes.len() == ECHOES {
            self.echoes.pop_front();
        }
        self.echoes.push_back(echo);
    }

    /// Joins the groups this socket should be in and leaves the others: what it watches, the
    /// tournaments its session is in (so a registered player hears each update once per
    /// node, not once per player), the games its session watches, the chat rooms it joined
    /// and its game's room. The future completes once the joins are subscribed.
    fn sync_groups(&mut self, ctx: &mut Context<Self>) -> impl std::future::Future<Output = ()> {
        let mut wanted = self.watching.clone();
        if let Some(state) = self.state() {
            for tournament in &state.tournaments {
                if let Some(id) = crate::domain::TournamentId::parse(tournament) {
                    wanted.insert(Address::tournament_watchers(&id).key().to_owned());
                }
            }
            for game in &state.watching {
                if let Some(id) = GameId::parse(game) {
                    wanted.insert(Address::game_watchers(&id).key().to_owned());
                }
            }
            if let Some(game) = &state.game {
                let room = Room::Game(game.clone()).to_string();
                wanted.insert(Address::chat_room(&room).key().to_owned());
            }
        }
        for room in &self.rooms {
            wanted.insert(Address::chat_room(room).key().to_owned());
        }
        let router = self.env.router.clone();
        for gone in self.joined.difference(&wanted) {
            if let Some(group) = Address::parse(gone) {
                router.leave(&group, self.connection);
            }
        }
        let new: Vec<Address> = wanted
            .difference(&self.joined)
            .filter_map(|key| Address::parse(key))
            .collect();
        self.joined = wanted;
        let mailbox = Mailbox::of::<Self, FeedEvent>(&ctx.address());
        let connection = self.connection;
        async move {
            for group in new {
                router.join(&group, connection, mailbox.clone()).await;
            }
        }
    }

    /// Writes the session snapshot, then runs `then`. Runs with `ctx.wait`, so frames stay in
    /// order and the client never hears of a change that is not yet saved.
    fn save_then(
        &mut self,
        state: SessionState,
        ctx: &mut Context<Self>,
        then: impl FnOnce(&mut Self, &mut Context<Self>) + 'static,
    ) {
        let sessions = self.env.sessions.clone();
        ctx.wait(
            async move { sessions.save(&state).await }
                .into_actor(self)
                .map(move |result, act, ctx| {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "session snapshot not saved");
                    }
                    then(act, ctx);
                }),
        );
    }

    /// Becomes the player of `state`: registers it on the router (so actors can reach it) and
    /// saves it, in ONE future, then runs `then`. One future matters: actix polls `ctx.wait`
    /// futures last-in first-out, so two waits queued by one handler would run in reverse and
    /// `then` could speak for a session that is not yet reachable. Registering and saving
    /// touch different keys, so they run concurrently: one Redis round trip, not two.
    fn become_player(
        &mut self,
        state: SessionState,
        ctx: &mut Context<Self>,
        then: impl FnOnce(&mut Self, &mut Context<Self>) + 'static,
    ) {
        if let Identity::Player(old) = &self.identity {
            self.env.router.unregister_socket(&old.id, self.connection);
            self.env
                .router
                .leave(&Address::user(&old.user_id), self.connection);
        }
        let router = self.env.router.clone();
        let sessions = self.env.sessions.clone();
        let mailbox = Mailbox::of::<Self, SessionEvent>(&ctx.address());
        let account = Mailbox::of::<Self, UserEvent>(&ctx.address());
        let (id, connection) = (state.id.clone(), self.connection);
        let user = Address::user(&state.user_id);
        self.identity = Identity::Player(Box::new(state.clone()));
        // The session's own address, and the account's group (bans, notifications), at once.
        let register_and_save = async move {
            let register = router.register_socket(&id, mailbox, connection);
            let join = router.join(&user, connection, account);
            tokio::join!(register, join, sessions.save(&state)).2
        };
        ctx.wait(
            register_and_save
                .into_actor(self)
                .map(move |saved, act, ctx| {
                    if let Err(e) = saved {
                        tracing::warn!(error = %e, "session snapshot not saved");
                    }
                    // What a resumed session follows (tournaments, watched games): joined
                    // before the client hears anything, so no update falls in between.
                    let follow = act.sync_groups(ctx);
                    ctx.wait(follow.into_actor(act).map(|(), act, ctx| then(act, ctx)));
                }),
        );
    }

    fn on_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        let verdict = self.limiter.check(Instant::now());
        if verdict == Verdict::Close {
            let mut event = NewEvent::new(AuditType::RateLimited, AuditOutcome::Refused)
                .ip(self.peer)
                .text("limit", "socket");
            event.actor = self.state().map(|s| s.user.name.clone());
            self.env.accounts.auditor.record(event);
            return self.close(
                CloseCode::Other(constants::CLOSE_POLICY),
                "rate limit exceeded for too long",
                ctx,
            );
        }
        // Parsed even when dropped, so that the `rate_limited` error echoes the message's ref.
        let parsed = frame::parse(text);
        if verdict == Verdict::Drop {
            let reference = match &parsed {
                Ok((reference, _)) => reference.clone(),
                Err(e) => e.reference.clone(),
            };
            return self.error(
                ErrorCode::RateLimited,
                "slow down: message dropped",
                reference,
                ctx,
            );
        }
        let (reference, message) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => return self.error(e.code, e.message, e.reference, ctx),
        };
        let namespace = message.type_name().split('/').next().unwrap_or("");
        metrics::counter!(names::FRAMES_IN, "namespace" => namespace.to_owned()).increment(1);
        let span = match self.state() {
            Some(s) => tracing::info_span!("session", session = %s.id, user = %s.user_id),
            None => tracing::info_span!("session", session = "anonymous"),
        };
        let _entered = span.enter();
        let decided = route(
            message,
            reference.clone(),
            self.state(),
            self.queue_pending.as_ref(),
        );
        match decided {
            Route::Reply(message) => self.reply(message, reference, ctx),
            Route::Authenticate(request) => self.authenticate(request, reference, ctx),
            Route::Forward(mut envelope) => {
                // A game learns which node its player's socket is on.
                if let Body::Game(command) = &mut envelope.body {
                    if let Some(from) = &mut command.from {
                        from.node = Some(self.env.router.node_id().into());
                    }
                }
                self.env.router.send(envelope)
            }
            Route::Enqueue { queue, envelope } => self.enqueue(queue, envelope, reference, ctx),
            Route::Watch { group, envelope } => self.watch(group, envelope, ctx),
            Route::Unwatch(group) => {
                if self.watching.remove(group.key()) {
                    let follow = self.sync_groups(ctx);
                    ctx.spawn(follow.into_actor(self));
                }
            }
            Route::UnwatchGame(game) => {
                self.stop_watching(game.as_str());
                let unwatched = ServerMessage::Unwatched {
                    game: game.to_string(),
                };
                // Folded like any frame: the session forgets the game, the groups follow.
                self.push(
                    ServerFrame {
                        reference,
                        message: unwatched,
                    },
                    ctx,
                );
                let follow = self.sync_groups(ctx);
                ctx.spawn(follow.into_actor(self));
            }
            Route::Chat(request) => self.chat(request, reference, ctx),
        }
    }

    fn member(&self) -> Option<Member<'_>> {
        Some(Member {
            state: self.state()?,
            joined: &self.rooms,
            watched: &self.watched,
            following: &self.watching,
        })
    }

    /// Carries out a chat request: membership from what this socket knows, the sender's
    /// standing (a mute, a role) read as it is now, the flood rule where the room is kept.
    fn chat(&mut self, request: ChatRequest, reference: Option<String>, ctx: &mut Context<Self>) {
        let Some(member) = self.member() else {
            return;
        };
        let allowed = match &request {
            ChatRequest::Join(room) => member.may_join(room),
            ChatRequest::Send { room, .. } => member.may_send(room),
            ChatRequest::Leave(_) | ChatRequest::Delete { .. } => Ok(()),
        };
        if let Err(why) = allowed {
            return self.error(ErrorCode::Forbidden, why, reference, ctx);
        }
        match request {
            ChatRequest::Join(room) => self.chat_join(room, reference, ctx),
            ChatRequest::Leave(room) => {
                if self.rooms.remove(&room.to_string()) {
                    let follow = self.sync_groups(ctx);
                    ctx.spawn(follow.into_actor(self));
                }
            }
            ChatRequest::Send { room, text } => self.chat_send(room, text, reference, ctx),
            ChatRequest::Delete { room, id } => self.chat_delete(room, id, reference, ctx),
        }
    }

    /// Joins the room's group first, then reads its history: no message falls between.
    fn chat_join(&mut self, room: Room, reference: Option<String>, ctx: &mut Context<Self>) {
        if !matches!(room, Room::Game(_)) {
            self.rooms.insert(room.to_string());
        }
        let joined = self.sync_groups(ctx);
        let chat = self.env.rooms.chat.clone();
        let history = async move {
            joined.await;
            chat.history(&room).await.map(|messages| (room, messages))
        };
        ctx.wait(
            history
                .into_actor(self)
                .map(move |read, act, ctx| match read {
                    Ok((room, messages)) => {
                        let history = ServerMessage::ChatHistory {
                            room: room.to_string(),
                            messages,
                        };
                        act.reply(history, reference, ctx);
                    }
                    Err(e) => act.error(ErrorCode::Unavailable, e.to_string(), reference, ctx),
                }),
        );
    }

    /// This socket's account, by id and name.
    fn who(&self) -> Option<(crate::domain::UserId, String)> {
        self.state()
            .map(|s| (s.user_id.clone(), s.user.name.clone()))
    }

    fn chat_send(
        &mut self,
        room: Room,
        text: String,
        reference: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let Some((user_id, name)) = self.who() else {
            return;
        };
        let (store, chat) = (self.env.store.clone(), self.env.rooms.chat.clone());
        let post = async move {
            let now = now_ms();
            let account = store
                .user_by_id(&user_id)
                .await
                .map_err(|e| Refused::unavailable(e.to_string()))?;
            if let Some(mute) = account.as_ref().and_then(|u| u.standing.muted(now)) {
                return Err(Refused::Muted(mute.until));
            }
            let line = ChatLine {
                room: room.to_string(),
                id: crate::domain::random_token(9),
                from: name,
                text,
                at: now,
            };
            match chat
                .post(user_id.as_str(), &line, &fingerprint(&line.text))
                .await
            {
                Ok(()) => Ok((room, line)),
                Err(PostError::Flood) => Err(Refused::Code(
                    ErrorCode::ChatFlood,
                    PostError::Flood.to_string(),
                )),
                Err(PostError::Unavailable(e)) => Err(Refused::unavailable(e.to_string())),
            }
        };
        ctx.wait(
            post.into_actor(self)
                .map(move |posted, act, ctx| match posted {
                    Ok((room, line)) => {
                        metrics::counter!(names::CHAT_MESSAGES).increment(1);
                        act.remember_echo(echo_of_message(&line.id));
                        act.reply(ServerMessage::ChatMessage(line.clone()), reference, ctx);
                        act.to_room(&room, ServerMessage::ChatMessage(line));
                    }
                    Err(refused) => act.refused(refused, reference, ctx),
                }),
        );
    }

    /// A moderator's deletion: the role read as it is now, audited either way.
    fn chat_delete(
        &mut self,
        room: Room,
        id: String,
        reference: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let Some((user_id, name)) = self.who() else {
            return;
        };
        let (store, chat) = (self.env.store.clone(), self.env.rooms.chat.clone());
        let auditor = self.env.accounts.auditor.clone();
        let peer = self.peer;
        let delete = async move {
            let audit = |outcome| {
                NewEvent::new(AuditType::ChatDeleted, outcome)
                    .actor(name.clone())
                    .ip(peer)
                    .text("room", room.to_string())
                    .text("message", id.clone())
            };
            let account = store
                .user_by_id(&user_id)
                .await
                .map_err(|e| Refused::unavailable(e.to_string()))?;
            if !account.is_some_and(|u| u.may(Role::Moderator)) {
                auditor.record(
                    audit(AuditOutcome::Refused).text("reason", "needs the moderator role"),
                );
                return Err(Refused::Code(
                    ErrorCode::Forbidden,
                    "deleting chat messages needs the moderator role".into(),
                ));
            }
            match chat.delete(&room, &id).await {
                Ok(Some(line)) => {
                    auditor.record(
                        audit(AuditOutcome::Ok)
                            .target(line.from.clone())
                            .text("text", line.text.clone()),
                    );
                    Ok((room, id))
                }
                Ok(None) => Err(Refused::Code(
                    ErrorCode::NotFound,
                    format!("no message {id:?} in {room}"),
                )),
                Err(e) => Err(Refused::unavailable(e.to_string())),
            }
        };
        ctx.wait(
            delete
                .into_actor(self)
                .map(move |deleted, act, ctx| match deleted {
                    Ok((room, id)) => {
                        act.remember_echo(echo_of_delete(&room.to_string(), &id));
                        let deleted = ServerMessage::ChatDeleted {
                            room: room.to_string(),
                            id,
                        };
                        act.reply(deleted.clone(), reference, ctx);
                        act.to_room(&room, deleted);
                    }
                    Err(refused) => act.refused(refused, reference, ctx),
                }),
        );
    }

    /// A frame for every member of `room`, on every node.
    fn to_room(&self, room: &Room, message: ServerMessage) {
        let frame = ServerFrame {
            reference: None,
            message,
        };
        self.env.router.send(Envelope {
            to: Address::chat_room(&room.to_string()),
            body: FeedEvent::new(frame).into(),
        });
    }

    fn refused(&mut self, refused: Refused, reference: Option<String>, ctx: &mut Context<Self>) {
        let message = match refused {
            Refused::Muted(until) => ServerMessage::Error {
                code: ErrorCode::Muted,
                message: match until {
                    Some(until) => format!("you are muted until {until} (ms since the epoch)"),
                    None => "you are muted".into(),
                },
                until: Some(Until(until)),
            },
            Refused::Code(code, message) => ServerMessage::error(code, message),
        };
        self.reply(message, reference, ctx);
    }

    /// Joins a fan-out group, then sends what answers with the current state, so that no
    /// update falls between the answer and the membership. A game that never answers (it
    /// does not exist) is not watched.
    fn watch(&mut self, group: Address, envelope: Envelope, ctx: &mut Context<Self>) {
        self.watching.insert(group.key().to_owned());
        if group.id().starts_with("game:") {
            let game = group.id()["game:".len()..].to_owned();
            ctx.run_later(WATCH_ANSWER, move |act, ctx| {
                if !act.watched.contains_key(&game) && act.watching.remove(group.key()) {
                    let follow = act.sync_groups(ctx);
                    ctx.spawn(follow.into_actor(act));
                }
            });
        }
        let router = self.env.router.clone();
        let joined = self.sync_groups(ctx);
        ctx.wait(
            async move {
                joined.await;
                router.send(envelope);
            }
            .into_actor(self),
        );
    }

    /// Queues the player unless automod playbanned them (read from the store: a playban holds
    /// from the next message); the socket waits for the check. A store that cannot answer
    /// does not keep anyone from playing.
    fn enqueue(
        &mut self,
        queue: QueueSpec,
        envelope: Envelope,
        reference: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let Some(user) = self.state().map(|s| s.user_id.clone()) else {
            return;
        };
        let accounts = self.env.accounts.clone();
        let check = async move { accounts.queue_check(&user).await };
        let mut envelope = envelope;
        ctx.wait(check.into_actor(self).map(move |found, act, ctx| match found {
            Ok((None, account)) => {
                // The ticket carries the stored rating: the game is made without a store read.
                if let (Some(account), Body::Queue(command)) = (account, &mut envelope.body) {
                    if let QueueAction::Enqueue { ticket } = &mut command.action {
                        ticket.glicko = Some(TicketRating {
                            rating: account.glicko.rating,
                            deviation: account.glicko.deviation,
                            volatility: account.glicko.volatility,
                        });
                    }
                }
                act.queue_pending = Some(queue);
                act.env.router.send(envelope);
            }
            Ok((Some(until), _)) => {
                let refusal = ServerMessage::Error {
                    code: ErrorCode::Playban,
                    message: format!(
                        "you left too many games: you cannot queue until {until} (ms since the epoch)"
                    ),
                    until: Some(Until(Some(until))),
                };
                act.reply(refusal, reference, ctx);
            }
            // The store being down must not stop play: queue, unchecked.
            Err(e) => {
                tracing::warn!(error = %e, "playban not checked (store unavailable): queued anyway");
                act.queue_pending = Some(queue);
                act.env.router.send(envelope);
            }
        }));
    }

    /// Runs an account operation (the socket waits for it), then starts a fresh session.
    fn authenticate(
        &mut self,
        request: AccountRequest,
        reference: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let accounts = self.env.accounts.clone();
        let peer = self.peer;
        let operation = async move {
            match request {
                AccountRequest::Register { username, password } => {
                    accounts.register(&username, &password, None, peer).await
                }
                AccountRequest::Login { username, password } => {
                    accounts.login(&username, &password, peer).await
                }
                AccountRequest::Guest => accounts.guest(peer).await,
            }
        };
        ctx.wait(
            operation
                .into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok(auth) => {
                        let state = SessionState::new(
                            SessionId::generate(),
                            auth.user.id.clone(),
                            auth.user.view(),
                        );
                        let started = ServerMessage::SessionStarted {
                            session: state.id.to_string(),
                            token: auth.issued.token,
                            user: state.user.clone(),
                            refresh_token: Some(auth.issued.refresh_token),
                            expires_at: auth.issued.expires_at,
                        };
                        act.become_player(state, ctx, move |act, ctx| {
                            act.reply(started, reference, ctx)
                        });
                    }
                    Err(AuthError::Banned { until }) => {
                        act.reply(banned_error(until), reference, ctx);
                    }
                    Err(e) => {
                        if let AuthError::Unavailable(cause) = &e {
                            tracing::warn!(error = %cause, "account store unavailable");
                        }
                        act.error(e.code(), e.to_string(), reference, ctx);
                    }
                }),
        );
    }

    /// A command of this session's player for `game`, with no `ref`.
    fn to_game(&self, game: &crate::domain::GameId, action: GameAction) {
        let from = self.sender(None);
        self.env
            .router
            .send(Envelope::game(game, GameCommand { from, action }));
    }

    /// Sends what a new connection must hear first.
    fn open(&mut self, opening: Opening, ctx: &mut Context<Self>) {
        match opening {
            Opening::Anonymous { bad_token } => {
                if bad_token {
                    self.error(
                        ErrorCode::Unauthenticated,
                        "token is invalid or expired: log in again",
                        None,
                        ctx,
                    );
                }
            }
            Opening::Banned { until } => {
                self.reply(banned_error(until), None, ctx);
                self.close(
                    CloseCode::Other(constants::CLOSE_BANNED),
                    "this account is banned",
                    ctx,
                );
            }
            Opening::Refused => {
                self.error(
                    ErrorCode::Forbidden,
                    "that session belongs to another user",
                    None,
                    ctx,
                );
                self.close(
                    CloseCode::Other(constants::CLOSE_POLICY),
                    "forbidden session",
                    ctx,
                );
            }
            Opening::Started {
                state,
                token,
                expires_at,
            } => {
                let started = ServerMessage::SessionStarted {
                    session: state.id.to_string(),
                    token,
                    user: state.user.clone(),
                    refresh_token: None,
                    expires_at,
                };
                self.become_player(state, ctx, move |act, ctx| act.reply(started, None, ctx));
            }
            Opening::Resumed(state, ended) => {
                let resume = state.resume_message();
                let matchup = state.matchup.clone();
                let known = state.matchup_id.clone();
                let game = state.game.clone();
                let queued = state.queue.clone();
                let watching = state.watching.clone();
                self.become_player(state, ctx, move |act, ctx| {
                    act.reply(resume, None, ctx);
                    if let Some(queue) = queued.as_ref().and_then(|q| QueueKey::from_spec(q).ok()) {
                        let from = act.sender(None).expect("a player");
                        let resume = QueueCommand {
                            from,
                            action: QueueAction::Resume { matchup: known },
                        };
                        act.env.router.send(Envelope::queue(&queue, resume));
                    }
                    if let Some(proposal) = matchup {
                        act.write(&proposal, ctx);
                    }
                    if let Some(game) = game {
                        act.to_game(&game, GameAction::Join);
                    }
                    for game in ended {
                        act.reply(ServerMessage::Unwatched { game }, None, ctx);
                    }
                    for game in watching.iter().filter_map(|g| GameId::parse(g)) {
                        act.watching
                            .insert(Address::game_watchers(&game).key().to_owned());
                        act.to_game(&game, GameAction::Watch);
                    }
                });
            }
        }
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        metrics::gauge!(names::SESSIONS).increment(1.0);
        let every = Duration::from_millis(self.env.config.heartbeat_ms.max(10));
        ctx.run_interval(every, move |act, ctx| {
            if act.last_heard.elapsed() > every * MISSED_HEARTBEATS {
                tracing::debug!("heartbeat timeout");
                return act.close(CloseCode::Away, "heartbeat timeout", ctx);
            }
            if act.out.try_send(Outbound::Ping).is_err() {
                ctx.stop();
            }
        });
        if let Some(opening) = self.opening.take() {
            self.open(opening, ctx);
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        metrics::gauge!(names::SESSIONS).decrement(1.0);
        if let Identity::Player(state) = &self.identity {
            self.env
                .router
                .unregister_socket(&state.id, self.connection);
            self.env
                .router
                .leave(&Address::user(&state.user_id), self.connection);
            for group in std::mem::take(&mut self.joined) {
                if let Some(group) = Address::parse(&group) {
                    self.env.router.leave(&group, self.connection);
                }
            }
            if let (Some(game), false) = (state.game.clone(), self.taken_over) {
                self.to_game(&game, GameAction::Leave);
            }
        }
    }
}

impl StreamHandler<Result<Inbound, TransportError>> for SessionActor {
    fn handle(&mut self, item: Result<Inbound, TransportError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match item {
            Ok(Inbound::Text(text)) => self.on_text(&text, ctx),
            Ok(Inbound::Binary) => self.error(
                ErrorCode::BadFrame,
                "binary frames are not accepted: send JSON text",
                None,
                ctx,
            ),
            Ok(Inbound::Ping(bytes)) => {
                let _ = self.out.try_send(Outbound::Pong(bytes));
            }
            Ok(Inbound::Pong) => {}
            Ok(Inbound::Close(_)) => ctx.stop(),
            Err(TransportError::Io(e)) => {
                tracing::debug!(error = %e, "websocket connection failed");
                ctx.stop();
            }
            // Told first (`bad_frame`), then closed with the code RFC 6455 gives it, or left
            // open when the rest of the message could be skipped.
            Err(e) => {
                metrics::counter!(names::BAD_TRANSPORT_FRAMES, "reason" => e.reason()).increment(1);
                tracing::debug!(error = %e, "websocket frame refused");
                let message =
                    format!("{e}: send JSON text frames of at most {MAX_FRAME_BYTES} bytes");
                self.error(ErrorCode::BadFrame, message, None, ctx);
                if let Some(code) = e.close_code() {
                    self.close(code, &e.to_string(), ctx);
                }
            }
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<SessionEvent> for SessionActor {
    type Result = ();

    fn handle(&mut self, event: SessionEvent, ctx: &mut Self::Context) {
        match event {
            SessionEvent::Push { frame } => self.push(*frame, ctx),
            SessionEvent::TakenOver { by } if by != self.connection => {
                self.taken_over = true;
                self.close(
                    CloseCode::Other(constants::CLOSE_TAKEN_OVER),
                    "session resumed on another connection",
                    ctx,
                );
            }
            SessionEvent::TakenOver { .. } => {}
            SessionEvent::Resync => {
                if let Some(game) = self.state().and_then(|s| s.game.clone()) {
                    self.to_game(&game, GameAction::Join);
                }
            }
        }
    }
}

/// Something for every socket of this account: a ban closes it (after resigning its live
/// game), a notification is pushed.
impl Handler<FeedEvent> for SessionActor {
    type Result = ();

    fn handle(&mut self, event: FeedEvent, ctx: &mut Self::Context) {
        self.push_feed(event.frame, ctx);
    }
}

impl Handler<UserEvent> for SessionActor {
    type Result = ();

    fn handle(&mut self, event: UserEvent, ctx: &mut Self::Context) {
        match event {
            UserEvent::Banned { until, reason } => {
                tracing::info!(%reason, "account banned: closing its socket");
                if let Some(game) = self.state().and_then(|s| s.game.clone()) {
                    self.to_game(&game, GameAction::Concede);
                }
                self.reply(banned_error(until), None, ctx);
                self.close(
                    CloseCode::Other(constants::CLOSE_BANNED),
                    "this account is banned",
                    ctx,
                );
            }
            UserEvent::Push { frame } => self.push(*frame, ctx),
        }
    }
}

/// Why a chat request was refused.
enum Refused {
    Muted(Option<u64>),
    Code(ErrorCode, String),
}

impl Refused {
    fn unavailable(cause: String) -> Refused {
        tracing::warn!(error = %cause, "chat: a store is unavailable");
        Refused::Code(ErrorCode::Unavailable, "chat is unavailable, retry".into())
    }
}

fn echo_of_message(id: &str) -> String {
    format!("message {id}")
}

fn echo_of_delete(room: &str, id: &str) -> String {
    format!("delete {room} {id}")
}

/// The `client/ERROR` `banned`, with its `until` (null: until lifted).
fn banned_error(until: Option<u64>) -> ServerMessage {
    ServerMessage::Error {
        code: ErrorCode::Banned,
        message: banned_message(until),
        until: Some(Until(until)),
    }
}

/// The node is draining: close with 1012 so the client reconnects elsewhere.
impl Handler<Passivate> for SessionActor {
    type Result = ();

    fn handle(&mut self, _: Passivate, ctx: &mut Self::Context) {
        self.close(
            CloseCode::Other(constants::CLOSE_RESTART),
            "node restarting: reconnect and resume",
            ctx,
        );
    }
}
