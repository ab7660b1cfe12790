//! The `shunt` binary: parse → validate (exit 64 before binding) → telemetry → run.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use shunt::config::Config;
use shunt::config::cli::{
    CaArgs, CaptureCommand, Cli, Command, CredsArgs, CredsKind, EnvArgs, HealthArgs, MockArgs, ServeArgs,
};
use shunt::tls::ca::{Ca, write_atomic};
use shunt::tls::kit::{self, EnvSettings};
use tokio::net::TcpListener;

/// sysexits: EX_USAGE for bad configuration, EX_SOFTWARE for runtime failures.
const EX_USAGE: u8 = 64;
const EX_SOFTWARE: u8 = 70;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return flag_error(err),
    };
    let result = match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Mock(args)) => mock(args),
        Some(Command::Ca(args)) => ca(args),
        Some(Command::Creds(args)) => creds(args),
        Some(Command::Env(args)) => env(args),
        Some(Command::Health(args)) => health(args),
        Some(Command::Doctor) => doctor(),
        Some(Command::Capture(CaptureCommand::Summary { file, format, prices })) => {
            let prices = match &prices {
                Some(path) => shunt::cost::Prices::load(path),
                None => Ok(shunt::cost::Prices::embedded()),
            };
            match prices.and_then(|prices| shunt::capture::summary::summarize(&file, &prices, format)) {
                Ok(table) => {
                    print!("{table}");
                    Ok(())
                }
                Err(e) => Err(usage(e)),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("shunt: {message}");
            ExitCode::from(code)
        }
    }
}

/// Help and version print and exit 0; any other command-line error is a configuration
/// error: one line naming the flag, exit 64.
fn flag_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let text = err.to_string();
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid command line");
    eprintln!("shunt: {}", line.trim_start_matches("error: "));
    ExitCode::from(EX_USAGE)
}

type CmdResult = Result<(), (u8, String)>;

fn usage(message: impl std::fmt::Display) -> (u8, String) {
    (EX_USAGE, message.to_string())
}

fn software(message: impl std::fmt::Display) -> (u8, String) {
    (EX_SOFTWARE, message.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, (u8, String)> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| software(format!("cannot start the runtime: {e}")))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn serve(mut args: ServeArgs) -> CmdResult {
    if args.keylog.is_none() {
        args.keylog = std::env::var_os("SSLKEYLOGFILE").map(PathBuf::from);
    }
    let (format, filter) = (args.log.log_format, args.log.log.clone());
    let config = Config::from_args(args).map_err(usage)?;
    let _log_guard = shunt::telemetry::init(format, &filter).map_err(usage)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = bind(config.listen).await?;
        // Signal handlers first: a SIGTERM right after "listening" must shut down cleanly.
        let shutdown = shutdown_signal().map_err(software)?;
        shunt::serve(listener, config, shutdown).await.map_err(usage)?;
        tracing::info!("shut down");
        Ok(())
    })
}

fn mock(args: MockArgs) -> CmdResult {
    let config = shunt::config::mock_config(&args.mock).map_err(usage)?;
    let dashboard = shunt::config::Dashboard::from_flags(&args.dashboard).map_err(usage)?;
    let _log_guard = shunt::telemetry::init(args.log.log_format, &args.log.log).map_err(usage)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = bind(args.listen).await?;
        let shutdown = shutdown_signal().map_err(software)?;
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "mock listening");
        }
        let settings = shunt::mock::server::Settings {
            grace: args.grace_period,
            stall_timeout: args.stall_timeout,
            prices: dashboard.prices,
            admin_token: dashboard.admin_token,
        };
        shunt::mock::server::run(listener, config, settings, shutdown).await;
        tracing::info!("shut down");
        Ok(())
    })
}

fn doctor() -> CmdResult {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let rt = runtime()?;
    let checks = rt.block_on(shunt::doctor::run(&env));
    for check in &checks {
        println!("{}", check.render());
    }
    let failed = checks.iter().filter(|c| c.failed()).count();
    if failed > 0 {
        return Err((1, format!("{failed} check(s) failed")));
    }
    Ok(())
}

fn ca(args: CaArgs) -> CmdResult {
    let certs = absolute(&args.certs);
    let ca = Ca::load_or_create(&certs).map_err(usage)?;
    println!("{}", certs.join(shunt::tls::ca::CA_CERT_FILE).display());
    println!("SHA-256 fingerprint: {}", ca.fingerprint());
    if let Some(bundle) = args.bundle {
        write_atomic(&bundle, kit::bundle_pem(ca.cert_pem()).as_bytes()).map_err(usage)?;
        println!("bundle: {}", bundle.display());
    }
    Ok(())
}

fn creds(args: CredsArgs) -> CmdResult {
    let json = match args.kind {
        CredsKind::AuthorizedUser => kit::authorized_user_json(),
        CredsKind::ServiceAccount => kit::service_account_json(&args.project).map_err(software)?,
    };
    if args.out.as_os_str() == "-" {
        print!("{json}");
        return Ok(());
    }
    // Service-account files hold a private key: keep them private.
    shunt::tls::ca::write_private(&args.out, json.as_bytes()).map_err(usage)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

fn env(args: EnvArgs) -> CmdResult {
    print!(
        "{}",
        kit::env_block(&EnvSettings {
            proxy_url: args.public_url,
            certs_dir: if args.public_certs_dir.is_absolute() {
                args.public_certs_dir
            } else {
                absolute(&args.public_certs_dir)
            },
            project: args.project,
            location: "us-central1".into(),
            claude_region: "us-east5".into(),
        })
    );
    Ok(())
}

fn health(args: HealthArgs) -> CmdResult {
    let addr = shunt::server::reachable(args.listen);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(software)?;
    rt.block_on(async {
        let probe = async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(addr).await?;
            stream
                .write_all(
                    format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
                )
                .await?;
            let mut buf = Vec::new();
            stream.read_to_end(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        };
        match tokio::time::timeout(args.timeout, probe).await {
            Ok(Ok(buf)) if buf.starts_with(b"HTTP/1.1 200") => {
                println!("shunt at {addr} is healthy");
                Ok(())
            }
            Ok(Ok(buf)) => Err((
                1,
                format!(
                    "{addr} answered: {}",
                    String::from_utf8_lossy(&buf[..buf.len().min(80)])
                ),
            )),
            Ok(Err(e)) => Err((1, format!("{addr}: {e}"))),
            Err(_) => Err((
                1,
                format!("{addr}: no answer within {}s", args.timeout.as_secs_f64()),
            )),
        }
    })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, (u8, String)> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| usage(format!("--listen {addr}: cannot listen: {e}")))
}

/// Install SIGTERM and SIGINT handlers now; the returned future resolves on either.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    })
}
