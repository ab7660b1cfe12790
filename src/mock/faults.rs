//! Fault injection: rates of 429 / 500 / 503 answers and of streams cut mid-way, drawn
//! per request from the mock's seeded sequence so a run with `--seed` repeats.

use http::StatusCode;
use rand::Rng;

/// Fault rates, each in `[0, 1]`; the three status rates together at most 1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    pub rate_429: f64,
    pub rate_500: f64,
    pub rate_503: f64,
    /// Of the requests that get no status fault, the share whose body is cut mid-way.
    pub rate_cut: f64,
    /// `Retry-After` seconds sent with a 429.
    pub retry_after: u64,
}

/// What a request suffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Answer with this status (and its Google error body) instead of a reply.
    Status(StatusCode),
    /// Send part of the reply, then abort the body.
    Cut,
}

impl Fault {
    /// Stable name for metrics.
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Status(StatusCode::TOO_MANY_REQUESTS) => "429",
            Fault::Status(StatusCode::SERVICE_UNAVAILABLE) => "503",
            Fault::Status(_) => "500",
            Fault::Cut => "cut",
        }
    }
}

impl Faults {
    /// Check the rates (done once, at start).
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("--fault-429", self.rate_429),
            ("--fault-500", self.rate_500),
            ("--fault-503", self.rate_503),
            ("--fault-cut", self.rate_cut),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} {rate} must be between 0 and 1"));
            }
        }
        let sum = self.rate_429 + self.rate_500 + self.rate_503;
        if sum > 1.0 + 1e-9 {
            return Err(format!(
                "--fault-429 + --fault-500 + --fault-503 = {sum}, above 1"
            ));
        }
        Ok(())
    }

    /// Draw the fault for one request.
    pub fn draw(&self, rng: &mut impl Rng) -> Fault {
        let u: f64 = rng.r#gen();
        let mut edge = self.rate_429;
        if u < edge {
            return Fault::Status(StatusCode::TOO_MANY_REQUESTS);
        }
        edge += self.rate_500;
        if u < edge {
            return Fault::Status(StatusCode::INTERNAL_SERVER_ERROR);
        }
        edge += self.rate_503;
        if u < edge {
            return Fault::Status(StatusCode::SERVICE_UNAVAILABLE);
        }
        if self.rate_cut > 0.0 && rng.gen_bool(self.rate_cut) {
            return Fault::Cut;
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Observed fault shares match the configured rates, and a seed repeats the sequence.
    #[test]
    fn rates_and_repeatability() {
        let faults = Faults {
            rate_429: 0.1,
            rate_500: 0.05,
            rate_503: 0.05,
            rate_cut: 0.25,
            retry_after: 1,
        };
        faults.validate().expect("valid");
        let draw_all = |seed| {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
            (0..20_000).map(|_| faults.draw(&mut rng)).collect::<Vec<_>>()
        };
        let draws = draw_all(3);
        let share =
            |name: &str| draws.iter().filter(|f| f.name() == name).count() as f64 / draws.len() as f64;
        assert!((share("429") - 0.10).abs() < 0.01, "{}", share("429"));
        assert!((share("500") - 0.05).abs() < 0.01);
        assert!((share("503") - 0.05).abs() < 0.01);
        // Cuts apply to the 80 % without a status fault.
        assert!((share("cut") - 0.20).abs() < 0.015, "{}", share("cut"));
        assert_eq!(draws, draw_all(3));
        assert_ne!(draws, draw_all(4));
    }

    /// Out-of-range rates are refused before start.
    #[test]
    fn validation() {
        let bad = Faults {
            rate_429: 0.7,
            rate_500: 0.7,
            ..Faults::default()
        };
        assert!(bad.validate().unwrap_err().contains("above 1"));
        let bad = Faults {
            rate_cut: 1.5,
            ..Faults::default()
        };
        assert!(bad.validate().unwrap_err().contains("--fault-cut"));
    }
}
