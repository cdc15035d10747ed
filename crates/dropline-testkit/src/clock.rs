//! [`Clock`]: the engine's time, moved by the test ([`App::with_clock`]).

use dropline_app::App;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

/// A clock shared by the test and the engine it configures.
#[derive(Clone)]
pub struct Clock(Arc<Mutex<OffsetDateTime>>);

impl Clock {
    pub fn starting_at(at: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    /// `days` before now: as long as the test moves it less than that, every moment it
    /// reaches is still in the past for the worker, which claims jobs by the real time.
    pub fn days_back(days: i64) -> Self {
        Self::starting_at(OffsetDateTime::now_utc() - Duration::days(days))
    }

    pub fn now(&self) -> OffsetDateTime {
        *self.0.lock().expect("clock")
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock") += by;
    }

    /// Makes an engine read this clock; for [`TestApp::spawn_with`](crate::TestApp::spawn_with).
    pub fn configure(&self) -> impl FnOnce(App) -> App + use<> {
        let clock = self.clone();
        move |app| app.with_clock(move || clock.now())
    }
}
