//! SIGTERM: the server stops accepting connections, finishes the requests in flight, and
//! exits 0.

use std::time::{Duration, Instant};

use crate::harness::*;
use crate::support::{Db, client};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_in_flight_requests() {
    let app = App::start(Db::sqlite()).await;
    let port = app.server.port;
    let url = format!("http://127.0.0.1:{port}/api/test/slow");
    let http = client();
    let started = Instant::now();
    let in_flight = tokio::spawn(async move {
        let resp = http.get(url).send().await?;
        let status = resp.status().as_u16();
        let body = resp.text().await?;
        Ok::<_, reqwest::Error>((status, body))
    });
    // Let the request reach the handler (it sleeps 1.5 s), then ask the server to stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let App { server, .. } = app;
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Stopping: no new connections are accepted while the slow request runs.
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "the listener is closed once SIGTERM arrived"
    );
    let (status, body) = in_flight.await.unwrap().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"slow\":true"), "{body}");
    assert!(started.elapsed() >= Duration::from_millis(1400));
    // `Server::stop` asserts the exit status 0.
    stopping.await.unwrap();
}
