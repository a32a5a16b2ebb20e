//! The MongoDB store (official driver): `users` (unique case-folded name), `games` (finished
//! games as native documents, see [`GameDocument`], indexed for "a player's newest games").
//! MongoDB-compatible servers without transactions (FerretDB) are fine: every write is
//! idempotent by game id instead.

use std::time::Duration;

use async_trait::async_trait;
use client_protocol::http::GameRecord;
use client_protocol::TournamentStatus;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Collection, Database, IndexModel};
use tokio::sync::watch;

use super::document::{DocumentError, GameDocument};
use super::{
    FinishedGame, Glicko, NewUser, Standing, StandingChange, Store, StoreError, StoredAnalysis,
    TournamentRecord, User, CHEAT_FLAG, NOTIFICATIONS_KEPT, NOTIFICATION_TTL_MS,
};
use crate::analysis::PlayerAnalysis;
use crate::domain::{now_ms, Email, UserId};
use client_protocol::http::NotificationEntry;
use client_protocol::{Notification, NotificationKind};

/// MongoDB's duplicate key error code.
const DUPLICATE_KEY: i32 = 11000;

/// Legacy records converted per round trip of the startup migration.
const MIGRATION_BATCH: i64 = 100;

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn is_duplicate(e: &mongodb::error::Error) -> bool {
    match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    /// Becomes `Some(converted)` once the startup work (legacy migration, then indexes) is
    /// done; `converted` counts the legacy records this store converted.
    prepared: watch::Receiver<Option<u64>>,
    /// How many of an account's newest rated game ids it keeps, to apply each game's rating
    /// once (`record_game`).
    applied_window: usize,
}

/// The game ids each account keeps for idempotent rating updates: far more than the games a
/// retried `game_over` could be behind by (the recorders listener retries within minutes), and
/// the account document stays bounded (about 30 KB at most).
pub const APPLIED_WINDOW: usize = 1000;

impl MongoStore {
    /// Connects lazily (the driver dials on first use) and prepares the database in the
    /// background, retrying until the server is reachable: first the one-shot migration of
    /// legacy game records ([`MongoStore::migrate_legacy_games`]), then the indexes. The node
    /// starts even while MongoDB is down; reads accept both shapes meanwhile.
    /// Keeps `window` game ids per account instead of [`APPLIED_WINDOW`] (tests).
    pub fn applied_window(mut self, window: usize) -> Self {
        self.applied_window = window.max(1);
        self
    }

    pub async fn connect(uri: &str, database: &str) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(uri).await.map_err(unavailable)?;
        options.app_name = Some("rookery".to_owned());
        options.server_selection_timeout = Some(Duration::from_secs(2));
        options.connect_timeout = Some(Duration::from_secs(2));
        let client = mongodb::Client::with_options(options).map_err(unavailable)?;
        let (done, prepared) = watch::channel(None);
        let store = MongoStore {
            db: client.database(database),
            prepared,
            applied_window: APPLIED_WINDOW,
        };
        let preparing = store.clone();
        tokio::spawn(async move {
            let mut converted = 0;
            let mut delay = Duration::from_millis(200);
            loop {
                let attempt = match preparing.migrate_legacy_games(&mut converted).await {
                    Ok(()) => preparing.ensure_indexes().await,
                    Err(e) => Err(e),
                };
                match attempt {
                    Ok(()) => break,
                    Err(e) => tracing::warn!(error = %e, "mongodb not prepared yet, retrying"),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            done.send_replace(Some(converted));
        });
        Ok(store)
    }

    /// Waits for the startup work of [`MongoStore::connect`] and answers how many legacy game
    /// records it converted (0 when there were none, e.g. on every start after the first).
    pub async fn legacy_games_converted(&self) -> Result<u64, StoreError> {
        let mut prepared = self.prepared.clone();
        let done = prepared
            .wait_for(Option::is_some)
            .await
            .map_err(|_| unavailable("the mongodb startup task ended early"))?;
        Ok(done.unwrap_or(0))
    }

    /// Creates the indexes; a no-op for those that exist.
    ///
    /// `players.userId, endedAt desc, _id` serves "a player's newest games" with the sort
    /// taken from the index (`_id` is the tie-break of the history order, so it is in the key
    /// too); `endedAt desc` serves "newest games" across players and time-range scans.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = IndexOptions::builder().unique(true).build();
        let name = IndexModel::builder()
            .keys(doc! {"nameKey": 1})
            .options(unique)
            .build();
        self.users().create_index(name).await.map_err(unavailable)?;
        let newest_of_player = IndexModel::builder()
            .keys(doc! {"players.userId": 1, "endedAt": -1, "_id": 1})
            .build();
        let newest = IndexModel::builder().keys(doc! {"endedAt": -1}).build();
        let notifications = IndexModel::builder()
            .keys(doc! {"userId": 1, "at": -1, "_id": -1})
            .build();
        self.notifications()
            .create_index(notifications)
            .await
            .map_err(unavailable)?;
        let by_player = IndexModel::builder()
            .keys(doc! {"userIds": 1, "endedAt": -1})
            .build();
        self.analyses()
            .create_index(by_player)
            .await
            .map_err(unavailable)?;
        let by_status = IndexModel::builder()
            .keys(doc! {"status": 1, "startsAt": 1})
            .build();
        self.tournaments()
            .create_index(by_status)
            .await
            .map_err(unavailable)?;
        let sent = IndexModel::builder().keys(doc! {"at": 1}).build();
        self.emails_sent()
            .create_index(sent)
            .await
            .map_err(unavailable)?;
        // One per command: FerretDB v1 drops the connection on a createIndexes of several
        // indexes that exist already (which is every start but the first).
        for index in [newest_of_player, newest] {
            self.games()
                .create_index(index)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// Converts legacy game records (`{_id, endedAt, playerIds, record: "<GameRecord JSON>"}`,
    /// written before games were native documents) to [`GameDocument`]s, adding each one
    /// converted to `converted`.
    ///
    /// Idempotent and safe to run on several nodes at once: a legacy document is found by its
    /// `record` field, which the native shape lacks, and replaced only while it still has it,
    /// so a second run, or a second node, converts nothing. Batches are read by `_id` order
    /// rather than through one long cursor, so no cursor is open across the writes. A record
    /// that does not convert exactly is left as it was (and still reads: see `record_from`).
    pub async fn migrate_legacy_games(&self, converted: &mut u64) -> Result<(), StoreError> {
        let (mut skipped, mut last_id) = (0_u64, None::<Bson>);
        loop {
            let mut filter = doc! {"record": {"$exists": true}};
            if let Some(id) = &last_id {
                filter.insert("_id", doc! {"$gt": id.clone()});
            }
            let batch: Vec<Document> = self
                .games()
                .find(filter)
                .sort(doc! {"_id": 1})
                .limit(MIGRATION_BATCH)
                .await
                .map_err(unavailable)?
                .try_collect()
                .await
                .map_err(unavailable)?;
            let Some(last) = batch.last() else { break };
            last_id = last.get("_id").cloned();
            for legacy in &batch {
                let id = legacy.get("_id").cloned().unwrap_or(Bson::Null);
                let native = legacy
                    .get_str("record")
                    .map_err(|e| e.to_string())
                    .and_then(|json| {
                        GameDocument::from_legacy_json(json).map_err(|e| e.to_string())
                    })
                    .and_then(|d| mongodb::bson::to_document(&d).map_err(|e| e.to_string()));
                let native = match native {
                    Ok(native) if native.get("_id") == Some(&id) => native,
                    Ok(_) => {
                        tracing::warn!(game = %id, "legacy game record names another game; left as is");
                        skipped += 1;
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(game = %id, error = %e, "legacy game record does not convert; left as is");
                        skipped += 1;
                        continue;
                    }
                };
                let replaced = self
                    .games()
                    .replace_one(doc! {"_id": id, "record": {"$exists": true}}, native)
                    .await
                    .map_err(unavailable)?;
                *converted += replaced.modified_count;
            }
        }
        tracing::info!(
            converted = *converted,
            skipped,
            "mongodb games: legacy string records converted to native documents"
        );
        Ok(())
    }

    fn users(&self) -> Collection<Document> {
        self.db.collection("users")
    }

    fn games(&self) -> Collection<Document> {
        self.db.collection("games")
    }

    /// `{_id, userId, kind, text, at, data: {..}, read}`, newest first per user.
    fn notifications(&self) -> Collection<Document> {
        self.db.collection("notifications")
    }

    /// The accounts matching `filter`, newest first, at most `limit` of them.
    async fn users_where(
        &self,
        filter: Document,
        limit: Option<u32>,
    ) -> Result<Vec<User>, StoreError> {
        let users = self.users();
        let mut find = users.find(filter).sort(doc! {"createdAt": -1});
        if let Some(limit) = limit {
            find = find.limit(i64::from(limit));
        }
        let found: Vec<Document> = find
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)?;
        found
            .iter()
            .map(|d| user_from(d).map(|(user, _)| user))
            .collect()
    }

    /// `{_id: game, endedAt, engine, userIds: [..], players: [..]}`.
    /// `{_id, status, startsAt, rev, view: {...}, registrations: [...]}`, indexed by status
    /// and start time.
    fn tournaments(&self) -> Collection<Document> {
        self.db.collection("tournaments")
    }

    fn analyses(&self) -> Collection<Document> {
        self.db.collection("analyses")
    }

    /// `{_id: notification id, at}`: the email of that notification went out.
    fn emails_sent(&self) -> Collection<Document> {
        self.db.collection("emailsSent")
    }
}

/// Stores `document` as the one with `_id` `id`, replacing it if it exists.
async fn upsert_by_id(
    collection: &Collection<Document>,
    id: &str,
    mut document: Document,
) -> Result<(), StoreError> {
    document.insert("_id", id);
    collection
        .replace_one(doc! {"_id": id}, document)
        .upsert(true)
        .await
        .map(|_| ())
        .map_err(unavailable)
}

fn tournament_from(mut doc: Document) -> Result<TournamentRecord, StoreError> {
    let id = doc.get_str("_id").map_err(unavailable)?.to_owned();
    doc.insert("id", id);
    mongodb::bson::from_document(doc).map_err(unavailable)
}

fn analysis_from(mut doc: Document) -> Result<StoredAnalysis, StoreError> {
    let id = doc.get_str("_id").map_err(unavailable)?.to_owned();
    doc.insert("game", id);
    // Stored as i64: read back whatever integer width the server kept.
    let ended = doc
        .get_i64("endedAt")
        .or_else(|_| doc.get_i32("endedAt").map(i64::from));
    doc.insert("endedAt", ended.unwrap_or(0));
    mongodb::bson::from_document(doc).map_err(unavailable)
}

fn entry_from(doc: &Document) -> Result<NotificationEntry, StoreError> {
    let text = |k: &str| {
        doc.get_str(k)
            .map(str::to_owned)
            .map_err(|e| unavailable(format!("notifications.{k}: {e}")))
    };
    let kind = text("kind")?;
    let data = match doc.get_document("data") {
        Ok(data) => data
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
        Err(_) => Default::default(),
    };
    Ok(NotificationEntry {
        notification: Notification {
            id: text("_id")?,
            kind: NotificationKind::parse(&kind)
                .ok_or_else(|| unavailable(format!("notifications.kind: unknown {kind:?}")))?,
            text: text("text")?,
            at: doc.get_i64("at").unwrap_or(0).max(0) as u64,
            data,
        },
        read: doc.get_bool("read").unwrap_or(false),
    })
}

fn user_from(doc: &Document) -> Result<(User, Option<String>), StoreError> {
    let text = |k: &str| {
        doc.get_str(k)
            .map(str::to_owned)
            .map_err(|e| unavailable(format!("users.{k}: {e}")))
    };
    let number = |k: &str| {
        doc.get_f64(k)
            .map_err(|e| unavailable(format!("users.{k}: {e}")))
    };
    let id = text("_id")?;
    let user = User {
        id: UserId::parse(&id).ok_or_else(|| unavailable(format!("bad user id {id}")))?,
        name: text("name")?,
        guest: doc.get_bool("guest").unwrap_or(false),
        glicko: Glicko {
            rating: number("rating")?,
            deviation: number("deviation")?,
            volatility: number("volatility")?,
        },
        games_played: doc.get_i64("gamesPlayed").unwrap_or(0).max(0) as u64,
        created_at: doc.get_i64("createdAt").unwrap_or(0).max(0) as u64,
        // Roles and sanctions are native fields of the user document (absent = none).
        standing: mongodb::bson::from_document(doc.clone())
            .map_err(|e| unavailable(format!("users standing: {e}")))?,
        email: doc.get_str("email").ok().and_then(|e| Email::parse(e).ok()),
    };
    Ok((user, doc.get_str("passwordHash").ok().map(str::to_owned)))
}

/// A stored game as its record. Reads the legacy shape too (the record as JSON text in
/// `record`): a legacy document can exist until the startup migration has run, or when it was
/// left unconverted, or was written by a node of the previous version during a rolling upgrade.
fn record_from(doc: &Document) -> Result<GameRecord, StoreError> {
    if let Ok(json) = doc.get_str("record") {
        return serde_json::from_str(json)
            .map_err(|e| unavailable(format!("corrupt legacy game record: {e}")));
    }
    let document: GameDocument =
        mongodb::bson::from_document(doc.clone()).map_err(DocumentError::from)?;
    Ok(document.into_record()?)
}

#[async_trait]
impl Store for MongoStore {
    async fn change_standing(
        &self,
        id: &UserId,
        change: StandingChange,
    ) -> Result<bool, StoreError> {
        fn bson<T: serde::Serialize>(value: &T) -> Result<mongodb::bson::Bson, StoreError> {
            mongodb::bson::to_bson(value).map_err(unavailable)
        }
        let update = match &change {
            StandingChange::Roles(roles) => doc! {"$set": {"roles": bson(roles)?}},
            StandingChange::Ban(s) => doc! {"$set": {"ban": bson(s)?}},
            StandingChange::Mute(s) => doc! {"$set": {"mute": bson(s)?}},
            StandingChange::Playban(s) => doc! {"$set": {"playban": bson(s)?}},
            StandingChange::AddFlag(flag) => doc! {"$push": {"flags": bson(flag)?}},
            StandingChange::AddOffence(offence) => {
                doc! {"$addToSet": {"offences": bson(offence)?}}
            }
            StandingChange::RecordPlayban(at) => doc! {"$addToSet": {"playbans": *at as i64}},
        };
        let result = self
            .users()
            .update_one(doc! {"_id": id.as_str()}, update)
            .await
            .map_err(unavailable)?;
        Ok(result.matched_count > 0)
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        let glicko = Glicko::default();
        let document = doc! {
            "_id": user.id.as_str(),
            "name": &user.name,
            "nameKey": &user.name_key,
            "passwordHash": user.password_hash.clone(),
            "guest": user.guest,
            "rating": glicko.rating,
            "deviation": glicko.deviation,
            "volatility": glicko.volatility,
            "gamesPlayed": 0_i64,
            "createdAt": user.created_at as i64,
            "appliedGames": [],
            "email": user.email.as_ref().map(Email::as_str),
        };
        match self.users().insert_one(document).await {
            Ok(_) => Ok(User {
                id: user.id,
                name: user.name,
                guest: user.guest,
                glicko,
                games_played: 0,
                created_at: user.created_at,
                standing: Standing::default(),
                email: user.email,
            }),
            Err(e) if is_duplicate(&e) => Err(StoreError::UsernameTaken),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn set_email(&self, id: &UserId, email: Option<&Email>) -> Result<bool, StoreError> {
        let update = match email {
            Some(email) => doc! {"$set": {"email": email.as_str()}},
            None => doc! {"$unset": {"email": ""}},
        };
        let result = self
            .users()
            .update_one(doc! {"_id": id.as_str()}, update)
            .await
            .map_err(unavailable)?;
        Ok(result.matched_count > 0)
    }

    async fn add_notification(
        &self,
        user: &UserId,
        notification: &Notification,
    ) -> Result<(), StoreError> {
        let n = notification;
        let data: Document = n
            .data
            .iter()
            .map(|(k, v)| (k.clone(), Bson::from(v)))
            .collect();
        let document = doc! {
            "_id": &n.id,
            "userId": user.as_str(),
            "kind": n.kind.as_str(),
            "text": &n.text,
            "at": n.at as i64,
            "data": data,
            "read": false,
        };
        match self.notifications().insert_one(document).await {
            Ok(_) => {}
            Err(e) if is_duplicate(&e) => return Ok(()),
            Err(e) => return Err(unavailable(e)),
        }
        let cutoff = now_ms().saturating_sub(NOTIFICATION_TTL_MS) as i64;
        self.notifications()
            .delete_many(doc! {"userId": user.as_str(), "at": {"$lt": cutoff}})
            .await
            .map_err(unavailable)?;
        // Beyond the newest NOTIFICATIONS_KEPT: usually none, at most a few per insert.
        let beyond: Vec<Document> = self
            .notifications()
            .find(doc! {"userId": user.as_str()})
            .sort(doc! {"at": -1, "_id": -1})
            .skip(u64::from(NOTIFICATIONS_KEPT))
            .projection(doc! {"_id": 1})
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)?;
        let ids: Vec<Bson> = beyond
            .iter()
            .filter_map(|d| d.get("_id").cloned())
            .collect();
        if !ids.is_empty() {
            self.notifications()
                .delete_many(doc! {"_id": {"$in": ids}})
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn notifications(
        &self,
        user: &UserId,
        limit: u32,
        unread_only: bool,
    ) -> Result<Vec<NotificationEntry>, StoreError> {
        let mut filter = doc! {"userId": user.as_str()};
        if unread_only {
            filter.insert("read", false);
        }
        let found: Vec<Document> = self
            .notifications()
            .find(filter)
            .sort(doc! {"at": -1, "_id": -1})
            .limit(i64::from(limit))
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)?;
        found.iter().map(entry_from).collect()
    }

    async fn mark_read(&self, user: &UserId, ids: &[String]) -> Result<u64, StoreError> {
        let result = self
            .notifications()
            .update_many(
                doc! {"_id": {"$in": ids}, "userId": user.as_str(), "read": false},
                doc! {"$set": {"read": true}},
            )
            .await
            .map_err(unavailable)?;
        Ok(result.modified_count)
    }

    async fn email_sent(&self, notification: &str) -> Result<bool, StoreError> {
        let found = self
            .emails_sent()
            .find_one(doc! {"_id": notification})
            .await
            .map_err(unavailable)?;
        Ok(found.is_some())
    }

    async fn record_email_sent(&self, notification: &str, at: u64) -> Result<(), StoreError> {
        let cutoff = now_ms().saturating_sub(NOTIFICATION_TTL_MS) as i64;
        self.emails_sent()
            .delete_many(doc! {"at": {"$lt": cutoff}})
            .await
            .map_err(unavailable)?;
        match self
            .emails_sent()
            .insert_one(doc! {"_id": notification, "at": at as i64})
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn user_by_name(
        &self,
        name_key: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let found = self
            .users()
            .find_one(doc! {"nameKey": name_key})
            .await
            .map_err(unavailable)?;
        found.as_ref().map(user_from).transpose()
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let found = self
            .users()
            .find_one(doc! {"_id": id.as_str()})
            .await
            .map_err(unavailable)?;
        Ok(found
            .as_ref()
            .map(user_from)
            .transpose()?
            .map(|(user, _)| user))
    }

    async fn record_game(&self, game: &FinishedGame) -> Result<(), StoreError> {
        let id = game.record.game.as_str();
        // Converted before any write, so that a record that cannot be stored changes nothing.
        let document = mongodb::bson::to_document(&GameDocument::from_record(&game.record)?)
            .map_err(DocumentError::from)?;
        // Ratings first, each guarded by the game id: a retry after a crash applies nothing twice.
        for user in &game.user_ids {
            let rating = game.ratings.iter().find(|r| &r.user_id == user);
            let mut update = doc! {
                "$inc": {"gamesPlayed": 1_i64, "rating": rating.map_or(0.0, |r| r.rating_delta)},
                "$addToSet": {"appliedGames": id},
            };
            if let Some(r) = rating {
                update.insert(
                    "$set",
                    doc! {"deviation": r.deviation, "volatility": r.volatility},
                );
            }
            let guard = doc! {"_id": user.as_str(), "appliedGames": {"$ne": id}};
            self.users()
                .update_one(guard, update)
                .await
                .map_err(unavailable)?;
            // Past the window, the oldest id goes (FerretDB has no `$push` `$slice`).
            let full = doc! {
                "_id": user.as_str(),
                format!("appliedGames.{}", self.applied_window): {"$exists": true},
            };
            self.users()
                .update_one(full, doc! {"$pop": {"appliedGames": -1}})
                .await
                .map_err(unavailable)?;
        }
        match self.games().insert_one(document).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn games_of(&self, user: &UserId, limit: u32) -> Result<Vec<GameRecord>, StoreError> {
        let cursor = self
            .games()
            .find(doc! {"players.userId": user.as_str()})
            .sort(doc! {"endedAt": -1, "_id": 1})
            .limit(limit as i64)
            .await
            .map_err(unavailable)?;
        let documents: Vec<Document> = cursor.try_collect().await.map_err(unavailable)?;
        documents.iter().map(record_from).collect()
    }

    async fn game(&self, id: &str) -> Result<Option<GameRecord>, StoreError> {
        let found = self
            .games()
            .find_one(doc! {"_id": id})
            .await
            .map_err(unavailable)?;
        found.as_ref().map(record_from).transpose()
    }

    async fn save_analysis(&self, analysis: &StoredAnalysis) -> Result<(), StoreError> {
        let mut document = mongodb::bson::to_document(analysis).map_err(unavailable)?;
        document.remove("game");
        document.insert("endedAt", analysis.ended_at as i64);
        upsert_by_id(&self.analyses(), &analysis.game, document).await
    }

    async fn analysis(&self, game: &str) -> Result<Option<StoredAnalysis>, StoreError> {
        let found = self
            .analyses()
            .find_one(doc! {"_id": game})
            .await
            .map_err(unavailable)?;
        found.map(analysis_from).transpose()
    }

    async fn analyses_of(
        &self,
        user: &UserId,
        limit: u32,
    ) -> Result<Vec<PlayerAnalysis>, StoreError> {
        let found: Vec<Document> = self
            .analyses()
            .find(doc! {"userIds": user.as_str()})
            .sort(doc! {"endedAt": -1})
            .limit(i64::from(limit))
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)?;
        found
            .into_iter()
            .map(analysis_from)
            .map(|a| {
                let a = a?;
                let side = a.user_ids.iter().position(|u| u == user).unwrap_or(0);
                Ok(a.players[side].clone())
            })
            .collect()
    }

    async fn staff(&self) -> Result<Vec<User>, StoreError> {
        self.users_where(doc! {"roles.0": {"$exists": true}}, None)
            .await
    }

    async fn flagged(&self, limit: u32) -> Result<Vec<User>, StoreError> {
        self.users_where(doc! {"flags.kind": CHEAT_FLAG}, Some(limit))
            .await
    }

    async fn save_tournament(&self, record: &TournamentRecord) -> Result<(), StoreError> {
        let mut document = mongodb::bson::to_document(record).map_err(unavailable)?;
        document.remove("id");
        upsert_by_id(&self.tournaments(), &record.id, document).await
    }

    async fn tournament(&self, id: &str) -> Result<Option<TournamentRecord>, StoreError> {
        let found = self
            .tournaments()
            .find_one(doc! {"_id": id})
            .await
            .map_err(unavailable)?;
        found.map(tournament_from).transpose()
    }

    async fn tournaments(
        &self,
        status: Option<TournamentStatus>,
        limit: usize,
    ) -> Result<Vec<TournamentRecord>, StoreError> {
        let (filter, order) = match status {
            Some(TournamentStatus::Created) => (doc! {"status": "created"}, 1),
            Some(other) => (doc! {"status": other.as_str()}, -1),
            None => (doc! {}, -1),
        };
        let found: Vec<Document> = self
            .tournaments()
            .find(filter)
            .sort(doc! {"startsAt": order})
            .limit(limit as i64)
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)?;
        found.into_iter().map(tournament_from).collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .run_command(doc! {"ping": 1})
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}
