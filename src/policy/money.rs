//! Money: which ISO 4217 codes are money, the bounds of an amount, and what
//! a reversal must refund (API.md, "Errors", `INVALID_AMOUNT`).

use crate::error::{Error, Result};
use crate::model::Money;

/// Largest amount in minor units, inclusive (10^12).
pub(crate) const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

/// Checks an amount of money: `currency_code` a known ISO 4217 alphabetic code
/// in upper case that is money, `amount_minor` from 0 to
/// [`MAX_AMOUNT_MINOR`]. Fails with `INVALID_AMOUNT`. A missing `Money`
/// message is the caller's to report.
///
/// Not money, as `iso_currency` flags them: its "special" codes (`XXX` no
/// currency, `XTS` testing, the metals `XAU` `XAG` `XPD` `XPT`, and the units
/// of account `XDR` `XBA`-`XBD` `XSU` `XUA` `XAD`) and its funds (`BOV`
/// `CHE` `CHW` `CLF` `COU` `MXV` `USN` `UYI` `UYW`). Superseded currencies
/// (`HRK`) are still money: a sale made in one may be refunded in it.
pub(crate) fn validate_money(currency_code: &str, amount_minor: i64) -> Result<Money> {
    if currency_code.is_empty() {
        return Err(Error::InvalidAmount("currency_code is missing".to_owned()));
    }
    let Some(currency) = iso_currency::Currency::from_code(currency_code) else {
        return Err(Error::InvalidAmount(
            "currency_code must be an upper-case ISO 4217 code".to_owned(),
        ));
    };
    if currency.is_special() || currency.is_fund() {
        return Err(Error::InvalidAmount(
            "currency_code is not money: a fund, metal, unit of account, testing or no-currency code"
                .to_owned(),
        ));
    }
    if amount_minor < 0 {
        return Err(Error::InvalidAmount(
            "amount_minor must not be negative".to_owned(),
        ));
    }
    if amount_minor > MAX_AMOUNT_MINOR {
        return Err(Error::InvalidAmount(format!(
            "amount_minor must be at most {MAX_AMOUNT_MINOR}"
        )));
    }
    Ok(Money {
        currency: currency_code.to_owned(),
        amount_minor,
    })
}

/// Checks the amount of a reversal, already a valid [`Money`]: a reversal
/// refunds something, so zero is `INVALID_AMOUNT` (it would record a refund
/// of nothing under its reversal_id). A zero-amount sale stays allowed.
pub(crate) fn check_reversal_amount(amount: &Money) -> Result<()> {
    if amount.amount_minor == 0 {
        return Err(Error::InvalidAmount(
            "a reversal must refund more than zero".to_owned(),
        ));
    }
    Ok(())
}

/// Checks a currency code on its own (a top list ranked by revenue in one
/// currency): a code [`validate_money`] takes. Fails with `INVALID_FIELD`
/// naming `field`.
pub(crate) fn validate_currency(field: &str, currency_code: &str) -> Result<()> {
    validate_money(currency_code, 0)
        .map(drop)
        .map_err(|_| Error::invalid_field(field, "must be an upper-case ISO 4217 code"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn money_accepts_known_codes_and_bounds() {
        assert_eq!(
            validate_money("DKK", 0),
            Ok(Money {
                currency: "DKK".to_owned(),
                amount_minor: 0
            })
        );
        assert_eq!(
            validate_money("EUR", MAX_AMOUNT_MINOR).map(|m| m.amount_minor),
            Ok(MAX_AMOUNT_MINOR)
        );
        validate_money("USD", 12_345).unwrap();
    }

    #[test]
    fn money_refuses_lower_case_unknown_and_missing_currency() {
        for code in ["dkk", "Dkk", "ABC", "DK", "DKKK", " DKK", "€"] {
            assert_eq!(
                validate_money(code, 100),
                Err(Error::InvalidAmount(
                    "currency_code must be an upper-case ISO 4217 code".to_owned()
                )),
                "{code:?}"
            );
        }
        assert!(
            matches!(validate_money("", 100), Err(Error::InvalidAmount(m)) if m.contains("missing"))
        );
    }

    /// The ISO 4217 codes that are not money: no currency, testing,
    /// precious metals, units of account and drawing rights, and funds.
    const NOT_MONEY: [&str; 23] = [
        "XXX", "XTS", // no currency, testing
        "XAU", "XAG", "XPD", "XPT", // gold, silver, palladium, platinum
        "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA", "XAD", // units of account
        "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW", // funds
    ];

    #[test]
    fn money_refuses_each_code_that_is_not_money() {
        for code in NOT_MONEY {
            assert!(
                matches!(validate_money(code, 100), Err(Error::InvalidAmount(m)) if m.contains("not money")),
                "{code}: {:?}",
                validate_money(code, 100)
            );
            assert!(
                matches!(validate_money(code, 0), Err(Error::InvalidAmount(_))),
                "{code}"
            );
        }
    }

    #[test]
    fn money_refuses_exactly_the_codes_that_are_not_money() {
        // Every code iso_currency knows, so a new release that marks another
        // code as fund or special shows up here.
        let letters = b'A'..=b'Z';
        let mut refused = Vec::new();
        for a in letters.clone() {
            for b in letters.clone() {
                for c in letters.clone() {
                    let code = String::from_utf8(vec![a, b, c]).unwrap();
                    if iso_currency::Currency::from_code(&code).is_some()
                        && validate_money(&code, 1).is_err()
                    {
                        refused.push(code);
                    }
                }
            }
        }
        let mut want: Vec<String> = NOT_MONEY.iter().map(|c| (*c).to_owned()).collect();
        want.sort();
        assert_eq!(refused, want);
    }

    #[test]
    fn money_accepts_currencies_that_only_look_special() {
        // CFA and CFP francs, East Caribbean dollar and Caribbean guilder
        // start with X but are money; the currencies beside each fund are
        // money; a superseded currency still refunds the sales made in it.
        for code in [
            "XAF", "XOF", "XPF", "XCD", "XCG", "BOB", "CHF", "CLP", "COP", "MXN", "USD", "UYU",
            "HRK",
        ] {
            assert!(validate_money(code, 100).is_ok(), "{code}");
        }
    }

    #[test]
    fn money_refuses_negative_and_over_bound() {
        assert!(
            matches!(validate_money("DKK", -1), Err(Error::InvalidAmount(m)) if m.contains("negative"))
        );
        assert!(matches!(
            validate_money("DKK", i64::MIN),
            Err(Error::InvalidAmount(_))
        ));
        assert!(matches!(
            validate_money("DKK", MAX_AMOUNT_MINOR + 1),
            Err(Error::InvalidAmount(m)) if m.contains("at most")
        ));
        assert!(matches!(
            validate_money("DKK", i64::MAX),
            Err(Error::InvalidAmount(_))
        ));
    }

    // ---- check_reversal_amount ----

    #[test]
    fn a_reversal_refunds_more_than_zero() {
        let zero = validate_money("DKK", 0).unwrap();
        assert_eq!(
            check_reversal_amount(&zero),
            Err(Error::InvalidAmount(
                "a reversal must refund more than zero".to_owned()
            ))
        );
        for amount_minor in [1, 2_500, MAX_AMOUNT_MINOR] {
            let amount = validate_money("DKK", amount_minor).unwrap();
            assert_eq!(check_reversal_amount(&amount), Ok(()), "{amount_minor}");
        }
    }

    // ---- validate_currency ----

    #[test]
    fn a_currency_alone_is_one_that_money_may_be_in() {
        for code in ["DKK", "EUR", "XAF", "HRK"] {
            assert_eq!(validate_currency("currency_code", code), Ok(()), "{code}");
        }
        for code in ["", "dkk", "ABC", "XXX", "XAU", "CHE"] {
            assert_eq!(
                validate_currency("currency_code", code),
                Err(Error::invalid_field(
                    "currency_code",
                    "must be an upper-case ISO 4217 code"
                )),
                "{code:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn money_accepts_exactly_the_bounded_range(amount in any::<i64>()) {
            prop_assert_eq!(validate_money("DKK", amount).is_ok(), (0..=MAX_AMOUNT_MINOR).contains(&amount));
        }
    }
}
