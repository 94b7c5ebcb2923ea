//! User-facing progress: indicatif bars when stderr is a terminal, plain periodic log
//! lines otherwise (schedulers, CI, pipes).

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ltx_extract::Metrics;
use ltx_pipeline::Counters;

/// A running progress display; stop it with [`Progress::finish`].
pub struct Progress {
    stop: Arc<tokio::sync::Notify>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts the display (nothing when `quiet`). `metrics` are the extractor's counters.
    pub fn start(
        label: &'static str,
        metrics: Option<Arc<Metrics>>,
        counters: Arc<Counters>,
        quiet: bool,
    ) -> Progress {
        let stop = Arc::new(tokio::sync::Notify::new());
        if quiet {
            return Progress { stop, task: None };
        }
        let tty = std::io::stderr().is_terminal();
        let stop2 = stop.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let bar = tty.then(|| {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_prefix(label);
                bar
            });
            let period = if tty {
                Duration::from_millis(120)
            } else {
                Duration::from_secs(5)
            };
            loop {
                tokio::select! {
                    _ = stop2.notified() => break,
                    _ = tokio::time::sleep(period) => {}
                }
                let conv = counters.conversations.load(Ordering::Relaxed);
                let rows = counters.rows.load(Ordering::Relaxed);
                let (pages, total, fetched) = metrics
                    .as_ref()
                    .map(|m| {
                        (
                            m.pages.load(Ordering::Relaxed),
                            m.total_reported.load(Ordering::Relaxed),
                            m.conversations.load(Ordering::Relaxed),
                        )
                    })
                    .unwrap_or((0, 0, conv));
                match &bar {
                    Some(bar) => {
                        if total > 0 {
                            bar.set_length(total.max(fetched));
                        }
                        bar.set_position(fetched);
                        bar.set_message(format!(
                            "pages {pages} · conversations {conv} · rows {rows}"
                        ));
                    }
                    None => tracing::info!(
                        target: "ltx::progress",
                        stage = label,
                        pages,
                        total_reported = total,
                        fetched,
                        conversations = conv,
                        rows,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "progress"
                    ),
                }
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        });
        Progress {
            stop,
            task: Some(task),
        }
    }

    /// Stops the display and waits for it to clear its line.
    pub async fn finish(mut self) {
        self.stop.notify_one();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}
