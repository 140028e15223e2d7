//! A circuit breaker for a remote model server: after a run of failures, calls fail at once for a
//! cool-down instead of each waiting for a timeout, so detection falls back quickly while the
//! server is down and notices within one cool-down when it is back.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cool_down: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
}

impl Breaker {
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Self { threshold: threshold.max(1), cool_down, state: Mutex::default() }
    }

    /// Whether a call may go out now. After the cool-down one trial call is let through (half
    /// open); its outcome closes or re-opens the breaker.
    pub fn allow(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.open_until {
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                // Half open: let this call through, keep others out until it reports.
                state.open_until = Some(Instant::now() + self.cool_down);
                true
            }
            None => true,
        }
    }

    pub fn success(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state = State::default();
    }

    pub fn failure(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.failures += 1;
        if state.failures >= self.threshold {
            state.open_until = Some(Instant::now() + self.cool_down);
        }
    }

    pub fn is_open(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.open_until.is_some_and(|until| Instant::now() < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_half_opens_after_the_cool_down() {
        let breaker = Breaker::new(2, Duration::from_millis(40));
        assert!(breaker.allow());
        breaker.failure();
        assert!(breaker.allow(), "one failure is below the threshold");
        breaker.failure();
        assert!(breaker.is_open() && !breaker.allow());
        std::thread::sleep(Duration::from_millis(50));
        assert!(breaker.allow(), "a trial call after the cool-down");
        assert!(!breaker.allow(), "only one trial call at a time");
        breaker.success();
        assert!(breaker.allow() && !breaker.is_open());
    }
}
