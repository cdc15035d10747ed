//! What every CSV export of the dashboard and the API shares.

/// A cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR) gets a
/// leading `'`, so a customer's or a seller's text can never run in a spreadsheet.
pub(crate) fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheet_formulas_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("@sum"), "'@sum");
        assert_eq!(cell("Ada"), "Ada");
        assert_eq!(cell(""), "");
    }
}
