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
    /// Check offline that a message's ciphertext is anchored in the ledger:
    /// recomputes its hash, fetches the proof and verifies it.
    Verify { message_id: String },
    /// Mark a conversation read up to now.
    Read {
        /// `@user`, a group name or a conversation id.
        conversation: String,
    },
    /// Send a file, encrypted on this device (images get a thumbnail).
    SendFile {
        /// `@user`, a group name or a conversation id.
        to: String,
        /// The file to send.
        path: PathBuf,
    },
    /// Download and decrypt a file received (or sent) in a message.
    Download {
        /// The id of the file message, or of the file itself.
        id: String,
        /// Where to write it [default: the original file name, here].
        path: Option<PathBuf>,
        /// Overwrite PATH if it exists.
        #[arg(long)]
        force: bool,
        /// Download the image's thumbnail (a JPEG) instead of the file.
        #[arg(long)]
        thumbnail: bool,
    },
    /// Call someone (signaling only: no audio or video is carried), or
    /// answer, decline or end a call.
    Call(CallArgs),
    /// List your calls, newest first.
    Calls {
        /// How many calls to show.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
    },
    /// Share your live location, stop sharing, or show who shares.
    Location {
        #[command(subcommand)]
        action: LocationCommand,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CallArgs {
    #[command(subcommand)]
    pub action: Option<CallCommand>,
    /// `@user` (or a conversation) to call; waits, printing the call's
    /// status, until it ends (Ctrl-C hangs up).
    #[arg(required = true)]
    pub to: Option<String>,
    /// A video call (the default is audio).
    #[arg(long)]
    pub video: bool,
}

#[derive(Debug, Subcommand)]
pub enum CallCommand {
    /// Answer a ringing call.
    Accept { call_id: String },
    /// Decline a call before it started.
    Decline { call_id: String },
    /// Hang up (or cancel a call nobody answered yet).
    Hangup { call_id: String },
}

#[derive(Debug, Subcommand)]
pub enum LocationCommand {
    /// Share a position with a conversation.
    #[command(allow_negative_numbers = true)]
    Share {
        /// `@user`, a group name or a conversation id.
        conversation: String,
        /// Latitude in degrees (−85.05…85.05).
        latitude: f64,
        /// Longitude in degrees (−180…180).
        longitude: f64,
        /// Accuracy in metres.
        #[arg(long, value_name = "M")]
        accuracy: Option<f64>,
        /// Share for this many seconds (60–28800, default 300).
        #[arg(long, value_name = "S")]
        duration: Option<u32>,
        /// Stay running and send the position again every minute until
        /// --duration is over (then, or on Ctrl-C, stop sharing).
        #[arg(long)]
        follow: bool,
    },
    /// Stop sharing your position with a conversation.
    Stop { conversation: String },
    /// Show the live positions in a conversation, with distances.
    Show { conversation: String },
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Exit once the pending messages are shown (after ~2 s without any).
    #[arg(long)]
    pub once: bool,
    /// Exit after this many messages (incoming calls count too).
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
