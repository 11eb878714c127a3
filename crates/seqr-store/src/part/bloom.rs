//! Split-block Bloom filters (as Parquet's): each key sets 8 bits inside one 32-byte block,
//! so a lookup touches one cache line. Used per block and column for exact string values
//! (ids, paths), so a needle query skips every block that cannot hold its value.
//!
//! Keys are hashed with XXH3-64, a fixed algorithm, so filters stay valid across builds.

const SALT: [u32; 8] = [
    0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
];
/// Bits per distinct key: about 2% false positives.
const BITS_PER_KEY: usize = 8;
const BLOCK_BYTES: usize = 32;

pub(crate) fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// Filter bytes for these key hashes (duplicates are harmless).
pub(crate) fn build(hashes: &[u64]) -> Vec<u8> {
    let blocks = (hashes.len() * BITS_PER_KEY)
        .div_ceil(BLOCK_BYTES * 8)
        .max(1);
    let mut words = vec![0u32; blocks * 8];
    for &h in hashes {
        let b = block_of(h, blocks);
        for (i, mask) in masks(h).into_iter().enumerate() {
            words[b * 8 + i] |= mask;
        }
    }
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn block_of(h: u64, blocks: usize) -> usize {
    (((h >> 32) * blocks as u64) >> 32) as usize
}

fn masks(h: u64) -> [u32; 8] {
    let low = h as u32;
    SALT.map(|s| 1u32 << (low.wrapping_mul(s) >> 27))
}

/// False when the key was certainly not added. A malformed filter answers true (never a
/// wrong skip).
pub(crate) fn may_contain(filter: &[u8], h: u64) -> bool {
    if filter.is_empty() || !filter.len().is_multiple_of(BLOCK_BYTES) {
        return true;
    }
    let blocks = filter.len() / BLOCK_BYTES;
    let b = block_of(h, blocks) * BLOCK_BYTES;
    masks(h).into_iter().enumerate().all(|(i, mask)| {
        let at = b + i * 4;
        let w = u32::from_le_bytes(filter[at..at + 4].try_into().expect("4 bytes"));
        w & mask == mask
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let keys: Vec<u64> = (0..5000u32).map(|i| hash(&i.to_le_bytes())).collect();
        let f = build(&keys);
        assert!(keys.iter().all(|&k| may_contain(&f, k)));
        let fp = (5000..105_000u32)
            .filter(|i| may_contain(&f, hash(&i.to_le_bytes())))
            .count();
        assert!(fp < 5000, "{fp} false positives in 100000");
        assert!(may_contain(&[], 1));
    }
}
