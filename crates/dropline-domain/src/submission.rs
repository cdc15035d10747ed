//! Checks run just before a supplier order is submitted: what the supplier needs for the
//! destination (phone, tax id, address line length and script), a fresh quote against the
//! cost expected at routing, and whether each supplier variant still exists (SKU drift).
//!
//! A failed check holds the supplier order; every issue names its field, says why in words,
//! and suggests the fix the seller can make. Pure: the caller fetches the quote and passes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::catalog::SupplierKind;
use crate::money::{Currency, Money};
use crate::order::SupplierOrder;
use crate::state::snake_enum;

/// The stable values of [`SubmissionIssue::code`].
pub mod codes {
    /// The supplier needs a phone number and the address has none.
    pub const PHONE_MISSING: &str = "phone_missing";
    /// The phone number cannot be read, or is not a valid number for the destination.
    pub const PHONE_IMPLAUSIBLE: &str = "phone_implausible";
    /// The destination's customs need a tax id and none was given.
    pub const TAX_ID_REQUIRED: &str = "tax_id_required";
    /// The tax id does not have the destination's format or check digits.
    pub const TAX_ID_MALFORMED: &str = "tax_id_malformed";
    /// An address field is longer than the supplier's form accepts.
    pub const LINE_TOO_LONG: &str = "line_too_long";
    /// An address field holds letters of a script other than Latin.
    pub const NON_LATIN_SCRIPT: &str = "non_latin_script";
    /// The supplier's variant no longer exists, or the quote has no price for it.
    pub const SKU_MISSING_AT_SUPPLIER: &str = "sku_missing_at_supplier";
    /// The quoted units plus shipping exceed the expected cost by more than the tolerance.
    pub const PRICE_ABOVE_TOLERANCE: &str = "price_above_tolerance";
    /// The quote is in another currency than the expected cost.
    pub const CURRENCY_MISMATCH: &str = "currency_mismatch";
}

snake_enum!(
    /// What the seller can do to release a held supplier order.
    SuggestedFix {
        /// Correct the shipping address (phone, line length, script).
        EditAddress => "edit_address",
        /// Enter the customer's tax id for the destination's customs.
        AddTaxId => "add_tax_id",
        /// Map the store variant to a supplier variant that exists.
        RemapVariant => "remap_variant",
        /// Accept the supplier's new price.
        AcceptNewPrice => "accept_new_price",
        /// Move the lines to another supplier.
        SwitchSupplier => "switch_supplier",
        /// Look at the supplier's own order list and record (or cancel) what is there.
        CheckAtSupplier => "check_at_supplier",
    }
);

/// One reason a supplier order cannot be submitted as it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubmissionIssue {
    /// The field, e.g. `ship_to.address1`, `tax_id`, `lines[0].supplier_sku`, `quote.shipping`.
    pub field: String,
    /// One of [`codes`].
    pub code: &'static str,
    /// Human explanation.
    pub message: String,
    pub fix: SuggestedFix,
}

/// How a destination's tax id is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxIdFormat {
    /// Brazil: a CPF (person, 11 digits) or CNPJ (company, 14 digits), with check digits.
    BrazilCpfOrCnpj,
    /// Chile: a RUT, up to 8 digits and a mod-11 check character (0-9 or K).
    ChileRut,
    /// South Korea: a personal customs clearance code, `P` and 12 digits.
    KoreaCustomsCode,
    /// Any non-blank value, for destinations whose format is not checked here.
    AnyNonBlank,
}

/// A destination whose customs need the recipient's tax id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxIdRule {
    /// ISO 3166-1 alpha-2 code of the destination.
    pub country: String,
    /// What the id is called there, for messages ("CPF or CNPJ").
    pub name: String,
    pub format: TaxIdFormat,
}

impl TaxIdRule {
    /// A rule for a destination.
    pub fn new(country: &str, name: &str, format: TaxIdFormat) -> Self {
        Self {
            country: country.to_string(),
            name: name.to_string(),
            format,
        }
    }
}

/// The destinations whose customs refuse a parcel without the recipient's tax id, whoever
/// the supplier is. Callers extend [`SupplierRequirements::tax_id_rules`] with others.
pub fn default_tax_id_rules() -> Vec<TaxIdRule> {
    vec![
        TaxIdRule::new("BR", "CPF or CNPJ", TaxIdFormat::BrazilCpfOrCnpj),
        TaxIdRule::new("CL", "RUT", TaxIdFormat::ChileRut),
        TaxIdRule::new("KR", "personal customs clearance code", TaxIdFormat::KoreaCustomsCode),
    ]
}

/// What a supplier needs before it accepts an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierRequirements {
    /// Longest address field the supplier's form accepts, in characters.
    pub max_line_length: usize,
    /// Whether the supplier's form refuses letters outside the Latin script.
    pub latin_script_only: bool,
    /// Whether the supplier refuses an order without a valid phone number. When false the
    /// phone is not judged at all: a supplier that does not need it does not reject it.
    pub phone_required: bool,
    /// Destinations that need a tax id.
    pub tax_id_rules: Vec<TaxIdRule>,
}

/// Default requirements of a kind of supplier; callers adjust them per supplier.
///
/// - AliExpress: its order form cuts address fields at about 120 characters, accepts Latin
///   letters only, and needs a phone for every destination.
/// - CJ: fields up to 200 characters, Latin only, phone required.
/// - Sourcing agent: people who retype the order into Chinese platforms, so Latin only and a
///   phone, with the platforms' 200-character fields.
/// - Warehouse (the seller's own 3PL) and manual suppliers: a person or a local system that
///   reads any script; 255 characters (a common column width); no phone needed.
pub fn requirements_for(kind: SupplierKind) -> SupplierRequirements {
    let (max_line_length, latin_script_only, phone_required) = match kind {
        SupplierKind::Aliexpress => (120, true, true),
        SupplierKind::Cj => (200, true, true),
        SupplierKind::Agent => (200, true, true),
        SupplierKind::Warehouse | SupplierKind::Manual => (255, false, false),
    };
    SupplierRequirements {
        max_line_length,
        latin_script_only,
        phone_required,
        tax_id_rules: default_tax_id_rules(),
    }
}

/// A fresh quote the caller got from the supplier just before submitting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Unit cost per supplier SKU.
    pub unit_costs: BTreeMap<String, Money>,
    /// Shipping for the whole supplier order to its destination.
    pub shipping: Money,
    /// Whether each supplier SKU still exists. A SKU not listed here counts as existing when
    /// the quote prices it.
    pub variant_exists: BTreeMap<String, bool>,
}

/// Checks a supplier order against its supplier's requirements and, when given, a fresh
/// quote. An empty result means the order can be submitted.
///
/// `tolerance_bp` is how far, in basis points of `order.expected_cost`, the quoted total
/// (units × quantities + shipping) may rise: exactly at the tolerance passes. The price is
/// only compared when every line is quoted, in the expected cost's currency.
pub fn check_submission(
    order: &SupplierOrder,
    requirements: &SupplierRequirements,
    tax_id: Option<&str>,
    quote: Option<&Quote>,
    tolerance_bp: u32,
) -> Vec<SubmissionIssue> {
    let mut issues = Vec::new();
    let country = order.ship_to.country_code.trim().to_ascii_uppercase();
    if requirements.phone_required {
        check_phone(&order.ship_to, &country, &mut issues);
    }
    check_tax_id(&country, &requirements.tax_id_rules, tax_id, &mut issues);
    check_address_fields(&order.ship_to, requirements, &mut issues);
    if let Some(quote) = quote {
        check_quote(order, quote, tolerance_bp, &mut issues);
    }
    issues
}

fn issue(field: &str, code: &'static str, message: String, fix: SuggestedFix) -> SubmissionIssue {
    SubmissionIssue {
        field: field.to_string(),
        code,
        message,
        fix,
    }
}

fn check_phone(ship_to: &Address, country: &str, issues: &mut Vec<SubmissionIssue>) {
    let phone = ship_to.phone.as_deref().unwrap_or("").trim();
    if phone.is_empty() {
        issues.push(issue(
            "ship_to.phone",
            codes::PHONE_MISSING,
            "The supplier needs the recipient's phone number and the address has none.".to_string(),
            SuggestedFix::EditAddress,
        ));
        return;
    }
    let region = country.parse::<phonenumber::country::Id>().ok();
    let valid = phonenumber::parse(region, phone).is_ok_and(|number| number.is_valid());
    if !valid {
        issues.push(issue(
            "ship_to.phone",
            codes::PHONE_IMPLAUSIBLE,
            format!(
                "Phone number {} is not a valid number for destination {}; the supplier would refuse it.",
                shown(phone),
                shown(country)
            ),
            SuggestedFix::EditAddress,
        ));
    }
}

/// Checks a recipient's tax id for a destination against its rule (none: any text passes);
/// the issue names what is wrong.
pub fn check_tax_id_for(country: &str, tax_id: &str) -> Result<(), SubmissionIssue> {
    let mut issues = Vec::new();
    check_tax_id(
        &country.trim().to_ascii_uppercase(),
        &default_tax_id_rules(),
        Some(tax_id),
        &mut issues,
    );
    match issues.into_iter().next() {
        Some(issue) => Err(issue),
        None => Ok(()),
    }
}

fn check_tax_id(country: &str, rules: &[TaxIdRule], tax_id: Option<&str>, issues: &mut Vec<SubmissionIssue>) {
    let Some(rule) = rules
        .iter()
        .find(|rule| rule.country.trim().eq_ignore_ascii_case(country))
    else {
        return;
    };
    let tax_id = tax_id.unwrap_or("").trim();
    if tax_id.is_empty() {
        issues.push(issue(
            "tax_id",
            codes::TAX_ID_REQUIRED,
            format!(
                "Customs in {} need the recipient's {}; add it before the order goes to the supplier.",
                rule.country, rule.name
            ),
            SuggestedFix::AddTaxId,
        ));
        return;
    }
    let well_formed = match rule.format {
        TaxIdFormat::BrazilCpfOrCnpj => is_valid_cpf(tax_id) || is_valid_cnpj(tax_id),
        TaxIdFormat::ChileRut => is_valid_rut(tax_id),
        TaxIdFormat::KoreaCustomsCode => is_valid_korea_customs_code(tax_id),
        TaxIdFormat::AnyNonBlank => true,
    };
    if !well_formed {
        issues.push(issue(
            "tax_id",
            codes::TAX_ID_MALFORMED,
            format!("{} is not a valid {} for {}.", shown(tax_id), rule.name, rule.country),
            SuggestedFix::AddTaxId,
        ));
    }
}

fn check_address_fields(ship_to: &Address, requirements: &SupplierRequirements, issues: &mut Vec<SubmissionIssue>) {
    let fields: [(&str, &str); 8] = [
        ("ship_to.first_name", &ship_to.first_name),
        ("ship_to.last_name", &ship_to.last_name),
        ("ship_to.company", ship_to.company.as_deref().unwrap_or("")),
        ("ship_to.address1", &ship_to.address1),
        ("ship_to.address2", ship_to.address2.as_deref().unwrap_or("")),
        ("ship_to.city", &ship_to.city),
        ("ship_to.region", ship_to.region.as_deref().unwrap_or("")),
        ("ship_to.postal_code", &ship_to.postal_code),
    ];
    for (field, value) in fields {
        let value = value.trim();
        let length = value.chars().count();
        if length > requirements.max_line_length {
            issues.push(issue(
                field,
                codes::LINE_TOO_LONG,
                format!(
                    "The field is {length} characters long; the supplier accepts at most {}.",
                    requirements.max_line_length
                ),
                SuggestedFix::EditAddress,
            ));
        }
        if requirements.latin_script_only
            && let Some(letter) = value.chars().find(|&c| !is_latin_or_neutral(c))
        {
            issues.push(issue(
                field,
                codes::NON_LATIN_SCRIPT,
                format!(
                    "The field contains {letter:?}, which is not in the Latin alphabet; the supplier only accepts \
                     Latin letters, so write it in Latin transliteration."
                ),
                SuggestedFix::EditAddress,
            ));
        }
    }
}

/// Whether a character passes a Latin-only form: ASCII, the Latin letter blocks (accented
/// letters such as é, ñ, ł), combining accents, and anything that is neither a letter nor
/// a digit (spaces, punctuation, symbols). Letters and digits of other scripts do not pass,
/// including full-width forms.
fn is_latin_or_neutral(c: char) -> bool {
    if c.is_ascii() {
        return true;
    }
    let latin_block = matches!(
        u32::from(c),
        0x00A0..=0x024F      // Latin-1 Supplement, Latin Extended-A and -B
            | 0x0250..=0x02AF // IPA extensions
            | 0x0300..=0x036F // combining diacritical marks
            | 0x1E00..=0x1EFF // Latin Extended Additional (Vietnamese, Welsh)
            | 0x2C60..=0x2C7F // Latin Extended-C
            | 0xA720..=0xA7FF // Latin Extended-D
    );
    latin_block || !c.is_alphanumeric()
}

fn check_quote(order: &SupplierOrder, quote: &Quote, tolerance_bp: u32, issues: &mut Vec<SubmissionIssue>) {
    let expected = order.expected_cost;
    let mut all_comparable = true;
    let mut quoted_total: i128 = 0;
    for (index, line) in order.lines.iter().enumerate() {
        let sku = line.supplier_sku.as_str();
        let exists = quote.variant_exists.get(sku).copied().unwrap_or(true);
        let unit_cost = quote.unit_costs.get(sku);
        match (exists, unit_cost) {
            (true, Some(unit_cost)) if unit_cost.currency == expected.currency => {
                quoted_total += i128::from(unit_cost.minor) * i128::from(line.quantity);
            }
            (true, Some(unit_cost)) => {
                all_comparable = false;
                issues.push(currency_mismatch(
                    &format!("quote.unit_costs[{}]", shown(sku)),
                    unit_cost.currency,
                    expected.currency,
                ));
            }
            (false, _) | (true, None) => {
                all_comparable = false;
                let message = if exists {
                    format!(
                        "The supplier's quote has no price for SKU {}; its variant may be gone.",
                        shown(sku)
                    )
                } else {
                    format!("The supplier no longer has SKU {}.", shown(sku))
                };
                issues.push(issue(
                    &format!("lines[{index}].supplier_sku"),
                    codes::SKU_MISSING_AT_SUPPLIER,
                    message,
                    SuggestedFix::RemapVariant,
                ));
            }
        }
    }
    if quote.shipping.currency != expected.currency {
        all_comparable = false;
        issues.push(currency_mismatch(
            "quote.shipping",
            quote.shipping.currency,
            expected.currency,
        ));
    } else {
        quoted_total += i128::from(quote.shipping.minor);
    }
    if !all_comparable {
        return;
    }
    // quoted ≤ expected × (1 + bp / 10 000), multiplied out to stay in integers. The
    // tolerance is a share of the expected amount's size, so it also widens a negative one.
    let expected_minor = i128::from(expected.minor);
    let allowed_scaled = expected_minor * 10_000 + expected_minor.abs() * i128::from(tolerance_bp);
    if quoted_total * 10_000 > allowed_scaled {
        let quoted = i64::try_from(quoted_total)
            .map(|minor| Money::new(minor, expected.currency).to_string())
            .unwrap_or_else(|_| format!("{quoted_total} minor units of {}", expected.currency));
        issues.push(issue(
            "expected_cost",
            codes::PRICE_ABOVE_TOLERANCE,
            format!(
                "The supplier now quotes {quoted} for units and shipping, more than the expected {expected} plus the \
                 store's tolerance of {tolerance_bp} basis points."
            ),
            SuggestedFix::AcceptNewPrice,
        ));
    }
}

fn currency_mismatch(field: &str, quoted: Currency, expected: Currency) -> SubmissionIssue {
    issue(
        field,
        codes::CURRENCY_MISMATCH,
        format!(
            "The supplier quotes in {quoted} but the order's cost was expected in {expected}; the two cannot be \
             compared, so move the lines to a supplier that prices in {expected} or re-create the offer."
        ),
        SuggestedFix::SwitchSupplier,
    )
}

/// A value quoted for a message, cut short, with control characters escaped.
fn shown(value: &str) -> String {
    const MAX_CHARS: usize = 40;
    if value.chars().count() <= MAX_CHARS {
        format!("{value:?}")
    } else {
        let start: String = value.chars().take(MAX_CHARS).collect();
        format!("{:?}", format!("{start}…"))
    }
}

// The tax-id checks below are the public algorithms of each country's tax authority, written
// here by hand: they are a few lines each.

/// The digits of `text` when it holds only digits and the given separators.
fn digits_with_separators(text: &str, separators: &[char]) -> Option<Vec<u32>> {
    let mut digits = Vec::new();
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10).filter(|_| c.is_ascii_digit()) {
            digits.push(digit);
        } else if !separators.contains(&c) {
            return None;
        }
    }
    Some(digits)
}

fn all_same(digits: &[u32]) -> bool {
    digits.windows(2).all(|pair| pair[0] == pair[1])
}

/// Brazil's CPF: 9 digits and two check digits. Each check digit is the weighted sum of the
/// digits before it (weights counting down to 2) times 10, modulo 11, with 10 read as 0.
/// Numbers of one repeated digit pass the arithmetic but are not issued.
pub fn is_valid_cpf(text: &str) -> bool {
    let Some(digits) = digits_with_separators(text, &['.', '-', ' ']) else {
        return false;
    };
    if digits.len() != 11 || all_same(&digits) {
        return false;
    }
    let check = |count: usize| {
        let sum: u32 = digits[..count]
            .iter()
            .zip((2..=count as u32 + 1).rev())
            .map(|(digit, weight)| digit * weight)
            .sum();
        (sum * 10 % 11) % 10
    };
    check(9) == digits[9] && check(10) == digits[10]
}

/// Brazil's CNPJ: 12 digits and two check digits, each from the digits before it weighted
/// 2..9 from the right (repeating), as 11 − sum mod 11, with 10 and 11 read as 0.
pub fn is_valid_cnpj(text: &str) -> bool {
    let Some(digits) = digits_with_separators(text, &['.', '-', '/', ' ']) else {
        return false;
    };
    if digits.len() != 14 || all_same(&digits) {
        return false;
    }
    let check = |count: usize| {
        let sum: u32 = digits[..count]
            .iter()
            .rev()
            .zip([2, 3, 4, 5, 6, 7, 8, 9].iter().cycle())
            .map(|(digit, weight)| digit * weight)
            .sum();
        let remainder = sum % 11;
        if remainder < 2 { 0 } else { 11 - remainder }
    };
    check(12) == digits[12] && check(13) == digits[13]
}

/// Chile's RUT: up to 8 digits, then a check character. The digits, from the right, are
/// weighted 2..7 (repeating); 11 − sum mod 11 gives the check, with 11 written 0 and 10 `K`.
pub fn is_valid_rut(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
    let (body, check) = match compact.split_once('-') {
        Some((body, check)) => (body.to_string(), check.to_string()),
        None if compact.len() >= 2 && compact.is_ascii() => {
            let (body, check) = compact.split_at(compact.len() - 1);
            (body.to_string(), check.to_string())
        }
        None => return false,
    };
    if body.is_empty() || body.len() > 8 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = body
        .bytes()
        .rev()
        .map(|b| u32::from(b - b'0'))
        .zip([2, 3, 4, 5, 6, 7].iter().cycle())
        .map(|(digit, weight)| digit * weight)
        .sum();
    let expected = match 11 - sum % 11 {
        11 => '0',
        10 => 'K',
        digit => char::from_digit(digit, 10).unwrap_or('?'),
    };
    let mut check_chars = check.chars();
    matches!((check_chars.next(), check_chars.next()), (Some(c), None) if c.to_ascii_uppercase() == expected)
}

/// South Korea's personal customs clearance code: `P` and 12 digits. Customs publishes no
/// check digit, so only the shape is checked.
pub fn is_valid_korea_customs_code(text: &str) -> bool {
    let text = text.trim();
    let mut chars = text.chars();
    matches!(chars.next(), Some('P' | 'p')) && text.len() == 13 && chars.all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::ids::{LineItemId, OfferId, SupplierId, SupplierOrderId, VariantId};
    use crate::order::SupplierOrderLine;
    use crate::state::SupplierOrderState;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).expect("currency")
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, currency("USD"))
    }

    fn ship_to(country: &str, phone: Option<&str>) -> Address {
        Address {
            first_name: "Ana".into(),
            last_name: "Souza".into(),
            address1: "Avenida Paulista 1000".into(),
            city: "Sao Paulo".into(),
            region: Some("SP".into()),
            postal_code: "01310-100".into(),
            country_code: country.into(),
            phone: phone.map(str::to_string),
            ..Address::default()
        }
    }

    fn line(sku: &str, quantity: u32, unit_cost: i64) -> SupplierOrderLine {
        SupplierOrderLine {
            line_item_id: LineItemId::new(),
            offer_id: OfferId::new(),
            variant_id: VariantId::new(),
            supplier_sku: sku.into(),
            product_url: None,
            title: "Lamp".into(),
            variant_title: None,
            quantity,
            unit_cost: usd(unit_cost),
            supplier_product_id: None,
            supplier_variant_id: None,
        }
    }

    /// A CJ order to the US of 2 × A at 5.00 and 1 × B at 3.00, plus 2.00 shipping: 15.00.
    fn order() -> SupplierOrder {
        SupplierOrder {
            id: SupplierOrderId::new(),
            supplier_id: SupplierId::new(),
            supplier_name: "CJ".into(),
            supplier_kind: SupplierKind::Cj,
            lines: vec![line("A", 2, 500), line("B", 1, 300)],
            ship_to: Address {
                address1: "1600 Amphitheatre Pkwy".into(),
                city: "Mountain View".into(),
                region: Some("CA".into()),
                postal_code: "94043".into(),
                ..ship_to("US", Some("+1 650-253-0000"))
            },
            shipping_method: None,
            expected_cost: usd(1500),
            actual_cost: None,
            cost_rate: None,
            supplier_reference: None,
            idempotency_key: "order-cj-1".into(),
            attempt: 1,
            state: SupplierOrderState::NEW,
            shipments: Vec::new(),
            created_at: datetime!(2026-11-01 10:06 UTC),
            placement: Default::default(),
        }
    }

    fn quote(a: i64, b: i64, shipping: i64) -> Quote {
        Quote {
            unit_costs: [("A".to_string(), usd(a)), ("B".to_string(), usd(b))].into(),
            shipping: usd(shipping),
            variant_exists: [("A".to_string(), true), ("B".to_string(), true)].into(),
        }
    }

    fn cj() -> SupplierRequirements {
        requirements_for(SupplierKind::Cj)
    }

    /// `field code` of every issue, for compact comparisons.
    fn rendered(issues: &[SubmissionIssue]) -> Vec<String> {
        issues
            .iter()
            .map(|issue| format!("{} {}", issue.field, issue.code))
            .collect()
    }

    fn check(
        order: &SupplierOrder,
        requirements: &SupplierRequirements,
        tax_id: Option<&str>,
        quote: Option<&Quote>,
        expected: &[&str],
    ) {
        let issues = check_submission(order, requirements, tax_id, quote, 0);
        assert_eq!(rendered(&issues), expected, "{issues:#?}");
    }

    #[test]
    fn a_complete_order_with_a_matching_quote_has_no_issues() {
        check(&order(), &cj(), None, Some(&quote(500, 300, 200)), &[]);
        check(&order(), &cj(), None, None, &[]);
    }

    #[test]
    fn defaults_differ_by_supplier_kind() {
        let aliexpress = requirements_for(SupplierKind::Aliexpress);
        assert_eq!(aliexpress.max_line_length, 120);
        assert!(aliexpress.latin_script_only && aliexpress.phone_required);
        assert_eq!(cj().max_line_length, 200);
        let manual = requirements_for(SupplierKind::Manual);
        assert!(!manual.latin_script_only && !manual.phone_required);
        for kind in SupplierKind::ALL {
            let countries: Vec<_> = requirements_for(*kind)
                .tax_id_rules
                .iter()
                .map(|rule| rule.country.clone())
                .collect();
            assert_eq!(countries, ["BR", "CL", "KR"]);
        }
    }

    #[test]
    fn a_missing_phone_is_an_issue_only_where_the_supplier_needs_one() {
        let mut no_phone = order();
        no_phone.ship_to.phone = None;
        check(&no_phone, &cj(), None, None, &["ship_to.phone phone_missing"]);
        no_phone.ship_to.phone = Some("   ".into());
        check(&no_phone, &cj(), None, None, &["ship_to.phone phone_missing"]);
        check(&no_phone, &requirements_for(SupplierKind::Warehouse), None, None, &[]);
        let issue = &check_submission(&no_phone, &cj(), None, None, 0)[0];
        assert_eq!(issue.fix, SuggestedFix::EditAddress);
    }

    #[test]
    fn an_implausible_phone_is_an_issue_where_the_supplier_needs_one() {
        let with_phone = |phone: &str| {
            let mut order = order();
            order.ship_to.phone = Some(phone.into());
            order
        };
        for phone in ["123", "(650) 253-000", "call me", "+", "+49 1"] {
            check(
                &with_phone(phone),
                &cj(),
                None,
                None,
                &["ship_to.phone phone_implausible"],
            );
            check(
                &with_phone(phone),
                &requirements_for(SupplierKind::Manual),
                None,
                None,
                &[],
            );
        }
        for phone in ["(650) 253-0000", "+1 650 253 0000", "+44 20 7031 3000"] {
            check(&with_phone(phone), &cj(), None, None, &[]);
        }
        // A national number is read in the destination's numbering plan.
        let mut german = with_phone("030 901820");
        german.ship_to.country_code = "de".into();
        check(&german, &cj(), None, None, &[]);
    }

    #[test]
    fn destinations_in_the_table_need_a_tax_id() {
        let mut brazil = order();
        brazil.ship_to = ship_to("BR", Some("+55 11 91234-5678"));
        check(&brazil, &cj(), None, None, &["tax_id tax_id_required"]);
        check(&brazil, &cj(), Some("  "), None, &["tax_id tax_id_required"]);
        check(&brazil, &cj(), Some("123.456.789-09"), None, &[]);
        check(
            &brazil,
            &cj(),
            Some("123.456.789-08"),
            None,
            &["tax_id tax_id_malformed"],
        );
        let issues = check_submission(&brazil, &cj(), None, None, 0);
        assert_eq!(issues[0].fix, SuggestedFix::AddTaxId);
        assert!(issues[0].message.contains("CPF or CNPJ"), "{}", issues[0].message);

        let mut chile = order();
        chile.ship_to = ship_to("cl", Some("+56 2 2123 4567"));
        check(&chile, &cj(), None, None, &["tax_id tax_id_required"]);
        check(&chile, &cj(), Some("12.345.678-5"), None, &[]);
        check(&chile, &cj(), Some("12.345.678-4"), None, &["tax_id tax_id_malformed"]);

        let mut korea = order();
        korea.ship_to = ship_to("KR", Some("+82 2-312-3456"));
        check(&korea, &cj(), None, None, &["tax_id tax_id_required"]);
        check(&korea, &cj(), Some("P123456789012"), None, &[]);
        check(&korea, &cj(), Some("P12345678901"), None, &["tax_id tax_id_malformed"]);

        // The US is not in the table: no tax id is asked for, and one given is not judged.
        check(&order(), &cj(), None, None, &[]);
        check(&order(), &cj(), Some("whatever"), None, &[]);
    }

    #[test]
    fn callers_can_extend_the_tax_id_table() {
        let mut requirements = cj();
        requirements
            .tax_id_rules
            .push(TaxIdRule::new("US", "EIN", TaxIdFormat::AnyNonBlank));
        check(&order(), &requirements, None, None, &["tax_id tax_id_required"]);
        check(&order(), &requirements, Some("12-3456789"), None, &[]);
    }

    #[test]
    fn cpf_and_cnpj_check_digits() {
        // 123456789: weights 10..2 give 210; 210 × 10 mod 11 = 10, read as 0. With that 0
        // appended, weights 11..2 give 255; 2550 mod 11 = 9. So 123.456.789-09.
        assert!(is_valid_cpf("123.456.789-09"));
        assert!(is_valid_cpf("12345678909"));
        // 529982247: weights 10..2 give 295; 2950 mod 11 = 2. Then 5299822472 with
        // weights 11..2 gives 347; 3470 mod 11 = 5. So 529.982.247-25.
        assert!(is_valid_cpf("529.982.247-25"));
        for bad in [
            "123.456.789-00",
            "123.456.789-19",
            "11111111111",
            "00000000000",
            "1234567890",
            "123456789091",
        ] {
            assert!(!is_valid_cpf(bad), "{bad}");
        }
        assert!(!is_valid_cpf("123.456.789-0a"));
        assert!(
            !is_valid_cpf("１２３４５６７８９０９"),
            "full-width digits are not digits here"
        );
        // CNPJ 11.222.333/0001-81: 112223330001 weighted 5,4,3,2,9,8,7,6,5,4,3,2 sums to 102;
        // 102 mod 11 = 3, 11 − 3 = 8. Then 1122233300018 weighted 6,5,4,3,2,9,...,2 sums to
        // 120; 120 mod 11 = 10, 11 − 10 = 1.
        assert!(is_valid_cnpj("11.222.333/0001-81"));
        assert!(!is_valid_cnpj("11.222.333/0001-82"));
        assert!(!is_valid_cnpj("00000000000000"));
        let mut brazil = order();
        brazil.ship_to = ship_to("BR", Some("+55 11 91234-5678"));
        check(&brazil, &cj(), Some("11.222.333/0001-81"), None, &[]);
    }

    #[test]
    fn rut_check_character() {
        // 12345678 from the right: 8·2 + 7·3 + 6·4 + 5·5 + 4·6 + 3·7 + 2·2 + 1·3 = 138;
        // 138 mod 11 = 6; 11 − 6 = 5.
        assert!(is_valid_rut("12.345.678-5"));
        assert!(is_valid_rut("123456785"));
        assert!(is_valid_rut("12345678-5"));
        // 6000000: 6·2 = 12; 12 mod 11 = 1; 11 − 1 = 10, written K (either case).
        assert!(is_valid_rut("6.000.000-K"));
        assert!(is_valid_rut("6000000-k"));
        // 31: 1·2 + 3·3 = 11; 11 mod 11 = 0; 11 − 0 = 11, written 0.
        assert!(is_valid_rut("31-0"));
        for bad in [
            "12.345.678-4",
            "12.345.678-K",
            "6.000.000-0",
            "31-K",
            "-5",
            "5",
            "",
            "123456789-0",
            "12a45678-5",
        ] {
            assert!(!is_valid_rut(bad), "{bad}");
        }
        assert!(!is_valid_rut("12345678-55"));
        assert!(!is_valid_rut("1234567é"));
    }

    #[test]
    fn korea_customs_code_shape() {
        assert!(is_valid_korea_customs_code("P123456789012"));
        assert!(is_valid_korea_customs_code("p123456789012"));
        for bad in [
            "123456789012",
            "P1234567890123",
            "P12345678901A",
            "Q123456789012",
            "P１２３４５６７８９０１",
        ] {
            assert!(!is_valid_korea_customs_code(bad), "{bad}");
        }
    }

    #[test]
    fn address_fields_longer_than_the_supplier_accepts_are_issues() {
        let mut requirements = cj();
        requirements.max_line_length = 30;
        let mut order = order();
        order.ship_to.address1 = "a".repeat(30);
        check(&order, &requirements, None, None, &[]);
        // Surrounding spaces are not counted; characters, not bytes, are.
        order.ship_to.address1 = format!("  {}  ", "é".repeat(30));
        check(&order, &requirements, None, None, &[]);
        order.ship_to.address1 = "a".repeat(31);
        check(&order, &requirements, None, None, &["ship_to.address1 line_too_long"]);
        order.ship_to.address2 = Some("b".repeat(31));
        order.ship_to.company = Some("c".repeat(31));
        check(
            &order,
            &requirements,
            None,
            None,
            &[
                "ship_to.company line_too_long",
                "ship_to.address1 line_too_long",
                "ship_to.address2 line_too_long",
            ],
        );
        let issues = check_submission(&order, &requirements, None, None, 0);
        assert!(issues[0].message.contains("31") && issues[0].message.contains("30"));
    }

    #[test]
    fn non_latin_letters_are_issues_only_for_latin_only_suppliers() {
        let mut cyrillic = order();
        cyrillic.ship_to.city = "Москва".into();
        let mut han = order();
        han.ship_to.address1 = "北京市朝阳区建国路1号".into();
        han.ship_to.last_name = "王".into();
        let mut full_width = order();
        full_width.ship_to.postal_code = "９４０４３".into();
        check(&cyrillic, &cj(), None, None, &["ship_to.city non_latin_script"]);
        check(
            &han,
            &cj(),
            None,
            None,
            &[
                "ship_to.last_name non_latin_script",
                "ship_to.address1 non_latin_script",
            ],
        );
        check(
            &full_width,
            &cj(),
            None,
            None,
            &["ship_to.postal_code non_latin_script"],
        );
        let manual = requirements_for(SupplierKind::Manual);
        for order in [&cyrillic, &han, &full_width] {
            check(order, &manual, None, None, &[]);
        }
    }

    #[test]
    fn latin_letters_with_accents_and_punctuation_are_accepted() {
        let mut order = order();
        order.ship_to.first_name = "Zoë-Łucja".into();
        order.ship_to.last_name = "Muñoz Brontë".into();
        order.ship_to.address1 = "Rue de l'Église 12, 2º, Straße Nguyễn".into();
        order.ship_to.address2 = Some("Bâtiment « C » — Apt. №5 · ½".into());
        order.ship_to.city = "Łódź".into();
        // "e" followed by a combining acute accent.
        order.ship_to.company = Some("Cafe\u{301} & Co.".into());
        check(&order, &cj(), None, None, &[]);
    }

    #[test]
    fn a_missing_supplier_variant_is_sku_drift() {
        let mut gone = quote(500, 300, 200);
        gone.variant_exists.insert("B".into(), false);
        check(
            &order(),
            &cj(),
            None,
            Some(&gone),
            &["lines[1].supplier_sku sku_missing_at_supplier"],
        );
        let issue = &check_submission(&order(), &cj(), None, Some(&gone), 0)[0];
        assert_eq!(issue.fix, SuggestedFix::RemapVariant);
        assert!(issue.message.contains("\"B\""), "{}", issue.message);

        // Not priced in the quote at all: the variant cannot be ordered either.
        let mut unpriced = quote(500, 300, 200);
        unpriced.unit_costs.remove("A");
        unpriced.variant_exists.clear();
        check(
            &order(),
            &cj(),
            None,
            Some(&unpriced),
            &["lines[0].supplier_sku sku_missing_at_supplier"],
        );

        // Priced but not listed in `variant_exists`: it exists.
        let mut unlisted = quote(500, 300, 200);
        unlisted.variant_exists.clear();
        check(&order(), &cj(), None, Some(&unlisted), &[]);
    }

    #[test]
    fn the_price_may_rise_up_to_the_tolerance_and_not_one_minor_unit_more() {
        let issues = |quote: &Quote, tolerance_bp: u32| {
            rendered(&check_submission(&order(), &cj(), None, Some(quote), tolerance_bp))
        };
        // Expected 15.00; 500 bp is 5 %, so up to 15.75.
        assert!(
            issues(&quote(500, 300, 275), 500).is_empty(),
            "exactly at the tolerance"
        );
        assert_eq!(
            issues(&quote(500, 300, 276), 500),
            ["expected_cost price_above_tolerance"]
        );
        // With no tolerance, one minor unit over on a unit (× 2) already fails.
        assert!(issues(&quote(500, 300, 200), 0).is_empty());
        assert_eq!(
            issues(&quote(501, 300, 200), 0),
            ["expected_cost price_above_tolerance"]
        );
        assert_eq!(
            issues(&quote(500, 300, 201), 0),
            ["expected_cost price_above_tolerance"]
        );
        // Cheaper is always fine.
        assert!(issues(&quote(1, 1, 0), 0).is_empty());
        // 1 bp of 15.00 is 0.15 minor units: 15.01 is over it.
        assert_eq!(
            issues(&quote(500, 300, 201), 1),
            ["expected_cost price_above_tolerance"]
        );
        assert!(
            issues(&quote(500, 300, 201), 7).is_empty(),
            "7 bp of 1500 is 1.05 minor units"
        );

        let issue = &check_submission(&order(), &cj(), None, Some(&quote(600, 300, 200)), 500)[0];
        assert_eq!(issue.fix, SuggestedFix::AcceptNewPrice);
        assert!(
            issue.message.contains("17.00 USD") && issue.message.contains("15.00 USD"),
            "{}",
            issue.message
        );
    }

    #[test]
    fn a_quote_in_another_currency_is_not_compared() {
        let eur = |minor| Money::new(minor, currency("EUR"));
        let mut shipping_in_eur = quote(500, 300, 200);
        shipping_in_eur.shipping = eur(200);
        check(
            &order(),
            &cj(),
            None,
            Some(&shipping_in_eur),
            &["quote.shipping currency_mismatch"],
        );
        let mut units_in_eur = quote(5000, 300, 200);
        units_in_eur.unit_costs.insert("A".into(), eur(5000));
        check(
            &order(),
            &cj(),
            None,
            Some(&units_in_eur),
            &["quote.unit_costs[\"A\"] currency_mismatch"],
        );
        let issue = &check_submission(&order(), &cj(), None, Some(&units_in_eur), 0)[0];
        assert_eq!(issue.fix, SuggestedFix::SwitchSupplier);
        assert!(issue.message.contains("EUR") && issue.message.contains("USD"));
    }

    #[test]
    fn every_problem_is_reported_in_one_pass() {
        let mut order = order();
        order.ship_to = ship_to("BR", None);
        order.ship_to.city = "São Paulo — 圣保罗".into();
        let mut gone = quote(900, 300, 200);
        gone.variant_exists.insert("B".into(), false);
        check(
            &order,
            &cj(),
            Some("1"),
            Some(&gone),
            &[
                "ship_to.phone phone_missing",
                "tax_id tax_id_malformed",
                "ship_to.city non_latin_script",
                "lines[1].supplier_sku sku_missing_at_supplier",
            ],
        );
    }

    #[test]
    fn codes_and_fixes_serialize_as_snake_case() {
        let mut no_phone = order();
        no_phone.ship_to.phone = None;
        let issues = check_submission(&no_phone, &cj(), None, None, 0);
        let json = serde_json::to_value(&issues[0]).expect("serialize");
        assert_eq!(json["code"], "phone_missing");
        assert_eq!(json["fix"], "edit_address");
        assert_eq!(json["field"], "ship_to.phone");
        assert_eq!(
            SuggestedFix::parse("switch_supplier"),
            Some(SuggestedFix::SwitchSupplier)
        );
    }

    fn money() -> impl Strategy<Value = Money> {
        (any::<i64>(), prop::sample::select(vec!["USD", "EUR", "JPY", "KWD"]))
            .prop_map(|(minor, code)| Money::new(minor, currency(code)))
    }

    fn any_quote() -> impl Strategy<Value = Quote> {
        let sku = prop::sample::select(vec!["A".to_string(), "B".to_string(), "C".to_string(), String::new()]).boxed();
        (
            prop::collection::btree_map(sku.clone().prop_union(any::<String>().boxed()), money(), 0..4),
            money(),
            prop::collection::btree_map(sku, any::<bool>(), 0..4),
        )
            .prop_map(|(unit_costs, shipping, variant_exists)| Quote {
                unit_costs,
                shipping,
                variant_exists,
            })
    }

    fn optional_text() -> impl Strategy<Value = Option<String>> {
        prop::option::of(any::<String>())
    }

    proptest! {
        #[test]
        fn checking_never_panics(
            names in (any::<String>(), any::<String>(), optional_text()),
            streets in (any::<String>(), optional_text(), any::<String>(), optional_text(), any::<String>()),
            country in prop_oneof![
                prop::sample::select(vec!["US", "BR", "CL", "KR", "de", "ZZ", "", "ü"]).prop_map(String::from),
                any::<String>(),
            ],
            phone in prop::option::of(prop_oneof!["[+0-9 ()-]{0,20}", any::<String>()]),
            tax_id in prop::option::of(prop_oneof!["[0-9.\\-/kKpP]{0,16}", any::<String>()]),
            quote in prop::option::of(any_quote()),
            expected in money(),
            quantities in (any::<u32>(), any::<u32>()),
            tolerance_bp in any::<u32>(),
            latin_script_only in any::<bool>(),
            phone_required in any::<bool>(),
            max_line_length in 0usize..300,
        ) {
            let mut order = order();
            order.ship_to = Address {
                first_name: names.0,
                last_name: names.1,
                company: names.2,
                address1: streets.0,
                address2: streets.1,
                city: streets.2,
                region: streets.3,
                postal_code: streets.4,
                country_code: country,
                phone,
            };
            order.expected_cost = expected;
            order.lines[0].quantity = quantities.0;
            order.lines[1].quantity = quantities.1;
            let requirements = SupplierRequirements { max_line_length, latin_script_only, phone_required, ..cj() };
            let issues = check_submission(&order, &requirements, tax_id.as_deref(), quote.as_ref(), tolerance_bp);
            let again = check_submission(&order, &requirements, tax_id.as_deref(), quote.as_ref(), tolerance_bp);
            prop_assert_eq!(&issues, &again);
            for issue in &issues {
                prop_assert!(!issue.field.is_empty() && !issue.message.is_empty());
            }
        }
    }
}
