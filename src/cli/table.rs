//! How the commands draw what they print: `comfy-table` tables with no lines
//! drawn, columns two spaces apart, numbers right-aligned, and no spaces at
//! the ends of lines, so `awk '$1 == "token"'` and the like keep working.

use comfy_table::{CellAlignment, Table, presets};

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
