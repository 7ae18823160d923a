//! Sizes and rates on the command line, as operators write them: `64MiB`,
//! `512k`, `8M`. Decimal suffixes (k, M, G) are powers of 1000, binary ones
//! (Ki, Mi, Gi) powers of 1024; a trailing `B` (bytes) or `b/s`/`bps`
//! (bits per second) is allowed and ignored, since the flag says which.

/// Parses `value` as a non-negative whole quantity.
pub fn parse(value: &str) -> Result<u64, String> {
    let trimmed = value.trim();
    let unitless = ["b/s", "bps", "B"]
        .iter()
        .find_map(|unit| trimmed.strip_suffix(unit))
        .unwrap_or(trimmed)
        .trim_end();
    let digits_end = unitless
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unitless.len());
    let (number, suffix) = unitless.split_at(digits_end);
    let multiplier: u64 = match suffix.trim() {
        "" => 1,
        "k" | "K" => 1000,
        "M" => 1000_u64.pow(2),
        "G" => 1000_u64.pow(3),
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {value:?} (use k, M, G, Ki, Mi or Gi)"
            ));
        }
    };
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a number with an optional unit, like 64Mi or 8M"))?;
    let quantity = number * multiplier as f64;
    if !quantity.is_finite() || quantity < 0.0 || quantity > u64::MAX as f64 {
        return Err(format!("{value:?} is out of range"));
    }
    Ok(quantity.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn suffixes_are_decimal_or_binary() {
        assert_eq!(parse("1500"), Ok(1500));
        assert_eq!(parse("8M"), Ok(8_000_000));
        assert_eq!(parse("2.5Mb/s"), Ok(2_500_000));
        assert_eq!(parse("64MiB"), Ok(64 << 20));
        assert_eq!(parse("1Gi"), Ok(1 << 30));
        assert_eq!(parse(" 512k "), Ok(512_000));
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        assert!(parse("").is_err());
        assert!(parse("-5M").is_err());
        assert!(parse("12 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse("1e400").is_err());
    }
}
