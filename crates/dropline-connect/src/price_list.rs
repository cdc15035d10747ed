//! Price lists and SKU lists of agents and warehouses: the suppliers without an API send a
//! spreadsheet of what they sell, at what cost and how many they hold. [`parse_price_list`]
//! reads it, as CSV, into the same [`SupplierProduct`]s an API supplier's catalogue gives, so
//! variant mapping and the stock-and-price sync treat every supplier alike.
//!
//! # The file
//!
//! A CSV file, UTF-8 (a byte-order mark is skipped), with a header row; the delimiter is a
//! comma, or a semicolon or tab when the header row uses that instead (spreadsheets set to a
//! European locale write semicolons). Column names are case-insensitive, and spaces, hyphens
//! and other punctuation count as underscores (`Unit Cost` is `unit_cost`). Unknown columns are
//! ignored.
//!
//! | column | aliases | required | value |
//! | --- | --- | --- | --- |
//! | `sku` | `variant_sku`, `supplier_sku` | yes | the SKU orders are placed with; unique in the file |
//! | `unit_cost` | `price`, `cost`, `unit_price` | yes | a decimal with a `.` and at most the currency's decimals (`12.50`); above zero |
//! | `product_id` | `product`, `spu` | no | rows with the same product id are one product; a row without one is a product of its own, known by its SKU |
//! | `product_title` | `title`, `product_name`, `name` | no | the product's title (the first row's that has one); else the product id |
//! | `variant_id` | `vid`, `sku_id` | no | the supplier's own id of the variant; unique in the file |
//! | `options` | `option`, `variant`, `variant_options` | no | the options as the supplier writes them (`Black / XL`) |
//! | `barcode` | `ean`, `upc`, `gtin` | no | 8 to 14 digits |
//! | `stock` | `quantity`, `qty`, `inventory` | no | a whole number of units, 0 or more; blank: not said |
//! | `url` | `product_url`, `link` | no | an `http(s)://` address (the product's: the first row's that has one) |
//!
//! Wholly blank rows are skipped. A file of more than [`MAX_ROWS`] rows is refused before its
//! rows are checked. Every problem of the file is reported at once, each as
//! `row N, column: reason` (the header is row 1, the column as the file names it), and the file
//! is refused if it has any: half a price list applied would leave the other half's variants
//! at their old costs without anyone knowing.
//!
//! Amounts are read from their decimal text into minor units of the currency the supplier
//! bills in ([`Money::parse_decimal`]); there is no floating point.

use crate::csv_orders::RowError;
use csv::{ByteRecord, ErrorKind};
use dropline_app::supplier::{SupplierProduct, SupplierProductVariant};
use dropline_domain::money::{Currency, Money};
use std::collections::HashMap;
use std::fmt;

/// The most rows a price list may have.
pub const MAX_ROWS: usize = 200_000;
/// The largest unit cost believed, in whole units of the currency: a wholesale cost beyond it
/// is a typo (a missing decimal point), not a price.
pub const MAX_UNIT_COST_MAJOR: i64 = 1_000_000;
/// The longest SKU, id or barcode accepted.
const MAX_ID_LEN: usize = 255;
/// The longest title, options text or address accepted.
const MAX_TEXT_LEN: usize = 2_000;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a price list was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceListError {
    #[error("the file is empty")]
    Empty,
    #[error("this is not a CSV file: {reason}")]
    NotCsv { reason: String },
    #[error("the header row has no '{column}' column, which is required")]
    MissingColumn { column: String },
    #[error("the header row names '{column}' twice ('{first}' and '{second}')")]
    DuplicateColumn {
        column: String,
        first: String,
        second: String,
    },
    #[error("the file has no rows below its header")]
    NoRows,
    #[error("the file has more than {max} rows: split it into several files")]
    TooManyRows { max: usize },
    /// Every problem of the rows, in file order.
    #[error("{}", summary(.0))]
    Rows(Vec<RowError>),
}

fn summary(rows: &[RowError]) -> String {
    match rows {
        [] => "no problem".to_string(),
        [only] => only.to_string(),
        [first, ..] => format!("{} problems; the first: {first}", rows.len()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Sku,
    UnitCost,
    ProductId,
    Title,
    VariantId,
    Options,
    Barcode,
    Stock,
    Url,
}

impl Column {
    const ALL: [Column; 9] = [
        Column::Sku,
        Column::UnitCost,
        Column::ProductId,
        Column::Title,
        Column::VariantId,
        Column::Options,
        Column::Barcode,
        Column::Stock,
        Column::Url,
    ];

    fn name(self) -> &'static str {
        self.names()[0]
    }

    /// The canonical name first, then the aliases.
    fn names(self) -> &'static [&'static str] {
        match self {
            Column::Sku => &["sku", "variant_sku", "supplier_sku"],
            Column::UnitCost => &["unit_cost", "price", "cost", "unit_price"],
            Column::ProductId => &["product_id", "product", "spu"],
            Column::Title => &["product_title", "title", "product_name", "name"],
            Column::VariantId => &["variant_id", "vid", "sku_id"],
            Column::Options => &["options", "option", "variant", "variant_options"],
            Column::Barcode => &["barcode", "ean", "upc", "gtin"],
            Column::Stock => &["stock", "quantity", "qty", "inventory"],
            Column::Url => &["url", "product_url", "link"],
        }
    }
}

/// A header cell as a column name: lower case, every run of other characters one underscore.
fn normalize_header(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Where each known column is, with the header text the file gives it (for messages).
struct Header {
    columns: [Option<(usize, String)>; Column::ALL.len()],
}

impl Header {
    fn read(record: &ByteRecord) -> Result<Self, PriceListError> {
        let mut columns: [Option<(usize, String)>; Column::ALL.len()] = Default::default();
        for (index, cell) in record.iter().enumerate() {
            let text = std::str::from_utf8(cell).map_err(|_| PriceListError::NotCsv {
                reason: "the header row is not UTF-8 text; save the sheet as CSV UTF-8".into(),
            })?;
            let name = normalize_header(text);
            let Some(column) = Column::ALL.into_iter().find(|c| c.names().contains(&name.as_str())) else {
                continue;
            };
            let slot = &mut columns[column as usize];
            if let Some((_, first)) = slot {
                return Err(PriceListError::DuplicateColumn {
                    column: column.name().into(),
                    first: first.clone(),
                    second: text.trim().to_string(),
                });
            }
            *slot = Some((index, text.trim().to_string()));
        }
        for required in [Column::Sku, Column::UnitCost] {
            if columns[required as usize].is_none() {
                return Err(PriceListError::MissingColumn {
                    column: required.name().into(),
                });
            }
        }
        Ok(Self { columns })
    }

    /// The column's header as the file writes it.
    fn label(&self, column: Column) -> String {
        self.columns[column as usize]
            .as_ref()
            .map_or_else(|| column.name().to_string(), |(_, text)| text.clone())
    }
}

/// One row's cells, trimmed; problems found while reading them are collected.
struct Cells<'a> {
    header: &'a Header,
    record: &'a ByteRecord,
    row: u64,
    errors: &'a mut Vec<RowError>,
}

impl Cells<'_> {
    fn problem(&mut self, column: Column, reason: impl Into<String>) {
        self.errors.push(RowError {
            row: self.row,
            field: self.header.label(column),
            reason: reason.into(),
        });
    }

    /// The cell's text, trimmed; blank and absent columns (or cells of a short row) are
    /// `None`; text that is not UTF-8 or is too long is a problem.
    fn text(&mut self, column: Column, max_len: usize) -> Option<String> {
        let (index, _) = self.header.columns[column as usize].as_ref()?;
        let cell = self.record.get(*index)?;
        let Ok(text) = std::str::from_utf8(cell) else {
            self.problem(column, "not UTF-8 text; save the sheet as CSV UTF-8");
            return None;
        };
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if text.chars().count() > max_len {
            self.problem(column, format!("longer than {max_len} characters"));
            return None;
        }
        Some(text.to_string())
    }
}

/// An exact, positive amount: digits, optionally a point and decimals. Zeros written past the
/// currency's decimals are dropped (`3.550`); any other digit there is refused rather than
/// rounded.
fn unit_cost(text: &str, currency: Currency) -> Result<Money, String> {
    if text.starts_with('-') {
        return Err(format!("{text} is negative"));
    }
    let exponent = currency.exponent() as usize;
    let plain = match text.split_once('.') {
        Some((whole, fraction)) if fraction.len() > exponent => {
            let kept = fraction.trim_end_matches('0');
            if kept.len() > exponent {
                return Err(format!("{text} has more decimals than {currency} has ({exponent})"));
            }
            if kept.is_empty() && exponent == 0 {
                whole.to_string()
            } else {
                format!("{whole}.{kept:0<exponent$}")
            }
        }
        _ => text.to_string(),
    };
    let money = Money::parse_decimal(&plain, currency)
        .map_err(|_| format!("{text:?} is not an amount (write it like 12.50, with a point)"))?;
    if money.minor == 0 {
        return Err("0 is not a cost".into());
    }
    let ceiling = 10i64
        .checked_pow(currency.exponent())
        .and_then(|scale| scale.checked_mul(MAX_UNIT_COST_MAJOR))
        .unwrap_or(i64::MAX);
    if money.minor > ceiling {
        return Err(format!("{text} {currency} is beyond any unit cost believed"));
    }
    Ok(money)
}

/// A whole, non-negative number of units.
fn units(text: &str) -> Result<u32, String> {
    if text.starts_with('-') {
        return Err(format!("{text} is negative"));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a whole number of units"));
    }
    text.parse::<u32>().map_err(|_| format!("{text} is too large"))
}

/// 8 to 14 digits: EAN-8, UPC-A, EAN-13, GTIN-14. A spreadsheet that shows a long number in
/// exponent form (`5.01234E+12`) has lost digits: refused.
fn barcode(text: &str) -> Result<String, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.bytes().all(|b| b.is_ascii_digit()) || !(8..=14).contains(&compact.len()) {
        return Err(format!(
            "{text:?} is not a barcode (8 to 14 digits; format the column as text so the spreadsheet keeps every digit)"
        ));
    }
    Ok(compact)
}

fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|cell| cell.iter().all(u8::is_ascii_whitespace))
}

/// File lines of records read in order (the header is line 1). The reader's own line count
/// is off by one after a CRLF line end, which spreadsheets write, so lines are counted here,
/// from where the previous record started: a file of 200,000 rows is counted once, not once
/// per row.
#[derive(Default)]
struct Lines {
    /// Byte offset counted up to, and the line it is on (from 0).
    byte: usize,
    line: u64,
}

impl Lines {
    fn of(&mut self, bytes: &[u8], position: &csv::Position) -> u64 {
        let mut start = usize::try_from(position.byte()).unwrap_or(usize::MAX).min(bytes.len());
        // A record never starts with a line break: skip the end of the line before it.
        while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start < self.byte {
            *self = Self::default();
        }
        self.line += bytes[self.byte..start].iter().filter(|&&b| b == b'\n').count() as u64;
        self.byte = start;
        1 + self.line
    }
}

/// The delimiter of the header row: a comma, unless the row has more semicolons or tabs.
fn delimiter(bytes: &[u8]) -> u8 {
    let first_line = bytes
        .split(|&b| b == b'\n')
        .find(|line| !line.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(&[]);
    let count = |d: u8| first_line.iter().filter(|&&b| b == d).count();
    [b';', b'\t']
        .into_iter()
        .filter(|&d| count(d) > count(b','))
        .max_by_key(|&d| count(d))
        .unwrap_or(b',')
}

/// What sellers upload by mistake, recognised by its first bytes.
fn sniff_binary(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some("it is a zip archive, probably an .xlsx workbook; save the sheet as CSV UTF-8")
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        Some("it is an .xls workbook; save the sheet as CSV UTF-8")
    } else if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        Some("it is UTF-16 text; save the sheet as CSV UTF-8")
    } else {
        None
    }
}

/// Which product a row belongs to: the one it names, else its own (known by its SKU).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ProductKey {
    Named(String),
    OwnSku(String),
}

impl fmt::Display for ProductKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Named(id) | Self::OwnSku(id) => f.write_str(id),
        }
    }
}

#[derive(Default)]
struct Import {
    products: Vec<SupplierProduct>,
    by_key: HashMap<ProductKey, usize>,
    /// SKU → the row that first gave it.
    skus: HashMap<String, u64>,
    /// Variant id → the row that first gave it.
    variant_ids: HashMap<String, u64>,
    errors: Vec<RowError>,
}

impl Import {
    fn read_row(&mut self, header: &Header, record: &ByteRecord, row: u64, currency: Currency) {
        let before = self.errors.len();
        let mut cells = Cells {
            header,
            record,
            row,
            errors: &mut self.errors,
        };
        let sku = cells.text(Column::Sku, MAX_ID_LEN);
        if sku.is_none() && cells.errors.len() == before {
            cells.problem(Column::Sku, "missing: every row needs the SKU orders are placed with");
        }
        let cost = match cells.text(Column::UnitCost, MAX_ID_LEN) {
            Some(text) => match unit_cost(&text, currency) {
                Ok(cost) => Some(cost),
                Err(why) => {
                    cells.problem(Column::UnitCost, why);
                    None
                }
            },
            None => {
                cells.problem(Column::UnitCost, "missing: every row needs its unit cost");
                None
            }
        };
        let stock = cells
            .text(Column::Stock, MAX_ID_LEN)
            .and_then(|text| match units(&text) {
                Ok(units) => Some(units),
                Err(why) => {
                    cells.problem(Column::Stock, why);
                    None
                }
            });
        let barcode = cells
            .text(Column::Barcode, MAX_ID_LEN)
            .and_then(|text| match barcode(&text) {
                Ok(code) => Some(code),
                Err(why) => {
                    cells.problem(Column::Barcode, why);
                    None
                }
            });
        let url = cells.text(Column::Url, MAX_TEXT_LEN).and_then(|text| {
            let lower = text.to_ascii_lowercase();
            if lower.starts_with("https://") || lower.starts_with("http://") {
                Some(text)
            } else {
                cells.problem(Column::Url, format!("{text:?} is not an http(s):// address"));
                None
            }
        });
        let product_id = cells.text(Column::ProductId, MAX_ID_LEN);
        let title = cells.text(Column::Title, MAX_TEXT_LEN);
        let variant_id = cells.text(Column::VariantId, MAX_ID_LEN);
        let options = cells.text(Column::Options, MAX_TEXT_LEN);

        if let Some(sku) = &sku {
            match self.skus.get(sku) {
                Some(first) => self.errors.push(RowError {
                    row,
                    field: header.label(Column::Sku),
                    reason: format!("{sku} is already on row {first}"),
                }),
                None => {
                    self.skus.insert(sku.clone(), row);
                }
            }
        }
        if let Some(id) = &variant_id {
            match self.variant_ids.get(id) {
                Some(first) => self.errors.push(RowError {
                    row,
                    field: header.label(Column::VariantId),
                    reason: format!("{id} is already on row {first}"),
                }),
                None => {
                    self.variant_ids.insert(id.clone(), row);
                }
            }
        }
        // A row with any problem adds nothing; the file is refused anyway.
        let (Some(sku), Some(unit_cost)) = (sku, cost) else {
            return;
        };
        if self.errors.len() > before {
            return;
        }
        let key = match product_id {
            Some(id) => ProductKey::Named(id),
            None => ProductKey::OwnSku(sku.clone()),
        };
        let at = match self.by_key.get(&key) {
            Some(&at) => at,
            None => {
                self.products.push(SupplierProduct {
                    product_id: key.to_string(),
                    title: String::new(),
                    url: None,
                    variants: Vec::new(),
                });
                self.by_key.insert(key, self.products.len() - 1);
                self.products.len() - 1
            }
        };
        let product = &mut self.products[at];
        if product.title.is_empty()
            && let Some(title) = title
        {
            product.title = title;
        }
        if product.url.is_none() {
            product.url = url;
        }
        product.variants.push(SupplierProductVariant {
            sku,
            variant_id,
            options: options.unwrap_or_default(),
            barcode,
            unit_cost,
            stock,
        });
    }
}

/// Reads a price list or SKU list (columns in the module docs) whose costs are in `currency`.
/// Gives its products in the order of their first rows, each with its variants in row order,
/// or every problem of the file.
pub fn parse_price_list(bytes: &[u8], currency: Currency) -> Result<Vec<SupplierProduct>, PriceListError> {
    if let Some(reason) = sniff_binary(bytes) {
        return Err(PriceListError::NotCsv { reason: reason.into() });
    }
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PriceListError::Empty);
    }
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        // Short rows read their missing cells as blank; a long row's extra cells are ignored.
        .flexible(true)
        .delimiter(delimiter(bytes))
        .from_reader(bytes);
    let mut record = ByteRecord::new();
    let not_csv = |error: csv::Error| PriceListError::NotCsv {
        reason: error.to_string(),
    };
    let header = loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => return Err(PriceListError::Empty),
            Ok(true) if is_blank(&record) => {}
            Ok(true) => break Header::read(&record)?,
            Err(error) => return Err(not_csv(error)),
        }
    };
    let mut import = Import::default();
    let mut lines = Lines::default();
    let mut rows = 0usize;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) if is_blank(&record) => {}
            Ok(true) => {
                rows += 1;
                if rows > MAX_ROWS {
                    return Err(PriceListError::TooManyRows { max: MAX_ROWS });
                }
                let row = record.position().map_or(0, |pos| lines.of(bytes, pos));
                import.read_row(&header, &record, row, currency);
            }
            Err(error) => match error.kind() {
                // Not raised by a flexible reader; kept in case that changes.
                ErrorKind::UnequalLengths { pos, .. } => import.errors.push(RowError {
                    row: pos.as_ref().map_or(0, |pos| lines.of(bytes, pos)),
                    field: "columns".into(),
                    reason: "the row has another number of cells than the header".into(),
                }),
                _ => return Err(not_csv(error)),
            },
        }
    }
    if rows == 0 {
        return Err(PriceListError::NoRows);
    }
    if !import.errors.is_empty() {
        return Err(PriceListError::Rows(import.errors));
    }
    let mut products = import.products;
    for product in &mut products {
        if product.title.is_empty() {
            product.title = product.product_id.clone();
        }
    }
    Ok(products)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn parse(text: &str) -> Result<Vec<SupplierProduct>, PriceListError> {
        parse_price_list(text.as_bytes(), usd())
    }

    /// The row problems as `row N, column: reason` lines.
    fn problems(text: &str) -> Vec<String> {
        match parse(text) {
            Err(PriceListError::Rows(rows)) => rows.iter().map(ToString::to_string).collect(),
            other => panic!("expected row problems, got {other:?}"),
        }
    }

    #[test]
    fn rows_of_one_product_id_form_one_product() {
        let text = "\u{feff}Product ID,Title,SKU,Variant ID,Options,EAN,Unit Cost,Stock,URL,Supplier note\r\n\
            P1,Ceramic mug,MUG-BK,v1,Black / 11oz,4006381333931,3.20,120,https://agent.example/p1,keep dry\r\n\
            P1,,MUG-WH,v2,White / 11oz,,3.2,0,,\r\n\
            \r\n\
            ,,SOCK-5,,,,1.990000,,,\r\n\
            P2,Tee,TEE-M,,M,,12,7,https://agent.example/p2,\r\n";
        let products = parse(text).unwrap();
        assert_eq!(products.len(), 3);
        let mug = &products[0];
        assert_eq!((mug.product_id.as_str(), mug.title.as_str()), ("P1", "Ceramic mug"));
        assert_eq!(mug.url.as_deref(), Some("https://agent.example/p1"));
        assert_eq!(mug.variants.len(), 2);
        assert_eq!(mug.variants[0].sku, "MUG-BK");
        assert_eq!(mug.variants[0].variant_id.as_deref(), Some("v1"));
        assert_eq!(mug.variants[0].options, "Black / 11oz");
        assert_eq!(mug.variants[0].barcode.as_deref(), Some("4006381333931"));
        assert_eq!(mug.variants[0].unit_cost, Money::new(320, usd()));
        assert_eq!(mug.variants[0].stock, Some(120));
        assert_eq!(mug.variants[1].unit_cost, Money::new(320, usd()));
        assert_eq!(mug.variants[1].stock, Some(0));
        assert_eq!(mug.variants[1].barcode, None);
        let socks = &products[1];
        assert_eq!((socks.product_id.as_str(), socks.title.as_str()), ("SOCK-5", "SOCK-5"));
        assert_eq!(socks.variants[0].stock, None, "blank stock is not said");
        assert_eq!(socks.variants[0].options, "");
        // Zeros past the cents are dropped; other digits there are refused, never rounded.
        assert_eq!(socks.variants[0].unit_cost, Money::new(199, usd()));
        assert!(matches!(parse("sku,cost\nA,1.999000\n"), Err(PriceListError::Rows(_))));
        assert_eq!(products[2].variants[0].unit_cost, Money::new(1200, usd()));
    }

    #[test]
    fn semicolons_tabs_and_currencies_without_decimals() {
        let products =
            parse_price_list("SKU;Price;Qty\nA;1234;5\n".as_bytes(), Currency::parse("JPY").unwrap()).unwrap();
        assert_eq!(products[0].variants[0].unit_cost.minor, 1234);
        assert_eq!(
            parse("sku\tprice\nA\t2.50\n").unwrap()[0].variants[0].unit_cost.minor,
            250
        );
        // A comma inside a quoted cell does not make the file comma-separated.
        let quoted = parse("sku;price;title\nA;2.50;\"Mug, black\"\n").unwrap();
        assert_eq!(quoted[0].title, "Mug, black");
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_column() {
        let text = "SKU,Price,Stock,Barcode,Url,Variant ID\n\
            A,2.50,-3,,,\n\
            B,abc,,,,\n\
            ,1.00,,,,\n\
            A,1.00,,,,\n\
            C,-1.00,1.5,5.01234E+12,ftp://x,v9\n\
            D,0,,,,v9\n\
            E,12.345,99999999999,,,\n\
            F,2000000,,,,\n\
            G,,,,,\n";
        assert_eq!(
            problems(text),
            [
                "row 2, Stock: -3 is negative",
                "row 3, Price: \"abc\" is not an amount (write it like 12.50, with a point)",
                "row 4, SKU: missing: every row needs the SKU orders are placed with",
                "row 5, SKU: A is already on row 2",
                "row 6, Price: -1.00 is negative",
                "row 6, Stock: \"1.5\" is not a whole number of units",
                "row 6, Barcode: \"5.01234E+12\" is not a barcode (8 to 14 digits; format the column as text so the spreadsheet keeps every digit)",
                "row 6, Url: \"ftp://x\" is not an http(s):// address",
                "row 7, Price: 0 is not a cost",
                "row 7, Variant ID: v9 is already on row 6",
                "row 8, Price: 12.345 has more decimals than USD has (2)",
                "row 8, Stock: 99999999999 is too large",
                "row 9, Price: 2000000 USD is beyond any unit cost believed",
                "row 10, Price: missing: every row needs its unit cost",
            ]
        );
    }

    #[test]
    fn row_numbers_follow_crlf_and_quoted_line_breaks() {
        let text = "sku,price,options\r\nA,1.00,\"two\r\nlines\"\r\nB,x,\r\n";
        assert_eq!(
            problems(text),
            ["row 4, price: \"x\" is not an amount (write it like 12.50, with a point)"]
        );
    }

    #[test]
    fn files_that_are_not_price_lists() {
        assert_eq!(parse(""), Err(PriceListError::Empty));
        assert_eq!(parse(" \r\n\n"), Err(PriceListError::Empty));
        assert_eq!(parse("sku,price\n\n,\n"), Err(PriceListError::NoRows));
        assert_eq!(
            parse("sku,title\nA,Mug\n"),
            Err(PriceListError::MissingColumn {
                column: "unit_cost".into()
            })
        );
        assert_eq!(
            parse("price,title\n1,Mug\n"),
            Err(PriceListError::MissingColumn { column: "sku".into() })
        );
        assert_eq!(
            parse("sku,price,Cost\nA,1,1\n"),
            Err(PriceListError::DuplicateColumn {
                column: "unit_cost".into(),
                first: "price".into(),
                second: "Cost".into(),
            })
        );
        assert!(matches!(
            parse_price_list(b"PK\x03\x04rest", usd()),
            Err(PriceListError::NotCsv { .. })
        ));
        assert!(matches!(
            parse_price_list(b"sku,price\nA\xff,1.00\n", usd()),
            Err(PriceListError::Rows(rows)) if rows[0].reason.contains("UTF-8")
        ));
    }

    #[test]
    fn too_many_rows_are_refused_before_their_checks() {
        let mut text = String::from("sku,price\n");
        for i in 0..=MAX_ROWS {
            text.push_str(&format!("S{i},1.00\n"));
        }
        assert_eq!(parse(&text), Err(PriceListError::TooManyRows { max: MAX_ROWS }));
        // Exactly the most is read.
        let cut = text.rfind("S200000").unwrap();
        assert_eq!(parse(&text[..cut]).unwrap().len(), MAX_ROWS);
    }

    #[test]
    fn the_error_says_how_many_problems_and_the_first() {
        let error = parse("sku,price\nA,x\nB,y\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "2 problems; the first: row 2, price: \"x\" is not an amount (write it like 12.50, with a point)"
        );
    }
}
