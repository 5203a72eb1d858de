//! Exact durations. Time is kept as an integer number of picoseconds so that
//! `20ms / 0.5ms` is exactly 40 steps, never 39.99999.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A duration in whole picoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Duration {
    ps: u64,
}

/// Time units accepted in `.snn` files and IR dumps, largest first.
pub const UNITS: [(&str, u64); 5] = [
    ("s", 1_000_000_000_000),
    ("ms", 1_000_000_000),
    ("us", 1_000_000),
    ("ns", 1_000),
    ("ps", 1),
];

/// Why a duration could not be formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("unknown time unit `{0}`")]
    UnknownUnit(String),
    #[error("not a decimal number")]
    BadNumber,
    #[error("duration is not a whole number of picoseconds")]
    TooFine,
    #[error("duration is too long")]
    TooLong,
}

impl Duration {
    pub const ZERO: Duration = Duration { ps: 0 };

    pub fn from_ps(ps: u64) -> Self {
        Duration { ps }
    }

    pub fn as_ps(self) -> u64 {
        self.ps
    }

    /// Seconds as a float (for reports; never used to derive step counts).
    pub fn as_secs_f64(self) -> f64 {
        self.ps as f64 * 1e-12
    }

    /// Picoseconds in one unit, or `None` if the unit is not a time unit.
    pub fn unit_ps(unit: &str) -> Option<u64> {
        UNITS.iter().find(|(u, _)| *u == unit).map(|(_, ps)| *ps)
    }

    /// Parses a plain decimal (`0.5`, `20`, `1e-3`) in `unit`, exactly.
    pub fn from_decimal(number: &str, unit: &str) -> Result<Self, DurationError> {
        let scale = Self::unit_ps(unit).ok_or_else(|| DurationError::UnknownUnit(unit.into()))?;
        let (mantissa, exp10) = parse_decimal(number).ok_or(DurationError::BadNumber)?;
        // value = mantissa * 10^exp10 * scale, which must be an integer.
        let mut num: u128 = mantissa
            .checked_mul(scale as u128)
            .ok_or(DurationError::TooLong)?;
        if exp10 >= 0 {
            for _ in 0..exp10 {
                num = num.checked_mul(10).ok_or(DurationError::TooLong)?;
            }
        } else {
            for _ in 0..(-exp10) {
                if !num.is_multiple_of(10) {
                    return Err(DurationError::TooFine);
                }
                num /= 10;
            }
        }
        u64::try_from(num)
            .map(Duration::from_ps)
            .map_err(|_| DurationError::TooLong)
    }

    /// Parses `1ms`, `0.5ms`, `250us`: a decimal followed by a unit.
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        let split = s
            .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
            .ok_or(DurationError::BadNumber)?;
        Self::from_decimal(&s[..split], &s[split..])
    }
}

/// Splits a decimal literal into an integer mantissa and a power of ten.
fn parse_decimal(s: &str) -> Option<(u128, i32)> {
    let (digits, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut mantissa: u128 = 0;
    for c in int.chars().chain(frac.chars()).filter(|c| *c != '_') {
        let d = c.to_digit(10)?;
        mantissa = mantissa.checked_mul(10)?.checked_add(d as u128)?;
    }
    Some((mantissa, exp.checked_sub(frac.len() as i32)?))
}

impl fmt::Display for Duration {
    /// The largest unit the value reaches, as an exact decimal: `1ms`, `0.5ms`
    /// prints as `500us`, `1.5ms` as `1.5ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ps == 0 {
            return f.write_str("0s");
        }
        let (unit, scale) = UNITS
            .iter()
            .find(|(_, scale)| self.ps >= *scale)
            .copied()
            .unwrap_or(("ps", 1));
        let whole = self.ps / scale;
        let mut frac = self.ps % scale;
        write!(f, "{whole}")?;
        if frac != 0 {
            let mut width = scale.ilog10() as usize;
            while frac.is_multiple_of(10) {
                frac /= 10;
                width -= 1;
            }
            write!(f, ".{frac:0width$}")?;
        }
        f.write_str(unit)
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(Duration::parse("1ms").unwrap().as_ps(), 1_000_000_000);
        assert_eq!(Duration::parse("0.5ms").unwrap().as_ps(), 500_000_000);
        assert_eq!(Duration::parse("1e-3s").unwrap().as_ps(), 1_000_000_000);
        assert_eq!(Duration::parse("2.5us").unwrap().as_ps(), 2_500_000);
        assert_eq!(
            Duration::parse("1kg"),
            Err(DurationError::UnknownUnit("kg".into()))
        );
        assert_eq!(Duration::parse("0.1ps"), Err(DurationError::TooFine));
    }

    #[test]
    fn prints_in_the_largest_unit() {
        for (text, shown) in [
            ("1ms", "1ms"),
            ("0.5ms", "500us"),
            ("1.5ms", "1.5ms"),
            ("1.25s", "1.25s"),
            ("0.001s", "1ms"),
            ("3ps", "3ps"),
            ("1.000001ms", "1.000001ms"),
        ] {
            let d = Duration::parse(text).unwrap();
            assert_eq!(d.to_string(), shown, "{text}");
            assert_eq!(Duration::parse(shown).unwrap(), d);
        }
    }

    #[test]
    fn step_counts_are_exact() {
        let tau = Duration::parse("20ms").unwrap();
        let dt = Duration::parse("0.1ms").unwrap();
        assert_eq!(tau.as_ps() as f64 / dt.as_ps() as f64, 200.0);
    }
}
