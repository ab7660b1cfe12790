//! Flag values clap parses: durations in seconds, rates, word ranges, CIDR networks,
//! `HOST=ADDR:PORT` overrides. Each error names the value and what was expected.

use std::time::Duration;

/// A duration flag: `30` (seconds), `1.5s`, `500ms`, `2m`; between 0 and a day.
pub fn parse_duration_secs(s: &str) -> Result<Duration, String> {
    crate::clock::parse_duration(s, crate::clock::BareNumber::Seconds, Duration::from_secs(86_400))
}

/// An IP network, `ADDR/PREFIX` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: std::net::IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Does `ip` fall inside this network? (IPv4-mapped IPv6 peers count as IPv4.)
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

pub fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let (addr, prefix) = s.split_once('/').unwrap_or((s, ""));
    let addr: std::net::IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not an IP network (ADDR/PREFIX)"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = if prefix.is_empty() {
        max
    } else {
        prefix
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("`{s}`: prefix must be 0..={max}"))?
    };
    Ok(Cidr { addr, prefix })
}

/// A proxy URL apps are given: `http://HOST:PORT` (the scheme is required: aiohttp ignores
/// a proxy without one, and shunt's listener speaks plain HTTP).
pub fn parse_proxy_url(s: &str) -> Result<String, String> {
    let ok = s.parse::<http::Uri>().is_ok_and(|u| {
        u.scheme_str() == Some("http")
            && u.authority().is_some()
            && matches!(u.path(), "" | "/")
            && u.query().is_none()
    });
    if ok {
        Ok(s.trim_end_matches('/').to_string())
    } else {
        Err(format!(
            "`{s}` must look like http://HOST:PORT (with the http:// scheme: aiohttp ignores a proxy without one)"
        ))
    }
}

/// `HOST=ADDR:PORT`: the host lower-cased.
pub fn parse_override(s: &str) -> Result<(String, String), String> {
    let (host, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected HOST=ADDR:PORT"))?;
    addr.parse::<std::net::SocketAddr>()
        .map_err(|_| format!("`{s}`: {addr} is not ADDR:PORT"))?;
    Ok((host.to_ascii_lowercase(), addr.to_string()))
}

/// `MIN..MAX` or `N`.
pub fn parse_word_range(s: &str) -> Result<(usize, usize), String> {
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{s}`: expected N or MIN..MAX"))
    };
    let (lo, hi) = match s.split_once("..") {
        Some((lo, hi)) => (parse(lo)?, parse(hi)?),
        None => {
            let n = parse(s)?;
            (n, n)
        }
    };
    if lo == 0 || lo > hi || hi > 100_000 {
        return Err(format!("`{s}`: need 1 <= MIN <= MAX <= 100000"));
    }
    Ok((lo, hi))
}

/// A rate between 0 and 1.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("`{s}` is not a rate between 0 and 1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proxy URLs need the http scheme and nothing after the authority.
    #[test]
    fn proxy_urls() {
        assert_eq!(
            parse_proxy_url("http://shunt:8080"),
            Ok("http://shunt:8080".into())
        );
        assert_eq!(
            parse_proxy_url("http://shunt:8080/"),
            Ok("http://shunt:8080".into())
        );
        for bad in [
            "shunt:8080",
            "https://shunt:8080",
            "http://shunt:8080/x",
            "http://",
        ] {
            assert!(parse_proxy_url(bad).is_err(), "{bad}");
        }
    }

    /// CIDR parsing and matching, IPv4 and IPv6.
    #[test]
    fn cidrs() {
        let net = parse_cidr("10.1.0.0/16").expect("cidr");
        assert!(net.contains("10.1.200.3".parse().expect("ip")));
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.1.0.9".parse().expect("ip")));
        assert!(
            parse_cidr("0.0.0.0/0")
                .expect("all")
                .contains("8.8.8.8".parse().expect("ip"))
        );
        assert!(
            parse_cidr("::1")
                .expect("v6")
                .contains("::1".parse().expect("ip"))
        );
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("nope/8").is_err());
    }
}
