//! Progress bars for pulls: one per layer, drawn on stdout only when it is
//! a terminal; otherwise nothing is drawn (logs stay clean).

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where pull progress goes.
#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    /// Bars when stdout is a terminal, else silence.
    pub fn auto() -> Progress {
        if std::io::stdout().is_terminal() {
            Progress {
                multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::stdout())),
            }
        } else {
            Progress::none()
        }
    }

    pub fn none() -> Progress {
        Progress { multi: None }
    }

    /// A bar for one layer of `size` bytes, labelled by its short digest.
    pub fn layer(&self, label: &str, size: u64) -> Option<ProgressBar> {
        let multi = self.multi.as_ref()?;
        let bar = multi.add(ProgressBar::new(size));
        let style = ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Some(bar)
    }
}
