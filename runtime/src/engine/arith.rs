//! Bit-accurate neuron arithmetic of each chip.

/// Loihi's decay: `x · (4096 − d) / 4096`, rounding toward zero.
pub fn loihi_decay(x: i64, d: i64) -> i64 {
    let m = (x.abs() * (4096 - d)) >> 12;
    if x < 0 { -m } else { m }
}

/// Wraps to a signed 24-bit integer (Loihi's `u`).
pub fn wrap24(x: i64) -> i64 {
    (x << 40) >> 40
}

/// The largest magnitude of a Loihi voltage, `2^23 − 1`.
pub const V_MAX: i64 = (1 << 23) - 1;

/// Rounds to bfloat16, to nearest, ties to even.
pub fn bf16(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let b = x.to_bits();
    let lsb = (b >> 16) & 1;
    f32::from_bits(b.wrapping_add(0x7fff + lsb) & 0xffff_0000)
}

/// A bfloat16 bit pattern as `f32`.
pub fn from_bf16(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

/// The bfloat16 bit pattern of `x` (rounded).
pub fn to_bf16(x: f32) -> u16 {
    (bf16(x).to_bits() >> 16) as u16
}

/// The generator behind TrueNorth's stochastic modes: xorshift64*
/// (Vigna 2016), its state seeded through SplitMix64 so that nearby
/// seeds give unrelated streams.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Rng(z.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// An `n`-bit draw (`0..2^n`), from the top bits; 0 for `n = 0`.
    pub fn bits(&mut self, n: u8) -> i64 {
        if n == 0 {
            0
        } else {
            (self.next_u64() >> (64 - n as u32)) as i64
        }
    }

    /// TrueNorth's stochastic weight: `sign(w)` with probability
    /// `|w| / 256` (an 8-bit draw ρ below `|w|`), else 0.
    pub fn bernoulli_sign(&mut self, w: i64) -> i64 {
        if self.bits(8) < w.abs() {
            w.signum()
        } else {
            0
        }
    }
}
