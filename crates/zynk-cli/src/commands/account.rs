//! register, login, logout, whoami, devices.

use std::collections::HashMap;

use anyhow::{Result, bail};
use serde_json::json;
use zynk_proto::DeviceId;
use zynk_sdk::{Messenger, SdkError};

use crate::cli::DevicesCommand;
use crate::context::{
    Ctx, PASSPHRASE_VAR, PASSWORD_VAR, ProfileLock, device_name, parse_id, secret,
};

fn refuse_existing(ctx: &Ctx) -> Result<()> {
    if ctx.has_profile() {
        bail!(
            "{} already holds an account: use another --profile (or ZYNK_PROFILE), \
             or `zynk logout` first",
            ctx.profile.display()
        );
    }
    Ok(())
}

pub async fn register(ctx: &Ctx, username: &str) -> Result<()> {
    refuse_existing(ctx)?;
    let _lock = ProfileLock::acquire(&ctx.profile)?;
    let password = secret(
        PASSWORD_VAR,
        &format!("New password for {username}: "),
        true,
    )?;
    let passphrase = secret(
        PASSPHRASE_VAR,
        "New passphrase for the local profile: ",
        true,
    )?;
    let m = Messenger::register(
        &ctx.server,
        &ctx.profile,
        &passphrase,
        username,
        &password,
        &device_name(),
    )
    .await?;
    let info = m.info();
    ctx.out.emit(
        format!(
            "Registered {} on {} (user {}, device {}).\nProfile: {}",
            info.username,
            info.server,
            info.user_id,
            info.device_id,
            ctx.profile.display()
        ),
        json!({
            "type": "registered",
            "username": info.username,
            "user_id": info.user_id,
            "device_id": info.device_id,
            "server": info.server,
        }),
    );
    Ok(())
}

pub async fn login(ctx: &Ctx, username: &str) -> Result<()> {
    refuse_existing(ctx)?;
    let _lock = ProfileLock::acquire(&ctx.profile)?;
    let password = secret(PASSWORD_VAR, &format!("Password for {username}: "), false)?;
    let passphrase = secret(
        PASSPHRASE_VAR,
        "New passphrase for the local profile: ",
        true,
    )?;
    let m = Messenger::login(
        &ctx.server,
        &ctx.profile,
        &passphrase,
        username,
        &password,
        &device_name(),
    )
    .await?;
    let info = m.info();
    let approve = format!("zynk devices approve {}", info.device_id);
    ctx.out.emit(
        format!(
            "Logged in as {} on a new device ({}).\n\
             This device cannot read or send yet. On a device of {} that is already set up, run:\n\
             \n    {approve}\n\n\
             then run `zynk listen` here (or `zynk listen --once`): it receives the identity key \
             and reports that this device is approved.",
            info.username, info.device_id, info.username
        ),
        json!({
            "type": "logged_in",
            "username": info.username,
            "user_id": info.user_id,
            "device_id": info.device_id,
            "server": info.server,
            "approved": m.is_approved(),
            "approve_with": approve,
        }),
    );
    Ok(())
}

pub async fn logout(ctx: &Ctx) -> Result<()> {
    let mut s = ctx.open().await?;
    let username = s.m.info().username.clone();
    let told = match s.m.client_mut().logout().await {
        Ok(()) => Ok(()),
        // Already revoked: nothing to tell the server.
        Err(e) if e.status() == Some(401) => Ok(()),
        Err(e) => Err(e),
    };
    let device = s.m.device_id();
    s.m.forget()?;
    if let Err(e) = told {
        bail!(
            "deleted the local profile, but the server could not be told ({e}); \
             remove device {device} from another device with `zynk devices remove {device}`"
        );
    }
    ctx.out.emit(
        format!(
            "Logged out {username}; deleted the local profile in {}.",
            ctx.profile.display()
        ),
        json!({"type": "logged_out", "username": username}),
    );
    Ok(())
}

pub async fn whoami(ctx: &Ctx) -> Result<()> {
    let s = ctx.open().await?;
    let info = s.m.info();
    let approved = s.m.is_approved();
    ctx.out.emit(
        format!(
            "username:  {}\nuser id:   {}\ndevice id: {}\napproved:  {}\nserver:    {}\nprofile:   {}",
            info.username,
            info.user_id,
            info.device_id,
            if approved {
                "yes"
            } else {
                "no (waiting for `zynk devices approve` on another device)"
            },
            info.server,
            s.dir().display()
        ),
        json!({
            "username": info.username,
            "user_id": info.user_id,
            "device_id": info.device_id,
            "approved": approved,
            "server": info.server,
        }),
    );
    Ok(())
}

pub async fn devices(ctx: &Ctx, action: Option<DevicesCommand>) -> Result<()> {
    match action.unwrap_or(DevicesCommand::List) {
        DevicesCommand::List => list_devices(ctx).await,
        DevicesCommand::Approve { device_id } => {
            let id: DeviceId = parse_id("device id", &device_id)?;
            let mut s = ctx.open().await?;
            match s.m.approve_device(id).await {
                Ok(()) => {}
                Err(SdkError::UnknownDevice) => bail!(
                    "no device {id} is waiting for approval (see `zynk devices`; a new device \
                     appears once it has logged in)"
                ),
                Err(e) => return Err(e.into()),
            }
            ctx.out.emit(
                format!(
                    "Approved device {id}: it receives the identity key when it next connects \
                     (`zynk listen` there)."
                ),
                json!({"type": "approved_device", "device_id": id}),
            );
            Ok(())
        }
        DevicesCommand::Remove { device_id } => {
            let id: DeviceId = parse_id("device id", &device_id)?;
            let s = ctx.open().await?;
            if id == s.m.device_id() {
                bail!("that is this device: use `zynk logout` to leave it");
            }
            s.m.client().delete_device(id).await?;
            ctx.out.emit(
                format!("Removed device {id} and ended its sessions."),
                json!({"type": "removed_device", "device_id": id}),
            );
            Ok(())
        }
    }
}

async fn list_devices(ctx: &Ctx) -> Result<()> {
    let s = ctx.open().await?;
    let client = s.m.client();
    let devices = client.devices().await?;
    let keys: HashMap<DeviceId, (bool, bool)> = client
        .user_devices(s.m.user_id())
        .await?
        .into_iter()
        .map(|d| (d.device_id, (d.keys.is_some(), d.verified)))
        .collect();
    for d in devices {
        let (has_keys, verified) = keys.get(&d.id).copied().unwrap_or((false, false));
        let pending = has_keys && !verified;
        let status = if verified {
            "verified"
        } else if pending {
            "PENDING approval"
        } else {
            "no keys"
        };
        let marker = if d.current { "*" } else { " " };
        let this = if d.current { "  (this device)" } else { "" };
        let last = d
            .last_active_at
            .map(crate::output::local)
            .unwrap_or_else(|| "never".into());
        ctx.out.emit(
            format!(
                "{marker} {}  {:<20} {:<16} last active {last}{this}",
                d.id, d.name, status
            ),
            json!({
                "type": "device",
                "id": d.id,
                "name": d.name,
                "platform": d.platform,
                "verified": verified,
                "pending": pending,
                "current": d.current,
                "last_active_at": d.last_active_at,
                "created_at": d.created_at,
            }),
        );
    }
    Ok(())
}
