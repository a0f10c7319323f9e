//! Bounded execution of CPU-heavy hashing off the async runtime.
//!
//! Each job runs on tokio's blocking thread pool (`spawn_blocking`) only after taking a
//! permit from a semaphore of `max_concurrency` permits, so a login storm queues up
//! instead of starving the runtime or oversubscribing the cores. The permit moves into
//! the blocking task: if the caller's future is dropped, the permit is still held
//! until the hash really finishes.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::PasswordError;

/// A bounded pool for blocking password work.
#[derive(Debug, Clone)]
pub struct HashPool {
    permits: Arc<Semaphore>,
    size: usize,
}

impl HashPool {
    /// A pool running at most `size` jobs at once (at least 1).
    #[must_use]
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// The maximum number of concurrent jobs.
    #[must_use]
    pub fn size(&self) -> usize {
        self.size
    }

    /// Permits free right now (for metrics and tests).
    #[must_use]
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Runs `job` on a blocking thread once a permit is free.
    ///
    /// Must be called within a tokio runtime.
    ///
    /// # Errors
    /// [`PasswordError::Task`] if the job panicked or the runtime is shutting down.
    pub async fn run<T, F>(&self, job: F) -> Result<T, PasswordError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| PasswordError::Task(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(|e| PasswordError::Task(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::HashPool;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_than_size_at_once() {
        let pool = HashPool::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        for t in tasks {
            assert!(matches!(t.await, Ok(Ok(()))));
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(pool.available(), 2);
    }

    #[tokio::test]
    async fn panic_is_an_error() {
        let pool = HashPool::new(1);
        let r: Result<(), _> = pool.run(|| panic!("boom")).await;
        assert!(r.is_err());
        assert_eq!(pool.available(), 1);
    }
}
