//! Address validation: findings that block (errors) or only inform (warnings), each naming
//! its field. Validation reads the address and never rewrites it.

use serde::{Deserialize, Serialize};

use crate::address::Address;

/// Whether a finding blocks the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The order cannot ship as it is: it goes on hold.
    Error,
    /// Shown to the seller, does not block.
    Warning,
}

/// One thing validation noticed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The field, as named in the API (`postal_code`, `region`, `phone`, ...).
    pub field: String,
    /// Stable snake_case code (`missing`, `bad_format`, `po_box`, ...).
    pub code: String,
    /// Human explanation.
    pub message: String,
    pub severity: Severity,
}

impl Finding {
    /// Whether this finding blocks.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Whether any finding blocks the order.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(Finding::is_error)
}

/// The stable values of [`Finding::code`], for callers that match on them.
pub mod codes {
    /// A required field is empty (or, for a warning, a field carriers usually want).
    pub const MISSING: &str = "missing";
    /// `country_code` is not an assigned ISO 3166-1 alpha-2 code.
    pub const UNKNOWN_COUNTRY: &str = "unknown_country";
    /// `region` is not a state, province or territory of the country.
    pub const UNKNOWN_REGION: &str = "unknown_region";
    /// The postal code does not have the country's format.
    pub const BAD_FORMAT: &str = "bad_format";
    /// The phone number cannot be read or is not a valid number.
    pub const IMPLAUSIBLE_PHONE: &str = "implausible_phone";
    /// An address line names a post office box, which many carriers cannot deliver to.
    pub const PO_BOX: &str = "po_box";
    /// The street line has no house number.
    pub const MISSING_HOUSE_NUMBER: &str = "missing_house_number";
    /// An address line is longer than a carrier label line holds.
    pub const TOO_LONG: &str = "too_long";
}

/// Checks an address for what would stop or trouble its delivery. Pure: the address is only
/// read, and the same address always gives the same findings, in field order.
///
/// Country codes, region codes and postal codes are compared ignoring case and surrounding
/// spaces, so `us`, ` ca ` and `sw1a1aa` are accepted as they are — never rewritten.
pub fn validate_address(address: &Address) -> Vec<Finding> {
    let mut findings = Vec::new();
    let country = check_country(address, &mut findings);
    check_name(address, &mut findings);
    check_street(address, country, &mut findings);
    if is_blank(&address.city) {
        findings.push(error("city", codes::MISSING, "City is missing.".to_string()));
    }
    if let Some(country) = country {
        check_region(address, country, &mut findings);
        check_postal_code(address, country, &mut findings);
    }
    check_phone(address, country, &mut findings);
    findings
}

/// The longest address line accepted without a warning, in characters. Carrier label lines
/// are shorter (UPS and FedEx print 35, DHL 45), but suppliers and carriers split longer
/// lines themselves; past 100 the line usually holds the whole address typed into one field.
const MAX_LINE_CHARS: usize = 100;

/// Every officially assigned ISO 3166-1 alpha-2 code (249), sorted. Written by hand;
/// user-assigned codes such as `XK` (Kosovo) and reserved ones such as `UK` are not in it.
const COUNTRY_CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

/// The assigned code `raw` spells, ignoring case and surrounding spaces.
pub(crate) fn lookup_country(raw: &str) -> Option<&'static str> {
    let upper = raw.trim().to_ascii_uppercase();
    COUNTRY_CODES
        .binary_search(&upper.as_str())
        .ok()
        .map(|index| COUNTRY_CODES[index])
}

fn check_country(address: &Address, findings: &mut Vec<Finding>) -> Option<&'static str> {
    let raw = &address.country_code;
    if is_blank(raw) {
        findings.push(error(
            "country_code",
            codes::MISSING,
            "Country code is missing.".to_string(),
        ));
        return None;
    }
    let country = lookup_country(raw);
    if country.is_none() {
        let hint = if raw.trim().eq_ignore_ascii_case("UK") {
            " The United Kingdom is GB."
        } else {
            ""
        };
        findings.push(error(
            "country_code",
            codes::UNKNOWN_COUNTRY,
            format!(
                "Country code {} is not an ISO 3166-1 alpha-2 country code such as US or DE.{hint}",
                shown(raw)
            ),
        ));
    }
    country
}

fn check_name(address: &Address, findings: &mut Vec<Finding>) {
    // A single name (only the first or only the last) is enough for a label.
    if address.full_name().is_empty() {
        findings.push(error(
            "last_name",
            codes::MISSING,
            "The recipient's name is missing.".to_string(),
        ));
    }
}

/// Countries where addresses commonly carry no house number (descriptive addresses in the
/// Gulf states, named houses and townlands in Ireland), so a street line without one is normal.
const NO_HOUSE_NUMBER_COUNTRIES: &[&str] = &["AE", "BH", "IE", "KW", "OM", "QA"];

fn check_street(address: &Address, country: Option<&str>, findings: &mut Vec<Finding>) {
    let address2 = address.address2.as_deref().unwrap_or("");
    if is_blank(&address.address1) {
        findings.push(error(
            "address1",
            codes::MISSING,
            "The street address (address1) is missing.".to_string(),
        ));
    } else {
        if mentions_po_box(&address.address1) {
            findings.push(po_box_warning("address1"));
        }
        // The number may sit on the second line ("Rose Cottage" / "12 High Street"), and
        // "s/n" (sin número) is how Spanish-speaking countries write "no number" on purpose.
        let numbering_is_normal = country.is_some_and(|code| NO_HOUSE_NUMBER_COUNTRIES.contains(&code));
        if !numbering_is_normal
            && !has_number(&address.address1)
            && !has_number(address2)
            && !address.address1.to_lowercase().contains("s/n")
        {
            findings.push(warning(
                "address1",
                codes::MISSING_HOUSE_NUMBER,
                "The street address has no house or building number.".to_string(),
            ));
        }
        check_line_length("address1", &address.address1, findings);
    }
    if mentions_po_box(address2) {
        findings.push(po_box_warning("address2"));
    }
    check_line_length("address2", address2, findings);
}

fn po_box_warning(field: &str) -> Finding {
    warning(
        field,
        codes::PO_BOX,
        "The address is a post office box, which couriers such as DHL, FedEx and UPS cannot deliver to.".to_string(),
    )
}

fn check_line_length(field: &str, line: &str, findings: &mut Vec<Finding>) {
    let length = line.trim().chars().count();
    if length > MAX_LINE_CHARS {
        findings.push(warning(
            field,
            codes::TOO_LONG,
            format!(
                "The address line is {length} characters long, more than the {MAX_LINE_CHARS} suppliers and carriers \
                 accept; it may hold the whole address in one field."
            ),
        ));
    }
}

/// Whether the line has a number, counting the CJK numerals Japanese and Chinese addresses
/// may use instead of digits.
fn has_number(line: &str) -> bool {
    line.chars()
        .any(|c| c.is_numeric() || "〇一二三四五六七八九十百千".contains(c))
}

/// Post office box phrases in many languages, as whole words after [`words_of`].
const PO_BOX_PHRASES: &[&str] = &[
    "po box",
    "p o box",
    "pobox",
    "pob",
    "post office box",
    "gpo box",
    "locked bag",
    "private bag",
    "postfach",
    "postbus",
    "postboks",
    "apartado",
    "apdo",
    "caixa postal",
    "casilla de correo",
    "casilla postal",
    "casella postale",
    "boite postale",
    "boîte postale",
    "skrytka pocztowa",
];

fn mentions_po_box(line: &str) -> bool {
    let words = format!(" {} ", words_of(line));
    PO_BOX_PHRASES
        .iter()
        .any(|phrase| words.contains(&format!(" {phrase} ")))
}

/// Lower-cased words of `line` separated by single spaces: punctuation becomes a space and
/// letters and digits are split apart, so "P.O.Box12" reads "p o box 12".
fn words_of(line: &str) -> String {
    let mut spaced = String::with_capacity(line.len());
    let mut previous_was_digit: Option<bool> = None;
    for c in line.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            let is_digit = c.is_numeric();
            if previous_was_digit.is_some_and(|was_digit| was_digit != is_digit) {
                spaced.push(' ');
            }
            spaced.push(c);
            previous_was_digit = Some(is_digit);
        } else {
            spaced.push(' ');
            previous_was_digit = None;
        }
    }
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Countries whose carriers need a region (state, province, prefecture) on the label.
const REGION_REQUIRED: &[&str] = &[
    "AR", "AU", "BR", "CA", "CN", "ES", "ID", "IN", "IT", "JP", "MX", "MY", "TH", "US",
];

/// US states, DC, territories, freely associated states and military "states" (AA, AE, AP),
/// as USPS and the storefronts use them. A code may appear twice with different names.
const US_REGIONS: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("DC", "District of Columbia"),
    ("AS", "American Samoa"),
    ("GU", "Guam"),
    ("MP", "Northern Mariana Islands"),
    ("PR", "Puerto Rico"),
    ("VI", "U.S. Virgin Islands"),
    ("VI", "Virgin Islands"),
    ("UM", "U.S. Minor Outlying Islands"),
    ("FM", "Federated States of Micronesia"),
    ("FM", "Micronesia"),
    ("MH", "Marshall Islands"),
    ("PW", "Palau"),
    ("AA", "Armed Forces Americas"),
    ("AE", "Armed Forces Europe"),
    ("AP", "Armed Forces Pacific"),
];

/// Canadian provinces and territories.
const CA_REGIONS: &[(&str, &str)] = &[
    ("AB", "Alberta"),
    ("BC", "British Columbia"),
    ("MB", "Manitoba"),
    ("NB", "New Brunswick"),
    ("NL", "Newfoundland and Labrador"),
    ("NS", "Nova Scotia"),
    ("NT", "Northwest Territories"),
    ("NU", "Nunavut"),
    ("ON", "Ontario"),
    ("PE", "Prince Edward Island"),
    ("QC", "Quebec"),
    ("QC", "Québec"),
    ("SK", "Saskatchewan"),
    ("YT", "Yukon"),
];

/// Australian states and territories.
const AU_REGIONS: &[(&str, &str)] = &[
    ("ACT", "Australian Capital Territory"),
    ("NSW", "New South Wales"),
    ("NT", "Northern Territory"),
    ("QLD", "Queensland"),
    ("SA", "South Australia"),
    ("TAS", "Tasmania"),
    ("VIC", "Victoria"),
    ("WA", "Western Australia"),
];

/// The regions of the countries whose region we check, and how to say what was expected.
fn known_regions(country: &str) -> Option<(&'static [(&'static str, &'static str)], &'static str)> {
    match country {
        "US" => Some((
            US_REGIONS,
            "a state of the United States; expected a two-letter code such as NY",
        )),
        "CA" => Some((
            CA_REGIONS,
            "a province or territory of Canada; expected a two-letter code such as ON",
        )),
        "AU" => Some((
            AU_REGIONS,
            "a state or territory of Australia; expected a code such as NSW",
        )),
        _ => None,
    }
}

fn check_region(address: &Address, country: &str, findings: &mut Vec<Finding>) {
    let region = address.region.as_deref().unwrap_or("");
    if is_blank(region) {
        if REGION_REQUIRED.contains(&country) {
            findings.push(error(
                "region",
                codes::MISSING,
                format!(
                    "The region (state or province) is required for {}.",
                    country_name(country)
                ),
            ));
        }
        return;
    }
    let Some((regions, expected)) = known_regions(country) else {
        return;
    };
    // Accept the code ("NY"), its ISO 3166-2 form ("US-NY") or the name ("New York").
    let region = region.trim();
    let code = region
        .get(..3)
        .filter(|prefix| prefix.eq_ignore_ascii_case(&format!("{country}-")))
        .map_or(region, |_| &region[3..]);
    let lower = region.to_lowercase();
    let known = regions
        .iter()
        .any(|(known_code, name)| code.eq_ignore_ascii_case(known_code) || lower == name.to_lowercase());
    if !known {
        findings.push(error(
            "region",
            codes::UNKNOWN_REGION,
            format!("Region {} is not {expected}.", shown(region)),
        ));
    }
}

/// Whether a country uses postal codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Postal {
    /// Carriers need one: a missing one is an error.
    Required,
    /// The country has postal codes but many addresses go without: a missing one is a warning.
    Optional,
    /// The country has no postal codes: any value is accepted.
    None,
}

/// One country's postal code format.
struct PostalRule {
    country: &'static str,
    name: &'static str,
    postal: Postal,
    /// Accepted shapes: `#` a digit, `@` a letter, `*` a letter or digit, `~` an optional
    /// space; any other character stands for itself. Letters match in either case.
    patterns: &'static [&'static str],
    /// The shapes in words, for the message.
    expected: &'static str,
}

const fn rule(
    country: &'static str,
    name: &'static str,
    postal: Postal,
    patterns: &'static [&'static str],
    expected: &'static str,
) -> PostalRule {
    PostalRule {
        country,
        name,
        postal,
        patterns,
        expected,
    }
}

const fn no_postal_codes(country: &'static str, name: &'static str) -> PostalRule {
    rule(country, name, Postal::None, &[], "")
}

const DIGITS_3: &[&str] = &["###"];
const DIGITS_4: &[&str] = &["####"];
const DIGITS_5: &[&str] = &["#####"];
const DIGITS_6: &[&str] = &["######"];
const DIGITS_7: &[&str] = &["#######"];
const US_ZIP: &[&str] = &["#####", "#####-####"];
const US_ZIP_EXPECTED: &str = "5 digits, or 5+4 as 12345-6789";
/// UK outward code (A9, A99, AA9, AA99, A9A, AA9A), optional space, inward code (9AA).
const UK_POSTCODE: &[&str] = &[
    "@#~#@@", "@##~#@@", "@@#~#@@", "@@##~#@@", "@#@~#@@", "@@#@~#@@", "GIR~0AA",
];
const UK_POSTCODE_EXPECTED: &str = "a UK-style postcode, as SW1A 1AA or M1 1AE";
const FRENCH_OVERSEAS: &str = "5 digits, as in France";

/// Postal code formats by country, sorted by code. Written by hand from general knowledge of
/// each country's postal system (no maintained table exists as a Rust crate), so it checks
/// the shape only: a well-formed code may still not exist. Countries not listed are not
/// checked at all.
#[rustfmt::skip]
const POSTAL_RULES: &[PostalRule] = &[
    no_postal_codes("AE", "the United Arab Emirates"),
    no_postal_codes("AG", "Antigua and Barbuda"),
    no_postal_codes("AO", "Angola"),
    rule("AR", "Argentina", Postal::Required, &["####", "@####@@@"], "4 digits, or the 8-character CPA as C1425DKA",),
    rule("AS", "American Samoa", Postal::Required, US_ZIP, US_ZIP_EXPECTED),
    rule("AT", "Austria", Postal::Required, DIGITS_4, "4 digits, as 1010"),
    rule("AU", "Australia", Postal::Required, DIGITS_4, "4 digits, as 2000"),
    no_postal_codes("AW", "Aruba"),
    rule("AX", "the Åland Islands", Postal::Required, DIGITS_5, "5 digits, as 22100",),
    rule("BD", "Bangladesh", Postal::Required, DIGITS_4, "4 digits, as 1000"),
    rule("BE", "Belgium", Postal::Required, DIGITS_4, "4 digits, as 1000"),
    rule("BG", "Bulgaria", Postal::Required, DIGITS_4, "4 digits, as 1000"),
    rule("BL", "Saint Barthélemy", Postal::Required, DIGITS_5, FRENCH_OVERSEAS),
    no_postal_codes("BO", "Bolivia"),
    rule("BR", "Brazil", Postal::Required, &["#####-###", "########"], "8 digits, as 01310-100",),
    no_postal_codes("BS", "the Bahamas"),
    rule("BY", "Belarus", Postal::Required, DIGITS_6, "6 digits, as 220030"),
    no_postal_codes("BZ", "Belize"),
    rule("CA", "Canada", Postal::Required, &["@#@~#@#"], "letter, digit, letter, digit, letter, digit, as K1A 0B1",),
    rule("CH", "Switzerland", Postal::Required, DIGITS_4, "4 digits, as 8001"),
    rule("CL", "Chile", Postal::Required, &["#######", "###-####"], "7 digits, as 8320000",),
    rule("CN", "China", Postal::Required, DIGITS_6, "6 digits, as 100000"),
    rule("CO", "Colombia", Postal::Optional, DIGITS_6, "6 digits, as 110111"),
    rule("CR", "Costa Rica", Postal::Optional, DIGITS_5, "5 digits, as 10101"),
    no_postal_codes("CW", "Curaçao"),
    rule("CY", "Cyprus", Postal::Required, DIGITS_4, "4 digits, as 1010"),
    rule("CZ", "Czechia", Postal::Required, &["###~##"], "5 digits, as 110 00"),
    rule("DE", "Germany", Postal::Required, DIGITS_5, "5 digits, as 10115"),
    rule("DK", "Denmark", Postal::Required, DIGITS_4, "4 digits, as 1050"),
    rule("EC", "Ecuador", Postal::Optional, DIGITS_6, "6 digits, as 170150"),
    rule("EE", "Estonia", Postal::Required, DIGITS_5, "5 digits, as 10111"),
    rule("EG", "Egypt", Postal::Optional, DIGITS_5, "5 digits, as 11511"),
    rule("ES", "Spain", Postal::Required, DIGITS_5, "5 digits, as 28013"),
    rule("FI", "Finland", Postal::Required, DIGITS_5, "5 digits, as 00100"),
    no_postal_codes("FJ", "Fiji"),
    rule("FO", "the Faroe Islands", Postal::Required, DIGITS_3, "3 digits, as 100",),
    rule("FR", "France", Postal::Required, DIGITS_5, "5 digits, as 75001"),
    rule("GB", "the United Kingdom", Postal::Required, UK_POSTCODE, UK_POSTCODE_EXPECTED,),
    rule("GF", "French Guiana", Postal::Required, DIGITS_5, FRENCH_OVERSEAS),
    rule("GG", "Guernsey", Postal::Required, UK_POSTCODE, UK_POSTCODE_EXPECTED),
    rule("GL", "Greenland", Postal::Required, DIGITS_4, "4 digits, as 3900"),
    rule("GP", "Guadeloupe", Postal::Required, DIGITS_5, FRENCH_OVERSEAS),
    rule("GR", "Greece", Postal::Required, &["###~##"], "5 digits, as 105 57"),
    rule("GU", "Guam", Postal::Required, US_ZIP, US_ZIP_EXPECTED),
    no_postal_codes("HK", "Hong Kong"),
    rule("HR", "Croatia", Postal::Required, DIGITS_5, "5 digits, as 10000"),
    rule("HU", "Hungary", Postal::Required, DIGITS_4, "4 digits, as 1051"),
    rule("ID", "Indonesia", Postal::Required, DIGITS_5, "5 digits, as 10110"),
    rule("IE", "Ireland", Postal::Optional, &["@##~****", "D6W~****"],
         "an Eircode: a letter and 2 digits, then 4 letters or digits, as D02 X285"),
    rule("IL", "Israel", Postal::Required, DIGITS_7, "7 digits, as 6100000"),
    rule("IM", "the Isle of Man", Postal::Required, UK_POSTCODE, UK_POSTCODE_EXPECTED,),
    rule("IN", "India", Postal::Required, &["######", "### ###"], "6 digits, as 110001",),
    rule("IS", "Iceland", Postal::Required, DIGITS_3, "3 digits, as 101"),
    rule("IT", "Italy", Postal::Required, DIGITS_5, "5 digits, as 00144"),
    rule("JE", "Jersey", Postal::Required, UK_POSTCODE, UK_POSTCODE_EXPECTED),
    rule("JP", "Japan", Postal::Required, &["###-####", "#######"], "7 digits, as 100-0001",),
    rule("KE", "Kenya", Postal::Optional, DIGITS_5, "5 digits, as 00100"),
    rule("KR", "South Korea", Postal::Required, DIGITS_5, "5 digits, as 03187"),
    rule("LI", "Liechtenstein", Postal::Required, DIGITS_4, "4 digits, as 9490"),
    rule("LK", "Sri Lanka", Postal::Required, DIGITS_5, "5 digits, as 00100"),
    rule("LT", "Lithuania", Postal::Required, &["LT-#####", "#####"], "5 digits, optionally after LT-, as LT-01100",),
    rule("LU", "Luxembourg", Postal::Required, &["####", "L-####"], "4 digits, as 1009",),
    rule("LV", "Latvia", Postal::Required, &["LV-####", "####"], "4 digits, optionally after LV-, as LV-1050",),
    rule("MA", "Morocco", Postal::Required, DIGITS_5, "5 digits, as 10000"),
    rule("MC", "Monaco", Postal::Required, DIGITS_5, "5 digits, as 98000"),
    rule("MF", "Saint Martin", Postal::Required, DIGITS_5, FRENCH_OVERSEAS),
    no_postal_codes("MO", "Macao"),
    rule("MP", "the Northern Mariana Islands", Postal::Required, US_ZIP, US_ZIP_EXPECTED,),
    rule("MQ", "Martinique", Postal::Required, DIGITS_5, FRENCH_OVERSEAS),
    rule("MT", "Malta", Postal::Required, &["@@@~####"], "3 letters and 4 digits, as VLT 1117",),
    rule("MX", "Mexico", Postal::Required, DIGITS_5, "5 digits, as 06600"),
    rule("MY", "Malaysia", Postal::Required, DIGITS_5, "5 digits, as 50450"),
    rule("NC", "New Caledonia", Postal::Required, DIGITS_5, "5 digits, as 98800"),
    rule("NG", "Nigeria", Postal::Optional, DIGITS_6, "6 digits, as 100001"),
    rule("NL", "the Netherlands", Postal::Required, &["####~@@"], "4 digits and 2 letters, as 1012 AB",),
    rule("NO", "Norway", Postal::Required, DIGITS_4, "4 digits, as 0150"),
    rule("NZ", "New Zealand", Postal::Required, DIGITS_4, "4 digits, as 6011"),
    no_postal_codes("PA", "Panama"),
    rule("PE", "Peru", Postal::Optional, DIGITS_5, "5 digits, as 15001"),
    rule("PF", "French Polynesia", Postal::Required, DIGITS_5, "5 digits, as 98714",),
    rule("PH", "the Philippines", Postal::Required, DIGITS_4, "4 digits, as 1000"),
    rule("PK", "Pakistan", Postal::Required, DIGITS_5, "5 digits, as 44000"),
    rule("PL", "Poland", Postal::Required, &["##-###", "#####"], "5 digits, as 00-950",),
    rule("PM", "Saint Pierre and Miquelon", Postal::Required, DIGITS_5, FRENCH_OVERSEAS,),
    rule("PR", "Puerto Rico", Postal::Required, US_ZIP, US_ZIP_EXPECTED),
    rule("PT", "Portugal", Postal::Required, &["####-###", "#### ###"], "4 digits, a hyphen and 3 digits, as 1000-001"),
    no_postal_codes("QA", "Qatar"),
    rule("RE", "Réunion", Postal::Required, DIGITS_5, FRENCH_OVERSEAS),
    rule("RO", "Romania", Postal::Required, DIGITS_6, "6 digits, as 010011"),
    rule("RS", "Serbia", Postal::Required, DIGITS_5, "5 digits, as 11000"),
    rule("RU", "Russia", Postal::Required, DIGITS_6, "6 digits, as 101000"),
    rule("SA", "Saudi Arabia", Postal::Required, &["#####", "#####-####"], "5 digits, or 5+4 as 12271-1234",),
    rule("SE", "Sweden", Postal::Required, &["###~##"], "5 digits, as 114 55"),
    rule("SG", "Singapore", Postal::Required, DIGITS_6, "6 digits, as 018956"),
    rule("SI", "Slovenia", Postal::Required, &["####", "SI-####"], "4 digits, as 1000",),
    rule("SK", "Slovakia", Postal::Required, &["###~##"], "5 digits, as 811 01"),
    rule("SM", "San Marino", Postal::Required, DIGITS_5, "5 digits, as 47890"),
    rule("TH", "Thailand", Postal::Required, DIGITS_5, "5 digits, as 10110"),
    rule("TR", "Türkiye", Postal::Required, DIGITS_5, "5 digits, as 34000"),
    rule("TW", "Taiwan", Postal::Required, &["###", "#####", "######"], "3, 5 or 6 digits, as 100 or 100012",),
    rule("UA", "Ukraine", Postal::Required, DIGITS_5, "5 digits, as 01001"),
    no_postal_codes("UG", "Uganda"),
    rule("US", "the United States", Postal::Required, US_ZIP, US_ZIP_EXPECTED),
    rule("UY", "Uruguay", Postal::Required, DIGITS_5, "5 digits, as 11000"),
    rule("VA", "Vatican City", Postal::Required, DIGITS_5, "5 digits, as 00120"),
    rule("VI", "the U.S. Virgin Islands", Postal::Required, US_ZIP, US_ZIP_EXPECTED,),
    rule("VN", "Vietnam", Postal::Optional, &["#####", "######"], "5 or 6 digits, as 100000",),
    rule("YT", "Mayotte", Postal::Required, DIGITS_5, FRENCH_OVERSEAS),
    rule("ZA", "South Africa", Postal::Required, DIGITS_4, "4 digits, as 0001"),
    no_postal_codes("ZW", "Zimbabwe"),
];

fn postal_rule(country: &str) -> Option<&'static PostalRule> {
    POSTAL_RULES
        .binary_search_by(|rule| rule.country.cmp(country))
        .ok()
        .map(|index| &POSTAL_RULES[index])
}

/// A readable name for messages: the postal table's, else the code itself.
fn country_name(country: &str) -> &str {
    postal_rule(country).map_or(country, |rule| rule.name)
}

fn check_postal_code(address: &Address, country: &str, findings: &mut Vec<Finding>) {
    let Some(rule) = postal_rule(country) else {
        return;
    };
    let postal_code = address.postal_code.trim();
    if postal_code.is_empty() {
        let message = format!("The postal code is missing; {} uses {}.", rule.name, rule.expected);
        match rule.postal {
            Postal::Required => findings.push(error("postal_code", codes::MISSING, message)),
            Postal::Optional => findings.push(warning("postal_code", codes::MISSING, message)),
            Postal::None => {}
        }
        return;
    }
    if rule.postal != Postal::None
        && !rule
            .patterns
            .iter()
            .any(|pattern| matches_pattern(postal_code, pattern))
    {
        findings.push(error(
            "postal_code",
            codes::BAD_FORMAT,
            format!(
                "Postal code {} is not in the format of {}: expected {}.",
                shown(postal_code),
                rule.name,
                rule.expected
            ),
        ));
    }
}

/// Whether `input` has the shape of `pattern` (see [`PostalRule::patterns`]).
fn matches_pattern(input: &str, pattern: &str) -> bool {
    let mut chars = input.chars().peekable();
    for token in pattern.chars() {
        let fits = match token {
            // Greedy is enough: no pattern has a space right after `~`.
            '~' => {
                chars.next_if_eq(&' ');
                continue;
            }
            '#' => chars.next().is_some_and(|c| c.is_ascii_digit()),
            '@' => chars.next().is_some_and(|c| c.is_ascii_alphabetic()),
            '*' => chars.next().is_some_and(|c| c.is_ascii_alphanumeric()),
            literal => chars.next().is_some_and(|c| c.eq_ignore_ascii_case(&literal)),
        };
        if !fits {
            return false;
        }
    }
    chars.next().is_none()
}

/// Countries whose carriers call the recipient (customs, cash on delivery, descriptive
/// addresses) and commonly refuse a parcel without a phone number.
const PHONE_EXPECTED: &[&str] = &["AE", "BR", "CN", "IN", "MX", "SA"];

fn check_phone(address: &Address, country: Option<&str>, findings: &mut Vec<Finding>) {
    let phone = address.phone.as_deref().unwrap_or("").trim();
    if phone.is_empty() {
        if let Some(country) = country.filter(|country| PHONE_EXPECTED.contains(country)) {
            findings.push(warning(
                "phone",
                codes::MISSING,
                format!(
                    "The phone number is missing; carriers delivering in {} usually require one.",
                    country_name(country)
                ),
            ));
        }
        return;
    }
    // Without a known country only international numbers can be read, and the country
    // finding already blocks the order: no phone finding then.
    let Some(country) = country else {
        return;
    };
    let default_region = country.parse::<phonenumber::country::Id>().ok();
    match phonenumber::parse(default_region, phone) {
        Ok(number) if number.is_valid() => {}
        Ok(_) => findings.push(warning(
            "phone",
            codes::IMPLAUSIBLE_PHONE,
            format!(
                "Phone number {} is not a valid number for {}.",
                shown(phone),
                country_name(country)
            ),
        )),
        Err(_) => findings.push(warning(
            "phone",
            codes::IMPLAUSIBLE_PHONE,
            format!("Phone number {} cannot be read as a phone number.", shown(phone)),
        )),
    }
}

fn is_blank(value: &str) -> bool {
    value.trim().is_empty()
}

/// A customer's value quoted for a message, cut short and with control characters escaped.
fn shown(value: &str) -> String {
    const MAX_CHARS: usize = 40;
    let value = value.trim();
    if value.chars().count() <= MAX_CHARS {
        format!("{value:?}")
    } else {
        let start: String = value.chars().take(MAX_CHARS).collect();
        format!("{:?}", format!("{start}…"))
    }
}

fn error(field: &str, code: &str, message: String) -> Finding {
    Finding {
        field: field.to_string(),
        code: code.to_string(),
        message,
        severity: Severity::Error,
    }
}

fn warning(field: &str, code: &str, message: String) -> Finding {
    Finding {
        field: field.to_string(),
        code: code.to_string(),
        message,
        severity: Severity::Warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A complete, deliverable address in `country`; tests change one thing at a time.
    fn address(country: &str, region: &str, postal_code: &str) -> Address {
        Address {
            first_name: "Ada".to_string(),
            last_name: "Lovelace".to_string(),
            company: None,
            address1: "12 Example Street".to_string(),
            address2: None,
            city: "Exampleton".to_string(),
            region: (!region.is_empty()).then(|| region.to_string()),
            postal_code: postal_code.to_string(),
            country_code: country.to_string(),
            phone: None,
        }
    }

    fn us() -> Address {
        address("US", "NY", "10001")
    }

    /// Findings rendered as `severity field code`, in the order validation gives them.
    fn rendered(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .map(|finding| {
                let severity = if finding.is_error() { "error" } else { "warning" };
                format!("{severity} {} {}", finding.field, finding.code)
            })
            .collect()
    }

    #[track_caller]
    fn check(address: Address, expected: &[&str]) {
        let findings = validate_address(&address);
        assert_eq!(rendered(&findings), expected, "for {address:?}: {findings:#?}");
    }

    fn postal_findings(country: &str, postal_code: &str) -> Vec<String> {
        let findings = validate_address(&address(country, "", postal_code));
        rendered(&findings)
            .into_iter()
            .filter(|finding| finding.contains(" postal_code "))
            .collect()
    }

    #[test]
    fn a_complete_address_has_no_findings() {
        check(us(), &[]);
        check(
            Address {
                phone: Some("+1 650 253 0000".to_string()),
                ..us()
            },
            &[],
        );
        check(address("DE", "", "10115"), &[]);
        check(address("GB", "", "SW1A 1AA"), &[]);
        check(
            Address {
                region: Some("SP".to_string()),
                phone: Some("(11) 91234-5678".to_string()),
                ..address("BR", "", "01310-100")
            },
            &[],
        );
        assert!(!has_errors(&validate_address(&us())));
    }

    #[test]
    fn country_codes_are_assigned_alpha_2_codes_in_any_case() {
        check(
            Address {
                country_code: "us".to_string(),
                ..us()
            },
            &[],
        );
        check(
            Address {
                country_code: " Us ".to_string(),
                ..us()
            },
            &[],
        );
        check(
            Address {
                country_code: String::new(),
                ..us()
            },
            &["error country_code missing"],
        );
        for unknown in ["UK", "XK", "ZZ", "USA", "U", "840", "U$"] {
            check(
                Address {
                    country_code: unknown.to_string(),
                    ..us()
                },
                &["error country_code unknown_country"],
            );
        }
        let findings = validate_address(&Address {
            country_code: "uk".to_string(),
            ..us()
        });
        assert!(findings[0].message.contains("GB"), "{findings:?}");
        assert!(has_errors(&findings));
    }

    #[test]
    fn the_country_table_holds_the_249_assigned_codes_sorted() {
        assert!(COUNTRY_CODES.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(
            COUNTRY_CODES
                .iter()
                .all(|code| code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()))
        );
        for code in ["AQ", "BV", "CW", "GB", "SS", "SX", "TW", "US", "ZW"] {
            assert!(lookup_country(code).is_some(), "{code}");
        }
    }

    #[test]
    fn name_street_and_city_are_required() {
        check(
            Address {
                first_name: String::new(),
                last_name: String::new(),
                ..us()
            },
            &["error last_name missing"],
        );
        check(
            Address {
                first_name: " ".to_string(),
                last_name: "\t".to_string(),
                ..us()
            },
            &["error last_name missing"],
        );
        check(
            Address {
                last_name: String::new(),
                ..us()
            },
            &[],
        );
        check(
            Address {
                first_name: String::new(),
                ..us()
            },
            &[],
        );
        check(
            Address {
                address1: "  ".to_string(),
                ..us()
            },
            &["error address1 missing"],
        );
        check(
            Address {
                city: String::new(),
                ..us()
            },
            &["error city missing"],
        );
        let everything_missing = Address::default();
        check(
            everything_missing,
            &[
                "error country_code missing",
                "error last_name missing",
                "error address1 missing",
                "error city missing",
            ],
        );
    }

    #[test]
    fn region_is_required_where_carriers_need_it() {
        for country in REGION_REQUIRED {
            let rule = postal_rule(country).expect("every region country has a postal rule");
            let sample = rule.patterns[0].replace('#', "1").replace('@', "A").replace('~', " ");
            let findings = rendered(&validate_address(&address(country, "", &sample)));
            assert!(
                findings.contains(&"error region missing".to_string()),
                "{country}: {findings:?}"
            );
        }
        check(address("DE", "", "10115"), &[]);
        check(address("FR", "", "75001"), &[]);
        check(address("BR", "SP", "01310-100"), &["warning phone missing"]);
        check(address("JP", "Tokyo", "100-0001"), &[]);
        check(address("IT", "RM", "00144"), &[]);
    }

    #[test]
    fn us_canadian_and_australian_regions_are_checked() {
        for region in [
            "NY", "ny", " NY ", "US-NY", "New York", "new york", "DC", "PR", "GU", "VI", "AS", "MP", "AA", "AE", "AP",
        ] {
            check(address("US", region, "10001"), &[]);
        }
        for region in ["ZZ", "XX", "NYC", "Ontario", "CA-NY", "N Y"] {
            check(address("US", region, "10001"), &["error region unknown_region"]);
        }
        check(address("US", "", "10001"), &["error region missing"]);
        check(address("US", "   ", "10001"), &["error region missing"]);
        for region in ["ON", "qc", "Québec", "Quebec", "BC", "YT", "NU", "CA-ON"] {
            check(address("CA", region, "K1A 0B1"), &[]);
        }
        for region in ["NY", "PQ", "ONT"] {
            check(address("CA", region, "K1A 0B1"), &["error region unknown_region"]);
        }
        for region in ["NSW", "vic", "ACT", "WA", "Queensland", "AU-QLD"] {
            check(address("AU", region, "2000"), &[]);
        }
        for region in ["NS", "QL", "New South Whales"] {
            check(address("AU", region, "2000"), &["error region unknown_region"]);
        }
        let findings = validate_address(&address("US", "ZZ", "10001"));
        assert_eq!(
            findings[0].message,
            "Region \"ZZ\" is not a state of the United States; expected a two-letter code such as NY."
        );
    }

    /// Real-format postal codes: (country, accepted, refused).
    const POSTAL_CASES: &[(&str, &[&str], &[&str])] = &[
        (
            "AR",
            &["C1425DKA", "c1425dka", "1636"],
            &["C1425DK", "12345", "1425DKA"],
        ),
        ("AS", &["96799", "96799-0001"], &["9679", "96799-01"]),
        ("AT", &["1010", " 1010 "], &["10100", "A-1010"]),
        ("AU", &["2000", "0800"], &["200", "20000"]),
        ("AX", &["22100"], &["2210", "AX-22100x"]),
        ("BD", &["1000"], &["10000"]),
        ("BE", &["1000", "9000"], &["100", "B-1000"]),
        ("BG", &["1000"], &["100"]),
        ("BL", &["97133"], &["9713"]),
        (
            "BR",
            &["01310-100", "01310100"],
            &["01310-10", "0131-0100", "01310 100"],
        ),
        ("BY", &["220030"], &["22003"]),
        (
            "CA",
            &["K1A 0B1", "k1a0b1", "M5V 3L9", "m5v 3l9"],
            &["K1A 0B", "12345", "K1A  0B1", "KKA 0B1"],
        ),
        ("CH", &["8001", "1211"], &["80010", "CH-8001"]),
        ("CL", &["8320000", "832-0000"], &["83200", "83200000"]),
        ("CN", &["100000", "200001"], &["10000", "1000000"]),
        ("CO", &["110111"], &["11011", "1101111"]),
        ("CR", &["10101"], &["1010", "1010a"]),
        ("CY", &["1010"], &["10100"]),
        ("CZ", &["110 00", "11000"], &["110-00", "1100"]),
        ("DE", &["10115", "01067"], &["1011", "D-10115", "101155"]),
        ("DK", &["1050", "8000"], &["DK1050", "105"]),
        ("EC", &["170150"], &["17015"]),
        ("EE", &["10111"], &["1011"]),
        ("EG", &["11511"], &["1151"]),
        ("ES", &["28013", "08001"], &["2801", "280133"]),
        ("FI", &["00100"], &["0010", "FI-00100"]),
        ("FO", &["100"], &["1000"]),
        ("FR", &["75001", "13008"], &["7500", "75 001", "F-75001"]),
        (
            "GB",
            &[
                "SW1A 1AA", "sw1a1aa", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "EC1A 1BB", "W1A 0AX", "GIR 0AA",
            ],
            &["SW1A 1A", "12345", "SW1A-1AA", "SW1A 11A"],
        ),
        ("GF", &["97300"], &["9730"]),
        ("GG", &["GY1 1AA", "gy11aa"], &["GY1"]),
        ("GL", &["3900"], &["390"]),
        ("GP", &["97110"], &["971100"]),
        ("GR", &["105 57", "10557"], &["1055", "105-57"]),
        ("GU", &["96910", "96910-1234"], &["969"]),
        ("HR", &["10000"], &["1000"]),
        ("HU", &["1051"], &["10510"]),
        ("ID", &["10110"], &["1011"]),
        (
            "IE",
            &["D02 X285", "d02x285", "A65 F4E2", "D6W Y2K0"],
            &["D02 X28", "123456", "DD2 X285"],
        ),
        ("IL", &["6100000", "9614303"], &["61000", "610000"]),
        ("IM", &["IM1 1AA"], &["IM1"]),
        ("IN", &["110001", "560 001"], &["11000", "1100011"]),
        ("IS", &["101"], &["1010"]),
        ("IT", &["00144", "20121"], &["0014", "I-00144"]),
        ("JE", &["JE2 3AB"], &["JE2"]),
        ("JP", &["100-0001", "1000001"], &["100-001", "10000", "100 0001"]),
        ("KE", &["00100"], &["0010"]),
        ("KR", &["03187"], &["110-050", "0318"]),
        ("LI", &["9490"], &["949"]),
        ("LK", &["00100"], &["0010"]),
        ("LT", &["LT-01100", "lt-01100", "01100"], &["LT-0110", "LT01100"]),
        ("LU", &["1009", "L-1009"], &["10090"]),
        ("LV", &["LV-1050", "lv-1050", "1050"], &["LV-105", "LV1050"]),
        ("MA", &["10000"], &["1000"]),
        ("MC", &["98000"], &["9800"]),
        ("MF", &["97150"], &["9715"]),
        ("MP", &["96950"], &["9695"]),
        ("MQ", &["97200"], &["9720"]),
        ("MT", &["VLT 1117", "vlt1117"], &["VLT 111", "1117"]),
        ("MX", &["06600", "44100"], &["0660"]),
        ("MY", &["50450"], &["5045"]),
        ("NC", &["98800"], &["9880"]),
        ("NG", &["100001"], &["10000"]),
        ("NL", &["1012 AB", "1012ab", "1012AB"], &["1012", "AB 1012", "1012 A"]),
        ("NO", &["0150"], &["015"]),
        ("NZ", &["6011"], &["601"]),
        ("PE", &["15001"], &["1500"]),
        ("PF", &["98714"], &["9871"]),
        ("PH", &["1000"], &["100"]),
        ("PK", &["44000"], &["4400"]),
        ("PL", &["00-950", "00950"], &["00-95", "0-0950"]),
        ("PM", &["97500"], &["9750"]),
        ("PR", &["00901", "00901-1234"], &["901"]),
        ("PT", &["1000-001", "1000 001"], &["1000", "1000-01"]),
        ("RE", &["97400"], &["9740"]),
        ("RO", &["010011"], &["01001"]),
        ("RS", &["11000"], &["1100"]),
        ("RU", &["101000"], &["10100"]),
        ("SA", &["12271", "12271-1234"], &["1227"]),
        ("SE", &["114 55", "11455"], &["1145", "114-55"]),
        ("SG", &["018956"], &["18956"]),
        ("SI", &["1000", "SI-1000"], &["100"]),
        ("SK", &["811 01", "81101"], &["8110"]),
        ("SM", &["47890"], &["4789"]),
        ("TH", &["10110"], &["1011"]),
        ("TR", &["34000"], &["3400"]),
        ("TW", &["100", "10001", "100012"], &["1000", "1000123"]),
        ("UA", &["01001"], &["0100"]),
        (
            "US",
            &["10001", "10001-1234", " 10001 ", "02134"],
            &["1000", "10001-123", "100011234", "ABCDE", "10001 1234"],
        ),
        ("UY", &["11000"], &["1100"]),
        ("VA", &["00120"], &["0012"]),
        ("VI", &["00802"], &["0080"]),
        ("VN", &["100000", "10000"], &["1000"]),
        ("YT", &["97600"], &["9760"]),
        ("ZA", &["0001", "8001"], &["001", "80001"]),
    ];

    #[test]
    fn postal_codes_have_their_country_format() {
        for (country, accepted, refused) in POSTAL_CASES {
            for postal_code in *accepted {
                assert_eq!(
                    postal_findings(country, postal_code),
                    Vec::<String>::new(),
                    "{country} {postal_code:?}"
                );
            }
            for postal_code in *refused {
                assert_eq!(
                    postal_findings(country, postal_code),
                    ["error postal_code bad_format"],
                    "{country} {postal_code:?}"
                );
            }
        }
    }

    #[test]
    fn every_country_with_postal_codes_has_test_cases() {
        assert!(POSTAL_RULES.windows(2).all(|pair| pair[0].country < pair[1].country));
        for rule in POSTAL_RULES {
            assert!(lookup_country(rule.country).is_some(), "{}", rule.country);
            for pattern in rule.patterns {
                assert!(
                    !pattern.contains("~ "),
                    "{pattern}: `~` before a space breaks the greedy match"
                );
            }
            if rule.postal != Postal::None {
                assert!(
                    !rule.patterns.is_empty() && !rule.expected.is_empty(),
                    "{}",
                    rule.country
                );
                assert!(
                    POSTAL_CASES.iter().any(|(country, _, _)| *country == rule.country),
                    "no cases for {}",
                    rule.country
                );
            }
        }
        let brief = "US CN GB JP DE FR KR CA IN RU BR AU ES IT NL MX ID TR SE CH PL BE AT DK NO FI IE PT NZ SG MY TH PH VN SA AE IL ZA AR CL CO CZ HU RO GR UA HK TW";
        for country in brief.split(' ') {
            assert!(postal_rule(country).is_some(), "{country} has no postal rule");
        }
    }

    #[test]
    fn a_missing_postal_code_is_an_error_where_codes_are_required() {
        assert_eq!(postal_findings("US", ""), ["error postal_code missing"]);
        assert_eq!(postal_findings("DE", "  "), ["error postal_code missing"]);
        assert_eq!(postal_findings("GB", ""), ["error postal_code missing"]);
        // Eircodes and some Latin American, African and Vietnamese codes are often left out.
        for country in ["IE", "CO", "CR", "EC", "EG", "KE", "NG", "PE", "VN"] {
            assert_eq!(
                postal_findings(country, ""),
                ["warning postal_code missing"],
                "{country}"
            );
        }
        // Countries outside the table are not checked.
        assert_eq!(postal_findings("AF", ""), Vec::<String>::new());
        assert_eq!(postal_findings("AF", "anything"), Vec::<String>::new());
    }

    #[test]
    fn countries_without_postal_codes_accept_none_or_anything() {
        for rule in POSTAL_RULES.iter().filter(|rule| rule.postal == Postal::None) {
            assert_eq!(
                postal_findings(rule.country, ""),
                Vec::<String>::new(),
                "{}",
                rule.country
            );
            assert_eq!(
                postal_findings(rule.country, "00000"),
                Vec::<String>::new(),
                "{}",
                rule.country
            );
        }
        check(address("HK", "", ""), &[]);
        check(
            Address {
                phone: Some("+971 50 123 4567".to_string()),
                ..address("AE", "", "")
            },
            &[],
        );
        check(address("QA", "", ""), &[]);
    }

    #[test]
    fn bad_format_messages_state_the_expected_format() {
        let findings = validate_address(&address("US", "NY", "1234"));
        assert_eq!(
            findings[0].message,
            "Postal code \"1234\" is not in the format of the United States: expected 5 digits, or 5+4 as 12345-6789."
        );
        let findings = validate_address(&address("CA", "ON", "K1A"));
        assert!(findings[0].message.contains("K1A 0B1"), "{findings:?}");
        let long = "9".repeat(500);
        let findings = validate_address(&address("DE", "", &long));
        assert!(findings[0].message.chars().count() < 150, "{findings:?}");
    }

    #[test]
    fn phones_are_checked_against_the_country() {
        let with_phone = |country: &str, region: &str, postal_code: &str, phone: &str| Address {
            phone: Some(phone.to_string()),
            ..address(country, region, postal_code)
        };
        check(with_phone("US", "CA", "94043", "(650) 253-0000"), &[]);
        check(with_phone("US", "CA", "94043", "+1 650-253-0000"), &[]);
        check(with_phone("US", "CA", "94043", "+44 20 7031 3000"), &[]);
        check(with_phone("GB", "", "EC1A 1BB", "020 7031 3000"), &[]);
        check(with_phone("DE", "", "10115", "030 901820"), &[]);
        check(with_phone("JP", "Tokyo", "100-0001", "03-1234-5678"), &[]);
        check(with_phone("CN", "Beijing", "100000", "138 0013 8000"), &[]);
        check(with_phone("BR", "SP", "01310-100", "+55 11 91234-5678"), &[]);
        check(with_phone("US", "NY", "10001", " "), &[]);
        check(
            with_phone("US", "CA", "94043", "(650) 253-000"),
            &["warning phone implausible_phone"],
        );
        check(
            with_phone("US", "CA", "94043", "123"),
            &["warning phone implausible_phone"],
        );
        check(
            with_phone("US", "CA", "94043", "call me maybe"),
            &["warning phone implausible_phone"],
        );
        check(
            with_phone("DE", "", "10115", "+49 1"),
            &["warning phone implausible_phone"],
        );
        // An unknown country is already an error; its phone is not judged.
        check(with_phone("ZZ", "", "", "123"), &["error country_code unknown_country"]);
        let findings = validate_address(&with_phone("US", "CA", "94043", "123"));
        assert!(!has_errors(&findings));
    }

    #[test]
    fn a_missing_phone_is_a_warning_where_carriers_require_one() {
        check(address("BR", "SP", "01310-100"), &["warning phone missing"]);
        check(address("CN", "Beijing", "100000"), &["warning phone missing"]);
        check(address("MX", "CMX", "06600"), &["warning phone missing"]);
        check(address("IN", "DL", "110001"), &["warning phone missing"]);
        check(address("AE", "", ""), &["warning phone missing"]);
        check(address("SA", "", "12271"), &["warning phone missing"]);
        check(us(), &[]);
        check(address("DE", "", "10115"), &[]);
    }

    #[test]
    fn phones_of_every_country_are_parsed_without_panicking() {
        for country in COUNTRY_CODES {
            for phone in [
                "123",
                "+1 650 253 0000",
                "00 44 20 7031 3000",
                "0",
                "+",
                "tel:+1-650-253-0000",
            ] {
                let address = Address {
                    phone: Some(phone.to_string()),
                    ..address(country, "", "")
                };
                let _ = validate_address(&address);
            }
        }
    }

    #[test]
    fn post_office_boxes_are_warned_about_where_they_appear() {
        let po_box = ["warning address1 po_box"];
        for line in [
            "PO Box 123",
            "P.O. Box 123",
            "p.o.box 12",
            "POBox12",
            "Post Office Box 9",
            "GPO Box 1234",
            "Postfach 10 01 23",
            "Apartado de Correos 45",
            "Caixa Postal 100",
            "Boîte postale 12",
            "Postbus 1000",
            "POB 1234",
        ] {
            check(
                Address {
                    address1: line.to_string(),
                    ..us()
                },
                &po_box,
            );
        }
        for line in [
            "12 Box Hill Road",
            "5 Potbox Lane",
            "Apartamento 3, Calle 5",
            "12 Postfachweg",
        ] {
            check(
                Address {
                    address1: line.to_string(),
                    ..us()
                },
                &[],
            );
        }
        check(
            Address {
                address2: Some("PO Box 77".to_string()),
                ..us()
            },
            &["warning address2 po_box"],
        );
    }

    #[test]
    fn a_street_without_a_number_is_a_warning_except_where_that_is_normal() {
        check(
            Address {
                address1: "Main Street".to_string(),
                ..us()
            },
            &["warning address1 missing_house_number"],
        );
        check(
            Address {
                address1: "Rose Cottage".to_string(),
                address2: Some("12 High St".to_string()),
                ..us()
            },
            &[],
        );
        check(
            Address {
                address1: "Calle Mayor s/n".to_string(),
                ..address("ES", "M", "28013")
            },
            &[],
        );
        check(
            Address {
                address1: "Main Street".to_string(),
                ..address("IE", "", "D02 X285")
            },
            &[],
        );
        check(
            Address {
                address1: "Al Wasl Road, Villa Blue".to_string(),
                ..address("AE", "", "")
            },
            &["warning phone missing"],
        );
        check(
            Address {
                address1: "千代田区千代田一丁目".to_string(),
                ..address("JP", "Tokyo", "100-0001")
            },
            &[],
        );
        let findings = validate_address(&Address {
            address1: "Main Street".to_string(),
            ..us()
        });
        assert!(!has_errors(&findings));
    }

    #[test]
    fn over_long_lines_are_warned_about() {
        let line = format!("12 {}", "a".repeat(MAX_LINE_CHARS));
        check(
            Address {
                address1: line.clone(),
                ..us()
            },
            &["warning address1 too_long"],
        );
        check(
            Address {
                address2: Some(line),
                ..us()
            },
            &["warning address2 too_long"],
        );
        check(
            Address {
                address1: format!("1 {}", "é".repeat(MAX_LINE_CHARS - 2)),
                ..us()
            },
            &[],
        );
    }

    #[test]
    fn findings_serialize_with_snake_case_severity() {
        let findings = validate_address(&Address {
            address1: "Main Street".to_string(),
            ..us()
        });
        let json = serde_json::to_value(&findings).expect("serialize");
        assert_eq!(json[0]["severity"], "warning");
        assert_eq!(json[0]["field"], "address1");
        assert_eq!(json[0]["code"], codes::MISSING_HOUSE_NUMBER);
    }

    fn country_code() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(COUNTRY_CODES.to_vec()).prop_map(str::to_string),
            "[a-zA-Z]{0,3}",
            any::<String>(),
        ]
    }

    fn phone() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop_oneof![
            "[0-9+() .#*;=:xt/-]{0,24}",
            "\\+?[0-9]{1,18}",
            any::<String>()
        ])
    }

    fn postal_code() -> impl Strategy<Value = String> {
        prop_oneof!["[0-9A-Za-z -]{0,10}", any::<String>()]
    }

    fn any_address() -> impl Strategy<Value = Address> {
        (
            (any::<String>(), any::<String>(), prop::option::of(any::<String>())),
            (any::<String>(), prop::option::of(any::<String>()), any::<String>()),
            (
                prop::option::of(prop_oneof!["[A-Za-z -]{0,6}", any::<String>()]),
                postal_code(),
                country_code(),
                phone(),
            ),
        )
            .prop_map(
                |(
                    (first_name, last_name, company),
                    (address1, address2, city),
                    (region, postal_code, country_code, phone),
                )| Address {
                    first_name,
                    last_name,
                    company,
                    address1,
                    address2,
                    city,
                    region,
                    postal_code,
                    country_code,
                    phone,
                },
            )
    }

    proptest! {
        #[test]
        fn validation_never_panics_never_changes_the_address_and_is_deterministic(address in any_address()) {
            let before = address.clone();
            let first = validate_address(&address);
            prop_assert_eq!(&address, &before);
            let second = validate_address(&address);
            prop_assert_eq!(&first, &second);
            for finding in &first {
                prop_assert!(!finding.message.is_empty());
                prop_assert!(!finding.code.is_empty());
            }
            prop_assert_eq!(has_errors(&first), first.iter().any(|finding| finding.severity == Severity::Error));
        }

        #[test]
        fn postal_matching_never_panics(input in any::<String>(), index in 0..POSTAL_RULES.len()) {
            let rule = &POSTAL_RULES[index];
            for pattern in rule.patterns {
                let _ = matches_pattern(&input, pattern);
            }
        }

        #[test]
        fn well_formed_us_zip_codes_are_accepted(zip in "[0-9]{5}(-[0-9]{4})?") {
            prop_assert!(postal_findings("US", &zip).is_empty());
        }
    }
}
