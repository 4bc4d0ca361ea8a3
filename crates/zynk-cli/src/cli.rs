//! The command line: every command, option and its help text (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Secrets: the account password is read from ZYNK_PASSWORD and the passphrase \
that seals the local profile from ZYNK_PASSPHRASE; when they are not set and \
standard input is a terminal, zynk asks for them (without echo).

Addressing: `@alice` is the user alice (a 1:1 conversation with her, created \
on first use); a bare name or `#name` is a group (by name or id); a \
conversation id works everywhere a conversation is expected.";

/// The Zynk command-line client: end-to-end encrypted messaging.
#[derive(Debug, Parser)]
#[command(name = "zynk", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Server URL, used by `register` and `login`; later commands use the
    /// server remembered in the profile.
    #[arg(
        long,
        global = true,
        env = "ZYNK_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,

    /// Profile directory: this device's keys and session, sealed with the
    /// passphrase [default: $HOME/.zynk]
    #[arg(long, global = true, env = "ZYNK_PROFILE")]
    pub profile: Option<PathBuf>,

    /// Print one JSON object per line instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account; this machine becomes its first device.
    Register {
        /// 3–64 characters of a-z, 0-9, `_`, `.`, `-`.
        username: String,
    },
    /// Log in to an existing account from a new device (needs approval).
    Login { username: String },
    /// Log out and delete this device's local profile.
    Logout,
    /// Show the account and device of this profile.
    Whoami,
    /// List this account's devices, or approve / remove one.
    Devices {
        #[command(subcommand)]
        action: Option<DevicesCommand>,
    },
    /// Send an encrypted message to @user or a group.
    Send {
        /// `@user`, a group name or a conversation id.
        to: String,
        /// The message; read from standard input when absent.
        text: Vec<String>,
    },
    /// Receive messages and events as they arrive.
    Listen(ListenArgs),
    /// Show the decrypted history of a conversation, oldest first.
    History {
        /// `@user`, a group name or a conversation id.
        conversation: String,
        /// How many of the most recent messages to show.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// List conversations with unread counts and last activity.
    Conversations,
    /// Create and manage groups.
    Group {
        #[command(subcommand)]
        action: GroupCommand,
    },
    /// Show the safety number to compare with a contact.
    SafetyNumber {
        /// `@user`
        user: String,
    },
    /// Accept a contact's changed identity key (after comparing safety numbers).
    Trust {
        /// `@user`
        user: String,
    },
    /// Add (or with --remove, take back) a reaction to a message.
    React {
        message_id: String,
        emoji: String,
        /// Remove the reaction instead of adding it.
        #[arg(long)]
        remove: bool,
    },
    /// Replace the text of one of your messages.
    Edit {
        message_id: String,
        /// The new text; read from standard input when absent.
        text: Vec<String>,
    },
    /// Delete a message (yours, or any as a group admin).
    Delete { message_id: String },
    /// Mark a conversation read up to now.
    Read {
        /// `@user`, a group name or a conversation id.
        conversation: String,
    },
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Exit once the pending messages are shown (after ~2 s without any).
    #[arg(long)]
    pub once: bool,
    /// Exit after this many messages.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Fail if not done (see --once, --count) within this many seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// List this account's devices (the default).
    List,
    /// Approve a new device: hands it the account's identity key, encrypted to it.
    Approve { device_id: String },
    /// Remove a device and end its sessions.
    Remove { device_id: String },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group (you are its admin).
    Create {
        name: String,
        /// A member to add (`@user`); repeat for more.
        #[arg(long = "member", value_name = "@USER")]
        members: Vec<String>,
    },
    /// Add a member (admins).
    Add { group: String, user: String },
    /// Remove a member (admins).
    Remove { group: String, user: String },
    /// Leave a group.
    Leave { group: String },
    /// List your groups.
    List,
    /// Show a group and its members.
    Info { group: String },
}
