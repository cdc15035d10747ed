//! The CSV storefront: a seller's spreadsheet export of orders, turned into
//! [`IncomingOrder`]s by [`parse_orders`]. The file is read as a stream (memory grows with the
//! orders kept, not with the file), every row is checked even after a bad one, and every
//! problem comes back at once so the seller can fix the file in one go.
//!
//! The layout below is also `crates/dropline-connect/CSV_LAYOUT.md`, for the README.
//!
#![doc = include_str!("../CSV_LAYOUT.md")]

use csv::{ByteRecord, ErrorKind};
use dropline_domain::address::{Address, Customer};
use dropline_domain::money::{Currency, Money, MoneyError};
use dropline_domain::order::{IncomingLine, IncomingOrder};
use dropline_domain::state::PaymentState;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A small valid file: three orders on five rows (the example of `CSV_LAYOUT.md`).
pub const SAMPLE_CSV: &str = "\
order_id,order_number,placed_at,currency,payment_status,customer_name,customer_email,customer_phone,ship_first_name,ship_last_name,ship_company,ship_address1,ship_address2,ship_city,ship_region,ship_postal_code,ship_country,ship_phone,shipping_total,line_id,sku,title,variant_title,quantity,unit_price,requires_shipping
5001,#1001,2025-03-14T09:30:00Z,USD,paid,Ada Lovelace,ada@example.com,+1 415 555 0100,Ada,Lovelace,,1 Market St,Apt 4,San Francisco,CA,94105,US,+1 415 555 0100,4.99,L-1,MUG-BLK-11,Ceramic mug,Black / 11 oz,2,12.50,true
5001,#1001,2025-03-14T09:30:00Z,USD,paid,Ada Lovelace,ada@example.com,+1 415 555 0100,Ada,Lovelace,,1 Market St,Apt 4,San Francisco,CA,94105,US,+1 415 555 0100,4.99,L-2,GIFT-25,Gift card,,1,25.00,false
5002,#1002,2025-03-14 17:05,EUR,pending,,jean@example.fr,,Jean,Dupont,Dupont & Fils,12 rue de Rivoli,,Paris,,75001,FR,,0,,TSHIRT-W-M,Organic T-shirt,White / M,1,19.90,yes
5003,#1003,2025-03-15,GBP,authorized,Mary Smith,mary@example.co.uk,,Mary,Smith,,\"Flat 2, 10 Downing Lane\",,London,,SW1A 2AA,gb,,3.5,,POSTER-A2,\"Poster \"\"Night sky\"\", A2\",,3,8.00,
5003,,,,,,,,,,,,,,,,,,,,FRAME-A2,Oak frame,A2,1,15,1
";

/// At most this many row problems are listed; the rest are only counted
/// ([`CsvImportError::unlisted_row_errors`]), so a file of bad rows cannot exhaust memory.
pub const MAX_LISTED_ROW_ERRORS: usize = 1000;

/// A problem with one cell (or one row) of the file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// Line number in the file where the row starts; the header is row 1.
    pub row: u64,
    /// The column name (`unit_price`), or `columns` when the row has the wrong number of cells.
    pub field: String,
    /// What is wrong, for the seller.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}, {}: {}", self.row, self.field, self.reason)
    }
}

/// A problem with the file as a whole; rows are not checked when the header has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("this is not a CSV file: {reason}")]
    NotCsv { reason: String },
    #[error("the first row must be the header row naming the columns (order_id, placed_at, currency, ...)")]
    NoHeader,
    #[error("the header row has no '{column}' column, which is required")]
    MissingColumn { column: String },
    #[error("the header row has the '{column}' column more than once")]
    DuplicateColumn { column: String },
    #[error("the file has a header row but no order rows")]
    NoRows,
    #[error("the file could not be read: {reason}")]
    Read { reason: String },
}

/// Everything wrong with an imported file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsvImportError {
    /// Problems with the file as a whole.
    pub file: Vec<FileError>,
    /// Problems with rows, in file order.
    pub rows: Vec<RowError>,
    /// Row problems found beyond [`MAX_LISTED_ROW_ERRORS`], counted but not listed.
    pub unlisted_row_errors: u64,
}

impl fmt::Display for CsvImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let lines = self.file.iter().map(ToString::to_string);
        for line in lines.chain(self.rows.iter().map(ToString::to_string)) {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            f.write_str(&line)?;
        }
        if self.unlisted_row_errors > 0 {
            let separator = if first { "" } else { "\n" };
            write!(f, "{separator}... and {} more row problem(s)", self.unlisted_row_errors)?;
        }
        Ok(())
    }
}

impl std::error::Error for CsvImportError {}

impl CsvImportError {
    fn file(error: FileError) -> Self {
        Self {
            file: vec![error],
            ..Self::default()
        }
    }
}

/// Parses a CSV export of orders (layout in the module docs). `progress` is called with the
/// number of bytes read so far as the file is consumed, last with the whole size.
///
/// Returns every order of the file, or every problem found in it: a file with any problem
/// yields no orders, so a partly imported file never has to be untangled.
pub fn parse_orders<R: Read>(reader: R, mut progress: impl FnMut(u64)) -> Result<Vec<IncomingOrder>, CsvImportError> {
    let mut source = Counted {
        inner: reader,
        bytes: 0,
    };
    let prefix = read_prefix(&mut source).map_err(|e| CsvImportError::file(read_error(&e)))?;
    if let Some(reason) = sniff_binary(&prefix) {
        return Err(CsvImportError::file(FileError::NotCsv { reason: reason.into() }));
    }
    let prefix = prefix.strip_prefix(UTF8_BOM).unwrap_or(&prefix).to_vec();
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(io::Cursor::new(prefix).chain(source));
    let bytes_read = |csv: &csv::Reader<io::Chain<io::Cursor<Vec<u8>>, Counted<R>>>| csv.get_ref().get_ref().1.bytes;
    let mut reported = 0;
    let mut report_progress = |bytes: u64| {
        if bytes != reported {
            reported = bytes;
            progress(bytes);
        }
    };

    let mut record = ByteRecord::new();
    let layout = match csv.read_byte_record(&mut record) {
        Ok(false) => return Err(CsvImportError::file(FileError::Empty)),
        Ok(true) if is_blank(&record) => {
            // Only blank rows: an empty file. A blank first row above data: no header.
            loop {
                match csv.read_byte_record(&mut record) {
                    Ok(false) => return Err(CsvImportError::file(FileError::Empty)),
                    Ok(true) if is_blank(&record) => {}
                    _ => return Err(CsvImportError::file(FileError::NoHeader)),
                }
            }
        }
        Ok(true) => Layout::read(&record).map_err(|file| CsvImportError {
            file,
            ..Default::default()
        })?,
        Err(error) => return Err(CsvImportError::file(csv_file_error(&error))),
    };
    report_progress(bytes_read(&csv));

    let mut import = Import::default();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let row = record.position().map_or(0, csv::Position::line);
                import.read_row(&layout, &record, row);
            }
            Err(error) => match error.kind() {
                ErrorKind::UnequalLengths { pos, expected_len, len } => {
                    let row = pos.as_ref().map_or(0, csv::Position::line);
                    let reason = format!("the row has {len} cell(s) but the header has {expected_len}");
                    import.report.push(row, "columns", reason);
                }
                _ => {
                    let mut errors = import.into_error();
                    errors.file.push(csv_file_error(&error));
                    return Err(errors);
                }
            },
        }
        report_progress(bytes_read(&csv));
    }
    report_progress(bytes_read(&csv));
    import.finish()
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Counts the bytes taken from the caller's reader, for progress.
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The first bytes of the file (fewer only at its end), to recognise a BOM or a binary file
/// whatever sizes the reader hands out.
fn read_prefix(source: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut prefix = vec![0; 4];
    let mut filled = 0;
    while filled < prefix.len() {
        match source.read(&mut prefix[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    prefix.truncate(filled);
    Ok(prefix)
}

/// What sellers upload by mistake, recognised by its first bytes.
fn sniff_binary(prefix: &[u8]) -> Option<&'static str> {
    if prefix.starts_with(b"PK\x03\x04") {
        Some("it is a zip archive, probably an .xlsx workbook; save the sheet as CSV (comma delimited)")
    } else if prefix.starts_with(b"\xD0\xCF\x11\xE0") {
        Some("it is an .xls workbook; save the sheet as CSV (comma delimited)")
    } else if prefix.starts_with(b"\xFF\xFE") || prefix.starts_with(b"\xFE\xFF") {
        Some("it is UTF-16 text; save the sheet as CSV UTF-8 (comma delimited)")
    } else {
        None
    }
}

fn read_error(error: &io::Error) -> FileError {
    FileError::Read {
        reason: error.to_string(),
    }
}

fn csv_file_error(error: &csv::Error) -> FileError {
    match error.kind() {
        ErrorKind::Io(e) => read_error(e),
        _ => FileError::NotCsv {
            reason: error.to_string(),
        },
    }
}

fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|cell| cell.iter().all(u8::is_ascii_whitespace))
}

// ---------------------------------------------------------------------------------------------
// Columns and the header
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    OrderId,
    OrderNumber,
    PlacedAt,
    Currency,
    PaymentStatus,
    CustomerName,
    CustomerEmail,
    CustomerPhone,
    ShipFirstName,
    ShipLastName,
    ShipCompany,
    ShipAddress1,
    ShipAddress2,
    ShipCity,
    ShipRegion,
    ShipPostalCode,
    ShipCountry,
    ShipPhone,
    ShippingTotal,
    DiscountTotal,
    TaxTotal,
    LineId,
    Sku,
    Title,
    VariantTitle,
    Quantity,
    UnitPrice,
    RequiresShipping,
}

impl Column {
    const ALL: [Column; 28] = [
        Column::OrderId,
        Column::OrderNumber,
        Column::PlacedAt,
        Column::Currency,
        Column::PaymentStatus,
        Column::CustomerName,
        Column::CustomerEmail,
        Column::CustomerPhone,
        Column::ShipFirstName,
        Column::ShipLastName,
        Column::ShipCompany,
        Column::ShipAddress1,
        Column::ShipAddress2,
        Column::ShipCity,
        Column::ShipRegion,
        Column::ShipPostalCode,
        Column::ShipCountry,
        Column::ShipPhone,
        Column::ShippingTotal,
        Column::DiscountTotal,
        Column::TaxTotal,
        Column::LineId,
        Column::Sku,
        Column::Title,
        Column::VariantTitle,
        Column::Quantity,
        Column::UnitPrice,
        Column::RequiresShipping,
    ];

    fn name(self) -> &'static str {
        match self {
            Column::OrderId => "order_id",
            Column::OrderNumber => "order_number",
            Column::PlacedAt => "placed_at",
            Column::Currency => "currency",
            Column::PaymentStatus => "payment_status",
            Column::CustomerName => "customer_name",
            Column::CustomerEmail => "customer_email",
            Column::CustomerPhone => "customer_phone",
            Column::ShipFirstName => "ship_first_name",
            Column::ShipLastName => "ship_last_name",
            Column::ShipCompany => "ship_company",
            Column::ShipAddress1 => "ship_address1",
            Column::ShipAddress2 => "ship_address2",
            Column::ShipCity => "ship_city",
            Column::ShipRegion => "ship_region",
            Column::ShipPostalCode => "ship_postal_code",
            Column::ShipCountry => "ship_country",
            Column::ShipPhone => "ship_phone",
            Column::ShippingTotal => "shipping_total",
            Column::DiscountTotal => "discount_total",
            Column::TaxTotal => "tax_total",
            Column::LineId => "line_id",
            Column::Sku => "sku",
            Column::Title => "title",
            Column::VariantTitle => "variant_title",
            Column::Quantity => "quantity",
            Column::UnitPrice => "unit_price",
            Column::RequiresShipping => "requires_shipping",
        }
    }

    fn required(self) -> bool {
        matches!(
            self,
            Column::OrderId
                | Column::PlacedAt
                | Column::Currency
                | Column::ShipCountry
                | Column::Sku
                | Column::Title
                | Column::Quantity
                | Column::UnitPrice
        )
    }
}

/// Where each known column sits in a row.
struct Layout {
    positions: [Option<usize>; Column::ALL.len()],
}

impl Layout {
    fn read(header: &ByteRecord) -> Result<Layout, Vec<FileError>> {
        let mut positions = [None; Column::ALL.len()];
        let mut errors = Vec::new();
        let mut names = Vec::with_capacity(header.len());
        for cell in header {
            if cell.contains(&0) {
                return Err(vec![FileError::NotCsv {
                    reason: "it holds binary data".into(),
                }]);
            }
            let Ok(name) = std::str::from_utf8(cell) else {
                return Err(vec![FileError::NotCsv {
                    reason: "the header row is not UTF-8 text; save the sheet as CSV UTF-8".into(),
                }]);
            };
            names.push(name);
        }
        for (index, name) in names.iter().enumerate() {
            let normalized = name.trim().to_lowercase().replace([' ', '-'], "_");
            let Some(column) = Column::ALL.into_iter().find(|c| c.name() == normalized) else {
                continue;
            };
            let slot = &mut positions[column as usize];
            if slot.is_some() {
                errors.push(FileError::DuplicateColumn {
                    column: column.name().into(),
                });
            } else {
                *slot = Some(index);
            }
        }
        // A real header, even a faulty one, names several known columns; a data row or another
        // file's first line names one at most ("SKU" happens).
        if positions.iter().flatten().count() < 2 {
            let separator = [(';', "';'"), ('\t', "tabs")]
                .into_iter()
                .find(|(c, _)| names.len() == 1 && names[0].contains(*c));
            return Err(vec![match separator {
                Some((_, name)) => FileError::NotCsv {
                    reason: format!("its columns are separated by {name}; save the sheet as CSV (comma delimited)"),
                },
                None => FileError::NoHeader,
            }]);
        }
        for column in Column::ALL {
            if column.required() && positions[column as usize].is_none() {
                errors.push(FileError::MissingColumn {
                    column: column.name().into(),
                });
            }
        }
        if errors.is_empty() {
            Ok(Layout { positions })
        } else {
            Err(errors)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

/// One cell, read and checked.
#[derive(Clone, Debug)]
enum Value<T> {
    Blank,
    /// The value and the text it was read from (for messages).
    Valid(T, String),
    /// Not usable; the problem has been reported.
    Invalid,
}

impl<T> Value<T> {
    fn get(&self) -> Option<&T> {
        match self {
            Value::Valid(value, _) => Some(value),
            _ => None,
        }
    }

    fn into_option(self) -> Option<T> {
        match self {
            Value::Valid(value, _) => Some(value),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Report {
    rows: Vec<RowError>,
    unlisted: u64,
}

impl Report {
    fn push(&mut self, row: u64, field: &str, reason: String) {
        if self.rows.len() < MAX_LISTED_ROW_ERRORS {
            self.rows.push(RowError {
                row,
                field: field.into(),
                reason,
            });
        } else {
            self.unlisted += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.unlisted == 0
    }
}

/// A row being read: its cells by column, and where its problems go.
struct Row<'a> {
    record: &'a ByteRecord,
    layout: &'a Layout,
    row: u64,
    report: &'a mut Report,
}

impl<'a> Row<'a> {
    fn error(&mut self, column: Column, reason: String) {
        self.report.push(self.row, column.name(), reason);
    }

    /// The trimmed text of a cell (empty when the column is absent).
    fn text(&mut self, column: Column) -> Result<&'a str, ()> {
        let record = self.record;
        let Some(bytes) = self.layout.positions[column as usize].and_then(|i| record.get(i)) else {
            return Ok("");
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.trim()),
            Err(_) => {
                self.error(column, "is not UTF-8 text; save the sheet as CSV UTF-8".into());
                Err(())
            }
        }
    }

    fn cell<T>(&mut self, column: Column, parse: impl FnOnce(&str) -> Result<T, String>) -> Value<T> {
        let Ok(text) = self.text(column) else {
            return Value::Invalid;
        };
        if text.is_empty() {
            return Value::Blank;
        }
        match parse(text) {
            Ok(value) => Value::Valid(value, text.to_string()),
            Err(reason) => {
                self.error(column, reason);
                Value::Invalid
            }
        }
    }

    fn text_cell(&mut self, column: Column) -> Value<String> {
        self.cell(column, |text| Ok(text.to_string()))
    }

    /// A cell that must not be blank.
    fn required<T>(&mut self, column: Column, value: Value<T>, reason: &str) -> Option<T> {
        if matches!(value, Value::Blank) {
            self.error(column, reason.into());
        }
        value.into_option()
    }
}

/// The order-level cells of a row.
struct OrderCells {
    number: Value<String>,
    placed_at: Value<OffsetDateTime>,
    currency: Value<Currency>,
    payment: Value<PaymentState>,
    customer_name: Value<String>,
    customer_email: Value<String>,
    customer_phone: Value<String>,
    first_name: Value<String>,
    last_name: Value<String>,
    company: Value<String>,
    address1: Value<String>,
    address2: Value<String>,
    city: Value<String>,
    region: Value<String>,
    postal_code: Value<String>,
    country: Value<String>,
    ship_phone: Value<String>,
    shipping_total: Value<Money>,
    discount_total: Value<Money>,
    tax_total: Value<Money>,
}

impl OrderCells {
    /// Reads the order-level cells; amounts are read in `order_currency` when the order is
    /// already known, else in the row's own currency.
    fn read(row: &mut Row<'_>, order_currency: Option<Currency>) -> OrderCells {
        let number = row.text_cell(Column::OrderNumber);
        let placed_at = row.cell(Column::PlacedAt, parse_placed_at);
        let currency = row.cell(Column::Currency, parse_currency);
        let amount_currency = order_currency.or(currency.get().copied());
        OrderCells {
            number,
            placed_at,
            currency,
            payment: row.cell(Column::PaymentStatus, parse_payment),
            customer_name: row.text_cell(Column::CustomerName),
            customer_email: row.cell(Column::CustomerEmail, parse_email),
            customer_phone: row.text_cell(Column::CustomerPhone),
            first_name: row.text_cell(Column::ShipFirstName),
            last_name: row.text_cell(Column::ShipLastName),
            company: row.text_cell(Column::ShipCompany),
            address1: row.text_cell(Column::ShipAddress1),
            address2: row.text_cell(Column::ShipAddress2),
            city: row.text_cell(Column::ShipCity),
            region: row.text_cell(Column::ShipRegion),
            postal_code: row.text_cell(Column::ShipPostalCode),
            country: row.cell(Column::ShipCountry, parse_country),
            ship_phone: row.text_cell(Column::ShipPhone),
            shipping_total: amount_cell(row, Column::ShippingTotal, amount_currency),
            discount_total: amount_cell(row, Column::DiscountTotal, amount_currency),
            tax_total: amount_cell(row, Column::TaxTotal, amount_currency),
        }
    }

    /// The first row of an order must carry its required values.
    fn check_required(&self, row: &mut Row<'_>) {
        let reason = "is required on the first row of an order";
        for (column, blank) in [
            (Column::PlacedAt, matches!(self.placed_at, Value::Blank)),
            (Column::Currency, matches!(self.currency, Value::Blank)),
            (Column::ShipCountry, matches!(self.country, Value::Blank)),
        ] {
            if blank {
                row.error(column, reason.into());
            }
        }
    }

    /// A later row of an order: filled cells must agree with the order's first row.
    fn check_agreement(&self, first: &OrderCells, first_row: u64, row: &mut Row<'_>) {
        agree(row, Column::OrderNumber, &self.number, &first.number, first_row);
        agree(row, Column::PlacedAt, &self.placed_at, &first.placed_at, first_row);
        agree(row, Column::Currency, &self.currency, &first.currency, first_row);
        agree(row, Column::PaymentStatus, &self.payment, &first.payment, first_row);
        agree(
            row,
            Column::CustomerName,
            &self.customer_name,
            &first.customer_name,
            first_row,
        );
        agree(
            row,
            Column::CustomerEmail,
            &self.customer_email,
            &first.customer_email,
            first_row,
        );
        agree(
            row,
            Column::CustomerPhone,
            &self.customer_phone,
            &first.customer_phone,
            first_row,
        );
        agree(
            row,
            Column::ShipFirstName,
            &self.first_name,
            &first.first_name,
            first_row,
        );
        agree(row, Column::ShipLastName, &self.last_name, &first.last_name, first_row);
        agree(row, Column::ShipCompany, &self.company, &first.company, first_row);
        agree(row, Column::ShipAddress1, &self.address1, &first.address1, first_row);
        agree(row, Column::ShipAddress2, &self.address2, &first.address2, first_row);
        agree(row, Column::ShipCity, &self.city, &first.city, first_row);
        agree(row, Column::ShipRegion, &self.region, &first.region, first_row);
        agree(
            row,
            Column::ShipPostalCode,
            &self.postal_code,
            &first.postal_code,
            first_row,
        );
        agree(row, Column::ShipCountry, &self.country, &first.country, first_row);
        agree(row, Column::ShipPhone, &self.ship_phone, &first.ship_phone, first_row);
        agree(
            row,
            Column::ShippingTotal,
            &self.shipping_total,
            &first.shipping_total,
            first_row,
        );
        agree(
            row,
            Column::DiscountTotal,
            &self.discount_total,
            &first.discount_total,
            first_row,
        );
        agree(row, Column::TaxTotal, &self.tax_total, &first.tax_total, first_row);
    }
}

fn agree<T: PartialEq>(row: &mut Row<'_>, column: Column, this: &Value<T>, first: &Value<T>, first_row: u64) {
    let reason = match (this, first) {
        (Value::Valid(value, text), Value::Valid(first_value, first_text)) if value != first_value => format!(
            "{} disagrees with {} on row {first_row}, the order's first row",
            quote(text),
            quote(first_text)
        ),
        (Value::Valid(_, text), Value::Blank) => format!(
            "{} disagrees with row {first_row}, the order's first row, where it is blank",
            quote(text)
        ),
        _ => return,
    };
    row.error(column, reason);
}

fn amount_cell(row: &mut Row<'_>, column: Column, currency: Option<Currency>) -> Value<Money> {
    match currency {
        Some(currency) => row.cell(column, |text| parse_amount(text, currency)),
        // Without a currency the amount cannot be read; the currency's problem is reported.
        None => match row.text(column) {
            Ok("") => Value::Blank,
            _ => Value::Invalid,
        },
    }
}

/// Reads the line-level cells; `None` when one of them has a problem (reported).
fn read_line(row: &mut Row<'_>, currency: Option<Currency>) -> Option<IncomingLine> {
    let external_id = row.text_cell(Column::LineId);
    let sku = row.text_cell(Column::Sku);
    let sku = row.required(Column::Sku, sku, "is required");
    let title = row.text_cell(Column::Title);
    let title = row.required(Column::Title, title, "is required");
    let variant_title = row.text_cell(Column::VariantTitle);
    let quantity = row.cell(Column::Quantity, parse_quantity);
    let quantity = row.required(Column::Quantity, quantity, "is required");
    let unit_price = amount_cell(row, Column::UnitPrice, currency);
    let unit_price = row.required(Column::UnitPrice, unit_price, "is required");
    let requires_shipping = match row.cell(Column::RequiresShipping, parse_bool) {
        Value::Blank => Some(true),
        value => value.into_option(),
    };
    Some(IncomingLine {
        external_id: external_id.into_option(),
        sku: sku?,
        title: title?,
        variant_title: variant_title.into_option(),
        quantity: quantity?,
        unit_price: unit_price?,
        requires_shipping: requires_shipping?,
        platform_product_id: None,
        platform_variant_id: None,
        fulfillable_quantity: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Grouping rows into orders
// ---------------------------------------------------------------------------------------------

/// An order being gathered: its first row's order-level cells and its good lines.
struct Draft {
    external_id: String,
    first_row: u64,
    first: OrderCells,
    lines: Vec<IncomingLine>,
}

#[derive(Default)]
struct Import {
    drafts: Vec<Draft>,
    by_external_id: HashMap<String, usize>,
    rows_read: u64,
    report: Report,
}

impl Import {
    fn read_row(&mut self, layout: &Layout, record: &ByteRecord, row: u64) {
        if is_blank(record) {
            return;
        }
        self.rows_read += 1;
        let mut row = Row {
            record,
            layout,
            row,
            report: &mut self.report,
        };
        let external_id = row.text_cell(Column::OrderId);
        let external_id = row.required(Column::OrderId, external_id, "is required on every row");
        let existing = external_id.as_ref().and_then(|id| self.by_external_id.get(id)).copied();
        let order_currency = existing.and_then(|i| self.drafts[i].first.currency.get().copied());
        let cells = OrderCells::read(&mut row, order_currency);
        let line = read_line(&mut row, order_currency.or(cells.currency.get().copied()));
        match (existing, external_id) {
            (Some(index), _) => {
                let draft = &mut self.drafts[index];
                cells.check_agreement(&draft.first, draft.first_row, &mut row);
                draft.lines.extend(line);
            }
            (None, Some(external_id)) => {
                cells.check_required(&mut row);
                self.by_external_id.insert(external_id.clone(), self.drafts.len());
                self.drafts.push(Draft {
                    external_id,
                    first_row: row.row,
                    first: cells,
                    lines: line.into_iter().collect(),
                });
            }
            (None, None) => {}
        }
    }

    fn into_error(self) -> CsvImportError {
        CsvImportError {
            file: Vec::new(),
            rows: self.report.rows,
            unlisted_row_errors: self.report.unlisted,
        }
    }

    fn finish(self) -> Result<Vec<IncomingOrder>, CsvImportError> {
        if !self.report.is_empty() {
            return Err(self.into_error());
        }
        if self.rows_read == 0 {
            return Err(CsvImportError::file(FileError::NoRows));
        }
        self.drafts
            .into_iter()
            .map(Draft::into_order)
            .collect::<Result<_, _>>()
            .map_err(|error| CsvImportError {
                rows: vec![error],
                ..Default::default()
            })
    }
}

impl Draft {
    /// The finished order. Only called when no row had a problem, so every required value is
    /// there; the error covers that invariant rather than panicking.
    fn into_order(self) -> Result<IncomingOrder, RowError> {
        let missing = |column: Column| RowError {
            row: self.first_row,
            field: column.name().into(),
            reason: "is required on the first row of an order".into(),
        };
        let first = self.first;
        let placed_at = first.placed_at.into_option().ok_or_else(|| missing(Column::PlacedAt))?;
        let currency = first.currency.into_option().ok_or_else(|| missing(Column::Currency))?;
        let country_code = first
            .country
            .into_option()
            .ok_or_else(|| missing(Column::ShipCountry))?;
        let shipping_address = Address {
            first_name: first.first_name.into_option().unwrap_or_default(),
            last_name: first.last_name.into_option().unwrap_or_default(),
            company: first.company.into_option(),
            address1: first.address1.into_option().unwrap_or_default(),
            address2: first.address2.into_option(),
            city: first.city.into_option().unwrap_or_default(),
            region: first.region.into_option(),
            postal_code: first.postal_code.into_option().unwrap_or_default(),
            country_code,
            phone: first.ship_phone.into_option(),
        };
        let customer = Customer {
            name: first
                .customer_name
                .into_option()
                .unwrap_or_else(|| shipping_address.full_name()),
            email: first.customer_email.into_option(),
            phone: first.customer_phone.into_option(),
        };
        Ok(IncomingOrder {
            number: first.number.into_option().unwrap_or_else(|| self.external_id.clone()),
            external_id: self.external_id,
            customer,
            shipping_address,
            lines: self.lines,
            currency,
            shipping_total: first.shipping_total.into_option().unwrap_or(Money::zero(currency)),
            payment: first.payment.into_option().unwrap_or(PaymentState::Paid),
            placed_at,
            test: false,
            cancelled_at: None,
            source_updated_at: None,
            charged_total: None,
            discount_total: first.discount_total.into_option(),
            tax_total: first.tax_total.into_option(),
            shipping_method: None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Cell formats
// ---------------------------------------------------------------------------------------------

/// A cell's text for a message: quoted, and cut when long.
fn quote(text: &str) -> String {
    const LIMIT: usize = 40;
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("'{}...'", &text[..end]),
        None => format!("'{text}'"),
    }
}

fn parse_placed_at(text: &str) -> Result<OffsetDateTime, String> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at.to_offset(UtcOffset::UTC));
    }
    let local = text.replacen(['T', 't'], " ", 1);
    let with_seconds = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let without_seconds = format_description!("[year]-[month]-[day] [hour]:[minute]");
    let date_only = format_description!("[year]-[month]-[day]");
    PrimitiveDateTime::parse(&local, with_seconds)
        .or_else(|_| PrimitiveDateTime::parse(&local, without_seconds))
        .or_else(|_| Date::parse(text, date_only).map(Date::midnight))
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| {
            format!(
                "{} is not a date and time (use 2025-03-14, 2025-03-14 09:30 or 2025-03-14T09:30:00Z)",
                quote(text)
            )
        })
}

fn parse_currency(text: &str) -> Result<Currency, String> {
    Currency::parse(&text.to_ascii_uppercase())
        .map_err(|_| format!("{} is not an ISO 4217 currency code (e.g. USD, EUR, GBP)", quote(text)))
}

fn parse_payment(text: &str) -> Result<PaymentState, String> {
    PaymentState::parse(&text.to_ascii_lowercase()).ok_or_else(|| {
        let known: Vec<&str> = PaymentState::ALL.iter().map(PaymentState::as_str).collect();
        format!("{} is not a payment status (use {})", quote(text), known.join(", "))
    })
}

fn parse_email(text: &str) -> Result<String, String> {
    let valid = match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !text.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!("{} is not an email address", quote(text)))
    }
}

fn parse_country(text: &str) -> Result<String, String> {
    if text.len() == 2 && text.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(text.to_ascii_uppercase())
    } else {
        Err(format!(
            "{} is not a two-letter ISO 3166-1 country code (e.g. US, FR, GB)",
            quote(text)
        ))
    }
}

fn parse_amount(text: &str, currency: Currency) -> Result<Money, String> {
    match Money::parse_decimal(text, currency) {
        Ok(money) if money.minor < 0 => Err(format!("{} must not be negative", quote(text))),
        Ok(money) => Ok(money),
        Err(MoneyError::Overflow) => Err(format!("{} is too large", quote(text))),
        Err(_) => {
            let decimals = currency.exponent() as usize;
            let example = match decimals {
                0 => "1250".to_string(),
                n => format!("12.5{}", "0".repeat(n - 1)),
            };
            Err(format!(
                "{} is not an amount in {currency} (use digits and a '.', at most {decimals} decimal(s), e.g. {example})",
                quote(text)
            ))
        }
    }
}

fn parse_quantity(text: &str) -> Result<u32, String> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(0) => Err(format!("{} must be at least 1", quote(text))),
            Ok(quantity) => Ok(quantity),
            Err(_) => Err(format!("{} is too large", quote(text))),
        };
    }
    match text.parse::<i64>() {
        Ok(n) if n < 1 => Err(format!("{} must be at least 1", quote(text))),
        _ => Err(format!("{} is not a whole number (use digits, e.g. 2)", quote(text))),
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{} is not one of true, false, yes, no, 1, 0", quote(text))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn parse(text: &str) -> Result<Vec<IncomingOrder>, CsvImportError> {
        parse_orders(text.as_bytes(), |_| {})
    }

    fn parse_ok(text: &str) -> Vec<IncomingOrder> {
        parse(text).unwrap_or_else(|e| panic!("should parse, got:\n{e}"))
    }

    fn money(text: &str, code: &str) -> Money {
        Money::parse_decimal(text, Currency::parse(code).expect("currency")).expect("amount")
    }

    /// A short layout for the error tests; `GOOD` is a valid row of it.
    const HEADER: &str = "order_id,placed_at,currency,ship_country,shipping_total,sku,title,quantity,unit_price\n";
    const GOOD: &str = "1,2025-03-14,USD,US,0,SKU-1,Mug,1,10.00\n";

    /// Parses `HEADER` + `body` and checks the (row, field) of every problem, in order.
    fn check_rows(body: &str, expected: &[(u64, &str)]) -> CsvImportError {
        check_rows_under(HEADER, body, expected)
    }

    /// Like [`check_rows`], under another header.
    fn check_rows_under(header: &str, body: &str, expected: &[(u64, &str)]) -> CsvImportError {
        let error = parse(&format!("{header}{body}")).expect_err("should fail");
        let got: Vec<(u64, &str)> = error.rows.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(got, expected, "problems were:\n{error}");
        assert!(error.file.is_empty(), "{error}");
        error
    }

    fn check_file(text: &str, expected: &[FileError]) {
        let error = parse(text).expect_err("should fail");
        assert_eq!(error.file, expected, "{error}");
        assert!(error.rows.is_empty(), "{error}");
    }

    #[test]
    fn the_sample_parses_into_its_three_orders() {
        let orders = parse_ok(SAMPLE_CSV);
        let numbers: Vec<&str> = orders.iter().map(|o| o.number.as_str()).collect();
        assert_eq!(numbers, ["#1001", "#1002", "#1003"]);

        let ada = &orders[0];
        assert_eq!(ada.external_id, "5001");
        assert_eq!(ada.placed_at, datetime!(2025-03-14 09:30:00 UTC));
        assert_eq!(ada.currency, Currency::parse("USD").expect("USD"));
        assert_eq!(ada.payment, PaymentState::Paid);
        assert_eq!(ada.shipping_total, money("4.99", "USD"));
        assert_eq!(ada.shipping_total.minor, 499);
        assert_eq!(
            ada.customer,
            Customer {
                name: "Ada Lovelace".into(),
                email: Some("ada@example.com".into()),
                phone: Some("+1 415 555 0100".into()),
            }
        );
        assert_eq!(
            ada.shipping_address,
            Address {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                company: None,
                address1: "1 Market St".into(),
                address2: Some("Apt 4".into()),
                city: "San Francisco".into(),
                region: Some("CA".into()),
                postal_code: "94105".into(),
                country_code: "US".into(),
                phone: Some("+1 415 555 0100".into()),
            }
        );
        assert_eq!(
            ada.lines,
            vec![
                IncomingLine {
                    external_id: Some("L-1".into()),
                    sku: "MUG-BLK-11".into(),
                    title: "Ceramic mug".into(),
                    variant_title: Some("Black / 11 oz".into()),
                    quantity: 2,
                    unit_price: Money::new(1250, Currency::parse("USD").expect("USD")),
                    requires_shipping: true,
                    platform_product_id: None,
                    platform_variant_id: None,
                    fulfillable_quantity: None,
                },
                IncomingLine {
                    external_id: Some("L-2".into()),
                    sku: "GIFT-25".into(),
                    title: "Gift card".into(),
                    variant_title: None,
                    quantity: 1,
                    unit_price: money("25", "USD"),
                    requires_shipping: false,
                    platform_product_id: None,
                    platform_variant_id: None,
                    fulfillable_quantity: None,
                },
            ]
        );

        let jean = &orders[1];
        assert_eq!(jean.placed_at, datetime!(2025-03-14 17:05:00 UTC));
        assert_eq!(jean.payment, PaymentState::Pending);
        assert_eq!(
            jean.customer.name, "Jean Dupont",
            "blank customer_name falls back to the ship name"
        );
        assert_eq!(jean.customer.phone, None);
        assert_eq!(jean.shipping_address.company.as_deref(), Some("Dupont & Fils"));
        assert_eq!(jean.shipping_address.region, None);
        assert_eq!(jean.shipping_total, money("0", "EUR"));
        assert_eq!(jean.lines.len(), 1);
        assert_eq!(
            jean.lines[0].unit_price,
            Money::new(1990, Currency::parse("EUR").expect("EUR"))
        );
        assert_eq!(jean.lines[0].external_id, None);
        assert!(jean.lines[0].requires_shipping);

        let mary = &orders[2];
        assert_eq!(mary.placed_at, datetime!(2025-03-15 00:00:00 UTC));
        assert_eq!(mary.payment, PaymentState::Authorized);
        assert_eq!(mary.shipping_address.address1, "Flat 2, 10 Downing Lane");
        assert_eq!(mary.shipping_address.country_code, "GB");
        assert_eq!(mary.shipping_address.postal_code, "SW1A 2AA");
        assert_eq!(
            mary.shipping_total,
            Money::new(350, Currency::parse("GBP").expect("GBP"))
        );
        let lines: Vec<(&str, &str, u32, i64, bool)> = mary
            .lines
            .iter()
            .map(|l| {
                (
                    l.sku.as_str(),
                    l.title.as_str(),
                    l.quantity,
                    l.unit_price.minor,
                    l.requires_shipping,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("POSTER-A2", "Poster \"Night sky\", A2", 3, 800, true),
                ("FRAME-A2", "Oak frame", 1, 1500, true),
            ]
        );
        assert!(mary.lines.iter().all(|l| l.unit_price.currency == mary.currency));
    }

    #[test]
    fn the_layout_document_carries_the_sample() {
        let layout = include_str!("../CSV_LAYOUT.md");
        assert!(
            layout.contains(SAMPLE_CSV),
            "CSV_LAYOUT.md's example must be SAMPLE_CSV"
        );
        for column in Column::ALL {
            assert!(
                layout.contains(&format!("| `{}` |", column.name())),
                "{} is not documented",
                column.name()
            );
        }
    }

    #[test]
    fn rows_of_one_order_need_not_be_adjacent() {
        let orders = parse_ok(&format!(
            "{HEADER}\
             B,2025-03-14,USD,US,1.00,SKU-1,Mug,1,10.00\n\
             A,2025-03-14,EUR,FR,,SKU-2,Cap,2,5\n\
             B,,,,,SKU-3,Pen,3,0.99\n"
        ));
        let summary: Vec<(&str, Vec<&str>)> = orders
            .iter()
            .map(|o| (o.external_id.as_str(), o.lines.iter().map(|l| l.sku.as_str()).collect()))
            .collect();
        assert_eq!(summary, [("B", vec!["SKU-1", "SKU-3"]), ("A", vec!["SKU-2"])]);
        assert_eq!(orders[0].number, "B", "order_number defaults to order_id");
        assert_eq!(orders[0].shipping_total.minor, 100);
        assert_eq!(orders[1].shipping_total, money("0", "EUR"));
        assert_eq!(orders[0].lines[1].unit_price.minor, 99);
    }

    #[test]
    fn placed_at_takes_rfc3339_dates_and_utc_date_times() {
        for (text, expected) in [
            ("2025-03-14T09:30:00Z", datetime!(2025-03-14 09:30:00 UTC)),
            ("2025-03-14T11:30:00+02:00", datetime!(2025-03-14 09:30:00 UTC)),
            ("2025-03-14", datetime!(2025-03-14 00:00:00 UTC)),
            ("2025-03-14 09:30", datetime!(2025-03-14 09:30:00 UTC)),
            ("2025-03-14 09:30:15", datetime!(2025-03-14 09:30:15 UTC)),
            ("2025-03-14T09:30", datetime!(2025-03-14 09:30:00 UTC)),
        ] {
            let orders = parse_ok(&format!("{HEADER}1,{text},USD,US,0,SKU,Mug,1,1\n"));
            assert_eq!(orders[0].placed_at, expected, "{text}");
            assert_eq!(orders[0].placed_at.offset(), UtcOffset::UTC, "{text}");
        }
    }

    #[test]
    fn a_bad_amount_names_row_and_field() {
        let error = check_rows(
            &format!("{GOOD}2,2025-03-14,USD,US,0,SKU,Mug,1,\"12,50\"\n"),
            &[(3, "unit_price")],
        );
        assert_eq!(
            error.to_string(),
            "row 3, unit_price: '12,50' is not an amount in USD (use digits and a '.', at most 2 decimal(s), e.g. 12.50)"
        );
        check_rows("1,2025-03-14,USD,US,0,SKU,Mug,1,$10\n", &[(2, "unit_price")]);
        check_rows("1,2025-03-14,USD,US,0,SKU,Mug,1,10.001\n", &[(2, "unit_price")]);
        check_rows("1,2025-03-14,JPY,JP,0,SKU,Mug,1,10.5\n", &[(2, "unit_price")]);
        check_rows("1,2025-03-14,USD,US,0,SKU,Mug,1,-1.00\n", &[(2, "unit_price")]);
        check_rows("1,2025-03-14,USD,US,1.2.3,SKU,Mug,1,1\n", &[(2, "shipping_total")]);
        check_rows("1,2025-03-14,USD,US,-4.99,SKU,Mug,1,1\n", &[(2, "shipping_total")]);
        check_rows(
            "1,2025-03-14,USD,US,0,SKU,Mug,1,99999999999999999999\n",
            &[(2, "unit_price")],
        );
    }

    /// `HEADER` with the optional order-level amounts after `shipping_total`.
    const TOTALS_HEADER: &str = "order_id,placed_at,currency,ship_country,shipping_total,discount_total,tax_total,sku,title,quantity,unit_price\n";

    #[test]
    fn discount_and_tax_totals_are_read_once_per_order() {
        let orders = parse_ok(&format!(
            "{TOTALS_HEADER}\
             A,2025-03-14,USD,US,4.99,5.00,2.1,SKU-1,Mug,1,10.00\n\
             B,2025-03-14,JPY,JP,0,,,SKU-2,Cap,1,1250\n\
             A,,,,,5,,SKU-3,Pen,1,1\n\
             C,2025-03-14,EUR,FR,,0,0.00,SKU-4,Cup,1,3\n\
             A,2025-03-14,USD,US,4.99,5,2.10,SKU-5,Ink,1,2\n"
        ));
        let totals: Vec<(&str, Option<Money>, Option<Money>)> = orders
            .iter()
            .map(|o| (o.external_id.as_str(), o.discount_total, o.tax_total))
            .collect();
        assert_eq!(
            totals,
            [
                ("A", Some(money("5", "USD")), Some(money("2.10", "USD"))),
                ("B", None, None),
                ("C", Some(money("0", "EUR")), Some(money("0", "EUR"))),
            ]
        );
        assert_eq!(orders[0].discount_total.map(|m| m.minor), Some(500));
        assert_eq!(orders[0].tax_total.map(|m| m.minor), Some(210));
        assert_eq!(orders[0].shipping_total.minor, 499);
        assert_eq!(orders[0].lines.len(), 3);
        // Without the columns there is nothing to say.
        let orders = parse_ok(&format!("{HEADER}{GOOD}"));
        assert_eq!((orders[0].discount_total, orders[0].tax_total), (None, None));
        assert!(
            parse_ok(SAMPLE_CSV)
                .iter()
                .all(|o| o.discount_total.is_none() && o.tax_total.is_none())
        );
    }

    #[test]
    fn a_bad_discount_or_tax_total_names_row_and_field() {
        let error = check_rows_under(
            TOTALS_HEADER,
            "1,2025-03-14,USD,US,0,-1.00,0,SKU,Mug,1,1\n",
            &[(2, "discount_total")],
        );
        assert_eq!(error.to_string(), "row 2, discount_total: '-1.00' must not be negative");
        let error = check_rows_under(
            TOTALS_HEADER,
            "1,2025-03-14,USD,US,0,0,\"1,50\",SKU,Mug,1,1\n",
            &[(2, "tax_total")],
        );
        assert_eq!(
            error.to_string(),
            "row 2, tax_total: '1,50' is not an amount in USD (use digits and a '.', at most 2 decimal(s), e.g. 12.50)"
        );
        check_rows_under(
            TOTALS_HEADER,
            "1,2025-03-14,USD,US,0,1.2.3,-0.01,SKU,Mug,1,1\n",
            &[(2, "discount_total"), (2, "tax_total")],
        );
        check_rows_under(
            TOTALS_HEADER,
            "1,2025-03-14,JPY,JP,0,10.5,$3,SKU,Mug,1,1\n",
            &[(2, "discount_total"), (2, "tax_total")],
        );
        // A later row's amount is read in the order's currency, and checked like the first's.
        check_rows_under(
            TOTALS_HEADER,
            "1,2025-03-14,USD,US,0,1,1,SKU,Mug,1,1\n\
             1,,,,,,-1,SKU,Mug,1,1\n",
            &[(3, "tax_total")],
        );
    }

    #[test]
    fn discount_and_tax_totals_must_agree_across_the_rows_of_an_order() {
        let error = check_rows_under(
            TOTALS_HEADER,
            "1,2025-03-14,USD,US,0,5.00,,SKU-1,Mug,1,1\n\
             1,,,,,5.01,0,SKU-2,Cap,1,1\n",
            &[(3, "discount_total"), (3, "tax_total")],
        );
        assert_eq!(
            error.to_string(),
            "row 3, discount_total: '5.01' disagrees with '5.00' on row 2, the order's first row\n\
             row 3, tax_total: '0' disagrees with row 2, the order's first row, where it is blank"
        );
        check_rows_under(
            TOTALS_HEADER,
            "1,2025-03-14,USD,US,0,,2.00,SKU-1,Mug,1,1\n\
             1,,,,,,2,SKU-2,Cap,1,1\n\
             1,,,,,,1.99,SKU-3,Pen,1,1\n",
            &[(4, "tax_total")],
        );
    }

    #[test]
    fn a_bad_quantity_names_row_and_field() {
        for quantity in ["0", "-1", "1.5", "two", "99999999999", "+1"] {
            let error = check_rows(
                &format!("1,2025-03-14,USD,US,0,SKU,Mug,{quantity},1\n"),
                &[(2, "quantity")],
            );
            assert!(error.rows[0].reason.contains(&format!("'{quantity}'")), "{error}");
        }
        let error = check_rows("1,2025-03-14,USD,US,0,SKU,Mug,0,1\n", &[(2, "quantity")]);
        assert_eq!(error.to_string(), "row 2, quantity: '0' must be at least 1");
    }

    #[test]
    fn order_level_values_are_checked() {
        // An unknown currency: its amounts cannot be read and are not reported twice.
        check_rows("1,2025-03-14,XYZ,US,0,SKU,Mug,1,10.00\n", &[(2, "currency")]);
        check_rows("1,14/03/2025,USD,US,0,SKU,Mug,1,1\n", &[(2, "placed_at")]);
        check_rows("1,2025-02-30,USD,US,0,SKU,Mug,1,1\n", &[(2, "placed_at")]);
        check_rows("1,2025-03-14,USD,USA,0,SKU,Mug,1,1\n", &[(2, "ship_country")]);
        check_rows("1,2025-03-14,USD,U1,0,SKU,Mug,1,1\n", &[(2, "ship_country")]);
        check_rows(
            "1,,,,0,SKU,Mug,1,1\n",
            &[(2, "placed_at"), (2, "currency"), (2, "ship_country")],
        );
        let orders = parse_ok(
            "order_id,placed_at,currency,ship_country,sku,title,quantity,unit_price\n1,2025-03-14,usd,fr,S,T,1,1\n",
        );
        assert_eq!(orders[0].currency.code(), "USD");
        assert_eq!(orders[0].shipping_address.country_code, "FR");
    }

    #[test]
    fn line_values_are_checked() {
        check_rows("1,2025-03-14,USD,US,0,,Mug,1,1\n", &[(2, "sku")]);
        check_rows("1,2025-03-14,USD,US,0,SKU,,1,1\n", &[(2, "title")]);
        check_rows(
            "1,2025-03-14,USD,US,0,SKU,Mug,,\n",
            &[(2, "quantity"), (2, "unit_price")],
        );
        check_rows(",2025-03-14,USD,US,0,SKU,Mug,1,1\n", &[(2, "order_id")]);
        let header = "order_id,placed_at,currency,ship_country,sku,title,quantity,unit_price,\
                      payment_status,customer_email,requires_shipping\n";
        let error = parse(&format!(
            "{header}1,2025-03-14,USD,US,S,T,1,1,shipped,ada.example.com,maybe\n\
             2,2025-03-14,USD,US,S,T,1,1,paid,a@b@c,true\n\
             3,2025-03-14,USD,US,S,T,1,1,Partially_Refunded,@example.com,NO\n"
        ))
        .expect_err("should fail");
        let got: Vec<(u64, &str)> = error.rows.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(
            got,
            [
                (2, "payment_status"),
                (2, "customer_email"),
                (2, "requires_shipping"),
                (3, "customer_email"),
                (4, "customer_email"),
            ],
            "{error}"
        );
    }

    #[test]
    fn order_level_values_must_agree_across_the_rows_of_an_order() {
        let error = check_rows(
            "1,2025-03-14,USD,US,0,SKU-1,Mug,1,1\n\
             2,2025-03-14,USD,US,0,SKU-2,Cap,1,1\n\
             1,2025-03-15,USD,US,0,SKU-3,Pen,1,1\n",
            &[(4, "placed_at")],
        );
        assert_eq!(
            error.to_string(),
            "row 4, placed_at: '2025-03-15' disagrees with '2025-03-14' on row 2, the order's first row"
        );
        // Equal values written differently agree; blank cells mean "same as the first row".
        parse_ok(&format!(
            "{HEADER}1,2025-03-14,usd,us,5,SKU-1,Mug,1,1\n\
             1,2025-03-14T00:00:00Z,USD,US,5.00,SKU-2,Cap,1,1\n\
             1,,,,,SKU-3,Pen,1,1\n"
        ));
        check_rows(
            "1,2025-03-14,USD,US,,SKU-1,Mug,1,1\n\
             1,2025-03-14,EUR,FR,5.00,SKU-2,Cap,1,1\n",
            &[(3, "currency"), (3, "ship_country"), (3, "shipping_total")],
        );
    }

    #[test]
    fn a_row_with_the_wrong_number_of_cells_is_reported_and_reading_goes_on() {
        let error = check_rows(
            "1,2025-03-14,USD,US,0,SKU,Mug,1\n\
             2,2025-03-14,USD,US,0,SKU,Mug,1,1,extra\n\
             3,2025-03-14,USD,US,0,SKU,Mug,0,1\n",
            &[(2, "columns"), (3, "columns"), (4, "quantity")],
        );
        assert_eq!(
            error.rows[0].to_string(),
            "row 2, columns: the row has 8 cell(s) but the header has 9"
        );
    }

    #[test]
    fn every_problem_of_the_file_is_reported_together() {
        let error = check_rows(
            &format!(
                "{GOOD}\
                 2,yesterday,USD,US,0,SKU,Mug,0,\"12,50\"\n\
                 {GOOD}\
                 3,2025-03-14,XYZ,USA,0,,Mug,1,1\n\
                 1,2025-03-14,USD,CA,0,SKU,Mug,1,1\n"
            ),
            &[
                (3, "placed_at"),
                (3, "quantity"),
                (3, "unit_price"),
                (5, "currency"),
                (5, "ship_country"),
                (5, "sku"),
                (6, "ship_country"),
            ],
        );
        assert_eq!(error.to_string().lines().count(), 7);
    }

    #[test]
    fn rows_are_numbered_by_line_even_after_a_multi_line_cell() {
        check_rows(
            "1,2025-03-14,USD,US,0,SKU,\"A title\non two lines\",1,1\n\
             2,2025-03-14,USD,US,0,SKU,Mug,1,oops\n",
            &[(4, "unit_price")],
        );
    }

    #[test]
    fn file_level_problems() {
        check_file("", &[FileError::Empty]);
        check_file("\u{feff}", &[FileError::Empty]);
        check_file("\n\n , \n", &[FileError::Empty]);
        check_file(HEADER, &[FileError::NoRows]);
        check_file(&format!("{HEADER},,,,,,,,\n"), &[FileError::NoRows]);
        check_file(
            "order_id,placed_at,currency,ship_country,title,quantity\n1,2025-03-14,USD,US,Mug,1\n",
            &[
                FileError::MissingColumn { column: "sku".into() },
                FileError::MissingColumn {
                    column: "unit_price".into(),
                },
            ],
        );
        check_file(
            "order_id,placed_at,currency,ship_country,sku,SKU,title,quantity,unit_price\n",
            &[FileError::DuplicateColumn { column: "sku".into() }],
        );
        check_file("{\"orders\": []}\n", &[FileError::NoHeader]);
        check_file(&format!(",,\n{HEADER}{GOOD}"), &[FileError::NoHeader]);
        check_file("1,2025-03-14,USD,US,0,SKU,Mug,1,1\n", &[FileError::NoHeader]);
        let not_csv = |text: &[u8]| {
            let error = parse_orders(text, |_| {}).expect_err("should fail");
            assert!(matches!(error.file.as_slice(), [FileError::NotCsv { .. }]), "{error}");
            error.to_string()
        };
        assert!(not_csv(b"PK\x03\x04\x14\x00\x06\x00").contains(".xlsx"));
        assert!(not_csv(b"\xFF\xFEo\x00r\x00").contains("UTF-16"));
        assert!(not_csv(b"order_id;placed_at;currency\n1;2;3\n").contains("';'"));
        assert!(not_csv(b"order_id\tplaced_at\tcurrency\n").contains("tabs"));
        assert!(not_csv(b"order_id,\xC3\x28\n").contains("UTF-8"));
        assert!(not_csv(b"order_id,a\x00b\n").contains("binary"));
    }

    #[test]
    fn a_byte_order_mark_is_skipped_even_when_read_byte_by_byte() {
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match (self.0.split_first(), buf.first_mut()) {
                    (Some((byte, rest)), Some(slot)) => {
                        *slot = *byte;
                        self.0 = rest;
                        Ok(1)
                    }
                    _ => Ok(0),
                }
            }
        }
        let with_bom = format!("\u{feff}{SAMPLE_CSV}");
        assert_eq!(parse_ok(&with_bom), parse_ok(SAMPLE_CSV));
        let slow = parse_orders(OneByte(with_bom.as_bytes()), |_| {}).expect("parses");
        assert_eq!(slow, parse_ok(SAMPLE_CSV));
        // Also when the first header is quoted.
        let quoted = format!("\u{feff}\"order_id\"{}", &HEADER["order_id".len()..]);
        assert_eq!(parse_ok(&format!("{quoted}{GOOD}")).len(), 1);
    }

    #[test]
    fn headers_are_case_insensitive_in_any_order_and_unknown_columns_are_ignored() {
        let orders = parse_ok(
            "Unit Price,SKU,Title,Quantity,Order-ID,PLACED_AT,Currency,Ship Country,Notes,Gift wrap\n\
             10.00,SKU-1,Mug,2,A,2025-03-14,USD,US,leave at the door,no\n",
        );
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].external_id, "A");
        assert_eq!(orders[0].lines[0].quantity, 2);
        assert_eq!(orders[0].lines[0].unit_price.minor, 1000);
    }

    #[test]
    fn a_cell_that_is_not_utf8_is_a_row_problem() {
        let mut text = format!("{HEADER}1,2025-03-14,USD,US,0,SKU,").into_bytes();
        text.extend_from_slice(b"Caf\xE9,1,1\n");
        let error = parse_orders(text.as_slice(), |_| {}).expect_err("should fail");
        assert_eq!(
            error.rows,
            [RowError {
                row: 2,
                field: "title".into(),
                reason: "is not UTF-8 text; save the sheet as CSV UTF-8".into(),
            }]
        );
    }

    #[test]
    fn progress_counts_bytes_as_the_file_streams_in() {
        let mut text = String::from(HEADER);
        for i in 0..2000 {
            text.push_str(&format!("{i},2025-03-14,USD,US,0,SKU-{i},Mug,1,10.00\n"));
        }
        let mut seen = Vec::new();
        let orders = parse_orders(text.as_bytes(), |bytes| seen.push(bytes)).expect("parses");
        assert_eq!(orders.len(), 2000);
        assert!(seen.len() > 3, "progress should come while reading: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert_eq!(seen.last().copied(), Some(text.len() as u64));
    }

    #[test]
    fn row_problems_beyond_the_limit_are_counted() {
        let mut text = String::from(HEADER);
        for i in 0..MAX_LISTED_ROW_ERRORS + 5 {
            text.push_str(&format!("{i},2025-03-14,USD,US,0,SKU,Mug,0,1\n"));
        }
        let error = parse(&text).expect_err("should fail");
        assert_eq!(error.rows.len(), MAX_LISTED_ROW_ERRORS);
        assert_eq!(error.unlisted_row_errors, 5);
        assert!(error.to_string().ends_with("... and 5 more row problem(s)"));
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "9".repeat(500);
        let error = check_rows(
            &format!("1,2025-03-14,USD,US,0,SKU,Mug,1,{long}.5.5\n"),
            &[(2, "unit_price")],
        );
        assert!(error.rows[0].reason.len() < 200, "{}", error.rows[0].reason);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_orders(bytes.as_slice(), |_| {});
        }

        #[test]
        fn arbitrary_rows_under_a_valid_header_never_panic(body in "[0-9A-Za-z,.:\"\\- \n@#$\u{e9}\u{feff}]{0,400}") {
            let mut seen = 0;
            let text = format!("{HEADER}{body}");
            let _ = parse_orders(text.as_bytes(), |bytes| seen = bytes);
            prop_assert_eq!(seen, text.len() as u64);
        }

        #[test]
        fn any_valid_amount_and_quantity_round_trip(minor in 0i64..10_000_000_000, quantity in 1u32..100_000) {
            let amount = Money::new(minor, Currency::parse("USD").expect("USD"));
            let text = amount.to_string();
            let decimal = text.trim_end_matches(" USD");
            let orders = parse(&format!("{HEADER}1,2025-03-14,USD,US,{decimal},SKU,Mug,{quantity},{decimal}\n"))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(orders[0].lines[0].unit_price, amount);
            prop_assert_eq!(orders[0].lines[0].quantity, quantity);
            prop_assert_eq!(orders[0].shipping_total, amount);
        }

        #[test]
        fn any_valid_order_amounts_round_trip(
            shipping in 0i64..10_000_000_000,
            discount in proptest::option::of(0i64..10_000_000_000),
            tax in proptest::option::of(0i64..10_000_000_000),
            code in prop_oneof![Just("USD"), Just("JPY"), Just("KWD")],
            repeat in any::<bool>(),
        ) {
            let currency = Currency::parse(code).expect("currency");
            let cell = |minor: Option<i64>| minor.map(|m| Money::new(m, currency).amount_string()).unwrap_or_default();
            let (shipping_cell, discount_cell, tax_cell) = (cell(Some(shipping)), cell(discount), cell(tax));
            // A later row of the order repeats the amounts or leaves them blank.
            let later = if repeat { (shipping_cell.as_str(), discount_cell.as_str(), tax_cell.as_str()) } else { ("", "", "") };
            let text = format!(
                "{TOTALS_HEADER}1,2025-03-14,{code},US,{shipping_cell},{discount_cell},{tax_cell},SKU,Mug,1,1\n\
                 1,,,,{},{},{},SKU-2,Cap,1,1\n",
                later.0, later.1, later.2
            );
            let orders = parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(orders.len(), 1);
            prop_assert_eq!(orders[0].shipping_total, Money::new(shipping, currency));
            prop_assert_eq!(orders[0].discount_total, discount.map(|m| Money::new(m, currency)));
            prop_assert_eq!(orders[0].tax_total, tax.map(|m| Money::new(m, currency)));
        }
    }
}
