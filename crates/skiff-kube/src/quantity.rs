//! Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`) as exact integers.
//!
//! Values are held in nano-units (10^-9) in an `i128`: every suffix the API
//! accepts (`n` up to `Ei`, or a decimal exponent) fits with room to spare, so
//! the rounding the downward API does (always up, like `Quantity.Value()` and
//! `MilliValue()`) is exact instead of going through floating point.

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// A parsed quantity, in nano-units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Nanos(pub i128);

impl Nanos {
    /// The whole value, rounded up (Kubernetes' `Value()`).
    pub fn value(self) -> i128 {
        ceil_div(self.0, NANOS_PER_UNIT)
    }

    /// The value in thousandths, rounded up (Kubernetes' `MilliValue()`).
    pub fn milli_value(self) -> i128 {
        ceil_div(self.0, 1_000_000)
    }

    pub fn from_units(units: i64) -> Nanos {
        Nanos(i128::from(units) * NANOS_PER_UNIT)
    }

    pub fn from_millis(millis: i64) -> Nanos {
        Nanos(i128::from(millis) * 1_000_000)
    }
}

/// Division rounding towards positive infinity.
pub fn ceil_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b != 0 && ((a < 0) == (b < 0)) {
        q + 1
    } else {
        q
    }
}

/// A string that is not a Kubernetes quantity, or one beyond int64 units.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {value:?}: {reason}")]
pub struct QuantityError {
    pub value: String,
    pub reason: &'static str,
}

/// Parse a quantity string. The error says what is wrong, without the field
/// (the caller knows it).
pub fn parse(text: &str) -> Result<Nanos, QuantityError> {
    let bad = |reason: &'static str| QuantityError {
        value: text.to_string(),
        reason,
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(bad("empty"));
    }
    let (negative, s) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if frac_part.contains('.') {
        return Err(bad("more than one decimal point"));
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad("no digits"));
    }
    let digits: String = int_part.chars().chain(frac_part.chars()).collect();
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return Err(bad("too many digits"));
    }
    let mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| bad("not a number"))?
    };
    let frac_len = frac_part.len() as i32;

    // (power of ten, power of 1024)
    let (exp10, exp1024): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 1),
        "Mi" => (0, 2),
        "Gi" => (0, 3),
        "Ti" => (0, 4),
        "Pi" => (0, 5),
        "Ei" => (0, 6),
        other => {
            let exponent = other
                .strip_prefix('e')
                .or_else(|| other.strip_prefix('E'))
                .ok_or_else(|| bad("unknown suffix"))?;
            let e: i32 = exponent.parse().map_err(|_| bad("bad exponent"))?;
            if !(-40..=40).contains(&e) {
                return Err(bad("exponent out of range"));
            }
            (e, 0)
        }
    };
    let too_large = || bad("too large");
    let mut n = mantissa
        .checked_mul(1i128 << (10 * exp1024))
        .ok_or_else(too_large)?;
    let shift = exp10 + 9 - frac_len;
    if shift >= 0 {
        let factor = 10i128.checked_pow(shift as u32).ok_or_else(too_large)?;
        n = n.checked_mul(factor).ok_or_else(too_large)?;
    } else {
        // Smaller than a nano-unit: Kubernetes rounds such values up.
        let divisor = 10i128.checked_pow((-shift) as u32);
        n = match divisor {
            Some(d) => ceil_div(n, d),
            None => i128::from(n != 0),
        };
    }
    if n > i128::from(i64::MAX) * NANOS_PER_UNIT {
        return Err(too_large());
    }
    Ok(Nanos(if negative { -n } else { n }))
}

/// CPU in millicores, rounded up (`"100m"` → 100, `"1.5"` → 1500).
pub fn cpu_millis(value: &str) -> Result<i64, QuantityError> {
    whole(value, parse(value)?.milli_value())
}

/// Whole units, rounded up (`Quantity.Value()`): bytes for memory and
/// storage (`"128Mi"` → 134217728), counts for pods and extended resources.
pub fn units(value: &str) -> Result<i64, QuantityError> {
    whole(value, parse(value)?.value())
}

fn whole(value: &str, n: i128) -> Result<i64, QuantityError> {
    i64::try_from(n).map_err(|_| QuantityError {
        value: value.to_string(),
        reason: "too large",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_suffix() {
        assert_eq!(parse("1").unwrap().value(), 1);
        assert_eq!(parse("500m").unwrap().milli_value(), 500);
        assert_eq!(parse("500m").unwrap().value(), 1);
        assert_eq!(parse("1.5").unwrap().milli_value(), 1500);
        assert_eq!(parse("1Ki").unwrap().value(), 1024);
        assert_eq!(parse("1.5Gi").unwrap().value(), 1536 * 1024 * 1024);
        assert_eq!(parse("128Mi").unwrap().value(), 128 << 20);
        assert_eq!(parse("1k").unwrap().value(), 1000);
        assert_eq!(parse("2E").unwrap().value(), 2_000_000_000_000_000_000);
        assert_eq!(parse("7Ei").unwrap().value(), 7 << 60);
        assert!(parse("8Ei").is_err(), "past int64, like Kubernetes");
        assert_eq!(parse("1e3").unwrap().value(), 1000);
        assert_eq!(parse("1E3").unwrap().value(), 1000);
        assert_eq!(parse("1n").unwrap().0, 1);
        assert_eq!(parse("1n").unwrap().milli_value(), 1);
        assert_eq!(parse("250u").unwrap().milli_value(), 1);
        assert_eq!(parse(".5").unwrap().milli_value(), 500);
        assert_eq!(parse("0.1Ki").unwrap().value(), 103);
        assert_eq!(parse("-1").unwrap().value(), -1);
        assert_eq!(parse("0").unwrap().0, 0);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "abc",
            "1.2.3",
            "1Q",
            "1e",
            "1e99",
            "1x3",
            ".",
            "99999999999999999999Ei",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(parse("1Q").unwrap_err().to_string().contains("\"1Q\""));
    }

    #[test]
    fn cpu() {
        assert_eq!(cpu_millis("100m"), Ok(100));
        assert_eq!(cpu_millis("1.5"), Ok(1500));
        assert_eq!(cpu_millis("2"), Ok(2000));
        assert_eq!(cpu_millis("0.1"), Ok(100));
        assert_eq!(cpu_millis(".5"), Ok(500));
        assert_eq!(cpu_millis("1."), Ok(1000));
        assert_eq!(cpu_millis("0"), Ok(0));
        assert_eq!(cpu_millis("+3"), Ok(3000));
        // A fraction of a millicore still counts as one.
        assert_eq!(cpu_millis("0.0001"), Ok(1));
        assert_eq!(cpu_millis("1n"), Ok(1));
        assert_eq!(cpu_millis("500000u"), Ok(500));
        assert_eq!(cpu_millis("1e3"), Ok(1_000_000));
        assert_eq!(cpu_millis("15E-1"), Ok(1500));
        assert_eq!(cpu_millis("1e-30"), Ok(1));
        assert_eq!(cpu_millis("-100m"), Ok(-100));
    }

    #[test]
    fn bytes() {
        assert_eq!(units("128Mi"), Ok(128 * 1024 * 1024));
        assert_eq!(units("1G"), Ok(1_000_000_000));
        assert_eq!(units("1Gi"), Ok(1 << 30));
        assert_eq!(units("1.5Gi"), Ok(3 << 29));
        assert_eq!(units("64k"), Ok(64_000));
        assert_eq!(units("1Ki"), Ok(1024));
        assert_eq!(units("2Ei"), Ok(2 << 60));
        assert_eq!(units("110"), Ok(110));
        assert_eq!(units("1M"), Ok(1_000_000));
        assert_eq!(units("1e6"), Ok(1_000_000));
        // Value() rounds up to a whole unit.
        assert_eq!(units("1.5"), Ok(2));
        assert_eq!(units("100m"), Ok(1));
        assert_eq!(units("0m"), Ok(0));
    }

    #[test]
    fn garbage_is_rejected_with_the_value() {
        for bad in [
            "", " ", "abc", "1.2.3", "12Xi", "1mi", "1KB", "m", ".", "1e", "1e+", "1e3.5", "--1",
            "1 Gi", "0x10", "Mi",
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.value, bad);
            assert!(e.to_string().contains("invalid quantity"), "{e}");
        }
        assert_eq!(cpu_millis("1e40").map_err(|e| e.reason), Err("too large"));
        assert_eq!(units("99999999Ei").map_err(|e| e.reason), Err("too large"));
        assert!(parse("1234567890123456789012345678901234").is_err());
    }
}
