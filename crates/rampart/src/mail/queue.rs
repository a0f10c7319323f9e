//! The bounded background queue between the views and a [`Mailer`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

use super::{Email, MailError, Mailer};

/// Queue settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QueueOptions {
    /// Emails waiting at most (default 256); beyond that [`MailQueue::enqueue`] refuses.
    pub capacity: usize,
    /// Emails being sent at once (default 4).
    pub max_in_flight: usize,
    /// Attempts per email, the first included (default 5).
    pub attempts: u32,
    /// Wait before the first retry, doubled after each (default 1 s).
    pub initial_backoff: Duration,
    /// Longest wait between retries (default 60 s).
    pub max_backoff: Duration,
    /// Limit on one attempt, connection included (default 30 s).
    pub send_timeout: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            capacity: 256,
            max_in_flight: 4,
            attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            send_timeout: Duration::from_secs(30),
        }
    }
}

impl QueueOptions {
    /// Sets the capacity.
    #[must_use]
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// Sets the number of attempts per email.
    #[must_use]
    pub fn attempts(mut self, n: u32) -> Self {
        self.attempts = n.max(1);
        self
    }

    /// Sets the first retry delay and the longest one.
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets the per-attempt timeout.
    #[must_use]
    pub fn send_timeout(mut self, t: Duration) -> Self {
        self.send_timeout = t;
        self
    }

    /// Sets how many emails are sent at once.
    #[must_use]
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }
}

/// Sends emails in the background; cheap to clone.
///
/// The worker starts on the first [`enqueue`](Self::enqueue) made inside a Tokio runtime.
#[derive(Clone)]
pub struct MailQueue {
    inner: Arc<Inner>,
}

struct Inner {
    tx: mpsc::Sender<Email>,
    rx: Mutex<Option<mpsc::Receiver<Email>>>,
    mailer: Arc<dyn Mailer>,
    opts: QueueOptions,
    sent: AtomicU64,
    failed: AtomicU64,
    /// Emails taken off the channel and not finished yet.
    in_flight: AtomicU64,
}

impl std::fmt::Debug for MailQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailQueue")
            .field("mailer", &self.inner.mailer.describe())
            .field("opts", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

impl MailQueue {
    /// A queue in front of `mailer`.
    pub fn new(mailer: Arc<dyn Mailer>, opts: QueueOptions) -> Self {
        let (tx, rx) = mpsc::channel(opts.capacity.max(1));
        Self {
            inner: Arc::new(Inner {
                tx,
                rx: Mutex::new(Some(rx)),
                mailer,
                opts,
                sent: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                in_flight: AtomicU64::new(0),
            }),
        }
    }

    /// The transport's description.
    pub fn describe(&self) -> String {
        self.inner.mailer.describe()
    }

    /// Queues an email without waiting.
    ///
    /// # Errors
    /// [`MailError::QueueFull`] when the queue is at capacity, [`MailError::Closed`] when the
    /// worker has stopped.
    pub fn enqueue(&self, email: Email) -> Result<(), MailError> {
        self.start();
        self.inner.tx.try_send(email).map_err(|e| match e {
            mpsc::error::TrySendError::Full(e) => {
                tracing::error!(kind = %e.kind, "mail queue full: email dropped");
                MailError::QueueFull
            }
            mpsc::error::TrySendError::Closed(_) => MailError::Closed,
        })
    }

    /// Emails sent so far.
    pub fn sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// Emails given up on after their last attempt.
    pub fn failed(&self) -> u64 {
        self.inner.failed.load(Ordering::Relaxed)
    }

    /// Emails waiting for the worker.
    pub fn pending(&self) -> usize {
        self.inner.opts.capacity.max(1) - self.inner.tx.capacity()
    }

    /// Waits until every queued email was sent or given up, at most `limit` (call it at
    /// shutdown so a restart does not lose the emails of the last requests). Returns whether
    /// the queue is empty.
    pub async fn drain(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let idle = self.pending() == 0 && self.inner.in_flight.load(Ordering::SeqCst) == 0;
            if idle {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    pending = self.pending(),
                    in_flight = self.inner.in_flight.load(Ordering::SeqCst),
                    "mail queue not drained in time"
                );
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn start(&self) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let rx = match self.inner.rx.lock() {
            Ok(mut guard) => guard.take(),
            Err(_) => None,
        };
        if let Some(rx) = rx {
            handle.spawn(worker(Arc::clone(&self.inner), rx));
        }
    }
}

async fn worker(inner: Arc<Inner>, mut rx: mpsc::Receiver<Email>) {
    let slots = Arc::new(Semaphore::new(inner.opts.max_in_flight.max(1)));
    while let Some(email) = rx.recv().await {
        inner.in_flight.fetch_add(1, Ordering::SeqCst);
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let inner = Arc::clone(&inner);
        tokio::spawn(async move {
            deliver(&inner, &email).await;
            inner.in_flight.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
        });
    }
}

async fn deliver(inner: &Inner, email: &Email) {
    let opts = &inner.opts;
    let mut backoff = opts.initial_backoff;
    for attempt in 1..=opts.attempts.max(1) {
        let result = match tokio::time::timeout(opts.send_timeout, inner.mailer.send(email)).await {
            Ok(r) => r,
            Err(_) => Err(MailError::Transient(format!(
                "no answer within {} s",
                opts.send_timeout.as_secs_f32()
            ))),
        };
        match result {
            Ok(()) => {
                inner.sent.fetch_add(1, Ordering::Relaxed);
                tracing::info!(kind = %email.kind, attempt, "email sent");
                return;
            }
            Err(e) if e.is_transient() && attempt < opts.attempts => {
                tracing::warn!(kind = %email.kind, attempt, error = %e, "email not sent; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(opts.max_backoff);
            }
            Err(e) => {
                inner.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(kind = %email.kind, attempt, error = %e, "email given up");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    struct Flaky {
        fail_first: u32,
        calls: AtomicU32,
        hang: bool,
    }

    #[async_trait::async_trait]
    impl Mailer for Flaky {
        async fn send(&self, _: &Email) -> Result<(), MailError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.hang {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            if n < self.fail_first {
                Err(MailError::Transient("refused".into()))
            } else {
                Ok(())
            }
        }
        fn describe(&self) -> String {
            "flaky".into()
        }
    }

    fn email() -> Email {
        Email {
            from: "a@example.com".into(),
            to: "b@example.com".into(),
            subject: "s".into(),
            text: Some("t".into()),
            html: None,
            kind: "test".into(),
        }
    }

    async fn wait_for(q: &MailQueue, f: impl Fn(&MailQueue) -> bool) {
        for _ in 0..200 {
            if f(q) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn retries_transient_failures_with_backoff() {
        let mailer = Arc::new(Flaky {
            fail_first: 2,
            calls: AtomicU32::new(0),
            hang: false,
        });
        let opts = QueueOptions::default()
            .attempts(3)
            .backoff(Duration::from_millis(5), Duration::from_millis(20));
        let q = MailQueue::new(mailer.clone(), opts);
        assert!(q.enqueue(email()).is_ok());
        assert!(q.drain(Duration::from_secs(5)).await);
        assert_eq!(q.sent(), 1);
        assert_eq!(mailer.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt() {
        let mailer = Arc::new(Flaky {
            fail_first: 99,
            calls: AtomicU32::new(0),
            hang: false,
        });
        let opts = QueueOptions::default()
            .attempts(2)
            .backoff(Duration::from_millis(1), Duration::from_millis(1));
        let q = MailQueue::new(mailer.clone(), opts);
        assert!(q.enqueue(email()).is_ok());
        wait_for(&q, |q| q.failed() == 1).await;
        assert_eq!((q.sent(), q.failed()), (0, 1));
    }

    #[tokio::test]
    async fn a_hanging_server_fills_the_queue_and_enqueue_never_blocks() {
        let mailer = Arc::new(Flaky {
            fail_first: 0,
            calls: AtomicU32::new(0),
            hang: true,
        });
        let opts = QueueOptions::default().capacity(2).max_in_flight(1);
        let q = MailQueue::new(mailer, opts);
        let started = std::time::Instant::now();
        let results: Vec<_> = (0..6).map(|_| q.enqueue(email())).collect();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(MailError::QueueFull)))
        );
        assert!(results[0].is_ok());
        assert!(!q.drain(Duration::from_millis(50)).await);
    }
}
