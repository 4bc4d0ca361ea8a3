//! What every command starts from: the profile directory (locked while in
//! use), the secrets, and the opened `Messenger`.

use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use zeroize::Zeroizing;
use zynk_sdk::{Messenger, SdkError};

use crate::cli::Cli;
use crate::output::Output;

/// Environment variable holding the account password.
pub const PASSWORD_VAR: &str = "ZYNK_PASSWORD";
/// Environment variable holding the passphrase of the sealed profile.
pub const PASSPHRASE_VAR: &str = "ZYNK_PASSPHRASE";

/// Global options, resolved.
#[derive(Debug)]
pub struct Ctx {
    pub server: String,
    pub profile: PathBuf,
    pub out: Output,
}

impl Ctx {
    pub fn new(cli: &Cli) -> Result<Self> {
        let profile = match &cli.profile {
            Some(p) => p.clone(),
            None => {
                let home = std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| {
                        anyhow!("HOME is not set: pass --profile or set ZYNK_PROFILE")
                    })?;
                PathBuf::from(home).join(".zynk")
            }
        };
        Ok(Self {
            server: cli.server.clone(),
            profile,
            out: Output { json: cli.json },
        })
    }

    /// Whether the profile directory holds an account already.
    pub fn has_profile(&self) -> bool {
        self.profile.join("profile.json").exists()
    }

    /// Locks the profile, asks for the passphrase and opens it; refreshes
    /// the session tokens when they are about to expire.
    pub async fn open(&self) -> Result<Session> {
        if !self.has_profile() {
            bail!(
                "no account in {}: run `zynk register <username>` or `zynk login <username>` \
                 (or pass --profile)",
                self.profile.display()
            );
        }
        let lock = ProfileLock::acquire(&self.profile)?;
        let passphrase = secret(PASSPHRASE_VAR, "Passphrase of the local profile: ", false)?;
        let mut m = Messenger::open(&self.profile, &passphrase)?;
        refresh_if_needed(&mut m).await?;
        Ok(Session {
            m,
            dir: self.profile.clone(),
            lock: Some(lock),
        })
    }
}

/// An opened profile, locked against other `zynk` processes while `lock` is held.
pub struct Session {
    pub m: Messenger,
    dir: PathBuf,
    lock: Option<ProfileLock>,
}

impl Session {
    /// Lets other processes use the profile (e.g. while `listen` waits).
    pub fn unlock(&mut self) {
        self.lock = None;
    }

    /// Takes the lock again and re-reads what other processes wrote meanwhile.
    pub fn relock(&mut self) -> Result<()> {
        if self.lock.is_none() {
            self.lock = Some(ProfileLock::acquire(&self.dir)?);
            self.m.reload()?;
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Renews the session token when it expires within a minute.
async fn refresh_if_needed(m: &mut Messenger) -> Result<()> {
    let Some(tokens) = m.client().tokens() else {
        return Ok(());
    };
    let soon = chrono::Utc::now() + chrono::Duration::seconds(60);
    if tokens.session_expires_at > soon {
        return Ok(());
    }
    match m.client_mut().refresh().await {
        Ok(_) => {
            m.save()?;
            Ok(())
        }
        Err(e) if e.status() == Some(401) => {
            bail!("the session has expired: run `zynk logout`, then `zynk login` again")
        }
        Err(e) => Err(e.into()),
    }
}

/// An exclusive lock on the profile (`<dir>/.lock`), released on drop, so
/// that two `zynk` processes never overwrite each other's state.
pub struct ProfileLock {
    _file: File,
}

impl ProfileLock {
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the profile directory {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let path = dir.join(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(Self { _file: file })
    }
}

/// A secret from the environment variable `var`, else asked for on the
/// terminal (no echo; twice when `confirm`). Never printed.
pub fn secret(var: &str, prompt: &str, confirm: bool) -> Result<Zeroizing<String>> {
    if let Some(value) = std::env::var_os(var) {
        let value = Zeroizing::new(
            value
                .into_string()
                .map_err(|_| anyhow!("{var} is not valid UTF-8"))?,
        );
        if value.is_empty() {
            bail!("{var} is set but empty");
        }
        return Ok(value);
    }
    if !std::io::stdin().is_terminal() {
        bail!("{var} is not set and there is no terminal to ask on: set {var}");
    }
    let first = Zeroizing::new(rpassword::prompt_password(prompt).context("cannot read it")?);
    if first.is_empty() {
        bail!("empty input");
    }
    if confirm {
        let again =
            Zeroizing::new(rpassword::prompt_password("Again: ").context("cannot read it")?);
        if *again != *first {
            bail!("the two entries differ");
        }
    }
    Ok(first)
}

/// This device's name: the host name, else "cli".
pub fn device_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().chars().take(64).collect::<String>())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "cli".to_owned())
}

/// A UUID argument (message, device or conversation id).
pub fn parse_id<T: std::str::FromStr>(what: &str, s: &str) -> Result<T> {
    s.trim()
        .parse()
        .map_err(|_| anyhow!("{what} must be an id (a UUID), not {s:?}"))
}

/// Whether an SDK error means "try again later" rather than "never".
pub fn is_transient(e: &SdkError) -> bool {
    match e {
        SdkError::Http(_) | SdkError::WebSocket(_) | SdkError::Timeout(_) => true,
        SdkError::Api { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}
