//! Kubernetes resource quantities (`100m`, `1.5`, `128Mi`, `1G`, `5e3`): the API carries
//! them as strings, and the scheduler needs exact integers (millicores, bytes, counts).

/// A string that is not a Kubernetes quantity, or one too large to add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {value:?}: {reason}")]
pub struct QuantityError {
    pub value: String,
    pub reason: &'static str,
}

/// Mantissas longer than this could overflow the 128-bit arithmetic below; real requests
/// never come close.
const MAX_DIGITS: usize = 30;

/// The quantity in thousandths of its unit, rounded up (as `Quantity.MilliValue()` does):
/// `"100m"` is 100, `"1.5"` is 1500, `"1Ki"` is 1_024_000.
pub fn parse_milli(value: &str) -> Result<i128, QuantityError> {
    let err = |reason| QuantityError {
        value: value.to_string(),
        reason,
    };
    let s = value.trim();
    if s.is_empty() {
        return Err(err("empty"));
    }
    let (negative, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let number_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (number, suffix) = rest.split_at(number_len);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if frac_part.contains('.') {
        return Err(err("more than one decimal point"));
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(err("no digits"));
    }
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > MAX_DIGITS {
        return Err(err("too many digits"));
    }
    let mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| err("not a number"))?
    };

    // value = mantissa * 10^dec_exp * 2^bin_exp, in thousandths: dec_exp gains 3.
    let (mut dec_exp, bin_exp): (i64, u32) = match suffix {
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
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        s if s.starts_with(['e', 'E']) => {
            let exp = &s[1..];
            let unsigned = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("unknown suffix"));
            }
            (exp.parse().map_err(|_| err("exponent out of range"))?, 0)
        }
        _ => return Err(err("unknown suffix")),
    };
    dec_exp = dec_exp
        .saturating_sub(frac_part.len() as i64)
        .saturating_add(3);

    let too_large = || err("too large");
    let mut magnitude = mantissa
        .checked_mul(1i128 << bin_exp)
        .ok_or_else(too_large)?;
    if magnitude != 0 {
        if dec_exp >= 0 {
            let scale = u32::try_from(dec_exp)
                .ok()
                .and_then(|e| 10i128.checked_pow(e))
                .ok_or_else(too_large)?;
            magnitude = magnitude.checked_mul(scale).ok_or_else(too_large)?;
        } else {
            // Below a thousandth: round away from zero for positives (ceiling), as
            // Kubernetes does, so a tiny request still counts.
            let scale = u32::try_from(-dec_exp)
                .ok()
                .and_then(|e| 10i128.checked_pow(e));
            magnitude = match scale {
                Some(scale) => {
                    let (q, r) = (magnitude / scale, magnitude % scale);
                    if r != 0 && !negative {
                        q + 1
                    } else {
                        q
                    }
                }
                // Smaller than anything representable: the ceiling is one thousandth.
                None if negative => 0,
                None => 1,
            };
        }
    }
    Ok(if negative { -magnitude } else { magnitude })
}

/// CPU in millicores (`"100m"` → 100, `"1.5"` → 1500, `"2"` → 2000).
pub fn cpu_millis(value: &str) -> Result<i64, QuantityError> {
    i64::try_from(parse_milli(value)?).map_err(|_| QuantityError {
        value: value.to_string(),
        reason: "too large",
    })
}

/// Whole units, rounded up (as `Quantity.Value()` does): bytes for memory and storage
/// (`"128Mi"` → 134217728, `"1G"` → 10^9), counts for pods and extended resources.
pub fn units(value: &str) -> Result<i64, QuantityError> {
    let milli = parse_milli(value)?;
    let whole = milli.div_euclid(1000) + i128::from(milli.rem_euclid(1000) != 0);
    i64::try_from(whole).map_err(|_| QuantityError {
        value: value.to_string(),
        reason: "too large",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn garbage_is_rejected() {
        for bad in [
            "", " ", "abc", "1.2.3", "12Xi", "1mi", "1KB", "m", ".", "1e", "1e+", "1e3.5", "--1",
            "1 Gi", "0x10", "Mi",
        ] {
            let e = parse_milli(bad).expect_err(bad);
            assert_eq!(e.value, bad);
            assert!(e.to_string().contains("invalid quantity"), "{e}");
        }
        assert_eq!(cpu_millis("1e40").map_err(|e| e.reason), Err("too large"));
        assert_eq!(units("99999999Ei").map_err(|e| e.reason), Err("too large"));
        assert!(parse_milli("1234567890123456789012345678901234").is_err());
    }
}
