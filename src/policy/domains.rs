//! Merchants' registered domains: what may be registered (one to
//! [`MAX_DOMAINS`] bare, registrable domain names) and the one form they are
//! stored in, which landing URLs are then matched against
//! ([`super::check_landing_url`]).

use url::Host;

use crate::error::{Error, Result};

/// Longest domain name in bytes (DNS).
pub(crate) const MAX_DOMAIN_LEN: usize = 253;
/// Longest domain label in bytes (DNS).
pub(crate) const MAX_LABEL_LEN: usize = 63;

/// Normalises a merchant's registered domain for storage: trimmed, one
/// trailing `.` dropped, lower case, internationalised names in punycode
/// (`bücher.example` → `xn--bcher-kva.example`).
///
/// Refuses anything but a bare domain name of at least two labels: schemes,
/// userinfo, ports, paths, wildcards, percent-encoding, IP addresses, empty
/// labels, labels other than letters, digits and inner hyphens, and names
/// longer than DNS allows. Fails with `INVALID_FIELD` naming `field`.
///
/// Refuses public suffixes too (`co.uk`, `github.io`: the Public Suffix List
/// as the `psl` crate compiles it in, ICANN and private sections): a landing
/// host may be any subdomain of a registered domain, so registering a suffix
/// would let the merchant send viewers to anyone's site under it. A
/// registrable domain or a subdomain of one (`example.co.uk`,
/// `shop.example.dk`) is fine.
pub(crate) fn normalize_domain(field: &str, raw: &str) -> Result<String> {
    let invalid = |message: &str| Error::invalid_field(field, message);
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(invalid("missing"));
    }
    if trimmed.contains("://") {
        return Err(invalid("must be a bare domain, without a scheme"));
    }
    if trimmed.contains('@') {
        return Err(invalid("must be a bare domain, without userinfo"));
    }
    if trimmed.contains(['/', '\\', '?', '#']) {
        return Err(invalid(
            "must be a bare domain, without a path, query or fragment",
        ));
    }
    if trimmed.contains(['[', ']']) {
        return Err(invalid("ip addresses are not allowed"));
    }
    if trimmed.contains(':') {
        return Err(invalid("must be a bare domain, without a port"));
    }
    if trimmed.contains('*') {
        return Err(invalid("wildcards are not allowed"));
    }
    if trimmed.contains('%') {
        return Err(invalid("must not be percent-encoded"));
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must not contain whitespace or control characters"));
    }
    let ascii = match Host::parse(trimmed) {
        Ok(Host::Domain(domain)) => domain,
        Ok(Host::Ipv4(_) | Host::Ipv6(_)) => return Err(invalid("ip addresses are not allowed")),
        Err(_) => return Err(invalid("not a valid domain name")),
    };
    let domain = ascii.strip_suffix('.').unwrap_or(&ascii);
    if domain.len() > MAX_DOMAIN_LEN {
        return Err(invalid("too long: at most 253 bytes"));
    }
    let mut labels = 0usize;
    for label in domain.split('.') {
        labels += 1;
        if label.is_empty() {
            return Err(invalid("must not have empty labels"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(invalid("labels must be at most 63 bytes"));
        }
        let ldh = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ldh || label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("labels must be letters, digits and inner hyphens"));
        }
    }
    if labels < 2 {
        return Err(invalid("must have at least two labels"));
    }
    // `psl` wants lower-case ASCII without a trailing dot: `domain` is that.
    if psl::domain(domain.as_bytes()).is_none() {
        return Err(invalid(
            "is a public suffix: register a domain under it, not the suffix",
        ));
    }
    Ok(domain.to_owned())
}

/// Most registered domains a merchant may have.
pub(crate) const MAX_DOMAINS: usize = 64;

/// A merchant's registered domains as stored: at least one and at most
/// [`MAX_DOMAINS`] as sent, each normalised ([`normalize_domain`]), sorted,
/// repeats dropped. Fails with `INVALID_FIELD` naming `field`.
pub(crate) fn allowed_domains(field: &str, raw: &[String]) -> Result<Vec<String>> {
    if raw.is_empty() {
        return Err(Error::invalid_field(field, "at least one domain"));
    }
    if raw.len() > MAX_DOMAINS {
        return Err(Error::invalid_field(
            field,
            format!("at most {MAX_DOMAINS} domains"),
        ));
    }
    let mut domains = raw
        .iter()
        .map(|domain| normalize_domain(field, domain))
        .collect::<Result<Vec<_>>>()?;
    domains.sort();
    domains.dedup();
    Ok(domains)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::test_support::{field_of, message_of, strings};

    #[test]
    fn domain_is_normalised() {
        let cases = [
            ("shop.dk", "shop.dk"),
            ("  Shop.DK  ", "shop.dk"),
            ("shop.dk.", "shop.dk"),
            ("www.shop.dk", "www.shop.dk"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("BÜCHER.example", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("ｓｈｏｐ．ｄｋ", "shop.dk"),
            ("ＳＨＯＰ．ＤＫ．", "shop.dk"),
            ("shop。dk", "shop.dk"),
            ("1.shop.dk", "1.shop.dk"),
            ("my-shop.co.uk", "my-shop.co.uk"),
            ("shop.dk\n", "shop.dk"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_domain("d", raw).as_deref(), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn domain_refuses_everything_but_a_bare_name() {
        let cases = [
            ("", "missing"),
            ("   ", "missing"),
            ("https://shop.dk", "scheme"),
            ("user@shop.dk", "userinfo"),
            ("shop.dk/path", "path"),
            ("shop.dk\\x", "path"),
            ("shop.dk?q", "path"),
            ("shop.dk#f", "path"),
            ("shop.dk:443", "port"),
            ("*.shop.dk", "wildcard"),
            ("＊.shop.dk", "labels"),
            ("[::1]", "ip"),
            ("127.0.0.1", "ip"),
            ("0x7f.1", "ip"),
            ("1.2.3.4.", "ip"),
            ("shop%2edk", "percent"),
            ("sh op.dk", "whitespace"),
            ("sh\top.dk", "whitespace"),
            ("shop..dk", "empty labels"),
            (".shop.dk", "empty labels"),
            ("shop.dk..", "empty labels"),
            ("localhost", "two labels"),
            ("dk", "two labels"),
            ("-shop.dk", "hyphens"),
            ("shop-.dk", "hyphens"),
            ("a_b.dk", "labels"),
            ("a!b.dk", "labels"),
            ("xn--zz.dk", "not a valid domain"),
            ("shop.123", "not a valid domain"),
        ];
        for (raw, reason) in cases {
            let result = normalize_domain("merchant.allowed_domains", raw);
            assert_eq!(
                field_of(result.clone()),
                "merchant.allowed_domains",
                "{raw:?}"
            );
            let message = message_of(result);
            assert!(message.contains(reason), "{raw:?}: {message}");
        }
    }

    #[test]
    fn domain_refuses_public_suffixes() {
        // From the Public Suffix List, ICANN and private sections: registering
        // one would make every site under it a landing host.
        for raw in [
            "co.uk",
            "CO.UK.",
            "ｃｏ．ｕｋ",
            "com.au",
            "github.io",
            "GitHub.IO",
            "blogspot.com",
            "herokuapp.com",
            "xn--55qx5d.cn",
            "公司.cn",
        ] {
            let result = normalize_domain("merchant.allowed_domains", raw);
            assert_eq!(
                field_of(result.clone()),
                "merchant.allowed_domains",
                "{raw:?}"
            );
            let message = message_of(result);
            assert!(message.contains("public suffix"), "{raw:?}: {message}");
        }
        // Top-level domains are refused as names of a single label.
        for raw in ["com", "dk", "uk"] {
            let result = normalize_domain("merchant.allowed_domains", raw);
            assert_eq!(field_of(result), "merchant.allowed_domains", "{raw:?}");
        }
    }

    #[test]
    fn domain_under_a_public_suffix_is_allowed() {
        for (raw, want) in [
            ("example.co.uk", "example.co.uk"),
            ("www.example.co.uk", "www.example.co.uk"),
            ("shop.example.dk", "shop.example.dk"),
            ("myshop.github.io", "myshop.github.io"),
            ("MyShop.GitHub.io.", "myshop.github.io"),
            ("shop.com.au", "shop.com.au"),
            ("shop.dk", "shop.dk"),
            ("公司.公司.cn", "xn--55qx5d.xn--55qx5d.cn"),
            ("bücher.example", "xn--bcher-kva.example"),
        ] {
            assert_eq!(normalize_domain("d", raw).as_deref(), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn domain_length_limits() {
        let label = "a".repeat(MAX_LABEL_LEN);
        assert!(normalize_domain("d", &format!("{label}.dk")).is_ok());
        let long_label = "a".repeat(MAX_LABEL_LEN + 1);
        assert!(message_of(normalize_domain("d", &format!("{long_label}.dk"))).contains("63"));
        let long_name = format!("{label}.{label}.{label}.{label}.dk");
        assert!(long_name.len() > MAX_DOMAIN_LEN);
        assert!(message_of(normalize_domain("d", &long_name)).contains("too long"));
    }

    #[test]
    fn normalised_domains_are_fixed_points() {
        for raw in ["Shop.DK.", "bücher.example", "ｓｈｏｐ．ｄｋ"] {
            let once = normalize_domain("d", raw).unwrap();
            assert_eq!(normalize_domain("d", &once), Ok(once.clone()));
        }
    }

    // ---- allowed_domains ----

    #[test]
    fn allowed_domains_are_normalised_sorted_and_deduplicated() {
        let raw = strings(&["WWW.Shop.DK", "shop.dk.", "bücher.example", "shop.dk"]);
        assert_eq!(
            allowed_domains("merchant.allowed_domains", &raw),
            Ok(strings(&[
                "shop.dk",
                "www.shop.dk",
                "xn--bcher-kva.example"
            ]))
        );
    }

    #[test]
    fn allowed_domains_are_one_to_64_valid_names() {
        let field = "merchant.allowed_domains";
        assert_eq!(
            allowed_domains(field, &[]),
            Err(Error::invalid_field(field, "at least one domain"))
        );
        let most: Vec<String> = (0..MAX_DOMAINS).map(|i| format!("s{i}.dk")).collect();
        assert_eq!(
            allowed_domains(field, &most).map(|d| d.len()),
            Ok(MAX_DOMAINS)
        );
        // Counted as sent, before repeats are dropped.
        let too_many = vec!["shop.dk".to_owned(); MAX_DOMAINS + 1];
        assert_eq!(
            allowed_domains(field, &too_many),
            Err(Error::invalid_field(field, "at most 64 domains"))
        );
        let result = allowed_domains(field, &strings(&["shop.dk", "co.uk"]));
        assert_eq!(field_of(result.clone()), field);
        assert!(message_of(result).contains("public suffix"));
    }
}
