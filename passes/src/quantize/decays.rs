//! Retention factors (`alpha_syn`, `alpha_mem`, `rho`, `alpha`) in the
//! target's decay format. A retention factor `α` multiplies a state once per
//! step; what the chip can store depends on the format and on the role the
//! factor plays in the neuron:
//!
//! | role | parameters | `Fraction { bits }`, `d = 2^bits (1 − α)` | `Linear` | `Bf16` |
//! |---|---|---|---|---|
//! | current | `lif`/`li` `alpha_syn` | `d ∈ [1, 2^bits]` | `α = 0` only | bf16 |
//! | membrane | `lif`/`li` `alpha_mem` | `d ∈ [0, 2^bits − 1]` | `α = 1` only | bf16 |
//! | blended membrane | `alif` `alpha_mem` | `d ∈ [0, 2^bits − 1]` | none | `α`, `1 − α` both bf16 |
//! | filter | `alif` `rho`, `sigma_delta` `alpha` | `d ∈ [0, 2^bits]` | `α = 0` only | `α`, `1 − α` both bf16 |
//!
//! On Loihi (`Fraction { bits: 12 }`) the state update is
//! `x ← x · (4096 − d) / 4096`. The current decays by `4096 − (du + 1)`
//! (CHIPS.md), so its `d = du + 1` runs from 1 (`α = 4095/4096`: a current
//! that never decays is out of reach) to 4096 (`α = 0`, no current kept);
//! the voltage's `dv` runs from 0 (`α = 1`) to 4095 (`α = 1/4096`). The adaptation and ΣΔ
//! filters blend old and new with the same `d` (`x ← x (1 − d/4096) + d/4096 ·
//! input`), and `d = 4096` switches the filter off. The factor kept is the
//! nearest representable one to the graph's `α` (`α = exp(−Δt/τ)` from a
//! time constant; Lava's `d = 4096/τ` is the first-order approximation of
//! the same thing).
//!
//! On SENeCA (`Bf16`) a blended factor enters the update also as `1 − α`,
//! computed in bfloat16: the factor kept is the nearest `α` for which
//! `1 − α` is exact too — every bfloat16 in `[0.5, 1]`, and the multiples
//! of `2^-8` below 0.5.

use snn_ir::ModelKind;
use snn_ir::target::DecayFormat;

use super::grid::bf16;

/// What a retention factor does in its neuron (see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Current,
    Membrane,
    BlendedMembrane,
    Filter,
}

/// The retention factors of a model, with their roles.
pub fn of(kind: ModelKind) -> &'static [(&'static str, Role)] {
    match kind {
        ModelKind::Lif | ModelKind::Li => {
            &[("alpha_syn", Role::Current), ("alpha_mem", Role::Membrane)]
        }
        ModelKind::Alif => &[("alpha_mem", Role::BlendedMembrane), ("rho", Role::Filter)],
        ModelKind::SigmaDelta => &[("alpha", Role::Filter)],
        ModelKind::If => &[],
    }
}

/// Why `alpha` cannot be stored in `format` for `role`, if it cannot.
pub fn unrepresentable(format: DecayFormat, role: Role, alpha: f32) -> Option<String> {
    match format {
        DecayFormat::Fraction { bits } => (!(0.0..=1.0).contains(&alpha)).then(|| {
            format!("a decay is a {bits}-bit fraction, so a retention factor lies between 0 and 1")
        }),
        DecayFormat::Linear => {
            let ok = match role {
                Role::Current | Role::Filter => alpha == 0.0,
                Role::Membrane => alpha == 1.0,
                Role::BlendedMembrane => false,
            };
            (!ok).then(|| {
                match role {
                    Role::Current => "neurons have no synaptic current to keep: the factor must be 0",
                    Role::Filter => "neurons have no filter: the factor must be 0",
                    Role::Membrane => "neurons leak linearly, by a constant per tick, never by a factor: the factor must be 1",
                    Role::BlendedMembrane => "neurons have no decay that also scales their input",
                }
                .to_string()
            })
        }
        DecayFormat::Bf16 => {
            (bf16(alpha).is_infinite()).then(|| "it is beyond the largest bfloat16".to_string())
        }
    }
}

/// The range of `d` a `Fraction { bits }` decay of `role` can have.
pub fn fraction_range(bits: u8, role: Role) -> (f64, f64) {
    let one = (1u64 << bits) as f64;
    match role {
        Role::Current => (1.0, one),
        Role::Membrane | Role::BlendedMembrane => (0.0, one - 1.0),
        Role::Filter => (0.0, one),
    }
}

/// `α` as the nearest `1 − d / 2^bits` with `d` in the role's range.
pub fn fraction(alpha: f32, bits: u8, role: Role) -> f32 {
    let one = (1u64 << bits) as f64;
    let (lo, hi) = fraction_range(bits, role);
    let d = ((1.0 - alpha as f64) * one).round().clamp(lo, hi);
    (1.0 - d / one) as f32
}

/// The nearest `α` for which both `α` and `1 − α` are bfloat16.
pub fn complementable_bf16(alpha: f32) -> f32 {
    if !(0.0..=1.0).contains(&alpha) {
        return bf16(alpha);
    }
    let b = bf16(alpha);
    if b >= 0.5 {
        return b;
    }
    ((alpha as f64 * 256.0).round() / 256.0) as f32
}

/// `alpha` in `format` for `role` (unchanged where the format stores any
/// allowed value exactly).
pub fn round(format: DecayFormat, role: Role, alpha: f32) -> f32 {
    match (format, role) {
        (DecayFormat::Fraction { bits }, _) => fraction(alpha, bits, role),
        (DecayFormat::Linear, _) => alpha,
        (DecayFormat::Bf16, Role::Current | Role::Membrane) => bf16(alpha),
        (DecayFormat::Bf16, Role::BlendedMembrane | Role::Filter) => complementable_bf16(alpha),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_bit_fractions_by_role() {
        // τ = 20 steps: α = exp(−1/20) = 0.951229…; 4096 (1 − α) = 199.77
        // → d = 200, α = 3896/4096.
        let a = (-1f64 / 20.0).exp() as f32;
        assert_eq!(fraction(a, 12, Role::Membrane), 3896.0 / 4096.0);
        // 0.8: 4096 · 0.2 = 819.2 → 819.
        assert_eq!(fraction(0.8, 12, Role::Current), 3277.0 / 4096.0);
        // No current kept (α = 0) is d = 4096 = du + 1 with du = 4095;
        // a current that never decays is out of reach: d ≥ 1.
        assert_eq!(fraction(0.0, 12, Role::Current), 0.0);
        assert_eq!(fraction(1.0, 12, Role::Current), 4095.0 / 4096.0);
        // The voltage keeps at least 1/4096 (dv ≤ 4095) and may keep all.
        assert_eq!(fraction(0.0, 12, Role::Membrane), 1.0 / 4096.0);
        assert_eq!(fraction(1.0, 12, Role::Membrane), 1.0);
        // A filter may be off (d = 4096).
        assert_eq!(fraction(0.0, 12, Role::Filter), 0.0);
        assert!(unrepresentable(DecayFormat::Fraction { bits: 12 }, Role::Membrane, 1.5).is_some());
    }

    #[test]
    fn bf16_factors_and_their_complements() {
        // exp(−1/20) in [0.5, 1): steps of 2^-8, 243.51 → 244 → 0.953125.
        let a = (-1f64 / 20.0).exp() as f32;
        assert_eq!(round(DecayFormat::Bf16, Role::Membrane, a), 0.953125);
        // 0.2949 → bf16 151/512, but 1 − 151/512 = 361/512 needs 9 bits;
        // the nearest multiple of 2^-8 is 75/256 (75.49 → 75).
        assert_eq!(bf16(0.2949), 151.0 / 512.0);
        assert_eq!(complementable_bf16(0.2949), 75.0 / 256.0);
        assert_eq!(1.0 - 75.0f32 / 256.0, bf16(1.0 - 75.0 / 256.0));
        // 0.8 → 205/256 and 1 − 205/256 = 51/256, both bfloat16.
        assert_eq!(complementable_bf16(0.8), 205.0 / 256.0);
        assert_eq!(
            round(DecayFormat::Bf16, Role::Current, 0.2949),
            151.0 / 512.0
        );
    }

    #[test]
    fn linear_leak_keeps_only_no_decay() {
        let f = DecayFormat::Linear;
        assert!(unrepresentable(f, Role::Membrane, 1.0).is_none());
        assert!(unrepresentable(f, Role::Current, 0.0).is_none());
        assert!(unrepresentable(f, Role::Membrane, 0.95).is_some());
        assert!(unrepresentable(f, Role::BlendedMembrane, 1.0).is_some());
    }
}
