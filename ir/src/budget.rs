//! The memory budget: every allocation whose size comes from user input (a
//! tensor's shape, a population's size, a number of steps, an array file's
//! header) asks [`check`] first, so that a request too large for the machine
//! is an error that says what asked for how much, not an abort.
//!
//! The budget is one number for the whole process: `--max-memory`, or by
//! default half of the memory the kernel reports available when the process
//! starts (`MemAvailable` in `/proc/meminfo`; 4 GiB where there is no such
//! file). A request fits when what the process already holds plus the
//! request stays within it. What the process holds is counted by
//! [`CountingAlloc`] when a binary installs it as its global allocator
//! (`snnc` does); without it, each request is compared with the budget on
//! its own.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The budget in bytes, once set; 0 means "not set": use [`default_limit`].
static LIMIT: AtomicU64 = AtomicU64::new(0);
/// Bytes currently allocated through [`CountingAlloc`].
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes it holds. Install it with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;` to make
/// [`check`] account for what is already allocated.
pub struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is only arithmetic beside it.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Sets the budget (bytes). Zero is taken as one byte: nothing user-sized fits.
pub fn set_limit(bytes: u64) {
    LIMIT.store(bytes.max(1), Ordering::Relaxed);
}

/// The budget in bytes: the one set, or [`default_limit`].
pub fn limit() -> u64 {
    match LIMIT.load(Ordering::Relaxed) {
        0 => default_limit(),
        n => n,
    }
}

/// Half of `MemAvailable` in `/proc/meminfo` when first asked, or 4 GiB
/// where that cannot be read.
pub fn default_limit() -> u64 {
    static DEFAULT: OnceLock<u64> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| mem_available(&text))
            .map_or(4 << 30, |b| (b / 2).max(1))
    })
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut words = line.split_whitespace().skip(1);
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => n.checked_mul(1024),
        None => Some(n),
        Some(_) => None,
    }
}

/// Bytes allocated now (0 unless [`CountingAlloc`] is the global allocator).
pub fn in_use() -> u64 {
    LIVE.load(Ordering::Relaxed) as u64
}

/// A request the budget cannot hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetError {
    /// What asked, e.g. "the tensor [1000000, 1000000] of `normal`".
    pub what: String,
    /// Bytes asked for.
    pub asked: u128,
    /// Bytes held when it asked.
    pub in_use: u64,
    /// The budget.
    pub limit: u64,
}

impl fmt::Display for BudgetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} needs {} of memory, more than ",
            self.what,
            Bytes(self.asked)
        )?;
        if self.asked > self.limit as u128 {
            write!(f, "the budget of {}", Bytes(self.limit as u128))?;
        } else {
            let left = self.limit.saturating_sub(self.in_use);
            write!(
                f,
                "the {} left of the budget of {}",
                Bytes(left as u128),
                Bytes(self.limit as u128)
            )?;
        }
        f.write_str(" (--max-memory)")
    }
}

impl std::error::Error for BudgetError {}

/// Checks that `bytes` more fit in the budget; `what` names the request
/// (called only on failure).
pub fn check(bytes: u128, what: impl FnOnce() -> String) -> Result<(), BudgetError> {
    let limit = limit();
    let held = in_use();
    if bytes.saturating_add(held as u128) <= limit as u128 {
        return Ok(());
    }
    Err(BudgetError {
        what: what(),
        asked: bytes,
        in_use: held,
        limit,
    })
}

/// [`check`] for `count` elements of `size` bytes each.
pub fn check_elements(
    count: u128,
    size: u64,
    what: impl FnOnce() -> String,
) -> Result<(), BudgetError> {
    check(count.saturating_mul(size as u128), what)
}

/// A byte count for people: `512 B`, `3.00 KiB`, `1.50 GiB`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bytes(pub u128);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 7] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut v = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while v >= 1024.0 && unit + 1 < UNITS.len() {
            v /= 1024.0;
            unit += 1;
        }
        write!(f, "{v:.2} {}", UNITS[unit])
    }
}

/// Reads a size such as `2G`, `512M`, `1.5GiB`, `64k` or `1000000` (bytes).
/// `K`, `M`, `G` and `T` are powers of 1024; a trailing `B` or `iB` is
/// allowed.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "`{text}` is not a size: write a number of bytes with an optional K, M, G or T (powers of 1024), e.g. 2G"
        )
    };
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let scale: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(bad()),
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    let bytes = v * scale as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes >= u64::MAX as f64 {
        return Err(format!(
            "`{text}` is not a size from 1 byte to 16 EiB: write e.g. 2G"
        ));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_powers_of_1024() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("64kB"), Ok(64 << 10));
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size(" 3 t "), Ok(3 << 40));
        assert!(parse_size("2X").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn bytes_print_with_binary_units() {
        assert_eq!(Bytes(512).to_string(), "512 B");
        assert_eq!(Bytes(3 << 10).to_string(), "3.00 KiB");
        assert_eq!(Bytes(3 << 29).to_string(), "1.50 GiB");
        assert_eq!(Bytes(4_000_000_000_000).to_string(), "3.64 TiB");
    }

    #[test]
    fn mem_available_is_read_in_kilobytes() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   22000000 kB\n";
        assert_eq!(mem_available(text), Some(22_000_000 * 1024));
        assert_eq!(mem_available("MemTotal: 5 kB\n"), None);
    }

    #[test]
    fn a_request_over_the_budget_says_what_and_how_much() {
        // Without the counting allocator nothing is in use: each request is
        // compared with the budget alone.
        let e = check(u128::from(u64::MAX) * 4, || "the tensor `W`".into()).unwrap_err();
        assert_eq!(e.what, "the tensor `W`");
        assert_eq!(e.asked, u128::from(u64::MAX) * 4);
        assert_eq!(
            e.to_string(),
            format!(
                "the tensor `W` needs 64.00 EiB of memory, more than the budget of {} (--max-memory)",
                Bytes(limit() as u128)
            )
        );
        let shared = BudgetError {
            what: "a recording".into(),
            asked: 600 << 20,
            in_use: 700 << 20,
            limit: 1 << 30,
        };
        assert_eq!(
            shared.to_string(),
            "a recording needs 600.00 MiB of memory, more than the 324.00 MiB left of the budget of 1.00 GiB (--max-memory)"
        );
        assert!(check(1024, || unreachable!()).is_ok());
        assert!(check_elements(u128::MAX, 8, || "x".into()).is_err());
    }
}
