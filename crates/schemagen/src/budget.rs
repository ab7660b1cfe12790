//! The budget of one generation: output size, work and time, and a cancel flag. Every
//! expensive step the generator takes (a value, an `allOf`/`$ref` hop, a validation node,
//! a pattern character) is metered, so a small request can never ask for unbounded work.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Limits on one instance.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Largest instance, in bytes of JSON (estimated as it is built).
    pub max_bytes: usize,
    /// Most generation steps: values, `allOf`/`$ref` hops, validation nodes, pattern
    /// characters, uniqueness checks.
    pub max_steps: u64,
    /// When to give up.
    pub deadline: Option<Instant>,
    /// Set by the caller to stop the generation (its client went away).
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_bytes: 4 * 1024 * 1024,
            max_steps: 2_000_000,
            deadline: None,
            cancel: None,
        }
    }
}

impl Budget {
    /// No limits (for analysis that must not fail, and tests).
    pub fn unlimited() -> Self {
        Budget {
            max_bytes: usize::MAX,
            max_steps: u64::MAX,
            deadline: None,
            cancel: None,
        }
    }
}

/// Which limit stopped a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Bytes(usize),
    Steps(u64),
    Time,
    Cancelled,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Bytes(n) => write!(f, "the reply would exceed {n} bytes"),
            Limit::Steps(n) => write!(f, "generating it takes more than {n} steps"),
            Limit::Time => write!(f, "generating it takes longer than the time allowed"),
            Limit::Cancelled => write!(f, "the request was cancelled"),
        }
    }
}

/// Steps between clock and cancel checks.
const CHECK_EVERY: u64 = 256;

/// The running count against a [`Budget`]. Once a limit is hit the meter stays tripped:
/// every later step fails, so deep recursion unwinds quickly.
#[derive(Debug)]
pub(crate) struct Meter {
    steps: Cell<u64>,
    bytes: Cell<usize>,
    max_steps: u64,
    max_bytes: usize,
    deadline: Option<Instant>,
    cancel: Option<Arc<AtomicBool>>,
    tripped: Cell<Option<Limit>>,
    next_check: Cell<u64>,
}

impl Meter {
    pub(crate) fn new(budget: &Budget) -> Meter {
        Meter {
            steps: Cell::new(0),
            bytes: Cell::new(0),
            max_steps: budget.max_steps,
            max_bytes: budget.max_bytes,
            deadline: budget.deadline,
            cancel: budget.cancel.clone(),
            tripped: Cell::new(None),
            next_check: Cell::new(CHECK_EVERY),
        }
    }

    fn trip(&self, limit: Limit) -> bool {
        if self.tripped.get().is_none() {
            self.tripped.set(Some(limit));
        }
        false
    }

    /// Count `n` steps; false once over budget (or cancelled, or past the deadline).
    pub(crate) fn step(&self, n: u64) -> bool {
        if self.is_tripped() {
            return false;
        }
        let steps = self.steps.get().saturating_add(n);
        self.steps.set(steps);
        if steps > self.max_steps {
            return self.trip(Limit::Steps(self.max_steps));
        }
        if steps >= self.next_check.get() {
            self.next_check.set(steps.saturating_add(CHECK_EVERY));
            if self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
                return self.trip(Limit::Cancelled);
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return self.trip(Limit::Time);
            }
        }
        true
    }

    /// Count `n` bytes of output; false once over budget.
    pub(crate) fn bytes(&self, n: usize) -> bool {
        if self.is_tripped() {
            return false;
        }
        let bytes = self.bytes.get().saturating_add(n);
        self.bytes.set(bytes);
        if bytes > self.max_bytes {
            return self.trip(Limit::Bytes(self.max_bytes));
        }
        true
    }

    /// Start counting output again (a new attempt at the same instance).
    pub(crate) fn reset_bytes(&self) {
        self.bytes.set(0);
    }

    /// Bytes of output still allowed.
    pub(crate) fn bytes_left(&self) -> usize {
        self.max_bytes.saturating_sub(self.bytes.get())
    }

    fn is_tripped(&self) -> bool {
        self.tripped.get().is_some()
    }

    /// Whether a limit was hit.
    pub(crate) fn tripped(&self) -> bool {
        self.is_tripped()
    }

    /// The limit that was hit, if any.
    pub(crate) fn limit(&self) -> Option<Limit> {
        self.tripped.get()
    }

    #[cfg(test)]
    pub(crate) fn steps(&self) -> u64 {
        self.steps.get()
    }
}
