//! The listening socket. An on-sale opens with thousands of buyers connecting in the same
//! second; a connection the kernel cannot queue for `accept` has its SYN dropped, and the
//! client retries only after a second. So Admit listens with a deep accept queue (tokio's
//! `TcpListener::bind` uses 1,024), capped by the kernel at `net.core.somaxconn`.

use std::io;
use tokio::net::{TcpListener, TcpSocket};

/// Connections the kernel may queue before the server accepts them.
pub const ACCEPT_BACKLOG: u32 = 8192;

/// Listens on `addr` (`host:port`; the first address it resolves to that can be bound).
pub async fn bind(addr: &str) -> io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        // As std's and tokio's own bind do on Unix: a restarted server can take its port back
        // while connections of the previous one linger in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        match socket.bind(a) {
            Ok(()) => return socket.listen(ACCEPT_BACKLOG),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{addr} resolves to no address"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_burst_of_connections_waits_in_the_accept_queue_instead_of_being_dropped() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Nobody accepts: every connection must complete its handshake from the queue alone.
        // With a 1,024-deep queue the rest would have their SYNs dropped and wait ≥ 1 s.
        let burst = 1_500;
        let connects: Vec<_> = (0..burst)
            .map(|_| {
                tokio::spawn(tokio::time::timeout(Duration::from_millis(800), tokio::net::TcpStream::connect(addr)))
            })
            .collect();
        let mut open = Vec::new();
        for c in connects {
            if let Ok(Ok(stream)) = c.await.unwrap() {
                open.push(stream);
            }
        }
        assert_eq!(open.len(), burst, "connections that completed without an accept");
    }

    #[tokio::test]
    async fn an_address_that_is_taken_is_refused_with_the_reason() {
        let first = bind("127.0.0.1:0").await.unwrap();
        let taken = first.local_addr().unwrap().to_string();
        let err = bind(&taken).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    }
}
