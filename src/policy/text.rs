//! Free text an operator writes into the registry: a merchant's display
//! name, a key's label, a review's reason.

use crate::error::{Error, Result};

/// Longest display name or free-text field, in bytes.
pub(crate) const MAX_TEXT_LEN: usize = 256;

/// Checks free text: at most [`MAX_TEXT_LEN`] bytes, no control characters
/// (it is shown on dashboards and in logs); empty is fine. Fails with
/// `INVALID_FIELD` naming `field`.
pub(crate) fn validate_text(field: &str, value: &str) -> Result<()> {
    if value.len() > MAX_TEXT_LEN {
        return Err(Error::invalid_field(
            field,
            format!("longer than {MAX_TEXT_LEN} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid_field(field, "contains control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_up_to_256_bytes_without_controls_is_fine() {
        for ok in ["", "Shop A/S", "Bücher & Co.", &"x".repeat(MAX_TEXT_LEN)] {
            assert_eq!(validate_text("label", ok), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn long_text_or_control_characters_name_the_field() {
        assert_eq!(
            validate_text("label", &"x".repeat(MAX_TEXT_LEN + 1)),
            Err(Error::invalid_field("label", "longer than 256 bytes"))
        );
        // Counted in bytes: 129 two-byte characters are too long.
        assert!(validate_text("label", &"ø".repeat(129)).is_err());
        for bad in ["a\nb", "\t", "a\u{0}", "\u{7f}", "\u{85}"] {
            assert_eq!(
                validate_text("merchant.display_name", bad),
                Err(Error::invalid_field(
                    "merchant.display_name",
                    "contains control characters"
                )),
                "{bad:?}"
            );
        }
    }
}
