//! The chat rules that need no database: banned words and slow mode.

use std::time::Duration;

/// Whether `message` contains one of `words` (stored lower-case) as a whole
/// word or phrase, whatever its case: "spam" matches "SPAM!" but not
/// "spammer", so blocking a short word does not block every longer one.
pub(crate) fn contains_banned_word(message: &str, words: &[String]) -> bool {
    if words.is_empty() {
        return false;
    }
    let message = message.to_lowercase();
    words.iter().any(|word| contains_whole_word(&message, word))
}

/// Letters, digits and `_`, in any script: what a word is made of.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every occurrence is tried, overlapping ones too: the first may sit inside
/// a longer word while a later one stands alone.
fn contains_whole_word(haystack: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    // A word that starts (ends) with punctuation needs no boundary there.
    let needs_start = word.starts_with(is_word_char);
    let needs_end = word.ends_with(is_word_char);
    let mut from = 0;
    while let Some(found) = haystack[from..].find(word) {
        let start = from + found;
        let end = start + word.len();
        let starts_clean = !needs_start || !haystack[..start].ends_with(is_word_char);
        let ends_clean = !needs_end || !haystack[end..].starts_with(is_word_char);
        if starts_clean && ends_clean {
            return true;
        }
        from = start + haystack[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// How long the author must still wait, if their last message was
/// `since_last_ms` ago and slow mode allows one every `seconds`.
pub(crate) fn slow_mode_wait(seconds: i32, since_last_ms: Option<i64>) -> Option<Duration> {
    let interval_ms = i64::from(seconds) * 1000;
    let since = since_last_ms?.max(0);
    (since < interval_ms).then(|| Duration::from_millis((interval_ms - since) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn banned(message: &str, words: &[&str]) -> bool {
        let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        contains_banned_word(message, &words)
    }

    #[test]
    fn whole_words_match_in_any_case() {
        assert!(banned("this is SPAM!", &["spam"]));
        assert!(banned("Spam", &["spam"]));
        assert!(banned("spam, eggs", &["eggs", "spam"]));
        assert!(!banned("a spammer", &["spam"]));
        assert!(!banned("antispam", &["spam"]));
        assert!(!banned("spam_bot", &["spam"]));
        assert!(!banned("anything", &[]));
    }

    #[test]
    fn phrases_and_punctuation() {
        assert!(banned("please BUY NOW ok", &["buy now"]));
        assert!(!banned("buy nowhere", &["buy now"]));
        assert!(banned("f*ck", &["f*ck"]));
        assert!(
            banned("wow!!!", &["!!!"]),
            "no boundary needed at punctuation"
        );
        assert!(
            banned("ba a a", &["a a"]),
            "a later, overlapping occurrence"
        );
    }

    #[test]
    fn other_scripts_are_words_too() {
        assert!(banned("ПРИВЕТ мир", &["привет"]));
        assert!(!banned("приветствую", &["привет"]));
        assert!(banned("STRAẞE", &["straße"]));
    }

    #[test]
    fn slow_mode_counts_from_the_last_message() {
        assert_eq!(slow_mode_wait(10, None), None, "first message");
        assert_eq!(slow_mode_wait(10, Some(10_000)), None);
        assert_eq!(
            slow_mode_wait(10, Some(2_500)),
            Some(Duration::from_millis(7_500))
        );
        assert_eq!(
            slow_mode_wait(10, Some(-5)),
            Some(Duration::from_secs(10)),
            "clock skew between rows counts as just now"
        );
    }
}
