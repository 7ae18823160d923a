//! Sizes and rates on the command line, as operators write them. Sizes:
//! `1073741824`, `512MiB`, `2G` (binary units: K, M, G, T = 1024^n, with or
//! without `iB`/`B`), and for free space also a share of the filesystem,
//! `5%`. Bitrates: `8M`, `6000k`, `2.5Mb/s` (decimal, as encoders count
//! them: k, M, G = 1000^n).

use std::fmt;

/// Parses a byte count (clap `value_parser`).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size: use bytes, or a number with K, M, G or T"))?;
    let shift = match unit.trim().to_ascii_uppercase().trim_end_matches('B') {
        "" => 0,
        "K" | "KI" => 10,
        "M" | "MI" => 20,
        "G" | "GI" => 30,
        "T" | "TI" => 40,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use K, M, G or T)"
            ));
        }
    };
    let bytes = number * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(bytes as u64)
}

/// Parses a bitrate in bits per second (clap `value_parser`).
pub fn parse_bitrate(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let unitless = ["b/s", "bps"]
        .iter()
        .find_map(|unit| trimmed.strip_suffix(unit))
        .unwrap_or(trimmed);
    let digits = unitless
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(unitless.len());
    let (number, unit) = unitless.split_at(digits);
    let number: f64 = number.parse().map_err(|_| {
        format!("{text:?} is not a bitrate: use bits per second, or a number with k, M or G")
    })?;
    let multiplier: f64 = match unit.trim() {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use k, M or G)")),
    };
    let bits = number * multiplier;
    if !bits.is_finite() || bits > u64::MAX as f64 {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(bits.round() as u64)
}

/// How much free space a filesystem must keep: bytes, or a share of its size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FreeSpace {
    Bytes(u64),
    Percent(f64),
}

impl FreeSpace {
    /// The free bytes required on a filesystem of `total` bytes.
    pub fn of(self, total: u64) -> u64 {
        match self {
            Self::Bytes(bytes) => bytes,
            Self::Percent(percent) => (total as f64 * percent / 100.0) as u64,
        }
    }
}

impl fmt::Display for FreeSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(bytes) => write!(f, "{}", human(*bytes)),
            Self::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

/// Parses `--min-free-disk` (clap `value_parser`).
pub fn parse_free_space(text: &str) -> Result<FreeSpace, String> {
    match text.trim().strip_suffix('%') {
        Some(percent) => {
            let percent: f64 = percent
                .trim()
                .parse()
                .map_err(|_| format!("{text:?} is not a percentage"))?;
            if !(0.0..100.0).contains(&percent) {
                return Err(format!("{text:?}: a percentage from 0 to under 100"));
            }
            Ok(FreeSpace::Percent(percent))
        }
        None => parse_bytes(text).map(FreeSpace::Bytes),
    }
}

/// `12.5 MiB`: for messages operators and streamers read.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sizes_with_and_without_units() {
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
        assert_eq!(parse_bytes("1.5k"), Ok(1536));
        assert_eq!(parse_bytes("8 GB"), Ok(8 << 30));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5 parsecs").is_err());
    }

    #[test]
    fn reads_bitrates_in_decimal_units() {
        assert_eq!(parse_bitrate("1500"), Ok(1500));
        assert_eq!(parse_bitrate("8M"), Ok(8_000_000));
        assert_eq!(parse_bitrate("2.5Mb/s"), Ok(2_500_000));
        assert_eq!(parse_bitrate(" 6000k "), Ok(6_000_000));
        assert!(parse_bitrate("-5M").is_err());
        assert!(
            parse_bitrate("12 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_bitrate("1e400").is_err());
    }

    #[test]
    fn reads_free_space_as_bytes_or_a_share() {
        assert_eq!(parse_free_space("5%"), Ok(FreeSpace::Percent(5.0)));
        assert_eq!(parse_free_space("1GiB"), Ok(FreeSpace::Bytes(1 << 30)));
        assert!(parse_free_space("100%").is_err());
        assert_eq!(FreeSpace::Percent(5.0).of(1000), 50);
        assert_eq!(human(24 << 20), "24.0 MiB");
    }
}
