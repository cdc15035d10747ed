//! Spacing of calls to one partner account, so a supplier's per-account rate limit (CJ: 1 to
//! 6 requests a second by account level) is honoured before the partner has to refuse.
//!
//! Written here rather than taken from a rate-limiting crate: all that is needed is "at most
//! one call every 1/n seconds" for one account, which is a dozen lines over tokio's clock.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// At most `per_second` calls a second, each waiting for its turn.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer for `per_second` calls a second (at least 1). Calls are spaced 2% wider than
    /// the limit: the partner counts a sliding second by when calls arrive, dropline spaces
    /// them by when they leave, and a few milliseconds of network jitter between the two
    /// would otherwise put one call too many in some second now and then.
    pub fn new(per_second: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1) * 51 / 50,
            next: Mutex::new(None),
        }
    }

    /// Waits until this call may go out; calls made together go out one interval apart.
    pub async fn wait_turn(&self) {
        let now = Instant::now();
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let slot = next.filter(|n| *n > now).unwrap_or(now);
            *next = Some(slot + self.interval);
            slot
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_go_out_one_interval_apart() {
        let pacer = std::sync::Arc::new(Pacer::new(4));
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..5 {
            let pacer = pacer.clone();
            handles.push(tokio::spawn(async move {
                pacer.wait_turn().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for handle in handles {
            times.push(handle.await.expect("joined") - start);
        }
        times.sort();
        assert_eq!(
            times,
            (0..5).map(|i| Duration::from_millis(255 * i)).collect::<Vec<_>>(),
            "five calls at four a second, 2% apart more"
        );
        // After a quiet while the next call goes at once.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let before = Instant::now();
        pacer.wait_turn().await;
        assert_eq!(Instant::now(), before);
    }
}
