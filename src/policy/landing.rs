//! Landing URLs: where a click may send a viewer. Only https, only a
//! merchant's registered domain or a subdomain of it, compared on the parsed
//! host (API.md, `LANDING_URL_NOT_ALLOWED`).

use url::{Host, Url};

use crate::error::{Error, Result};

/// Longest landing URL in bytes, as sent and as parsed.
pub(crate) const MAX_URL_LEN: usize = 2048;
/// The field name landing URL errors carry.
pub(crate) const LANDING_URL_FIELD: &str = "landing_url";

/// Checks a landing URL against the merchant's registered domains (as
/// [`super::domains::normalize_domain`] stores them) and returns it parsed.
///
/// `INVALID_FIELD` (`landing_url`) when it is empty, longer than
/// [`MAX_URL_LEN`] bytes (as sent or as parsed), contains ASCII control
/// characters (tabs and newlines included: the URL parser would silently drop
/// them), or does not parse. `LANDING_URL_NOT_ALLOWED` unless the scheme is
/// https, there is no userinfo, there is no port but https's own, and the
/// host is a domain name (never an IP address) without empty labels, equal to
/// a registered domain or a subdomain of one on a label boundary. Only the
/// parsed host is compared (lower case, punycode, one trailing `.` dropped),
/// never the raw text.
///
/// Merchants register bare domains, so another port of their host is a
/// service they never registered. An explicit `:443` is accepted: the parser
/// drops the scheme's default port, so the returned URL has none.
pub(crate) fn check_landing_url(raw: &str, allowed_domains: &[String]) -> Result<Url> {
    let invalid = |message: &str| Error::invalid_field(LANDING_URL_FIELD, message);
    if raw.is_empty() {
        return Err(invalid("missing"));
    }
    if raw.len() > MAX_URL_LEN {
        return Err(invalid("too long: at most 2048 bytes"));
    }
    if raw.chars().any(|c| c.is_ascii_control()) {
        return Err(invalid("must not contain control characters"));
    }
    let url = Url::parse(raw).map_err(|_| invalid("malformed"))?;
    if url.as_str().len() > MAX_URL_LEN {
        return Err(invalid("too long: at most 2048 bytes"));
    }
    if url.scheme() != "https"
        || !url.username().is_empty()
        || url.password().is_some()
        || url.port().is_some()
    {
        return Err(Error::LandingUrlNotAllowed);
    }
    let Some(Host::Domain(host)) = url.host() else {
        return Err(Error::LandingUrlNotAllowed);
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.split('.').any(str::is_empty) {
        return Err(Error::LandingUrlNotAllowed);
    }
    if allowed_domains
        .iter()
        .any(|domain| host_on_domain(host, domain))
    {
        Ok(url)
    } else {
        Err(Error::LandingUrlNotAllowed)
    }
}

/// Whether `host` is `domain` or a subdomain of it on a label boundary.
/// Both are compared as given (lower case, punycode); an empty domain matches
/// nothing.
fn host_on_domain(host: &str, domain: &str) -> bool {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return false;
    }
    match host.strip_suffix(domain) {
        Some("") => true,
        Some(rest) => rest.len() > 1 && rest.ends_with('.'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::domains::normalize_domain;
    use crate::policy::redirect_url;
    use crate::policy::test_support::{field_of, label, message_of, shop, strings};
    use proptest::prelude::*;

    #[test]
    fn landing_url_on_domain_or_subdomain_is_allowed() {
        for raw in [
            "https://shop.dk",
            "https://shop.dk/",
            "https://www.shop.dk/p/1?x=1#top",
            "https://a.b.shop.dk/",
            "https://SHOP.DK/Path",
            "https://shop.dk./",
            "https://www.shop.dk.:443/",
            "https://shop.dk:443/x",
            "https://ｓｈｏｐ．ｄｋ/x",
            "https://shop。dk/",
            "HTTPS://shop.dk/",
            "https:shop.dk/x",
            "https:///shop.dk",
            "https://1.shop.dk/",
            "https://shop.dk/a b?c d#e f",
            "  https://shop.dk/  ",
            "https://shop.dk/evil.com",
            "https://shop.dk/?next=https://evil.com",
            "https://shop.dk/#@evil.com",
            "https://evil.com%2eshop.dk/",
        ] {
            let url = check_landing_url(raw, &shop()).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            let host = url.host_str().unwrap_or_default();
            assert!(
                host.trim_end_matches('.').ends_with("shop.dk"),
                "{raw:?} -> {url}"
            );
        }
    }

    #[test]
    fn landing_url_matches_any_registered_domain_and_idn() {
        let allowed = strings(&["other.example", "xn--bcher-kva.example"]);
        check_landing_url("https://bücher.example/", &allowed).unwrap();
        check_landing_url("https://www.BÜCHER.example/", &allowed).unwrap();
        check_landing_url("https://xn--bcher-kva.example/", &allowed).unwrap();
        check_landing_url("https://other.example/", &allowed).unwrap();
        assert_eq!(
            check_landing_url("https://bucher.example/", &allowed),
            Err(Error::LandingUrlNotAllowed)
        );
    }

    #[test]
    fn landing_url_refuses_hostile_tricks() {
        for raw in [
            "http://shop.dk/",
            "javascript:alert(1)",
            "javascript://shop.dk/%0aalert(1)",
            "data:text/html,hi",
            "ftp://shop.dk/",
            "wss://shop.dk/",
            "https://evilshop.dk/",
            "https://shop.dk.evil.com/",
            "https://shop.dkevil.com/",
            "https://shop.dk-evil.com/",
            "https://www.shop.dk.evil.com/",
            "https://shop.dk@evil.com/",
            "https://shop.dk:pw@evil.com/",
            "https://user@shop.dk/",
            "https://user:pw@shop.dk/",
            "https://:pw@shop.dk/",
            "https://evil.com\\@shop.dk",
            "https://evil.com#@shop.dk",
            "https://evil.com?@shop.dk",
            "https://evil.com/@shop.dk",
            "https://shop.dk%2eevil.com/",
            "https://shop%2edk.evil.com/",
            "https://xn--shp-0ma.dk/",
            "https://ѕһор.dk/",
            "https://[::1]/",
            "https://[::ffff:7f00:1]/",
            "https://127.0.0.1/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://dk/",
            "https://shop.dk../",
            "https://a..shop.dk/",
            "https://.shop.dk/",
            "https://sshop.dk/",
            "https://hop.dk/",
            "https://shop.d/",
        ] {
            assert_eq!(
                check_landing_url(raw, &shop()),
                Err(Error::LandingUrlNotAllowed),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn landing_url_with_a_port_other_than_443_is_refused() {
        // Merchants register bare domains: a shop on another port of the
        // same host is another service, not the one they registered.
        for raw in [
            "https://shop.dk:8443/",
            "https://www.shop.dk.:8443/",
            "https://shop.dk:80/p",
            "https://shop.dk:1/",
            "https://shop.dk:0/",
            "https://a.b.shop.dk:65535/x?y=1#z",
        ] {
            assert_eq!(
                check_landing_url(raw, &shop()),
                Err(Error::LandingUrlNotAllowed),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn landing_url_with_an_explicit_443_is_allowed_and_loses_it() {
        // The URL parser drops the scheme's default port: what is checked,
        // signed and redirected to has none.
        for raw in [
            "https://shop.dk:443/x",
            "https://www.shop.dk:443",
            "https://shop.dk:0443/x",
            "https://shop.dk:/x",
        ] {
            let url = check_landing_url(raw, &shop()).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(url.port(), None, "{raw:?}");
            let redirect = redirect_url(&url, "cc", "TOK");
            let origin = format!("https://{}/", url.host_str().unwrap_or_default());
            assert!(redirect.starts_with(&origin), "{raw:?} -> {redirect}");
        }
    }

    #[test]
    fn landing_url_field_errors() {
        assert_eq!(
            check_landing_url("", &shop()),
            Err(Error::invalid_field("landing_url", "missing"))
        );
        let long = format!("https://shop.dk/{}", "a".repeat(MAX_URL_LEN));
        assert!(message_of(check_landing_url(&long, &shop())).contains("too long"));
        let just_fits = format!("https://shop.dk/{}", "a".repeat(MAX_URL_LEN - 16));
        assert_eq!(just_fits.len(), MAX_URL_LEN);
        check_landing_url(&just_fits, &shop()).unwrap();
        // Fits as sent, but not once percent-encoded.
        let expands = format!("https://shop.dk/{}x", " ".repeat(MAX_URL_LEN - 17));
        assert!(message_of(check_landing_url(&expands, &shop())).contains("too long"));
        for raw in [
            "shop.dk",
            "//shop.dk/",
            "https://",
            "https://sh op.dk/",
            "https://shop.dk:99999/",
            "https://x%00.shop.dk/",
            "https://a.1/",
            "not a url",
        ] {
            let result = check_landing_url(raw, &shop());
            assert_eq!(field_of(result.clone()), "landing_url", "{raw:?}");
            assert_eq!(message_of(result), "malformed", "{raw:?}");
        }
    }

    #[test]
    fn landing_url_with_tabs_or_newlines_is_refused_not_stripped() {
        // The URL parser would drop these and accept `https://shop.dk/`: refuse
        // instead, so what is signed is what was sent.
        for raw in [
            "https://sh\top.dk/",
            "https://shop.dk/\n",
            "\thttps://shop.dk/",
            "https://shop.dk/?a=\r\nb",
            "https://evil.com\n.shop.dk/",
            "https://shop.dk/\u{0}",
            "https://shop.dk/\u{7f}",
        ] {
            let result = check_landing_url(raw, &shop());
            assert_eq!(field_of(result.clone()), "landing_url", "{raw:?}");
            assert!(message_of(result).contains("control"), "{raw:?}");
        }
    }

    #[test]
    fn landing_url_with_no_registered_domains_is_never_allowed() {
        assert_eq!(
            check_landing_url("https://shop.dk/", &[]),
            Err(Error::LandingUrlNotAllowed)
        );
        assert_eq!(
            check_landing_url("https://shop.dk./", &strings(&["", "."])),
            Err(Error::LandingUrlNotAllowed)
        );
    }

    #[test]
    fn host_on_domain_is_label_bounded() {
        assert!(host_on_domain("shop.dk", "shop.dk"));
        assert!(host_on_domain("a.shop.dk", "shop.dk"));
        assert!(host_on_domain("a.shop.dk", "shop.dk."));
        assert!(!host_on_domain("ashop.dk", "shop.dk"));
        assert!(!host_on_domain(".shop.dk", "shop.dk"));
        assert!(!host_on_domain("shop.dk", "a.shop.dk"));
        assert!(!host_on_domain("anything", ""));
    }

    /// A domain that is neither shop.dk nor under it: its last label is never `dk`.
    fn evil_domain() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(label(), 0..3),
            prop::sample::select(vec!["com", "net", "evil", "org", "dkk", "d"]),
        )
            .prop_map(|(labels, tld)| {
                let mut parts = labels;
                parts.push(tld.to_owned());
                parts.join(".")
            })
    }

    fn path_query_fragment() -> impl Strategy<Value = String> {
        (
            "(/[a-zA-Z0-9._~!$&'()*+,;=:@%-]{0,10}){0,3}",
            prop::option::of("[a-zA-Z0-9._~!$&'()*+,;=:@/?%-]{0,20}"),
            prop::option::of("[a-zA-Z0-9._~!$&'()*+,;=:@/?#%-]{0,12}"),
        )
            .prop_map(|(path, query, fragment)| {
                let mut s = path;
                if let Some(q) = query {
                    s.push('?');
                    s.push_str(&q);
                }
                if let Some(f) = fragment {
                    s.push('#');
                    s.push_str(&f);
                }
                s
            })
    }

    /// Hosts and URLs that look like shop.dk but are not on it.
    fn hostile_url() -> impl Strategy<Value = String> {
        let glued_prefix =
            (prop::collection::vec(label(), 1..3), label()).prop_map(|(labels, glued)| {
                format!(
                    "https://{}{glued}shop.dk/",
                    labels.iter().map(|l| format!("{l}.")).collect::<String>()
                )
            });
        let simple_prefix = label().prop_map(|l| format!("https://{l}shop.dk/"));
        let glued_suffix = "[a-z0-9-]{1,8}".prop_map(|s| format!("https://shop.dk{s}/"));
        let dotted_suffix = evil_domain().prop_map(|evil| format!("https://shop.dk.{evil}/"));
        let encoded_dot = evil_domain().prop_map(|evil| format!("https://shop.dk%2e{evil}/"));
        let sub_then_evil =
            (label(), evil_domain()).prop_map(|(l, evil)| format!("https://{l}.shop.dk.{evil}/"));
        let userinfo = (
            prop::option::of(label()),
            evil_domain(),
            prop::option::of("[a-z0-9]{0,6}"),
        )
            .prop_map(|(sub, evil, pw)| {
                let user = sub.map_or("shop.dk".to_owned(), |s| format!("{s}.shop.dk"));
                match pw {
                    Some(pw) => format!("https://{user}:{pw}@{evil}/"),
                    None => format!("https://{user}@{evil}/"),
                }
            });
        let separator_tricks = (
            evil_domain(),
            prop::sample::select(vec!["\\@", "#@", "?@", "/@", "\\", ";@"]),
        )
            .prop_map(|(evil, sep)| format!("https://{evil}{sep}shop.dk/"));
        let own_userinfo = label().prop_map(|u| format!("https://{u}@shop.dk/"));
        let wrong_scheme = (
            prop::sample::select(vec!["http", "ftp", "javascript", "data", "wss", "file"]),
            label(),
        )
            .prop_map(|(scheme, l)| format!("{scheme}://{l}.shop.dk/"));
        let ip =
            (any::<[u8; 4]>(), any::<[u16; 8]>(), any::<bool>()).prop_map(|(v4, v6, use_v4)| {
                if use_v4 {
                    format!("https://{}.{}.{}.{}/", v4[0], v4[1], v4[2], v4[3])
                } else {
                    let v6: Vec<String> = v6.iter().map(|g| format!("{g:x}")).collect();
                    format!("https://[{}]/", v6.join(":"))
                }
            });
        prop_oneof![
            glued_prefix,
            simple_prefix,
            glued_suffix,
            dotted_suffix,
            encoded_dot,
            sub_then_evil,
            userinfo,
            separator_tricks,
            own_userinfo,
            wrong_scheme,
            ip,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn hostile_urls_are_never_allowed(raw in hostile_url(), tail in path_query_fragment()) {
            let raw = format!("{}{}", raw.trim_end_matches('/'), if tail.is_empty() { "/" } else { &tail });
            let result = check_landing_url(&raw, &shop());
            let refused = matches!(
                &result,
                Err(Error::LandingUrlNotAllowed)
            ) || matches!(&result, Err(Error::InvalidField { field, .. }) if field == "landing_url");
            prop_assert!(refused, "{raw:?} -> {result:?}");
        }

        #[test]
        fn subdomains_of_shop_dk_are_allowed(
            labels in prop::collection::vec(label(), 0..5),
            upper in any::<bool>(),
            trailing_dot in any::<bool>(),
            explicit_443 in any::<bool>(),
            tail in path_query_fragment(),
        ) {
            let mut host: String = labels.iter().map(|l| format!("{l}.")).collect();
            host.push_str("shop.dk");
            if upper {
                host = host.to_uppercase();
            }
            if trailing_dot {
                host.push('.');
            }
            let port = if explicit_443 { ":443" } else { "" };
            let raw = format!("https://{host}{port}{tail}");
            let url = check_landing_url(&raw, &shop());
            prop_assert!(url.is_ok(), "{raw:?} -> {url:?}");
            let url = url.unwrap();
            prop_assert_eq!(url.port(), None);
            let got = url.host_str().unwrap_or_default().trim_end_matches('.').to_owned();
            prop_assert_eq!(got, host.trim_end_matches('.').to_lowercase());
        }

        #[test]
        fn other_ports_of_shop_dk_are_never_allowed(
            labels in prop::collection::vec(label(), 0..3),
            port in 0u16..,
            tail in path_query_fragment(),
        ) {
            prop_assume!(port != 443);
            let subdomains: String = labels.iter().map(|l| format!("{l}.")).collect();
            let raw = format!("https://{subdomains}shop.dk:{port}{tail}");
            prop_assert_eq!(check_landing_url(&raw, &shop()), Err(Error::LandingUrlNotAllowed), "{:?}", raw);
        }


        #[test]
        fn landing_url_never_panics_on_any_string(raw in ".*") {
            if let Ok(url) = check_landing_url(&raw, &shop()) {
                let _ = redirect_url(&url, "cc", "t");
            }
        }

        #[test]
        fn landing_url_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let raw = String::from_utf8_lossy(&bytes);
            let _ = check_landing_url(&raw, &shop());
            let _ = check_landing_url(&format!("https://{raw}"), &shop());
            let _ = check_landing_url(&format!("https://shop.dk/{raw}"), &shop());
            let _ = normalize_domain("d", &raw);
        }

        #[test]
        fn landing_url_never_panics_on_url_like_strings(
            host in "[a-zA-Z0-9.%@:\\[\\]\\\\/#?*\u{ff0e}\u{3002}-]{0,30}",
            tail in ".{0,20}",
        ) {
            let raw = format!("https://{host}{tail}");
            if let Ok(url) = check_landing_url(&raw, &shop()) {
                let host = url.host_str().unwrap_or_default().trim_end_matches('.');
                prop_assert!(host == "shop.dk" || host.ends_with(".shop.dk"), "{raw:?} -> {url}");
                prop_assert_eq!(url.port(), None);
                prop_assert_eq!(url.scheme(), "https");
                prop_assert!(url.username().is_empty() && url.password().is_none());
            }
        }

        #[test]
        fn normalised_domains_are_accepted_landing_hosts(labels in prop::collection::vec(label(), 1..4), tld in "[a-z]{2,6}") {
            let raw = format!("{}.{tld}", labels.join("."));
            // Names that are themselves public suffixes (`co.uk`, any `x.bd`)
            // are refused, see `domain_refuses_public_suffixes`.
            prop_assume!(psl::domain(raw.to_lowercase().as_bytes()).is_some());
            let domain = normalize_domain("d", &raw).unwrap();
            prop_assert_eq!(&domain, &raw.to_lowercase());
            let allowed = vec![domain.clone()];
            let landing = format!("https://{domain}/");
            prop_assert!(check_landing_url(&landing, &allowed).is_ok());
            let landing = format!("https://www.{domain}/");
            prop_assert!(check_landing_url(&landing, &allowed).is_ok());
            let landing = format!("https://x{domain}/");
            prop_assert_eq!(check_landing_url(&landing, &allowed), Err(Error::LandingUrlNotAllowed));
        }
    }
}
