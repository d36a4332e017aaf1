//! The redirect into the shop: the landing URL with the merchant's token
//! parameter set to the token (API.md, ClickService), and which names that
//! parameter may have.

use url::Url;

use crate::error::{Error, Result};
use crate::model::DEFAULT_TOKEN_PARAM;

/// Longest merchant token parameter name in bytes.
pub(crate) const MAX_TOKEN_PARAM_LEN: usize = 32;

/// The redirect URL of a click: `landing` with the query parameter
/// `token_param` set to `token`. Every existing parameter of that name (after
/// decoding) is removed, the other pairs are kept in order (re-serialised as
/// `application/x-www-form-urlencoded`), the new pair goes last, and the
/// fragment is kept.
pub(crate) fn redirect_url(landing: &Url, token_param: &str, token: &str) -> String {
    let kept: Vec<(String, String)> = landing
        .query_pairs()
        .filter(|(name, _)| name != token_param)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let mut url = landing.clone();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(token_param, token);
    url.into()
}

/// Checks a merchant's token parameter name: empty means
/// [`DEFAULT_TOKEN_PARAM`]; otherwise 1 to [`MAX_TOKEN_PARAM_LEN`] characters
/// of `A-Z a-z 0-9 _ . -`. Fails with `INVALID_FIELD` naming `field`.
pub(crate) fn normalize_token_param(field: &str, raw: &str) -> Result<String> {
    if raw.is_empty() {
        return Ok(DEFAULT_TOKEN_PARAM.to_owned());
    }
    if raw.len() > MAX_TOKEN_PARAM_LEN {
        return Err(Error::invalid_field(
            field,
            format!("too long: at most {MAX_TOKEN_PARAM_LEN} characters"),
        ));
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(Error::invalid_field(
            field,
            "must be letters, digits, '_', '.' or '-'",
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::check_landing_url;
    use crate::policy::test_support::{field_of, label, message_of, shop};
    use proptest::prelude::*;

    fn parse(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    #[test]
    fn redirect_appends_token_to_empty_query() {
        assert_eq!(
            redirect_url(&parse("https://shop.dk/p"), "cc", "TOK"),
            "https://shop.dk/p?cc=TOK"
        );
        assert_eq!(
            redirect_url(&parse("https://shop.dk/p?"), "cc", "TOK"),
            "https://shop.dk/p?cc=TOK"
        );
        assert_eq!(
            redirect_url(&parse("https://shop.dk"), "cc", "TOK"),
            "https://shop.dk/?cc=TOK"
        );
    }

    #[test]
    fn redirect_keeps_other_pairs_in_order_and_the_fragment() {
        assert_eq!(
            redirect_url(&parse("https://shop.dk/p?b=2&a=1#frag"), "cc", "TOK"),
            "https://shop.dk/p?b=2&a=1&cc=TOK#frag"
        );
        assert_eq!(
            redirect_url(&parse("https://shop.dk:8443/p#only-fragment"), "cc", "TOK"),
            "https://shop.dk:8443/p?cc=TOK#only-fragment"
        );
    }

    #[test]
    fn redirect_replaces_every_existing_token_param() {
        assert_eq!(
            redirect_url(
                &parse("https://shop.dk/?cc=old&x=1&cc=older&cc"),
                "cc",
                "TOK"
            ),
            "https://shop.dk/?x=1&cc=TOK"
        );
        // Matched after decoding, as the shop would read it.
        assert_eq!(
            redirect_url(&parse("https://shop.dk/?c%63=old&x=1"), "cc", "TOK"),
            "https://shop.dk/?x=1&cc=TOK"
        );
        // Only exact names: `CC` and `cc2` are other parameters.
        assert_eq!(
            redirect_url(&parse("https://shop.dk/?CC=1&cc2=2"), "cc", "TOK"),
            "https://shop.dk/?CC=1&cc2=2&cc=TOK"
        );
    }

    #[test]
    fn redirect_uses_the_merchants_param_and_reencodes_as_form() {
        assert_eq!(
            redirect_url(
                &parse("https://shop.dk/?q=a+b&r=%26&s=x%20y"),
                "ref.id",
                "T-_1"
            ),
            "https://shop.dk/?q=a+b&r=%26&s=x+y&ref.id=T-_1"
        );
        assert_eq!(
            redirect_url(&parse("https://shop.dk/?flag&cc=1"), "ref", "T"),
            "https://shop.dk/?flag=&cc=1&ref=T"
        );
    }

    #[test]
    fn redirect_of_a_checked_landing_url_stays_on_its_host() {
        let landing = check_landing_url("https://www.shop.dk./x?y=1#z", &shop()).unwrap();
        let redirect = parse(&redirect_url(&landing, "cc", "TOK"));
        assert_eq!(redirect.host_str(), Some("www.shop.dk."));
        assert_eq!(redirect.fragment(), Some("z"));
    }

    // ---- normalize_token_param ----

    #[test]
    fn token_param_defaults_and_accepts_safe_names() {
        assert_eq!(
            normalize_token_param("p", ""),
            Ok(DEFAULT_TOKEN_PARAM.to_owned())
        );
        for ok in [
            "cc",
            "ref",
            "Click_ID",
            "a.b-c",
            "0",
            &"x".repeat(MAX_TOKEN_PARAM_LEN),
        ] {
            assert_eq!(normalize_token_param("p", ok).as_deref(), Ok(ok));
        }
    }

    #[test]
    fn token_param_refuses_long_or_unsafe_names() {
        let result = normalize_token_param("merchant.token_param", &"x".repeat(33));
        assert_eq!(field_of(result.clone()), "merchant.token_param");
        assert!(message_of(result).contains("too long"));
        for bad in [
            " ", " cc", "c c", "a=b", "a&b", "a#b", "a%20", "café", "a+b", "a/b",
        ] {
            let result = normalize_token_param("merchant.token_param", bad);
            assert_eq!(field_of(result.clone()), "merchant.token_param", "{bad:?}");
            assert!(message_of(result).contains("letters"), "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn redirect_sets_exactly_one_token_and_keeps_the_rest(
            pairs in prop::collection::vec(
                (prop_oneof![Just("cc".to_owned()), Just("CC".to_owned()), Just("utm_source".to_owned()), "\\PC{0,6}"], "\\PC{0,10}"),
                0..8,
            ),
            host_labels in prop::collection::vec(label(), 0..3),
            fragment in prop::option::of("\\PC{0,10}"),
            token in "[A-Za-z0-9_-]{1,100}",
        ) {
            let host: String = host_labels.iter().map(|l| format!("{l}.")).collect::<String>() + "shop.dk";
            let mut landing = Url::parse(&format!("https://{host}/p/q")).unwrap();
            if !pairs.is_empty() {
                landing.query_pairs_mut().extend_pairs(&pairs);
            }
            landing.set_fragment(fragment.as_deref());
            let landing = check_landing_url(landing.as_str(), &shop()).unwrap();

            let redirect = Url::parse(&redirect_url(&landing, "cc", &token)).unwrap();
            let got: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
            let tokens: Vec<&(String, String)> = got.iter().filter(|(k, _)| k == "cc").collect();
            prop_assert_eq!(tokens.len(), 1);
            prop_assert_eq!(&tokens[0].1, &token);
            prop_assert_eq!(got.last().map(|(k, _)| k.as_str()), Some("cc"));
            let others: Vec<&(String, String)> = got.iter().filter(|(k, _)| k != "cc").collect();
            let want: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "cc").collect();
            prop_assert_eq!(others, want);
            prop_assert_eq!(redirect.fragment(), landing.fragment());
            prop_assert_eq!(redirect.host(), landing.host());
            prop_assert_eq!(redirect.port(), landing.port());
            prop_assert_eq!(redirect.path(), landing.path());
            prop_assert_eq!(redirect.scheme(), "https");
        }

        #[test]
        fn redirect_keeps_pairs_of_any_raw_query(query in "[^#\\x00-\\x1f]{0,40}", token in "[A-Za-z0-9_-]{1,20}") {
            let landing = Url::parse(&format!("https://shop.dk/?{query}#frag"));
            prop_assume!(landing.is_ok());
            let landing = landing.unwrap();
            let redirect = Url::parse(&redirect_url(&landing, "cc", &token)).unwrap();
            let before: Vec<(String, String)> = landing.query_pairs().into_owned().filter(|(k, _)| k != "cc").collect();
            let after: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
            prop_assert_eq!(&after[..after.len() - 1], &before[..]);
            prop_assert_eq!(&after[after.len() - 1], &("cc".to_owned(), token));
            prop_assert_eq!(redirect.fragment(), Some("frag"));
            prop_assert_eq!(redirect.host_str(), Some("shop.dk"));
        }
    }
}
