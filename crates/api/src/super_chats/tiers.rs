//! Where an amount falls in the configured tiers, and what that tier
//! allows: its colour, how long it stays pinned, how long its message may be.
//!
//! Tiers are in minor units of whatever currency the super chat is in, as
//! `SuperChatTier` documents: there are no exchange rates in this engine.

use super::currency::Currency;
use crate::config::SuperChatTier;
use crate::error::FieldError;

/// The schema's limit on a message, whatever a tier allows.
pub(crate) const MESSAGE_MAX_CHARS: usize = 500;

/// What the tier of an amount decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    /// 1-based position in the configured tiers.
    pub tier: i16,
    pub colour: String,
    /// Zero: not pinned.
    pub pin_seconds: u32,
}

/// The tier `amount_minor` falls in (the one with the highest minimum at or
/// below it), or why the amount or message does not fit.
pub(crate) fn place(
    tiers: &[SuperChatTier],
    amount_minor: i64,
    currency: Currency,
    message_chars: usize,
) -> Result<Placement, FieldError> {
    let Some((index, tier)) = tiers
        .iter()
        .enumerate()
        .filter(|(_, tier)| tier.min_amount_minor <= amount_minor)
        .max_by_key(|(_, tier)| tier.min_amount_minor)
    else {
        let detail = match tiers.iter().map(|t| t.min_amount_minor).min() {
            Some(minimum) => format!(
                "must be at least {minimum} ({}), the smallest super chat this server accepts",
                currency.format(minimum)
            ),
            None => "this server has no super chat tiers configured, so it accepts none".to_owned(),
        };
        return Err(FieldError::new(&["amount_minor"], detail));
    };
    let limit = tier.max_message_chars.min(MESSAGE_MAX_CHARS);
    if message_chars > limit {
        return Err(FieldError::new(
            &["message"],
            message_too_long(tiers, tier, limit, message_chars, currency),
        ));
    }
    Ok(Placement {
        // Configurations hold a handful of tiers; the schema allows 20.
        tier: i16::try_from(index + 1).unwrap_or(i16::MAX),
        colour: tier.colour.clone(),
        pin_seconds: tier.pin_seconds,
    })
}

/// Says the limit, and the smallest amount that would carry this message.
fn message_too_long(
    tiers: &[SuperChatTier],
    tier: &SuperChatTier,
    limit: usize,
    message_chars: usize,
    currency: Currency,
) -> String {
    let allowed = if limit == 0 {
        "a super chat of this amount carries no message: leave `message` out".to_owned()
    } else {
        format!(
            "at this amount a message has at most {limit} characters (this one has {message_chars})"
        )
    };
    let enough = tiers
        .iter()
        .filter(|t| {
            t.min_amount_minor > tier.min_amount_minor
                && t.max_message_chars.min(MESSAGE_MAX_CHARS) >= message_chars
        })
        .map(|t| t.min_amount_minor)
        .min();
    match enough {
        Some(amount) => format!(
            "{allowed}, or send at least {amount} ({}) for a message this long",
            currency.format(amount)
        ),
        None => allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::find("USD").unwrap()
    }

    #[test]
    fn amounts_fall_in_the_highest_band_they_reach() {
        let tiers = SuperChatTier::defaults();
        let tier_of = |amount| place(&tiers, amount, usd(), 0).map(|p| p.tier);
        assert_eq!(tier_of(100), Ok(1));
        assert_eq!(tier_of(199), Ok(1));
        assert_eq!(tier_of(200), Ok(2));
        assert_eq!(tier_of(999), Ok(3));
        assert_eq!(tier_of(1000), Ok(4));
        assert_eq!(tier_of(50_000), Ok(11));
        assert_eq!(tier_of(i64::MAX), Ok(11));
        let placed = place(&tiers, 1000, usd(), 200).unwrap();
        assert_eq!(placed.colour, "#FFB300");
        assert_eq!(placed.pin_seconds, 300);
    }

    #[test]
    fn below_the_lowest_band_says_the_minimum() {
        let error = place(&SuperChatTier::defaults(), 99, usd(), 0).unwrap_err();
        assert_eq!(error.pointer, "#/amount_minor");
        assert!(
            error.detail.contains("at least 100 (1.00 USD)"),
            "{}",
            error.detail
        );
        let none = place(&[], 100, usd(), 0).unwrap_err();
        assert!(none.detail.contains("accepts none"), "{}", none.detail);
    }

    #[test]
    fn messages_are_limited_by_the_tier() {
        let tiers = SuperChatTier::defaults();
        assert!(place(&tiers, 200, usd(), 50).is_ok());
        let error = place(&tiers, 200, usd(), 51).unwrap_err();
        assert_eq!(error.pointer, "#/message");
        assert!(
            error.detail.contains("at most 50 characters")
                && error.detail.contains("at least 500 (5.00 USD)"),
            "{}",
            error.detail
        );
        let silent = place(&tiers, 100, usd(), 1).unwrap_err();
        assert!(
            silent.detail.contains("carries no message"),
            "{}",
            silent.detail
        );
        let longest = place(&tiers, 50_000, usd(), 351).unwrap_err();
        assert!(
            !longest.detail.contains("send at least"),
            "{}",
            longest.detail
        );
    }

    #[test]
    fn the_schema_caps_what_a_tier_allows() {
        let generous = [SuperChatTier {
            min_amount_minor: 1,
            colour: "#000000".to_owned(),
            pin_seconds: 0,
            max_message_chars: 10_000,
        }];
        assert!(place(&generous, 1, usd(), MESSAGE_MAX_CHARS).is_ok());
        assert!(place(&generous, 1, usd(), MESSAGE_MAX_CHARS + 1).is_err());
    }
}
