//! The currencies a super chat may be paid in: ISO 4217 codes of money in
//! circulation, with the number of digits of their minor unit.

/// An active ISO 4217 currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Currency {
    pub code: &'static str,
    /// Digits after the decimal point: 2 for USD (cents), 0 for JPY, 3 for KWD.
    pub exponent: u8,
}

/// ISO 4217 list one as of 2026, sorted by code, without what nobody pays
/// a streamer with: fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI,
/// UYW), precious metals, SDRs, settlement units and testing codes (X..).
/// Withdrawn since: ANG (XCG, 2025), BGN (the euro, 2026), CUC (2021),
/// HRK (the euro, 2023), SLL (SLE), ZWL (ZWG, 2024).
const ACTIVE: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

impl Currency {
    /// The currency with this exact code (upper case, as ISO 4217 writes it).
    pub fn find(code: &str) -> Option<Self> {
        ACTIVE
            .binary_search_by(|(candidate, _)| (*candidate).cmp(code))
            .ok()
            .map(|at| Self {
                code: ACTIVE[at].0,
                exponent: ACTIVE[at].1,
            })
    }

    /// `amount_minor` in major units, for messages people read:
    /// 150 USD cents is "1.50 USD", 150 yen is "150 JPY".
    pub fn format(self, amount_minor: i64) -> String {
        let sign = if amount_minor < 0 { "-" } else { "" };
        let magnitude = amount_minor.unsigned_abs();
        if self.exponent == 0 {
            return format!("{sign}{magnitude} {}", self.code);
        }
        let scale = 10u64.pow(u32::from(self.exponent));
        format!(
            "{sign}{}.{:0width$} {}",
            magnitude / scale,
            magnitude % scale,
            self.code,
            width = usize::from(self.exponent),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_unique_and_well_formed() {
        for pair in ACTIVE.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (code, exponent) in ACTIVE {
            assert!(
                code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()),
                "{code}"
            );
            assert!(*exponent <= 3, "{code}");
        }
    }

    #[test]
    fn knows_real_codes_and_their_minor_units() {
        for (code, exponent) in [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("XCG", 2)] {
            assert_eq!(Currency::find(code).map(|c| c.exponent), Some(exponent));
        }
        for code in ["usd", "XXX", "XAU", "BGN", "ANG", "ZWL", "ABC", "", "USDT"] {
            assert_eq!(Currency::find(code), None, "{code}");
        }
    }

    #[test]
    fn formats_in_major_units() {
        let find = |code| Currency::find(code).unwrap();
        assert_eq!(find("USD").format(150), "1.50 USD");
        assert_eq!(find("USD").format(5), "0.05 USD");
        assert_eq!(find("JPY").format(150), "150 JPY");
        assert_eq!(find("KWD").format(1_005), "1.005 KWD");
        assert_eq!(find("EUR").format(-250), "-2.50 EUR");
    }
}
