//! Prometheus text exposition format 0.0.4, written by hand: a metric family is a HELP and a
//! TYPE line followed by its samples, which is all a scraper needs.

use std::fmt::{Display, Write as _};

use seqr_store::{BUCKET_BOUNDS_MICROS, LatencySnapshot};

/// The content type scrapers expect for this format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Default)]
pub(crate) struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a family; `kind` is `counter`, `gauge` or `histogram`.
    pub(crate) fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    pub(crate) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        write_labels(&mut self.out, labels, None);
        let _ = writeln!(self.out, " {value}");
    }

    /// A family with one sample and no labels.
    pub(crate) fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// A histogram's cumulative `_bucket` samples (`le` in seconds), `_sum` and `_count`.
    pub(crate) fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &LatencySnapshot) {
        let mut cumulative = 0;
        for (i, count) in h.counts.iter().enumerate() {
            cumulative += count;
            let le = match BUCKET_BOUNDS_MICROS.get(i) {
                Some(micros) => (*micros as f64 / 1e6).to_string(),
                None => "+Inf".to_owned(),
            };
            let _ = write!(self.out, "{name}_bucket");
            write_labels(&mut self.out, labels, Some(&le));
            let _ = writeln!(self.out, " {cumulative}");
        }
        let _ = write!(self.out, "{name}_sum");
        write_labels(&mut self.out, labels, None);
        let _ = writeln!(self.out, " {}", h.sum_nanos as f64 / 1e9);
        let _ = write!(self.out, "{name}_count");
        write_labels(&mut self.out, labels, None);
        let _ = writeln!(self.out, " {cumulative}");
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let all = labels.iter().copied().chain(le.map(|le| ("le", le)));
    for (i, (name, value)) in all.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_escaped_labels() {
        let mut e = Exposition::default();
        e.family("seqr_x_total", "counter", "Things.");
        e.sample("seqr_x_total", &[("address", "a\"b\\c\nd")], 3);
        assert_eq!(
            e.finish(),
            "# HELP seqr_x_total Things.\n# TYPE seqr_x_total counter\n\
             seqr_x_total{address=\"a\\\"b\\\\c\\nd\"} 3\n"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf() {
        let mut counts = vec![0; BUCKET_BOUNDS_MICROS.len() + 1];
        counts[0] = 2;
        counts[4] = 1;
        let h = LatencySnapshot {
            counts,
            sum_nanos: 1_500_000,
        };
        let mut e = Exposition::default();
        e.histogram("seqr_h_seconds", &[("kind", "search")], &h);
        let text = e.finish();
        assert!(
            text.starts_with("seqr_h_seconds_bucket{kind=\"search\",le=\"0.00005\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("seqr_h_seconds_bucket{kind=\"search\",le=\"0.001\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("seqr_h_seconds_bucket{kind=\"search\",le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("seqr_h_seconds_sum{kind=\"search\"} 0.0015\n"),
            "{text}"
        );
        assert!(
            text.ends_with("seqr_h_seconds_count{kind=\"search\"} 3\n"),
            "{text}"
        );
    }
}
