//! How a connection begins: from its token and `?session=`, decided before the session actor
//! starts. A valid token with the player's own session resumes it; someone else's session is
//! refused without revealing anything; otherwise a fresh session starts (or the socket stays
//! anonymous).

use std::net::IpAddr;

use crate::actors::game::{GameState, Standing};
use crate::audit::{AuditOutcome, AuditType, NewEvent};
use crate::auth::AuthError;
use crate::domain::SessionId;
use crate::messages::{Envelope, GameAction, GameCommand};

use super::state::SessionState;
use super::SessionEnv;

/// How a connection begins, decided from its token and `?session=` before the actor starts.
pub enum Opening {
    /// No token, or a bad one (then the client is told `unauthenticated`).
    Anonymous { bad_token: bool },
    /// An existing session of this user.
    /// The session, and the games it watched that ended while it was away (the client hears
    /// `client/UNWATCHED` for each).
    Resumed(SessionState, Vec<String>),
    /// A fresh session for a valid token.
    Started {
        state: SessionState,
        token: String,
        /// When the token expires (ms since the epoch).
        expires_at: u64,
    },
    /// The session belongs to someone else: refused, nothing revealed.
    Refused,
    /// The token's account is banned: told so (`banned`, with `until`) and closed with 4003.
    Banned { until: Option<u64> },
}

impl Opening {
    /// Refused tokens and sessions are audited (with `ip`, never the token or session id).
    pub async fn negotiate(
        env: &SessionEnv,
        token: Option<&str>,
        session: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Opening {
        let Some(token) = token else {
            return Opening::Anonymous { bad_token: false };
        };
        let refused = |kind| NewEvent::new(kind, AuditOutcome::Refused).ip(ip);
        let holder = match env.accounts.identify(token).await {
            Ok(holder) => holder,
            Err(AuthError::Banned { until }) => return Opening::Banned { until },
            Err(e) => {
                let event = refused(AuditType::TokenRefused).text("reason", e.to_string());
                env.accounts.auditor.record(event.text("via", "socket"));
                return Opening::Anonymous { bad_token: true };
            }
        };
        if let Some(id) = session.and_then(SessionId::parse) {
            if let Ok(Some(mut state)) = env.sessions.load(&id).await {
                if state.user_id != holder.id {
                    let event = refused(AuditType::SessionRefused).actor(holder.name.clone());
                    env.accounts
                        .auditor
                        .record(event.text("reason", "another user's session"));
                    return Opening::Refused;
                }
                if let Some(user) = &holder.user {
                    state.user.rating = user.glicko.display();
                }
                // A game that ended while the player was away is in their history, not here.
                if let Some(game) = state.game.clone() {
                    let standing = GameState::standing(env.snapshots.as_ref(), &game).await;
                    if standing != Standing::Live {
                        state.game = None;
                        state.side = None;
                    }
                    // Its owner died between the end and recording it: woken, the game is
                    // rebuilt and records its result (nothing else would wake it).
                    if standing == (Standing::Over { recorded: false }) {
                        let wake = GameCommand {
                            from: None,
                            action: GameAction::Start,
                        };
                        env.router.send(Envelope::game(&game, wake));
                    }
                }
                // Games it watched that ended while it was away are watched no more.
                let mut ended = Vec::new();
                for watched in std::mem::take(&mut state.watching) {
                    let live = match crate::domain::GameId::parse(&watched) {
                        Some(id) => GameState::is_live(env.snapshots.as_ref(), &id).await,
                        None => false,
                    };
                    if live {
                        state.watching.insert(watched);
                    } else {
                        ended.push(watched);
                    }
                }
                return Opening::Resumed(state, ended);
            }
        }
        let state = SessionState::new(SessionId::generate(), holder.id.clone(), holder.view());
        Opening::Started {
            state,
            token: token.to_owned(),
            expires_at: holder.expires_at,
        }
    }
}
