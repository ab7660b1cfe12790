//! Latency model: time to first token and the gap between chunks, each a distribution,
//! set globally and per model. Sampling only computes durations; the waiting itself is
//! `tokio::time::sleep`, so a waiting request holds no thread and burns no CPU.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::clock::BareNumber;

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal};

/// Longest single delay the mock will wait (guards against a lognormal tail).
const MAX_DELAY: Duration = Duration::from_secs(600);

/// A distribution of durations.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// Always this long (`0`, `200ms`, `fixed:200ms`).
    Fixed(Duration),
    /// Uniform in `[low, high]` (`uniform:100ms..300ms`).
    Uniform(Duration, Duration),
    /// Normal with mean and standard deviation, clamped at 0 (`normal:200ms,50ms`).
    Normal(Duration, Duration),
    /// Log-normal with the given median and sigma of the underlying normal
    /// (`lognormal:200ms,0.5`): the shape of real LLM latencies, with a long tail.
    LogNormal(Duration, f64),
}

impl Default for Dist {
    fn default() -> Self {
        Dist::Fixed(Duration::ZERO)
    }
}

impl Dist {
    /// Draw one duration.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let secs = match self {
            Dist::Fixed(d) => d.as_secs_f64(),
            Dist::Uniform(lo, hi) => rng.gen_range(lo.as_secs_f64()..=hi.as_secs_f64()),
            Dist::Normal(mean, sd) => match Normal::new(mean.as_secs_f64(), sd.as_secs_f64()) {
                Ok(n) => n.sample(rng),
                Err(_) => mean.as_secs_f64(),
            },
            Dist::LogNormal(median, sigma) => match LogNormal::new(median.as_secs_f64().ln(), *sigma) {
                Ok(n) => n.sample(rng),
                Err(_) => median.as_secs_f64(),
            },
        };
        Duration::from_secs_f64(secs.clamp(0.0, MAX_DELAY.as_secs_f64()))
    }

    /// Whether this always yields zero (lets the mock skip timers entirely).
    pub fn is_zero(&self) -> bool {
        *self == Dist::Fixed(Duration::ZERO)
    }
}

/// A latency value: `500ms`, `1.5s`, `250us`, or a bare `0` (see [`BareNumber::ZeroOnly`]).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::clock::parse_duration(s, BareNumber::ZeroOnly, MAX_DELAY)
}

impl FromStr for Dist {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (kind, args) = s.split_once(':').unwrap_or(("fixed", s));
        let pair = |sep: &str| -> Result<(&str, &str), String> {
            args.split_once(sep)
                .ok_or_else(|| format!("`{s}`: expected {kind}:A{sep}B"))
        };
        match kind {
            "fixed" => Ok(Dist::Fixed(parse_duration(args)?)),
            "uniform" => {
                let (lo, hi) = pair("..")?;
                let (lo, hi) = (parse_duration(lo)?, parse_duration(hi)?);
                if lo > hi {
                    return Err(format!("`{s}`: low bound above high bound"));
                }
                Ok(Dist::Uniform(lo, hi))
            }
            "normal" => {
                let (mean, sd) = pair(",")?;
                Ok(Dist::Normal(parse_duration(mean)?, parse_duration(sd)?))
            }
            "lognormal" => {
                let (median, sigma) = pair(",")?;
                let median = parse_duration(median)?;
                let sigma: f64 = sigma
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite() && *v >= 0.0 && *v <= 5.0)
                    .ok_or_else(|| format!("`{s}`: sigma must be a number in 0..5"))?;
                if median.is_zero() {
                    return Err(format!("`{s}`: a lognormal median must be above 0"));
                }
                Ok(Dist::LogNormal(median, sigma))
            }
            other => Err(format!(
                "`{s}`: unknown distribution `{other}` (fixed, uniform, normal, lognormal)"
            )),
        }
    }
}

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dist::Fixed(d) => write!(f, "fixed:{}ms", d.as_millis()),
            Dist::Uniform(lo, hi) => write!(f, "uniform:{}ms..{}ms", lo.as_millis(), hi.as_millis()),
            Dist::Normal(m, sd) => write!(f, "normal:{}ms,{}ms", m.as_millis(), sd.as_millis()),
            Dist::LogNormal(m, s) => write!(f, "lognormal:{}ms,{s}", m.as_millis()),
        }
    }
}

/// Time to first token and inter-chunk gap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latency {
    pub ttft: Dist,
    pub gap: Dist,
}

/// A per-model override: models matching `pattern` (a glob with `*`) use `latency`.
#[derive(Debug, Clone)]
pub struct ModelLatency {
    pub pattern: String,
    pub latency: Latency,
}

/// Global latency plus per-model overrides (first match wins).
#[derive(Debug, Clone, Default)]
pub struct LatencyTable {
    pub default: Latency,
    pub models: Vec<ModelLatency>,
}

impl LatencyTable {
    pub fn for_model(&self, model: &str) -> &Latency {
        self.models
            .iter()
            .find(|m| glob(&m.pattern, model))
            .map_or(&self.default, |m| &m.latency)
    }
}

/// `*` matches any run of characters (model ids contain `-`, `.`, `@`).
pub fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob(rest, &tail[i..]))
        }
    }
}

/// The delays of one reply: before the first chunk, and before each later chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub first: Duration,
    pub gaps: Vec<Duration>,
}

impl Schedule {
    /// Sample a schedule for a reply of `chunks` chunks.
    pub fn sample(latency: &Latency, chunks: usize, rng: &mut impl Rng) -> Schedule {
        let first = latency.ttft.sample(rng);
        let gaps = if latency.gap.is_zero() {
            vec![Duration::ZERO; chunks.saturating_sub(1)]
        } else {
            (1..chunks).map(|_| latency.gap.sample(rng)).collect()
        };
        Schedule { first, gaps }
    }

    /// What a non-streaming reply waits: TTFT plus every gap the stream would have had.
    pub fn total(&self) -> Duration {
        self.first + self.gaps.iter().sum::<Duration>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Every spelling parses to the distribution it names; bad ones explain themselves.
    #[test]
    fn parse_table() {
        let ms = Duration::from_millis;
        assert_eq!("0".parse(), Ok(Dist::Fixed(Duration::ZERO)));
        assert_eq!("200ms".parse(), Ok(Dist::Fixed(ms(200))));
        assert_eq!("fixed:1.5s".parse(), Ok(Dist::Fixed(ms(1500))));
        assert_eq!(
            "uniform:100ms..300ms".parse(),
            Ok(Dist::Uniform(ms(100), ms(300)))
        );
        assert_eq!("normal:200ms,50ms".parse(), Ok(Dist::Normal(ms(200), ms(50))));
        assert_eq!("lognormal:200ms,0.5".parse(), Ok(Dist::LogNormal(ms(200), 0.5)));
        for bad in [
            "fast",
            "uniform:3s..1s",
            "normal:1s",
            "lognormal:0ms,1",
            "gamma:1,2",
            "-5ms",
        ] {
            assert!(bad.parse::<Dist>().is_err(), "{bad}");
        }
    }

    /// Samples stay in range and their mean approaches the distribution's mean.
    #[test]
    fn sampling_statistics() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let n = 20_000;
        let mean = |d: &Dist, rng: &mut rand::rngs::SmallRng| {
            (0..n).map(|_| d.sample(rng).as_secs_f64()).sum::<f64>() / n as f64
        };
        let uniform: Dist = "uniform:100ms..300ms".parse().expect("dist");
        for _ in 0..1000 {
            let s = uniform.sample(&mut rng);
            assert!(s >= Duration::from_millis(100) && s <= Duration::from_millis(300));
        }
        assert!((mean(&uniform, &mut rng) - 0.2).abs() < 0.005);
        let normal: Dist = "normal:200ms,20ms".parse().expect("dist");
        assert!((mean(&normal, &mut rng) - 0.2).abs() < 0.002);
        // lognormal(median m, sigma s) has mean m * exp(s^2 / 2).
        let lognormal: Dist = "lognormal:100ms,0.5".parse().expect("dist");
        let want = 0.1 * (0.125f64).exp();
        assert!((mean(&lognormal, &mut rng) - want).abs() / want < 0.03);
        assert_eq!(
            "fixed:40ms".parse::<Dist>().expect("dist").sample(&mut rng),
            Duration::from_millis(40)
        );
    }

    /// Per-model overrides win over the default; globs span dashes and dots.
    #[test]
    fn per_model_table() {
        let table = LatencyTable {
            default: Latency::default(),
            models: vec![ModelLatency {
                pattern: "claude-*".into(),
                latency: Latency {
                    ttft: Dist::Fixed(Duration::from_millis(50)),
                    gap: Dist::default(),
                },
            }],
        };
        assert_eq!(
            table.for_model("claude-sonnet-4-5@20250929").ttft,
            Dist::Fixed(Duration::from_millis(50))
        );
        assert_eq!(table.for_model("gemini-2.5-flash").ttft, Dist::default());
        assert!(glob("gemini-*-flash", "gemini-2.5-flash"));
        assert!(!glob("gemini-*", "claude"));
    }

    /// A non-streaming reply waits the same total as the stream would.
    #[test]
    fn schedule_total() {
        let latency = Latency {
            ttft: Dist::Fixed(Duration::from_millis(100)),
            gap: Dist::Fixed(Duration::from_millis(10)),
        };
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let s = Schedule::sample(&latency, 6, &mut rng);
        assert_eq!(s.gaps.len(), 5);
        assert_eq!(s.total(), Duration::from_millis(150));
    }
}
