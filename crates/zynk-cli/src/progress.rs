//! A transfer's progress bar, drawn on standard error when it is a
//! terminal (and not with `--json`); nothing otherwise. Hand-drawn: one
//! line rewritten with `\r`.

use std::io::{IsTerminal, Write as _};
use std::sync::{Arc, Mutex};

use zynk_sdk::Progress;

const WIDTH: usize = 30;

pub struct Bar {
    /// Whether anything was drawn (then `finish` ends the line).
    drawn: Arc<Mutex<Option<String>>>,
    enabled: bool,
    label: String,
}

impl Bar {
    /// A bar for `label` (e.g. "Uploading cat.png"), active only on a terminal.
    pub fn new(label: &str, json: bool) -> Self {
        Self {
            drawn: Arc::new(Mutex::new(None)),
            enabled: !json && std::io::stderr().is_terminal(),
            label: label.to_owned(),
        }
    }

    /// The SDK callback, or `None` when no bar is shown.
    pub fn callback(&self) -> Option<Progress> {
        if !self.enabled {
            return None;
        }
        let drawn = self.drawn.clone();
        let label = self.label.clone();
        Some(Arc::new(move |done: u64, total: Option<u64>| {
            let line = render(&label, done, total);
            let Ok(mut last) = drawn.lock() else { return };
            if last.as_deref() != Some(line.as_str()) {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r{line}\x1b[K");
                let _ = err.flush();
                *last = Some(line);
            }
        }))
    }

    /// Ends the bar's line.
    pub fn finish(&self) {
        if let Ok(last) = self.drawn.lock()
            && last.is_some()
        {
            eprintln!();
        }
    }
}

/// `label [#####-----]  45%  1.2 MiB / 3.0 MiB`.
pub fn render(label: &str, done: u64, total: Option<u64>) -> String {
    match total {
        Some(total) if total > 0 => {
            let done = done.min(total);
            let filled = (done as u128 * WIDTH as u128 / total as u128) as usize;
            let percent = done as u128 * 100 / total as u128;
            format!(
                "{label} [{}{}] {percent:>3}%  {} / {}",
                "#".repeat(filled),
                "-".repeat(WIDTH - filled),
                size(done),
                size(total)
            )
        }
        _ => format!("{label} {}", size(done)),
    }
}

/// A byte count for people: `512 B`, `1.5 KiB`, `3.0 MiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_bars_and_sizes() {
        assert_eq!(size(10), "10 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1024 * 1024), "3.0 MiB");
        let half = render("Up", 50, Some(100));
        assert!(half.contains(" 50%"), "{half}");
        assert_eq!(half.matches('#').count(), WIDTH / 2);
        assert!(render("Up", 200, Some(100)).contains("100%"));
        assert_eq!(render("Up", 5, None), "Up 5 B");
    }
}
