//! Substring filters: per block and column, a one-hash bitset of the byte trigrams of the
//! column's distinct string values, ASCII letters folded. A value that contains a text
//! (case-sensitively or under `ci`) contains all the text's folded trigrams, so a text with a
//! trigram whose bit is clear is in no value of the block: a search skips the column (or the
//! template holes it fills) without decompressing it. Built only for the columns a text search
//! reads: messages, exceptions and the properties the block's templates name as holes.
//!
//! Values that are not ASCII also add the trigrams of their Unicode lowercase form, which is
//! what `ci` compares (a Kelvin sign lowercases to an ASCII `k`).
//!
//! The bitset is built at 65,536 bits and folded in halves (bit `i` ORs into `i mod m`) while
//! at most a quarter of the bits are set, so a lookup is `hash & (m - 1)`. A filter still
//! more than half full at the largest size would skip almost nothing and is not stored.

const MAX_BITS: usize = 1 << 16;
const MIN_BYTES: usize = 16;

fn slot(t: [u8; 3]) -> usize {
    let v = u32::from(t[0]) | u32::from(t[1]) << 8 | u32::from(t[2]) << 16;
    (v.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

/// Collects trigrams into the full-size bitset.
pub(crate) struct Builder {
    words: Vec<u64>,
    any: bool,
}

impl Builder {
    pub(crate) fn new() -> Builder {
        Builder {
            words: vec![0; MAX_BITS / 64],
            any: false,
        }
    }

    pub(crate) fn add(&mut self, value: &str) {
        self.add_folded(value.as_bytes());
        if !value.is_ascii() {
            let lower = value.to_lowercase();
            self.add_folded(lower.as_bytes());
        }
    }

    fn add_folded(&mut self, bytes: &[u8]) {
        for w in bytes.windows(3) {
            let s = slot([
                w[0].to_ascii_lowercase(),
                w[1].to_ascii_lowercase(),
                w[2].to_ascii_lowercase(),
            ]);
            self.words[s / 64] |= 1 << (s % 64);
            self.any = true;
        }
    }

    /// The filter's bytes (`None`: too full to be worth storing). Values shorter than three
    /// bytes add nothing, and a filter without trigrams is stored as all zeros: it rules out
    /// every text of three bytes or more.
    pub(crate) fn finish(mut self) -> Option<Vec<u8>> {
        let ones = |w: &[u64]| w.iter().map(|x| x.count_ones() as usize).sum::<usize>();
        if self.any && ones(&self.words) > MAX_BITS / 2 {
            return None;
        }
        let mut len = self.words.len();
        while len * 8 > MIN_BYTES {
            let half = len / 2;
            let folded: Vec<u64> = (0..half)
                .map(|i| self.words[i] | self.words[i + half])
                .collect();
            if ones(&folded) * 4 > half * 64 {
                break;
            }
            self.words[..half].copy_from_slice(&folded);
            len = half;
        }
        Some(
            self.words[..len]
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect(),
        )
    }
}

/// The bytes a filter is tested with for a text search: the text with ASCII letters
/// lowercased (`None`: shorter than a trigram, or not ASCII under `ci`, where lowercasing is
/// not byte-wise).
pub(crate) fn probe(text: &str, ci: bool) -> Option<Vec<u8>> {
    (text.len() >= 3 && (!ci || text.is_ascii()))
        .then(|| text.bytes().map(|b| b.to_ascii_lowercase()).collect())
}

/// False when no value the filter was built from contains the probed text. A malformed
/// filter answers true (never a wrong skip).
pub(crate) fn may_contain(filter: &[u8], probe: &[u8]) -> bool {
    let bits = filter.len() * 8;
    if !bits.is_power_of_two() || !(MIN_BYTES * 8..=MAX_BITS).contains(&bits) {
        return true;
    }
    probe.windows(3).all(|w| {
        let s = slot([w[0], w[1], w[2]]) & (bits - 1);
        filter[s / 8] & (1 << (s % 8)) != 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(values: &[&str]) -> Vec<u8> {
        let mut b = Builder::new();
        for v in values {
            b.add(v);
        }
        b.finish().expect("not saturated")
    }

    #[test]
    fn every_contained_text_passes_under_both_cases() {
        let values = ["Connection TIMEOUT after 30 s", "/api/orders/1234", "x"];
        let f = filter(&values);
        for v in values {
            for start in 0..v.len() {
                for end in start + 3..=v.len() {
                    let text = &v[start..end];
                    assert!(may_contain(&f, &probe(text, false).unwrap()), "{text}");
                    let lower = text.to_lowercase();
                    assert!(may_contain(&f, &probe(&lower, true).unwrap()), "{lower}");
                }
            }
        }
    }

    #[test]
    fn absent_texts_are_mostly_ruled_out_and_the_filter_stays_small() {
        let values: Vec<String> = (0..4000).map(|i| format!("/api/orders/{i}")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let f = filter(&refs);
        assert!(f.len() <= 1024, "{} bytes", f.len());
        assert!(!may_contain(&f, &probe("timeout", true).unwrap()));
        let misses = ["payment", "shipment", "refused", "warning", "zebra"]
            .iter()
            .filter(|t| may_contain(&f, &probe(t, true).unwrap()))
            .count();
        assert!(misses <= 1, "{misses} false positives");
    }

    #[test]
    fn unicode_lowercase_forms_are_covered() {
        // U+212A KELVIN SIGN lowercases to an ASCII `k`.
        let f = filter(&["\u{212A}ilo"]);
        assert!(may_contain(&f, &probe("kilo", true).unwrap()));
    }

    #[test]
    fn short_values_rule_out_long_texts_and_short_texts_are_not_probed() {
        let f = filter(&["ab", ""]);
        assert!(!may_contain(&f, &probe("abc", false).unwrap()));
        assert!(probe("ab", false).is_none());
        assert!(probe("tÏme", true).is_none());
        assert!(may_contain(&[0; 3], b"abc"), "malformed filters never skip");
    }

    #[test]
    fn saturated_filters_are_not_stored() {
        let mut b = Builder::new();
        // Printable ASCII without upper case: about 300,000 distinct trigrams.
        let alphabet: Vec<char> = ('!'..='~').filter(|c| !c.is_ascii_uppercase()).collect();
        let mut x = 1u64;
        for _ in 0..20_000 {
            let value: String = (0..32)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    alphabet[(x >> 33) as usize % alphabet.len()]
                })
                .collect();
            b.add(&value);
        }
        assert!(b.finish().is_none());
    }
}
