//! How the commands draw what they print: `comfy-table` tables with no lines
//! drawn, columns two spaces apart, numbers right-aligned, and no spaces at
//! the ends of lines, so `awk '$1 == "token"'` and the like keep working.
//! Money is printed one way everywhere: minor units, as the contract counts
//! them, then the amount in the currency's own unit
//! (`12500 (125.00 DKK)`, `500 (500 JPY)`).

use comfy_table::{CellAlignment, Table, presets};

use crate::proto;

/// A table without lines, with `header` as its first row (none if empty).
pub(super) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    if !header.is_empty() {
        table.set_header(header.to_vec());
    }
    table
}

/// `name value` lines: what a command says about one thing.
pub(super) fn fields<'a>(rows: impl IntoIterator<Item = (&'a str, String)>) -> Table {
    let mut table = table(&[]);
    for (name, value) in rows {
        table.add_row(vec![name.to_owned(), value]);
    }
    table
}

/// Right-aligns the columns at `columns` (counts, amounts, ranks).
pub(super) fn align_right(table: &mut Table, columns: &[usize]) {
    for &index in columns {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// An amount as every table prints money: `12500 (125.00 DKK)`, with as
/// many decimals as the currency's minor unit has (none for JPY, three for
/// KWD); `12500 XYZ` for a code `iso_currency` does not know.
pub(super) fn money(amount_minor: i64, currency_code: &str) -> String {
    let exponent = iso_currency::Currency::from_code(currency_code).and_then(|c| c.exponent());
    let Some(exponent) = exponent else {
        return format!("{amount_minor} {currency_code}");
    };
    let sign = if amount_minor < 0 { "-" } else { "" };
    let magnitude = amount_minor.unsigned_abs();
    let major = match 10_u64.checked_pow(u32::from(exponent)) {
        Some(1) | None => magnitude.to_string(),
        Some(unit) => format!(
            "{}.{:0width$}",
            magnitude / unit,
            magnitude % unit,
            width = usize::from(exponent)
        ),
    };
    format!("{amount_minor} ({sign}{major} {currency_code})")
}

/// A Money field as [`money`] prints it, or `-` when absent.
pub(super) fn money_of(value: Option<&proto::Money>) -> String {
    value.map_or_else(
        || "-".to_owned(),
        |m| money(m.amount_minor, &m.currency_code),
    )
}

/// Prints `table` to stdout.
pub(super) fn print(table: Table) {
    println!("{}", render(table));
}

/// `table` as text: no padding before the first column, two spaces after
/// each, trailing spaces trimmed.
fn render(mut table: Table) -> String {
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table.trim_fmt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_name_then_value_with_no_lines_drawn() {
        let out = render(fields([
            ("token", "AQ-x_1".to_owned()),
            ("redirect_url", "https://shop.example/p?cc=AQ".to_owned()),
            ("deduplicated", String::new()),
        ]));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "token         AQ-x_1");
        assert_eq!(lines[1], "redirect_url  https://shop.example/p?cc=AQ");
        assert_eq!(lines[2], "deduplicated");
    }

    #[test]
    fn money_is_minor_units_then_the_amount_in_the_currencys_unit() {
        assert_eq!(money(12_500, "DKK"), "12500 (125.00 DKK)");
        assert_eq!(money(5, "EUR"), "5 (0.05 EUR)");
        assert_eq!(money(0, "DKK"), "0 (0.00 DKK)");
        assert_eq!(money(-1_250, "DKK"), "-1250 (-12.50 DKK)");
        assert_eq!(money(500, "JPY"), "500 (500 JPY)");
        assert_eq!(money(1_234, "KWD"), "1234 (1.234 KWD)");
        assert_eq!(money(12, "XYZ"), "12 XYZ");
        assert_eq!(money_of(None), "-");
    }

    #[test]
    fn numbers_are_right_aligned_under_their_header() {
        let mut t = table(&["rank", "id", "value"]);
        t.add_row(vec!["1", "c-1", "12500"]);
        t.add_row(vec!["10", "campaign-two", "7"]);
        align_right(&mut t, &[0, 2]);
        assert_eq!(
            render(t),
            "rank  id            value\n   1  c-1           12500\n  10  campaign-two      7"
        );
    }
}
