//! Ids: merchant, campaign, product, viewer, order and key ids as the
//! contract bounds them (API.md, "Errors": 1..128 bytes, printable ASCII).
//!
//! The rule itself lives with the id types it guards
//! ([`crate::model::ids::check_id`]): a `MerchantId` can only be made by it.

pub(crate) use crate::model::ids::{MAX_ID_LEN, check_id as validate_id};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::policy::test_support::{field_of, message_of};
    use proptest::prelude::*;

    #[test]
    fn id_accepts_printable_ascii_up_to_128_bytes() {
        validate_id("viewer_id", "v").unwrap();
        validate_id("viewer_id", "abc-123_XYZ!~{}").unwrap();
        validate_id("viewer_id", &"x".repeat(MAX_ID_LEN)).unwrap();
    }

    #[test]
    fn id_empty_is_missing() {
        assert_eq!(
            validate_id("viewer_id", ""),
            Err(Error::invalid_field("viewer_id", "missing"))
        );
    }

    #[test]
    fn id_too_long_names_the_field() {
        let result = validate_id("order_id", &"x".repeat(MAX_ID_LEN + 1));
        assert!(message_of(result.clone()).contains("too long"));
        assert_eq!(field_of(result), "order_id");
    }

    #[test]
    fn id_refuses_spaces_controls_and_non_ascii() {
        for bad in ["a b", " a", "a\t", "a\n", "\u{7f}", "caf\u{e9}", "a\u{0}"] {
            let result = validate_id("video_id", bad);
            assert_eq!(field_of(result.clone()), "video_id", "{bad:?}");
            assert!(message_of(result).contains("printable ascii"), "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn validate_id_accepts_exactly_printable_ascii_up_to_128(
            value in prop_oneof![".*", "[!-~]{0,140}", "[ -~]{0,140}", "[\\x00-\\x7f]{0,130}"],
        ) {
            let expected = (1..=MAX_ID_LEN).contains(&value.len())
                && value.bytes().all(|b| (0x21..=0x7e).contains(&b));
            prop_assert_eq!(validate_id("id", &value).is_ok(), expected, "{:?}", value);
        }
    }
}
