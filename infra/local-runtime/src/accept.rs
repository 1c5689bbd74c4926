//! The accept loop of every listener the runtime serves (the gateway, the AWS edge, the WebSocket
//! API). An accept that fails (out of file descriptors under a flood of connections, a connection
//! reset before it was taken) costs that connection, not the listener: API Gateway keeps
//! answering when one client misbehaves, and so must the offline stack.

use std::{future::Future, io, net::SocketAddr, time::Duration};
use tokio::net::{TcpListener, TcpStream};

/// How long to wait after a failed accept: out of descriptors, an immediate retry would spin,
/// and the connections that hold them close within milliseconds once answered.
const BACK_OFF: Duration = Duration::from_millis(50);

/// Hands every accepted connection to `serve`, for as long as the task runs.
pub async fn accept_forever(listener: TcpListener, serve: impl FnMut(TcpStream, SocketAddr)) {
    accepting(|| listener.accept(), serve).await
}

async fn accepting<S, A, F>(mut accept: A, mut serve: impl FnMut(S, SocketAddr))
where
    A: FnMut() -> F,
    F: Future<Output = io::Result<(S, SocketAddr)>>,
{
    loop {
        match accept().await {
            Ok((stream, peer)) => serve(stream, peer),
            Err(error) => {
                tracing::warn!(%error, "a connection could not be accepted; accepting again");
                tokio::time::sleep(BACK_OFF).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        collections::VecDeque,
        sync::{Arc, Mutex},
    };

    #[tokio::test]
    async fn a_failed_accept_costs_one_connection_not_the_listener() {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let emfile = || Err(io::Error::from_raw_os_error(24)); // "Too many open files"
        let outcomes = Arc::new(Mutex::new(VecDeque::from([
            Ok(("first", peer)),
            emfile(),
            emfile(),
            Ok(("after the failures", peer)),
        ])));
        let served = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&served);
        let loop_ = accepting(
            move || {
                let next = outcomes.lock().unwrap().pop_front();
                async move {
                    match next {
                        Some(outcome) => outcome,
                        None => std::future::pending().await,
                    }
                }
            },
            move |stream, _| kept.lock().unwrap().push(stream),
        );
        let _ = tokio::time::timeout(Duration::from_millis(500), loop_).await;
        assert_eq!(*served.lock().unwrap(), ["first", "after the failures"]);
    }
}
