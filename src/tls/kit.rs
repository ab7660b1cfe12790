//! The trust kit: the files an application container needs to trust shunt and to hold
//! fake Google credentials, written into the certs dir on every start.
//!
//! - `ca.pem`, `ca-key.pem` (0600): the CA itself ([`super::ca`]).
//! - `bundle.pem`: public roots (embedded, so it works in a scratch image) + shunt's CA;
//!   the one file for both `SSL_CERT_FILE` and `REQUESTS_CA_BUNDLE`, because Python's
//!   HTTP stacks disagree on which variable they read (google-clients.md §3).
//! - `adc.json`: fake `authorized_user` credentials (google-auth always sends their
//!   refresh to `oauth2.googleapis.com/token`, which shunt answers).
//! - `shunt.env`: the env block [`env_block`] renders.

use std::path::{Path, PathBuf};

use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::json;

use super::ca::{Ca, CaError, write_atomic};

pub const BUNDLE_FILE: &str = "bundle.pem";
pub const ADC_FILE: &str = "adc.json";
pub const ENV_FILE: &str = "shunt.env";

/// Project id served by the fake metadata server and written into the env block.
pub const DEFAULT_PROJECT: &str = "shunt-mock-project";

/// What goes into an env block.
#[derive(Debug, Clone)]
pub struct EnvSettings {
    /// URL the app uses to reach shunt, with scheme (aiohttp rejects a bare host:port).
    pub proxy_url: String,
    /// Where the app container sees the certs dir.
    pub certs_dir: PathBuf,
    pub project: String,
    /// Region for google-genai (`GOOGLE_CLOUD_LOCATION`).
    pub location: String,
    /// Region for Claude on Vertex (`CLOUD_ML_REGION`).
    pub claude_region: String,
}

/// The environment block an app container needs, one `KEY=VALUE` per line with comments.
pub fn env_block(s: &EnvSettings) -> String {
    let certs = s.certs_dir.display();
    format!(
        "# shunt: environment for an app container whose Vertex AI calls go to a mock.\n\
         # Both proxy spellings, with scheme: aiohttp ignores a proxy without one.\n\
         HTTPS_PROXY={proxy}\n\
         https_proxy={proxy}\n\
         # Plain-HTTP calls (GCE metadata) go through shunt too.\n\
         HTTP_PROXY={proxy}\n\
         http_proxy={proxy}\n\
         # Never list googleapis.com here: that would bypass shunt and reach real Google.\n\
         NO_PROXY=localhost,127.0.0.1,::1\n\
         no_proxy=localhost,127.0.0.1,::1\n\
         # One bundle (public roots + shunt CA) for every Python TLS stack: httpx2/aiohttp\n\
         # read SSL_CERT_FILE, requests (google-auth) reads REQUESTS_CA_BUNDLE, curl CURL_CA_BUNDLE.\n\
         SSL_CERT_FILE={certs}/bundle.pem\n\
         REQUESTS_CA_BUNDLE={certs}/bundle.pem\n\
         CURL_CA_BUNDLE={certs}/bundle.pem\n\
         # Fake credentials; their token refresh is answered by shunt.\n\
         GOOGLE_APPLICATION_CREDENTIALS={certs}/adc.json\n\
         GOOGLE_API_USE_CLIENT_CERTIFICATE=false\n\
         GOOGLE_CLOUD_PROJECT={project}\n\
         GOOGLE_CLOUD_LOCATION={location}\n\
         GOOGLE_GENAI_USE_VERTEXAI=true\n\
         # anthropic[vertex] needs its project id before it loads credentials.\n\
         ANTHROPIC_VERTEX_PROJECT_ID={project}\n\
         CLOUD_ML_REGION={claude}\n\
         # Other LLM APIs: fake keys (shunt accepts any). openai and anthropic use httpx\n\
         # (SSL_CERT_FILE above); botocore (boto3, Bedrock) reads AWS_CA_BUNDLE.\n\
         OPENAI_API_KEY=sk-shunt-mock\n\
         AZURE_OPENAI_API_KEY=shunt-mock-azure-key\n\
         OPENAI_API_VERSION=2024-10-21\n\
         ANTHROPIC_API_KEY=sk-ant-shunt-mock\n\
         # google-genai uses this key only without Vertex (GOOGLE_GENAI_USE_VERTEXAI=false).\n\
         GEMINI_API_KEY=shunt-mock-gemini-key\n\
         AWS_ACCESS_KEY_ID=AKIASHUNTMOCK0000000\n\
         AWS_SECRET_ACCESS_KEY=shunt-mock-secret\n\
         AWS_REGION=us-east-1\n\
         AWS_DEFAULT_REGION=us-east-1\n\
         AWS_CA_BUNDLE={certs}/bundle.pem\n\
         AWS_EC2_METADATA_DISABLED=true\n",
        proxy = s.proxy_url,
        project = s.project,
        location = s.location,
        claude = s.claude_region,
    )
}

/// Public roots (from webpki-root-certs) in PEM, followed by `ca_pem`.
pub fn bundle_pem(ca_pem: &str) -> String {
    let mut out = String::with_capacity(256 * 1024);
    out.push_str("# Public roots (Mozilla, via webpki-root-certs) followed by the shunt CA.\n");
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        out.push_str(&pem::encode(&pem::Pem::new("CERTIFICATE", der.as_ref().to_vec())));
    }
    out.push_str("# shunt CA\n");
    out.push_str(ca_pem);
    out
}

/// Fake `authorized_user` Application Default Credentials.
pub fn authorized_user_json() -> String {
    let value = json!({
        "type": "authorized_user",
        "client_id": "shunt-mock-client-id.apps.googleusercontent.com",
        "client_secret": "shunt-mock-client-secret",
        "refresh_token": "1//shunt-mock-refresh-token",
    });
    format!("{value:#}\n")
}

/// A `service_account` credentials file with a real, throwaway RSA-2048 key: google-auth
/// parses the key at load time and signs a JWT with it; shunt never checks the signature.
pub fn service_account_json(project: &str) -> Result<String, String> {
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
        .map_err(|e| format!("RSA key generation failed: {e}"))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("RSA key encoding failed: {e}"))?;
    let key_id: String = (0..20).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    let value = json!({
        "type": "service_account",
        "project_id": project,
        "private_key_id": key_id,
        "private_key": pem.as_str(),
        "client_email": format!("shunt-mock@{project}.iam.gserviceaccount.com"),
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "universe_domain": "googleapis.com",
    });
    Ok(format!("{value:#}\n"))
}

/// Write the kit files (the CA files already exist) into `dir`.
pub fn write_kit(dir: &Path, ca: &Ca, env: &EnvSettings) -> Result<(), CaError> {
    write_atomic(&dir.join(BUNDLE_FILE), bundle_pem(ca.cert_pem()).as_bytes())?;
    write_atomic(&dir.join(ADC_FILE), authorized_user_json().as_bytes())?;
    write_atomic(&dir.join(ENV_FILE), env_block(env).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundle ends with the CA and carries over a hundred public roots.
    #[test]
    fn bundle_has_roots_and_ca() {
        let bundle = bundle_pem("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
        assert!(bundle.matches("BEGIN CERTIFICATE").count() > 100);
        assert!(bundle.trim_end().ends_with("CA\n-----END CERTIFICATE-----"));
    }

    /// The env block names both CA variables on one bundle and never bypasses googleapis.
    #[test]
    fn env_block_wiring() {
        let block = env_block(&EnvSettings {
            proxy_url: "http://shunt:8080".into(),
            certs_dir: "/certs".into(),
            project: "p".into(),
            location: "us-central1".into(),
            claude_region: "us-east5".into(),
        });
        assert!(block.contains("\nHTTPS_PROXY=http://shunt:8080\n"));
        assert!(block.contains("\nSSL_CERT_FILE=/certs/bundle.pem\n"));
        assert!(block.contains("\nREQUESTS_CA_BUNDLE=/certs/bundle.pem\n"));
        let no_proxy = block
            .lines()
            .find(|l| l.starts_with("NO_PROXY="))
            .expect("NO_PROXY");
        assert!(!no_proxy.contains("googleapis"));
    }
}
