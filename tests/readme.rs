//! The README and `--help` agree: the README's flag table is generated from clap's
//! definitions (run with `SHUNT_UPDATE_README=1` to rewrite it), every `--flag` the README
//! names exists, and every `shunt COMMAND` it names is a command.

use std::collections::BTreeSet;

use clap::CommandFactory;
use shunt::config::Cli;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
const BEGIN: &str = "<!-- flags:begin -->";
const END: &str = "<!-- flags:end -->";

/// One table per command: flag, environment variable, default, what it does.
fn flag_tables() -> String {
    let root = Cli::command();
    let mut out = String::new();
    let mut commands: Vec<(String, &clap::Command)> = vec![("shunt serve".to_string(), &root)];
    for sub in root.get_subcommands() {
        if sub.get_name() == "serve" {
            continue;
        }
        if sub.has_subcommands() {
            for inner in sub.get_subcommands() {
                commands.push((format!("shunt {} {}", sub.get_name(), inner.get_name()), inner));
            }
        } else {
            commands.push((format!("shunt {}", sub.get_name()), sub));
        }
    }
    for (name, cmd) in commands {
        let args: Vec<&clap::Arg> = cmd
            .get_arguments()
            .filter(|a| a.get_long().is_some_and(|l| l != "help" && l != "version"))
            .collect();
        if args.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n`{name}`\n\n| flag | env | default | meaning |\n| --- | --- | --- | --- |\n"
        ));
        for arg in args {
            let long = arg.get_long().unwrap_or_default();
            let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or("");
            let default: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let default = if default.is_empty() {
                "–".to_string()
            } else {
                format!("`{}`", default.join(","))
            };
            let help = arg
                .get_help()
                .map(|h| h.to_string())
                .unwrap_or_default()
                .replace('\n', " ")
                .replace('|', "\\|");
            out.push_str(&format!("| `--{long}` | `{env}` | {default} | {help} |\n"));
        }
    }
    out.push('\n');
    out
}

/// The README's generated section matches `--help` (or is rewritten, on request).
#[test]
fn flag_tables_match_help() {
    let readme = std::fs::read_to_string(README).expect("README");
    let (head, rest) = readme
        .split_once(BEGIN)
        .expect("README has the flags:begin marker");
    let (current, tail) = rest.split_once(END).expect("README has the flags:end marker");
    let want = flag_tables();
    if std::env::var_os("SHUNT_UPDATE_README").is_some() {
        std::fs::write(README, format!("{head}{BEGIN}{want}{END}{tail}")).expect("write README");
        return;
    }
    assert!(
        current == want,
        "the README's flag tables differ from --help; run `SHUNT_UPDATE_README=1 cargo test --test readme` \
         and commit the result"
    );
}

/// Every `--flag` and `shunt COMMAND` the README's prose and examples name exists.
#[test]
fn readme_names_only_real_flags_and_commands() {
    let readme = std::fs::read_to_string(README).expect("README");
    let root = Cli::command();
    let mut flags = BTreeSet::new();
    let mut commands = BTreeSet::new();
    fn walk(cmd: &clap::Command, flags: &mut BTreeSet<String>, commands: &mut BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                flags.insert(long.to_string());
            }
            for alias in arg.get_all_aliases().into_iter().flatten() {
                flags.insert(alias.to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            commands.insert(sub.get_name().to_string());
            walk(sub, flags, commands);
        }
    }
    walk(&root, &mut flags, &mut commands);
    // Flags of other programs the README shows (curl, tshark, cargo, docker, scale-test,
    // scripts/soak).
    let foreign = [
        "release",
        "cacert",
        "keep",
        "rm",
        "help",
        "version",
        "no-aiohttp",
        "ignored",
        "locked",
        "all-targets",
        "workspace",
        "check",
        "profile",
        "upstream-restarts",
    ];
    let mut unknown = BTreeSet::new();
    for word in readme.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let Some(flag) = word.strip_prefix("--") else {
            continue;
        };
        if flag.is_empty() || flag.starts_with('-') || foreign.contains(&flag) {
            continue;
        }
        if !flags.contains(flag) {
            unknown.insert(flag.to_string());
        }
    }
    assert!(
        unknown.is_empty(),
        "the README names flags shunt does not have: {unknown:?}"
    );
    let mut missing_commands = BTreeSet::new();
    for line in readme.lines() {
        for (i, _) in line.match_indices("`shunt ") {
            let name: String = line[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase())
                .collect();
            if !name.is_empty() && !commands.contains(&name) {
                missing_commands.insert(name);
            }
        }
    }
    assert!(
        missing_commands.is_empty(),
        "the README names commands shunt does not have: {missing_commands:?}"
    );
}
