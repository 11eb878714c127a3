//! Event types: Murmur3 (x86, 32-bit, seed 0) of the template's UTF-8 bytes, as Seq computes them.

/// Murmur3 x86 32-bit.
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, b) in tail.iter().enumerate() {
            k |= u32::from(*b) << (8 * i);
        }
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The event type Seq assigns to a template (or to the message of an `@m`-only event).
pub fn of_template(template: &str) -> u32 {
    murmur3_32(template.as_bytes(), 0)
}

/// Seq's display form: `$` and 8 upper-case hex digits.
pub fn display(event_type: u32) -> String {
    format!("${event_type:08X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_seq_for_known_templates() {
        assert_eq!(
            of_template("HTTP {RequestMethod} {RequestPath}"),
            0xE80D_5C02
        );
        assert_eq!(
            of_template(
                "Binding route HTTP {HttpMethod} {RouteTemplate} to action method {Controller}.{Action}()"
            ),
            0x8E9D_69C7
        );
        assert_eq!(display(0xE80D_5C02), "$E80D5C02");
    }

    #[test]
    fn reference_vectors() {
        assert_eq!(murmur3_32(b"", 0), 0);
        assert_eq!(murmur3_32(b"", 1), 0x514E_28B7);
        assert_eq!(murmur3_32(b"test", 0), 0xBA6B_D213);
        assert_eq!(murmur3_32(b"Hello, world!", 0), 0xC036_3E43);
    }
}
