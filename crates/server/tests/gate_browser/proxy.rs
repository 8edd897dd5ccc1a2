//! A TCP proxy in front of the test server whose network can be made to fail on demand, the
//! way a venue's Wi-Fi does: `Down` refuses every byte; `LoseAnswers` lets requests reach the
//! server but throws its answers away (the scan happened; the phone never heard).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Network {
    Up = 0,
    Down = 1,
    LoseAnswers = 2,
}

pub struct FlakyProxy {
    pub base_url: String,
    mode: Arc<AtomicU8>,
    task: tokio::task::JoinHandle<()>,
}

impl FlakyProxy {
    /// Listens on a free local port and forwards to `upstream` (host:port).
    pub async fn start(upstream: &str) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let base_url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let mode = Arc::new(AtomicU8::new(Network::Up as u8));
        let (upstream, shared) = (upstream.to_owned(), mode.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream.clone(), shared.clone()));
            }
        });
        FlakyProxy { base_url, mode, task }
    }

    pub fn set(&self, network: Network) {
        self.mode.store(network as u8, Ordering::SeqCst);
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn mode(shared: &AtomicU8) -> Network {
    match shared.load(Ordering::SeqCst) {
        1 => Network::Down,
        2 => Network::LoseAnswers,
        _ => Network::Up,
    }
}

/// Copies bytes both ways, looking at the mode for every chunk (so kept-alive connections
/// fail too).
async fn relay(client: TcpStream, upstream: String, shared: Arc<AtomicU8>) {
    if mode(&shared) == Network::Down {
        return;
    }
    let Ok(server) = TcpStream::connect(&upstream).await else { return };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = {
        let shared = shared.clone();
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match client_read.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if mode(&shared) == Network::Down || server_write.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if mode(&shared) != Network::Up || client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Whichever way ends first closes the connection both ways.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}
