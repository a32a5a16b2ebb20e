//! The MongoDB store (official driver): `users` (unique case-folded name), `games` (finished
//! games, indexed for "a player's newest games"). MongoDB-compatible servers without
//! transactions (FerretDB) are fine: every write is idempotent by game id instead.

use std::time::Duration;

use async_trait::async_trait;
use client_protocol::http::GameRecord;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Collection, Database, IndexModel};

use super::{FinishedGame, Glicko, NewUser, Store, StoreError, User};
use crate::domain::UserId;

/// MongoDB's duplicate key error code.
const DUPLICATE_KEY: i32 = 11000;

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
}

impl MongoStore {
    /// Connects lazily (the driver dials on first use) and ensures the indexes in the
    /// background, retrying until the server is reachable.
    pub async fn connect(uri: &str, database: &str) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(uri).await.map_err(unavailable)?;
        options.app_name = Some("rookery".to_owned());
        options.server_selection_timeout = Some(Duration::from_secs(2));
        options.connect_timeout = Some(Duration::from_secs(2));
        let client = mongodb::Client::with_options(options).map_err(unavailable)?;
        let store = MongoStore {
            db: client.database(database),
        };
        let indexing = store.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(200);
            while let Err(e) = indexing.ensure_indexes().await {
                tracing::warn!(error = %e, "mongodb indexes not ready, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        });
        Ok(store)
    }

    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = IndexOptions::builder().unique(true).build();
        let name = IndexModel::builder()
            .keys(doc! {"nameKey": 1})
            .options(unique)
            .build();
        self.users().create_index(name).await.map_err(unavailable)?;
        let newest = IndexModel::builder()
            .keys(doc! {"playerIds": 1, "endedAt": -1})
            .build();
        self.games()
            .create_index(newest)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn users(&self) -> Collection<Document> {
        self.db.collection("users")
    }

    fn games(&self) -> Collection<Document> {
        self.db.collection("games")
    }
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
    };
    Ok((user, doc.get_str("passwordHash").ok().map(str::to_owned)))
}

fn record_from(doc: &Document) -> Result<GameRecord, StoreError> {
    let json = doc
        .get_str("record")
        .map_err(|e| unavailable(format!("games.record: {e}")))?;
    serde_json::from_str(json).map_err(|e| unavailable(format!("corrupt game record: {e}")))
}

#[async_trait]
impl Store for MongoStore {
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
        };
        match self.users().insert_one(document).await {
            Ok(_) => Ok(User {
                id: user.id,
                name: user.name,
                guest: user.guest,
                glicko,
                games_played: 0,
                created_at: user.created_at,
            }),
            Err(e) if is_duplicate(&e) => Err(StoreError::UsernameTaken),
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
        }
        let record = serde_json::to_string(&game.record).map_err(unavailable)?;
        let players: Vec<&str> = game.user_ids.iter().map(|u| u.as_str()).collect();
        let document = doc! {
            "_id": id,
            "endedAt": game.record.ended_at as i64,
            "playerIds": players,
            "record": record,
        };
        match self.games().insert_one(document).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn games_of(&self, user: &UserId, limit: u32) -> Result<Vec<GameRecord>, StoreError> {
        let cursor = self
            .games()
            .find(doc! {"playerIds": user.as_str()})
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

    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .run_command(doc! {"ping": 1})
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}
