//! shunt's certificate authority: created once in the certs dir and reused, so trust
//! survives restarts; mints one leaf per exact host name, all leaves sharing one key
//! generated at start (the CA key only signs), and caches the resulting rustls configs.
//!
//! The profile passes CPython 3.13's `VERIFY_X509_STRICT`: the CA has critical
//! BasicConstraints CA:true, KeyUsage keyCertSign+cRLSign and a SubjectKeyIdentifier; a
//! leaf has SAN, BasicConstraints CA:false, EKU serverAuth and an AuthorityKeyIdentifier.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// File names inside the certs dir.
pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca-key.pem";

/// How many leaf configs stay cached; a load test touches a handful of hosts, so this
/// only bounds memory against a client that invents host names.
const LEAF_CACHE_CAP: usize = 4096;

/// ALPN protocols offered on intercepted connections (a client offering none is fine).
const ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// Errors loading or creating the CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error(
        "{key} is readable by group or others (mode {mode:o}); the CA key signs certificates every \
         client here trusts: run `chmod 600 {key}`"
    )]
    KeyPermissions { key: PathBuf, mode: u32 },
    #[error("found {present} but not {missing}; remove {present} to create a new CA, or restore {missing}")]
    HalfPresent { present: PathBuf, missing: PathBuf },
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Whether a leaf config came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Miss,
}

/// The CA, the shared leaf key and the per-host leaf cache.
pub struct Ca {
    ca_pem: String,
    /// True when this process created the CA (first start), false when it was reused.
    created: bool,
    /// Minting and the cache, shared with the SNI resolver inside `shared`.
    leaves: Arc<Leaves>,
    /// One config for every connection that sends SNI: its resolver picks the leaf, and
    /// its session cache and ticketer are shared (one config per host cost ~25 KiB each).
    shared: Arc<ServerConfig>,
    /// Where session keys go when `--keylog` / `SSLKEYLOGFILE` asks for them.
    key_log: Option<Arc<dyn rustls::KeyLog>>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// Leaf minting: the issuer, the one leaf key, and `host -> CertifiedKey`.
struct Leaves {
    issuer: Issuer<'static, KeyPair>,
    /// One key for every leaf, generated at start; never written to disk.
    leaf_key: KeyPair,
    /// The same key, loaded once for rustls.
    signing_key: Arc<dyn rustls::sign::SigningKey>,
    /// Minting is one ECDSA signature; a new connection to a known host must not pay it.
    cache: Mutex<HashMap<String, Arc<CertifiedKey>>>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Leaves {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaves").finish_non_exhaustive()
    }
}

impl Leaves {
    /// The leaf for `host`, minted and cached on a miss.
    fn leaf(&self, host: &str) -> Result<(Arc<CertifiedKey>, CacheOutcome), CaError> {
        if let Some(key) = self.lock().get(host) {
            return Ok((key.clone(), CacheOutcome::Hit));
        }
        // Mint outside the lock: two racing first connections both sign, one wins the
        // insert; that beats serialising every handshake behind a signature.
        let key = Arc::new(self.mint(host)?);
        let mut cache = self.lock();
        if cache.len() >= LEAF_CACHE_CAP {
            cache.clear();
        }
        let key = cache.entry(host.to_string()).or_insert(key).clone();
        Ok((key, CacheOutcome::Miss))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<CertifiedKey>>> {
        // A panic while holding this lock cannot leave the map half-updated (single
        // insert/clear calls), so a poisoned lock is still safe to use.
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn mint(&self, host: &str) -> Result<CertifiedKey, CaError> {
        let mut params = CertificateParams::default();
        let san = match host.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(host.to_string().try_into()?),
        };
        params.subject_alt_names = vec![san];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, host);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(365);
        params.serial_number = Some(random_serial(&self.rng));
        let cert = params.signed_by(&self.leaf_key, &self.issuer)?;
        Ok(CertifiedKey::new(
            vec![CertificateDer::from(cert.der().to_vec())],
            self.signing_key.clone(),
        ))
    }
}

/// Picks the leaf for the ClientHello's SNI.
#[derive(Debug)]
struct SniResolver(Arc<Leaves>);

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let host = hello.server_name()?.to_ascii_lowercase();
        self.0.leaf(host.trim_end_matches('.')).ok().map(|(key, _)| key)
    }
}

/// Always the same leaf (connections without SNI get their CONNECT host's leaf).
#[derive(Debug)]
struct FixedLeaf(Arc<CertifiedKey>);

impl ResolvesServerCert for FixedLeaf {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl Ca {
    /// Load the CA from `dir`, or create it there (and the dir) when absent.
    pub fn load_or_create(dir: &Path) -> Result<Ca, CaError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CaError::Io { path, source }
        };
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => {
                check_key_permissions(&key_path)?;
                let ca_pem = fs::read_to_string(&cert_path).map_err(io_err(&cert_path))?;
                let key_pem = fs::read_to_string(&key_path).map_err(io_err(&key_path))?;
                let key = KeyPair::from_pem(&key_pem).map_err(|e| CaError::Invalid {
                    path: key_path.clone(),
                    detail: format!("not a usable private key: {e}"),
                })?;
                let issuer = Issuer::from_ca_cert_pem(&ca_pem, key).map_err(|e| CaError::Invalid {
                    path: cert_path.clone(),
                    detail: format!("not a usable CA certificate: {e}"),
                })?;
                Ca::assemble(issuer, ca_pem, false)
            }
            (true, false) => Err(CaError::HalfPresent {
                present: cert_path,
                missing: key_path,
            }),
            (false, true) => Err(CaError::HalfPresent {
                present: key_path,
                missing: cert_path,
            }),
            (false, false) => {
                fs::create_dir_all(dir).map_err(io_err(dir))?;
                let key = KeyPair::generate()?;
                let params = ca_params(&SystemRandom::new());
                let cert = params.self_signed(&key)?;
                let ca_pem = cert.pem();
                write_private(&key_path, key.serialize_pem().as_bytes())?;
                write_atomic(&cert_path, ca_pem.as_bytes())?;
                Ca::assemble(Issuer::new(params, key), ca_pem, true)
            }
        }
    }

    fn assemble(issuer: Issuer<'static, KeyPair>, ca_pem: String, created: bool) -> Result<Ca, CaError> {
        let leaf_key = KeyPair::generate()?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let signing_key = rustls::crypto::ring::default_provider()
            .key_provider
            .load_private_key(der)?;
        let leaves = Arc::new(Leaves {
            issuer,
            leaf_key,
            signing_key,
            cache: Mutex::new(HashMap::new()),
            rng: SystemRandom::new(),
        });
        let shared = Arc::new(config_with(Arc::new(SniResolver(leaves.clone())), None));
        Ok(Ca {
            ca_pem,
            created,
            leaves,
            shared,
            key_log: None,
        })
    }

    /// Log the session keys of every intercepted connection (set before serving).
    pub fn with_key_log(mut self, key_log: Arc<dyn rustls::KeyLog>) -> Ca {
        self.shared = Arc::new(config_with(
            Arc::new(SniResolver(self.leaves.clone())),
            Some(key_log.clone()),
        ));
        self.key_log = Some(key_log);
        self
    }

    /// The CA certificate in PEM.
    pub fn cert_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Whether this process created the CA.
    pub fn created(&self) -> bool {
        self.created
    }

    /// SHA-256 fingerprint of the CA certificate, as colon-separated upper-case hex.
    pub fn fingerprint(&self) -> String {
        let der = pem::parse(&self.ca_pem)
            .map(|p| p.into_contents())
            .unwrap_or_default();
        let digest = ring::digest::digest(&ring::digest::SHA256, &der);
        digest
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// The rustls config for a connection to `host`, minting and caching its leaf on a
    /// miss. When the client named `host` in its ClientHello this is the shared config
    /// (which resolves by SNI); otherwise a config that always presents `host`'s leaf.
    pub fn server_config(
        &self,
        host: &str,
        named: HostName,
    ) -> Result<(Arc<ServerConfig>, CacheOutcome), CaError> {
        let (key, outcome) = self.leaves.leaf(host)?;
        if named == HostName::Sni {
            return Ok((self.shared.clone(), outcome));
        }
        Ok((
            Arc::new(config_with(Arc::new(FixedLeaf(key)), self.key_log.clone())),
            outcome,
        ))
    }
}

/// Where the host a leaf is minted for came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostName {
    /// The client's ClientHello (SNI).
    Sni,
    /// The CONNECT request (the client sent no SNI, e.g. for an IP literal).
    Connect,
}

fn config_with(
    resolver: Arc<dyn ResolvesServerCert>,
    key_log: Option<Arc<dyn rustls::KeyLog>>,
) -> ServerConfig {
    let mut config = ServerConfig::builder_with_provider(Arc::new(server_provider()))
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .expect("ring's default provider supports the default TLS versions")
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    // shunt's preference, not the client's: most clients put AES-256-GCM first.
    config.ignore_client_order = true;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    if let Some(key_log) = key_log {
        config.key_log = key_log;
    }
    config
}

/// ring's provider with the AES-128-GCM suites first. Its SHA-256 key schedule runs on the
/// CPU's SHA extensions where AES-256-GCM's SHA-384 does not: less CPU per handshake and per
/// record on a sidecar that terminates every intercepted connection (BENCHMARKS.md, "TLS
/// suite order").
fn server_provider() -> rustls::crypto::CryptoProvider {
    use rustls::CipherSuite::{
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TLS13_AES_128_GCM_SHA256,
    };
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.sort_by_key(|s| {
        !matches!(
            s.suite(),
            TLS13_AES_128_GCM_SHA256
                | TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        )
    });
    provider
}

fn ca_params(rng: &SystemRandom) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "shunt");
    dn.push(
        DnType::CommonName,
        "shunt local CA (mock Vertex AI; never trust in production)",
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    params.serial_number = Some(random_serial(rng));
    params
}

/// A positive 128-bit serial. Leaves share a key, so serials must not derive from it
/// (Firefox rejects a reused issuer+serial pair).
fn random_serial(rng: &SystemRandom) -> SerialNumber {
    let mut bytes = [0u8; 16];
    if rng.fill(&mut bytes).is_err() {
        // SystemRandom only fails if the OS RNG is unavailable; fall back to the clock.
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        bytes = nanos.to_be_bytes();
    }
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

fn check_key_permissions(key: &Path) -> Result<(), CaError> {
    let meta = fs::metadata(key).map_err(|source| CaError::Io {
        path: key.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CaError::KeyPermissions {
            key: key.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Write `bytes` to `path` via a temp file and rename, so readers never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CaError> {
    write_with_mode(path, bytes, 0o644)
}

/// Like [`write_atomic`] but mode 0600 from the start (the file is never world-readable).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CaError> {
    write_with_mode(path, bytes, 0o600)
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CaError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let io_err = |source| CaError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err)?;
    file.write_all(bytes).map_err(io_err)?;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    fs::rename(&tmp, path).map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA created in an empty dir is reused on the next load, byte for byte.
    #[test]
    fn create_then_reuse() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Ca::load_or_create(dir.path()).expect("create");
        assert!(first.created());
        let mode = fs::metadata(dir.path().join(CA_KEY_FILE))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = Ca::load_or_create(dir.path()).expect("reuse");
        assert!(!second.created());
        assert_eq!(first.cert_pem(), second.cert_pem());
        assert_eq!(first.fingerprint(), second.fingerprint());
    }

    /// A group-readable key is refused with the chmod fix in the message.
    #[test]
    fn refuses_readable_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        Ca::load_or_create(dir.path()).expect("create");
        let key = dir.path().join(CA_KEY_FILE);
        fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).expect("chmod");
        let err = Ca::load_or_create(dir.path()).expect_err("must refuse");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    /// Only half a CA on disk is an error, not a silent regeneration.
    #[test]
    fn refuses_half_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        Ca::load_or_create(dir.path()).expect("create");
        fs::remove_file(dir.path().join(CA_KEY_FILE)).expect("rm");
        let err = Ca::load_or_create(dir.path()).expect_err("must refuse");
        assert!(matches!(err, CaError::HalfPresent { .. }), "{err}");
    }

    /// The second request for a host is a cache hit returning the same config.
    #[test]
    fn leaf_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Ca::load_or_create(dir.path()).expect("create");
        let (a, first) = ca
            .server_config("aiplatform.googleapis.com", HostName::Sni)
            .expect("mint");
        let (b, second) = ca
            .server_config("aiplatform.googleapis.com", HostName::Sni)
            .expect("hit");
        assert_eq!((first, second), (CacheOutcome::Miss, CacheOutcome::Hit));
        assert!(Arc::ptr_eq(&a, &b), "SNI connections share one config");
        let (_, ip) = ca.server_config("127.0.0.1", HostName::Connect).expect("ip leaf");
        assert_eq!(ip, CacheOutcome::Miss);
    }
}
