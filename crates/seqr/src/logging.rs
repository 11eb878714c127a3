//! seqr's own log: human text (the default) or CLEF JSON lines on standard error, and
//! optionally the same events stored in seqr's own store (`--self-log`).
//!
//! Both the JSON output and the self-log use one small layer's formatting rather than
//! tracing-subscriber's `json` feature: the lines must be CLEF (`@t`, `@l`, `@m`) so seqr, or
//! Seq, can ingest them as they are, which the generic JSON formatter does not write.

use std::io::{IsTerminal, Write as _};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{LogFormat, LogSettings};

/// A self-log line's message is cut to this many bytes, so one huge log line cannot be larger
/// than an event may be.
const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Installs the global subscriber: `settings.level` filters everything; text or CLEF lines go
/// to stderr; with `self_log`, events of Information and above are also queued for storing.
pub(crate) fn init(settings: &LogSettings, self_log: Option<seqr_server::self_log::SelfLog>) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let text = (settings.format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
    });
    let json = (settings.format == LogFormat::Json).then_some(ClefStderr);
    let own = self_log.map(SelfLogLayer);
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(own)
        .init();
}

/// Writes each event as one CLEF line on stderr.
struct ClefStderr;

impl<S: Subscriber> Layer<S> for ClefStderr {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut line = clef_line(event, usize::MAX);
        line.push('\n');
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// Offers events of Information and above to the self-log queue.
struct SelfLogLayer(seqr_server::self_log::SelfLog);

impl<S: Subscriber> Layer<S> for SelfLogLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        // `Level` orders by verbosity: INFO is "greater" than WARN.
        if *event.metadata().level() > Level::INFO || seqr_server::self_log::is_storing() {
            return;
        }
        self.0.offer(clef_line(event, MAX_MESSAGE_BYTES));
    }
}

fn clef_level(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "Verbose",
        Level::DEBUG => "Debug",
        Level::INFO => "Information",
        Level::WARN => "Warning",
        Level::ERROR => "Error",
    }
}

/// The event as a CLEF object: `@t`, `@l`, `@m`, `SourceContext` (the target), its fields as
/// properties, and `Application = "seqr"`.
fn clef_line(event: &Event<'_>, max_message_bytes: usize) -> String {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let meta = event.metadata();
    let mut message = fields.message.unwrap_or_default();
    if message.len() > max_message_bytes {
        let mut cut = max_message_bytes;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    let mut clef = Map::new();
    clef.insert("@t".into(), seqr_types::Timestamp::now().to_iso().into());
    clef.insert("@l".into(), clef_level(meta.level()).into());
    clef.insert("@m".into(), message.into());
    clef.insert("SourceContext".into(), meta.target().into());
    for (name, value) in fields.properties {
        // A field named like a CLEF key would change the event's meaning.
        let name = if name.starts_with('@') {
            format!("@{name}")
        } else {
            name
        };
        clef.insert(name, value);
    }
    clef.insert("Application".into(), "seqr".into());
    Value::Object(clef).to_string()
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    properties: Vec<(String, Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.properties.push((field.name().to_owned(), value));
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
}
