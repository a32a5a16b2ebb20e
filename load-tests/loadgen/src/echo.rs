//! `echo`: the transport floor. A bare websocket server (tokio-tungstenite, no actors, no
//! JSON, no storage): it greets each socket with one small frame, keeps idle sockets, and
//! relays each text frame of a `/relay?pair=ID` socket to both sockets of that pair, as a node
//! sends a move's update to both players.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Args)]
pub struct EchoArgs {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: String,
    /// Write the bound port to this file once listening.
    #[arg(long)]
    port_file: Option<PathBuf>,
}

type Pairs = Arc<Mutex<HashMap<String, Vec<mpsc::UnboundedSender<Message>>>>>;

pub async fn run(args: EchoArgs) -> Result<(), String> {
    let listener = TcpListener::bind(&args.bind)
        .await
        .map_err(|e| format!("bind {}: {e}", args.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("echo: listening on {addr}");
    if let Some(path) = &args.port_file {
        std::fs::write(path, addr.port().to_string()).map_err(|e| e.to_string())?;
    }
    let pairs: Pairs = Arc::default();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("echo: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(serve(stream, pairs.clone()));
    }
}

// tungstenite fixes the callback's error type (an HTTP response); it is never returned here.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream, pairs: Pairs) {
    let _ = stream.set_nodelay(true);
    let mut path = String::new();
    let callback = |req: &Request, resp: Response| {
        path = req.uri().to_string();
        Ok(resp)
    };
    let Ok(ws) = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        callback,
        Some(rookery_testkit::ws_config()),
    )
    .await
    else {
        return;
    };
    let pair = path
        .split_once("pair=")
        .map(|(_, rest)| rest.split('&').next().unwrap_or("").to_owned());
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let _ = tx.send(Message::text(r#"{"type":"client/SESSION_STARTED"}"#));
    if let Some(pair) = &pair {
        pairs
            .lock()
            .expect("poisoned")
            .entry(pair.clone())
            .or_default()
            .push(tx.clone());
    }
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Text(_) => match &pair {
                Some(pair) => {
                    let peers = pairs.lock().expect("poisoned").get(pair).cloned();
                    for peer in peers.into_iter().flatten() {
                        let _ = peer.send(message.clone());
                    }
                }
                None => {
                    let _ = tx.send(message);
                }
            },
            Message::Close(_) => break,
            _ => {}
        }
    }
    if let Some(pair) = &pair {
        pairs.lock().expect("poisoned").remove(pair);
    }
    drop(tx);
    writer.abort();
}
