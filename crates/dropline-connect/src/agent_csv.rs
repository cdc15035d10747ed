//! The private sourcing agent's spreadsheet exchange. Many sellers buy through an agent who
//! works from spreadsheets: dropline sends the agent its supplier orders as a CSV file in the
//! agent's own column layout ([`export`]), and later reads the file the agent sends back with
//! the agent's order ids and tracking numbers ([`import_results`]), then matches the returned
//! rows to the supplier orders it knows ([`match_results`]). Everything here works on byte
//! buffers; nothing is stored or sent.
//!
//! # The export layout
//!
//! An [`AgentLayout`] is an ordered list of (column header, [`AgentField`]). The file has one
//! row per supplier-order line; order-level fields (ids, ship-to address, note) repeat on every
//! line. A layout is written as a short spec, `Header=field` entries separated by commas or
//! line breaks, e.g. `Order No=order_number, SKU=supplier_sku, Qty=quantity, ID=supplier_order_id`.
//! Field names are case-insensitive and take spaces or hyphens for underscores. Every layout
//! names `supplier_order_id` or `idempotency_key`, so the agent's return file can be matched.
//!
//! The default layout:
//!
//! | column header | field | value |
//! | --- | --- | --- |
//! | Dropline ID | `supplier_order_id` | dropline's id of the supplier order |
//! | Order No | `order_number` | the order name the customer sees (`#1001`) |
//! | Line | `line_number` | 1, 2, … within the supplier order |
//! | SKU | `supplier_sku` | the supplier's SKU |
//! | Product ID | `supplier_product_id` | the supplier's product id (from the offer), if known |
//! | Variant ID | `supplier_variant_id` | the supplier's variant id (from the offer), if known |
//! | Product URL | `product_url` | the supplier's product page |
//! | Product | `title` | product title |
//! | Variant | `variant_title` | variant title |
//! | Qty | `quantity` | units to buy |
//! | Name | `ship_to_name` | recipient's full name |
//! | Company | `ship_to_company` | |
//! | Address 1 | `ship_to_address1` | |
//! | Address 2 | `ship_to_address2` | |
//! | City | `ship_to_city` | |
//! | State/Province | `ship_to_region` | |
//! | Postal Code | `ship_to_postal_code` | |
//! | Country | `ship_to_country` | ISO 3166-1 alpha-2 code |
//! | Phone | `ship_to_phone` | |
//! | Shipping Method | `shipping_method` | |
//! | Note | `note` | the seller's note to the agent |
//!
//! The other field is `idempotency_key` (dropline's stable key of the supplier order).
//!
//! The file is UTF-8 with CRLF line ends and a header row; cells holding a comma, quote or
//! line break are quoted. **Formula injection:** a cell whose text starts with `=`, `+`, `-`
//! or `@` (after leading spaces), or with a tab or carriage return, would be run as a formula
//! by a spreadsheet, so it is written with a leading `'` (`=HYPERLINK(…)` becomes
//! `'=HYPERLINK(…)`, and a phone number `+1 415 …` becomes `'+1 415 …`). Customer-typed text
//! (names, addresses, notes) is the reason: it cannot be trusted.
//!
//! # The return file
//!
//! A CSV with a header row; column names are case-insensitive, and spaces, hyphens and other
//! punctuation count as underscores (`Tracking No.` is `tracking_no`). Unknown columns are
//! ignored, so the agent may fill the extra columns into the exported sheet and send it back.
//!
//! | column | aliases | required | value |
//! | --- | --- | --- | --- |
//! | `dropline_id` | `dropline_order_id`, `supplier_order_id` | this or `idempotency_key` | dropline's supplier order id (a UUID) |
//! | `idempotency_key` | `dropline_key` | this or `dropline_id` | dropline's key of the supplier order |
//! | `agent_order_id` | `agent_order`, `agent_order_no`, `agent_order_number`, `supplier_reference` | yes | the agent's order id; never blank |
//! | `tracking_number` | `tracking`, `tracking_no`, `tracking_numbers` | no | one or more tracking numbers, separated by `;`, `,` or line breaks |
//! | `carrier` | `courier`, `shipping_carrier` | no | carrier of the row's tracking numbers |
//! | `tracking_url` | `tracking_link` | no | `http(s)://` address; only with a single tracking number on the row |
//! | `cost` | `total_cost`, `agent_cost` | no | what the agent charged, a decimal with a `.` (`12.50`), optionally followed by the currency (`12.50 USD`) |
//! | `currency` | | with `cost` | ISO 4217 code of the cost |
//!
//! Each row needs a `dropline_id` or an `idempotency_key`. Several rows may belong to one
//! supplier order (one per line, or one per parcel): they must agree on the agent order id,
//! the cost and the ids, and their tracking numbers are collected into one list. Wholly blank
//! rows are skipped. Every problem of the file is reported at once, as
//! `row N, column: reason` (the header is row 1); whether an id is known is decided by
//! [`match_results`], not here.

use crate::csv_orders::RowError;
use csv::{ByteRecord, ErrorKind};
use dropline_domain::catalog::Offer;
use dropline_domain::ids::SupplierOrderId;
use dropline_domain::money::{Currency, Money};
use dropline_domain::order::SupplierOrder;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------

/// What a column of the export holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AgentField {
    SupplierOrderId,
    IdempotencyKey,
    OrderNumber,
    LineNumber,
    SupplierSku,
    SupplierProductId,
    SupplierVariantId,
    ProductUrl,
    Title,
    VariantTitle,
    Quantity,
    ShipToName,
    ShipToCompany,
    ShipToAddress1,
    ShipToAddress2,
    ShipToCity,
    ShipToRegion,
    ShipToPostalCode,
    ShipToCountry,
    ShipToPhone,
    ShippingMethod,
    Note,
}

impl AgentField {
    /// Every field, in the order of the default layout's documentation.
    pub const ALL: [AgentField; 22] = [
        AgentField::SupplierOrderId,
        AgentField::IdempotencyKey,
        AgentField::OrderNumber,
        AgentField::LineNumber,
        AgentField::SupplierSku,
        AgentField::SupplierProductId,
        AgentField::SupplierVariantId,
        AgentField::ProductUrl,
        AgentField::Title,
        AgentField::VariantTitle,
        AgentField::Quantity,
        AgentField::ShipToName,
        AgentField::ShipToCompany,
        AgentField::ShipToAddress1,
        AgentField::ShipToAddress2,
        AgentField::ShipToCity,
        AgentField::ShipToRegion,
        AgentField::ShipToPostalCode,
        AgentField::ShipToCountry,
        AgentField::ShipToPhone,
        AgentField::ShippingMethod,
        AgentField::Note,
    ];

    /// The field's name in a layout spec.
    pub fn name(self) -> &'static str {
        match self {
            AgentField::SupplierOrderId => "supplier_order_id",
            AgentField::IdempotencyKey => "idempotency_key",
            AgentField::OrderNumber => "order_number",
            AgentField::LineNumber => "line_number",
            AgentField::SupplierSku => "supplier_sku",
            AgentField::SupplierProductId => "supplier_product_id",
            AgentField::SupplierVariantId => "supplier_variant_id",
            AgentField::ProductUrl => "product_url",
            AgentField::Title => "title",
            AgentField::VariantTitle => "variant_title",
            AgentField::Quantity => "quantity",
            AgentField::ShipToName => "ship_to_name",
            AgentField::ShipToCompany => "ship_to_company",
            AgentField::ShipToAddress1 => "ship_to_address1",
            AgentField::ShipToAddress2 => "ship_to_address2",
            AgentField::ShipToCity => "ship_to_city",
            AgentField::ShipToRegion => "ship_to_region",
            AgentField::ShipToPostalCode => "ship_to_postal_code",
            AgentField::ShipToCountry => "ship_to_country",
            AgentField::ShipToPhone => "ship_to_phone",
            AgentField::ShippingMethod => "shipping_method",
            AgentField::Note => "note",
        }
    }

    /// The field of a name: case-insensitive, spaces and hyphens count as underscores.
    pub fn parse(name: &str) -> Option<AgentField> {
        let normalized = name.trim().to_lowercase().replace([' ', '-'], "_");
        AgentField::ALL.into_iter().find(|f| f.name() == normalized)
    }
}

impl fmt::Display for AgentField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem of a layout.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutProblem {
    #[error("the layout has no columns")]
    Empty,
    #[error("entry {position} ('{entry}') is not of the form Header=field")]
    NotAnEntry { position: usize, entry: String },
    #[error("column {position} has a blank header")]
    BlankHeader { position: usize },
    #[error("the header '{header}' holds a comma, '=' or line break")]
    UnwritableHeader { header: String },
    #[error("column '{header}': '{field}' is not a field (known fields: {known})")]
    UnknownField {
        header: String,
        field: String,
        known: String,
    },
    #[error("the header '{header}' is used more than once (headers are compared ignoring case)")]
    DuplicateHeader { header: String },
    #[error("the layout needs a supplier_order_id or idempotency_key column, to match the agent's return file")]
    NoIdColumn,
}

/// Everything wrong with a layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentLayoutError {
    pub problems: Vec<LayoutProblem>,
}

impl fmt::Display for AgentLayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AgentLayoutError {}

/// The agent's column layout: ordered (header, field) pairs. Headers are unique (ignoring
/// case) and free of commas, `=` and line breaks, so every layout can be written as a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentLayout {
    columns: Vec<(String, AgentField)>,
}

impl AgentLayout {
    /// A layout from its columns, checked (see [`LayoutProblem`]).
    pub fn new(columns: Vec<(String, AgentField)>) -> Result<AgentLayout, AgentLayoutError> {
        let mut problems = Vec::new();
        if columns.is_empty() {
            problems.push(LayoutProblem::Empty);
        }
        let mut seen: Vec<String> = Vec::new();
        let mut columns_out = Vec::with_capacity(columns.len());
        for (position, (header, field)) in columns.into_iter().enumerate() {
            let header = header.trim().to_string();
            if header.is_empty() {
                problems.push(LayoutProblem::BlankHeader { position: position + 1 });
                continue;
            }
            if header.contains([',', '=', '\n', '\r']) {
                problems.push(LayoutProblem::UnwritableHeader { header });
                continue;
            }
            let folded = header.to_lowercase();
            if seen.contains(&folded) {
                problems.push(LayoutProblem::DuplicateHeader { header });
                continue;
            }
            seen.push(folded);
            columns_out.push((header, field));
        }
        let has_id = columns_out
            .iter()
            .any(|(_, f)| matches!(f, AgentField::SupplierOrderId | AgentField::IdempotencyKey));
        if !columns_out.is_empty() && !has_id {
            problems.push(LayoutProblem::NoIdColumn);
        }
        if problems.is_empty() {
            Ok(AgentLayout { columns: columns_out })
        } else {
            Err(AgentLayoutError { problems })
        }
    }

    /// Reads a spec: `Header=field` entries separated by commas or line breaks (blank entries
    /// are skipped). Every problem is reported at once.
    pub fn parse(spec: &str) -> Result<AgentLayout, AgentLayoutError> {
        let mut problems = Vec::new();
        let mut columns = Vec::new();
        let entries = spec.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty());
        for (index, entry) in entries.enumerate() {
            let position = index + 1;
            let Some((header, field)) = entry.split_once('=') else {
                problems.push(LayoutProblem::NotAnEntry {
                    position,
                    entry: entry.to_string(),
                });
                continue;
            };
            let header = header.trim();
            if header.is_empty() {
                problems.push(LayoutProblem::BlankHeader { position });
                continue;
            }
            match AgentField::parse(field) {
                Some(field) => columns.push((header.to_string(), field)),
                None => problems.push(LayoutProblem::UnknownField {
                    header: header.to_string(),
                    field: field.trim().to_string(),
                    known: AgentField::ALL.map(AgentField::name).join(", "),
                }),
            }
        }
        // The column checks run even when some entries were bad, so all problems come at once;
        // an empty list only means "empty" when no entry was refused.
        let checked = if columns.is_empty() && !problems.is_empty() {
            Ok(AgentLayout { columns: Vec::new() })
        } else {
            AgentLayout::new(columns)
        };
        match checked {
            Ok(layout) if problems.is_empty() => Ok(layout),
            Ok(_) => Err(AgentLayoutError { problems }),
            Err(more) => {
                problems.extend(more.problems);
                Err(AgentLayoutError { problems })
            }
        }
    }

    /// The columns, in file order.
    pub fn columns(&self) -> &[(String, AgentField)] {
        &self.columns
    }

    /// The layout as a spec that [`AgentLayout::parse`] reads back.
    pub fn to_spec(&self) -> String {
        let entries: Vec<String> = self.columns.iter().map(|(h, f)| format!("{h}={f}")).collect();
        entries.join(", ")
    }
}

impl Default for AgentLayout {
    fn default() -> Self {
        let columns = [
            ("Dropline ID", AgentField::SupplierOrderId),
            ("Order No", AgentField::OrderNumber),
            ("Line", AgentField::LineNumber),
            ("SKU", AgentField::SupplierSku),
            ("Product ID", AgentField::SupplierProductId),
            ("Variant ID", AgentField::SupplierVariantId),
            ("Product URL", AgentField::ProductUrl),
            ("Product", AgentField::Title),
            ("Variant", AgentField::VariantTitle),
            ("Qty", AgentField::Quantity),
            ("Name", AgentField::ShipToName),
            ("Company", AgentField::ShipToCompany),
            ("Address 1", AgentField::ShipToAddress1),
            ("Address 2", AgentField::ShipToAddress2),
            ("City", AgentField::ShipToCity),
            ("State/Province", AgentField::ShipToRegion),
            ("Postal Code", AgentField::ShipToPostalCode),
            ("Country", AgentField::ShipToCountry),
            ("Phone", AgentField::ShipToPhone),
            ("Shipping Method", AgentField::ShippingMethod),
            ("Note", AgentField::Note),
        ];
        AgentLayout {
            columns: columns.into_iter().map(|(h, f)| (h.to_string(), f)).collect(),
        }
    }
}

impl FromStr for AgentLayout {
    type Err = AgentLayoutError;
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        AgentLayout::parse(spec)
    }
}

impl fmt::Display for AgentLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_spec())
    }
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// A supplier order to send to the agent, with what the file shows beside it.
#[derive(Clone, Copy, Debug)]
pub struct SupplierOrderExport<'a> {
    pub supplier_order: &'a SupplierOrder,
    /// The customer order's name (`#1001`).
    pub order_number: &'a str,
    /// The seller's note to the agent.
    pub note: Option<&'a str>,
    /// Offers of the lines (matched by offer id), for the supplier's product and variant
    /// ids; a line without its offer here leaves those cells blank.
    pub offers: &'a [Offer],
}

impl<'a> SupplierOrderExport<'a> {
    /// A supplier order without a note or offers.
    pub fn new(supplier_order: &'a SupplierOrder, order_number: &'a str) -> Self {
        SupplierOrderExport {
            supplier_order,
            order_number,
            note: None,
            offers: &[],
        }
    }
}

/// The CSV for the agent: a header row, then one row per supplier-order line, in the order
/// given. Cells are formula-injection guarded (see the module docs).
pub fn export<'a>(orders: &[SupplierOrderExport<'a>], layout: &AgentLayout) -> Vec<u8> {
    let mut out = Vec::new();
    write_row(
        &mut out,
        layout.columns.iter().map(|(header, _)| Cow::Borrowed(header.as_str())),
    );
    for export in orders {
        let order = export.supplier_order;
        let to = &order.ship_to;
        for (index, line) in order.lines.iter().enumerate() {
            let offer = export.offers.iter().find(|o| o.id == line.offer_id);
            let cells = layout.columns.iter().map(|(_, field)| -> Cow<'_, str> {
                let optional = |value: Option<&'a String>| Cow::Borrowed(value.map_or("", String::as_str));
                match field {
                    AgentField::SupplierOrderId => Cow::Owned(order.id.to_string()),
                    AgentField::IdempotencyKey => Cow::Borrowed(&order.idempotency_key),
                    AgentField::OrderNumber => Cow::Borrowed(export.order_number),
                    AgentField::LineNumber => Cow::Owned((index + 1).to_string()),
                    AgentField::SupplierSku => Cow::Borrowed(&line.supplier_sku),
                    AgentField::SupplierProductId => optional(offer.and_then(|o| o.supplier_product_id.as_ref())),
                    AgentField::SupplierVariantId => optional(offer.and_then(|o| o.supplier_variant_id.as_ref())),
                    AgentField::ProductUrl => optional(line.product_url.as_ref()),
                    AgentField::Title => Cow::Borrowed(&line.title),
                    AgentField::VariantTitle => optional(line.variant_title.as_ref()),
                    AgentField::Quantity => Cow::Owned(line.quantity.to_string()),
                    AgentField::ShipToName => Cow::Owned(to.full_name()),
                    AgentField::ShipToCompany => optional(to.company.as_ref()),
                    AgentField::ShipToAddress1 => Cow::Borrowed(&to.address1),
                    AgentField::ShipToAddress2 => optional(to.address2.as_ref()),
                    AgentField::ShipToCity => Cow::Borrowed(&to.city),
                    AgentField::ShipToRegion => optional(to.region.as_ref()),
                    AgentField::ShipToPostalCode => Cow::Borrowed(&to.postal_code),
                    AgentField::ShipToCountry => Cow::Borrowed(&to.country_code),
                    AgentField::ShipToPhone => optional(to.phone.as_ref()),
                    AgentField::ShippingMethod => optional(order.shipping_method.as_ref()),
                    AgentField::Note => Cow::Borrowed(export.note.unwrap_or("")),
                }
            });
            write_row(&mut out, cells);
        }
    }
    out
}

/// Writes one CSV row (CRLF-terminated), each cell guarded then quoted when needed.
fn write_row<'c>(out: &mut Vec<u8>, cells: impl Iterator<Item = Cow<'c, str>>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let cell = guard_formula(&cell);
        if cell.contains([',', '"', '\r', '\n']) {
            out.push(b'"');
            out.extend_from_slice(cell.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(cell.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// The cell with a leading `'` when a spreadsheet would take it for a formula.
fn guard_formula(cell: &str) -> Cow<'_, str> {
    let control_first = matches!(cell.chars().next(), Some('\t' | '\r'));
    let formula_first = matches!(cell.trim_start().chars().next(), Some('=' | '+' | '-' | '@'));
    if control_first || formula_first {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

// ---------------------------------------------------------------------------------------------
// Import of the return file
// ---------------------------------------------------------------------------------------------

/// One parcel the agent reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentParcel {
    pub tracking_number: String,
    pub carrier: Option<String>,
    pub tracking_url: Option<String>,
}

/// What the agent reported for one supplier order (all its rows together).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentResult {
    /// dropline's supplier order id, when the file gives it.
    pub supplier_order_id: Option<SupplierOrderId>,
    /// dropline's idempotency key, when the file gives it.
    pub idempotency_key: Option<String>,
    /// The agent's own order id.
    pub agent_order_id: String,
    /// Parcels in file order, each tracking number once.
    pub parcels: Vec<AgentParcel>,
    /// What the agent charged, when the file says.
    pub cost: Option<Money>,
    /// The first row of the supplier order in the file.
    pub first_row: u64,
}

/// A problem with the return file as a whole; rows are not read when there is one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReturnFileError {
    #[error("the file is empty")]
    Empty,
    #[error("this is not a CSV file: {reason}")]
    NotCsv { reason: String },
    #[error("the header row has no '{column}' column, which is required")]
    MissingColumn { column: String },
    #[error("the header row has neither a 'dropline_id' nor an 'idempotency_key' column; one is required")]
    MissingIdColumn,
    #[error("the header row has the '{column}' column more than once")]
    DuplicateColumn { column: String },
    #[error("the file has a header row but no result rows")]
    NoRows,
}

/// Everything wrong with a return file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentImportError {
    /// Problems with the file as a whole.
    pub file: Vec<ReturnFileError>,
    /// Problems with rows, in file order.
    pub rows: Vec<RowError>,
}

impl fmt::Display for AgentImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.iter().map(ToString::to_string);
        for (i, line) in file.chain(self.rows.iter().map(ToString::to_string)).enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&line)?;
        }
        Ok(())
    }
}

impl std::error::Error for AgentImportError {}

impl AgentImportError {
    fn file(error: ReturnFileError) -> Self {
        AgentImportError {
            file: vec![error],
            rows: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReturnColumn {
    DroplineId,
    IdempotencyKey,
    AgentOrderId,
    TrackingNumber,
    Carrier,
    TrackingUrl,
    Cost,
    Currency,
}

impl ReturnColumn {
    const ALL: [ReturnColumn; 8] = [
        ReturnColumn::DroplineId,
        ReturnColumn::IdempotencyKey,
        ReturnColumn::AgentOrderId,
        ReturnColumn::TrackingNumber,
        ReturnColumn::Carrier,
        ReturnColumn::TrackingUrl,
        ReturnColumn::Cost,
        ReturnColumn::Currency,
    ];

    fn name(self) -> &'static str {
        self.names()[0]
    }

    /// The canonical name first, then the aliases.
    fn names(self) -> &'static [&'static str] {
        match self {
            ReturnColumn::DroplineId => &["dropline_id", "dropline_order_id", "supplier_order_id"],
            ReturnColumn::IdempotencyKey => &["idempotency_key", "dropline_key"],
            ReturnColumn::AgentOrderId => &[
                "agent_order_id",
                "agent_order",
                "agent_order_no",
                "agent_order_number",
                "supplier_reference",
            ],
            ReturnColumn::TrackingNumber => &["tracking_number", "tracking", "tracking_no", "tracking_numbers"],
            ReturnColumn::Carrier => &["carrier", "courier", "shipping_carrier"],
            ReturnColumn::TrackingUrl => &["tracking_url", "tracking_link"],
            ReturnColumn::Cost => &["cost", "total_cost", "agent_cost"],
            ReturnColumn::Currency => &["currency"],
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

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const MAX_TEXT_LEN: usize = 200;

/// Reads the agent's return file (columns in the module docs). Returns one result per
/// supplier order, in the order of their first rows, or every problem of the file.
pub fn import_results(bytes: &[u8]) -> Result<Vec<AgentResult>, AgentImportError> {
    if let Some(reason) = sniff_binary(bytes) {
        return Err(AgentImportError::file(ReturnFileError::NotCsv {
            reason: reason.into(),
        }));
    }
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(bytes);
    let mut record = ByteRecord::new();
    let positions = loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => return Err(AgentImportError::file(ReturnFileError::Empty)),
            Ok(true) if is_blank(&record) => {}
            Ok(true) => break read_header(&record).map_err(|file| AgentImportError { file, rows: Vec::new() })?,
            Err(error) => return Err(AgentImportError::file(not_csv(&error))),
        }
    };

    let mut import = Import::default();
    let mut any_rows = false;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) if is_blank(&record) => {}
            Ok(true) => {
                any_rows = true;
                let row = record.position().map_or(0, |pos| line_of(bytes, pos));
                import.read_row(&positions, &record, row);
            }
            Err(error) => match error.kind() {
                ErrorKind::UnequalLengths { pos, expected_len, len } => {
                    any_rows = true;
                    import.errors.push(RowError {
                        row: pos.as_ref().map_or(0, |pos| line_of(bytes, pos)),
                        field: "columns".into(),
                        reason: format!("the row has {len} cell(s) but the header has {expected_len}"),
                    });
                }
                _ => {
                    return Err(AgentImportError {
                        file: vec![not_csv(&error)],
                        rows: import.errors,
                    });
                }
            },
        }
    }
    if !any_rows {
        return Err(AgentImportError::file(ReturnFileError::NoRows));
    }
    if import.errors.is_empty() {
        Ok(import.groups.into_iter().map(|g| g.result).collect())
    } else {
        Err(AgentImportError {
            file: Vec::new(),
            rows: import.errors,
        })
    }
}

/// The file line where a record starts (the header is line 1). The reader's own line count
/// is off by one after a CRLF line end, which spreadsheets write, so lines are counted here.
fn line_of(bytes: &[u8], position: &csv::Position) -> u64 {
    let mut start = usize::try_from(position.byte()).unwrap_or(usize::MAX).min(bytes.len());
    // A record never starts with a line break: skip the end of the line before it.
    while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
        start += 1;
    }
    1 + bytes[..start].iter().filter(|&&b| b == b'\n').count() as u64
}

/// What agents send by mistake, recognised by its first bytes.
fn sniff_binary(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"PK\x03\x04") {
        Some("it is a zip archive, probably an .xlsx workbook; save the sheet as CSV UTF-8 (comma delimited)")
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        Some("it is an .xls workbook; save the sheet as CSV UTF-8 (comma delimited)")
    } else if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        Some("it is UTF-16 text; save the sheet as CSV UTF-8 (comma delimited)")
    } else {
        None
    }
}

fn not_csv(error: &csv::Error) -> ReturnFileError {
    ReturnFileError::NotCsv {
        reason: error.to_string(),
    }
}

fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|cell| cell.iter().all(u8::is_ascii_whitespace))
}

type Positions = [Option<usize>; ReturnColumn::ALL.len()];

fn read_header(header: &ByteRecord) -> Result<Positions, Vec<ReturnFileError>> {
    let mut positions: Positions = [None; ReturnColumn::ALL.len()];
    let mut errors = Vec::new();
    for (index, cell) in header.iter().enumerate() {
        let Ok(text) = std::str::from_utf8(cell) else {
            return Err(vec![ReturnFileError::NotCsv {
                reason: "the header row is not UTF-8 text; save the sheet as CSV UTF-8".into(),
            }]);
        };
        let name = normalize_header(text);
        let Some(column) = ReturnColumn::ALL
            .into_iter()
            .find(|c| c.names().contains(&name.as_str()))
        else {
            continue;
        };
        let slot = &mut positions[column as usize];
        if slot.is_some() {
            errors.push(ReturnFileError::DuplicateColumn {
                column: column.name().into(),
            });
        } else {
            *slot = Some(index);
        }
    }
    let has = |c: ReturnColumn| positions[c as usize].is_some();
    if !has(ReturnColumn::DroplineId) && !has(ReturnColumn::IdempotencyKey) {
        errors.push(ReturnFileError::MissingIdColumn);
    }
    if !has(ReturnColumn::AgentOrderId) {
        errors.push(ReturnFileError::MissingColumn {
            column: ReturnColumn::AgentOrderId.name().into(),
        });
    }
    if errors.is_empty() { Ok(positions) } else { Err(errors) }
}

/// The checked values of one row.
struct RowValues {
    id: Option<SupplierOrderId>,
    key: Option<String>,
    agent_order_id: String,
    parcels: Vec<AgentParcel>,
    cost: Option<Money>,
}

/// Results being collected: one group per supplier order.
#[derive(Default)]
struct Import {
    groups: Vec<Group>,
    by_id: HashMap<SupplierOrderId, usize>,
    by_key: HashMap<String, usize>,
    errors: Vec<RowError>,
}

struct Group {
    result: AgentResult,
    /// The row that gave the cost, for messages.
    cost_row: u64,
    /// The row that gave the id or key, for messages.
    id_row: u64,
}

/// A row's cells, with its problems going to `errors`.
struct Cells<'a> {
    record: &'a ByteRecord,
    positions: &'a Positions,
    row: u64,
    errors: &'a mut Vec<RowError>,
    failed: bool,
}

impl<'a> Cells<'a> {
    fn error(&mut self, column: ReturnColumn, reason: impl Into<String>) {
        self.failed = true;
        self.errors.push(RowError {
            row: self.row,
            field: column.name().into(),
            reason: reason.into(),
        });
    }

    /// Whether a problem of this row's `column` has been reported already.
    fn failed_on(&self, column: ReturnColumn) -> bool {
        self.failed
            && self
                .errors
                .last()
                .is_some_and(|e| e.row == self.row && e.field == column.name())
    }

    /// The trimmed text of a cell; empty when the column is absent or the cell not UTF-8.
    fn text(&mut self, column: ReturnColumn) -> &'a str {
        let record = self.record;
        let Some(bytes) = self.positions[column as usize].and_then(|i| record.get(i)) else {
            return "";
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => text.trim(),
            Err(_) => {
                self.error(column, "is not UTF-8 text; save the sheet as CSV UTF-8");
                ""
            }
        }
    }

    /// A free-text cell: at most [`MAX_TEXT_LEN`] characters, no control characters.
    fn plain(&mut self, column: ReturnColumn) -> Option<String> {
        let text = self.text(column);
        if text.is_empty() {
            return None;
        }
        if text.chars().count() > MAX_TEXT_LEN {
            self.error(column, format!("is longer than {MAX_TEXT_LEN} characters"));
            return None;
        }
        if text.chars().any(char::is_control) {
            self.error(column, "holds a line break or another control character");
            return None;
        }
        Some(text.to_string())
    }
}

/// How a cell value appears in a message: quoted, and cut when long.
fn shown(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() > MAX {
        format!("'{}…'", text.chars().take(MAX).collect::<String>())
    } else {
        format!("'{text}'")
    }
}

fn read_values(cells: &mut Cells<'_>) -> Option<RowValues> {
    let id_text = cells.text(ReturnColumn::DroplineId);
    let id = if id_text.is_empty() {
        None
    } else {
        match id_text.parse::<SupplierOrderId>() {
            Ok(id) => Some(id),
            Err(_) => {
                let reason = format!("{} is not a dropline id (a UUID as exported)", shown(id_text));
                cells.error(ReturnColumn::DroplineId, reason);
                None
            }
        }
    };
    let key_text = cells.text(ReturnColumn::IdempotencyKey);
    let key = if key_text.is_empty() {
        None
    } else if key_text.len() > MAX_TEXT_LEN
        || !key_text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        let reason = format!(
            "{} is not a dropline key (letters, digits, '-', '_', '.', ':' only)",
            shown(key_text)
        );
        cells.error(ReturnColumn::IdempotencyKey, reason);
        None
    } else {
        Some(key_text.to_string())
    };
    if id_text.is_empty() && key_text.is_empty() {
        let column = if cells.positions[ReturnColumn::DroplineId as usize].is_some() {
            ReturnColumn::DroplineId
        } else {
            ReturnColumn::IdempotencyKey
        };
        cells.error(
            column,
            "is blank; every row needs the dropline id or the idempotency key",
        );
    }

    let agent_order_id = cells.plain(ReturnColumn::AgentOrderId);
    if agent_order_id.is_none() && !cells.failed_on(ReturnColumn::AgentOrderId) {
        cells.error(ReturnColumn::AgentOrderId, "is blank; the agent's order id is required");
    }

    let parcels = read_parcels(cells);
    let cost = read_cost(cells);
    if cells.failed {
        return None;
    }
    Some(RowValues {
        id,
        key,
        agent_order_id: agent_order_id?,
        parcels,
        cost,
    })
}

fn read_parcels(cells: &mut Cells<'_>) -> Vec<AgentParcel> {
    let numbers_text = cells.text(ReturnColumn::TrackingNumber);
    let mut numbers: Vec<&str> = Vec::new();
    for number in numbers_text.split([';', ',', '\n', '\r']).map(str::trim) {
        if number.is_empty() || numbers.contains(&number) {
            continue;
        }
        if number.chars().count() > MAX_TEXT_LEN || number.chars().any(char::is_control) {
            cells.error(
                ReturnColumn::TrackingNumber,
                format!("{} is not a tracking number", shown(number)),
            );
            continue;
        }
        numbers.push(number);
    }
    let carrier = cells.plain(ReturnColumn::Carrier);
    let url = cells.plain(ReturnColumn::TrackingUrl);
    if let Some(url) = &url {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) || url.contains(char::is_whitespace) {
            cells.error(
                ReturnColumn::TrackingUrl,
                format!("{} is not an http(s) address", shown(url)),
            );
        } else if numbers.len() > 1 {
            cells.error(
                ReturnColumn::TrackingUrl,
                "is one address for several tracking numbers; put each parcel on its own row",
            );
        } else if numbers_text.is_empty() {
            cells.error(ReturnColumn::TrackingUrl, "is given without a tracking number");
        }
    }
    if carrier.is_some() && numbers_text.is_empty() {
        cells.error(ReturnColumn::Carrier, "is given without a tracking number");
    }
    numbers
        .into_iter()
        .map(|number| AgentParcel {
            tracking_number: number.to_string(),
            carrier: carrier.clone(),
            tracking_url: url.clone(),
        })
        .collect()
}

fn read_cost(cells: &mut Cells<'_>) -> Option<Money> {
    let cost_text = cells.text(ReturnColumn::Cost);
    let currency_text = cells.text(ReturnColumn::Currency);
    let column_currency = if currency_text.is_empty() {
        None
    } else {
        match Currency::parse(&currency_text.to_ascii_uppercase()) {
            Ok(currency) => Some(currency),
            Err(error) => {
                cells.error(ReturnColumn::Currency, error.to_string());
                return None;
            }
        }
    };
    if cost_text.is_empty() {
        return None;
    }
    // `12.50 USD`, as dropline writes amounts, is accepted too.
    let (amount, cell_currency) = match cost_text.rsplit_once(' ') {
        Some((amount, code)) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
            match Currency::parse(&code.to_ascii_uppercase()) {
                Ok(currency) => (amount.trim(), Some(currency)),
                Err(error) => {
                    cells.error(ReturnColumn::Cost, error.to_string());
                    return None;
                }
            }
        }
        _ => (cost_text, None),
    };
    let currency = match (cell_currency, column_currency) {
        (Some(cell), Some(column)) if cell != column => {
            cells.error(
                ReturnColumn::Cost,
                format!("is in {cell} but the currency column says {column}"),
            );
            return None;
        }
        (Some(currency), _) | (None, Some(currency)) => currency,
        (None, None) => {
            cells.error(ReturnColumn::Currency, "is required when a cost is given");
            return None;
        }
    };
    match Money::parse_decimal(amount, currency) {
        Ok(money) if money.minor < 0 => {
            cells.error(ReturnColumn::Cost, format!("{} must not be negative", shown(cost_text)));
            None
        }
        Ok(money) => Some(money),
        Err(error) => {
            cells.error(ReturnColumn::Cost, error.to_string());
            None
        }
    }
}

impl Import {
    fn error(&mut self, row: u64, column: ReturnColumn, reason: String) {
        self.errors.push(RowError {
            row,
            field: column.name().into(),
            reason,
        });
    }

    fn read_row(&mut self, positions: &Positions, record: &ByteRecord, row: u64) {
        let mut cells = Cells {
            record,
            positions,
            row,
            errors: &mut self.errors,
            failed: false,
        };
        if let Some(values) = read_values(&mut cells) {
            self.merge(row, values);
        }
    }

    /// Adds a good row to its supplier order's group, checking that it agrees with the rows
    /// before it.
    fn merge(&mut self, row: u64, values: RowValues) {
        let by_id = values.id.and_then(|id| self.by_id.get(&id).copied());
        let by_key = values.key.as_ref().and_then(|key| self.by_key.get(key).copied());
        let index = match (by_id, by_key) {
            (Some(a), Some(b)) if a != b => {
                let other = self.groups[b].id_row;
                let reason = format!("belongs to another supplier order (row {other})");
                return self.error(row, ReturnColumn::IdempotencyKey, reason);
            }
            (Some(index), _) | (None, Some(index)) => index,
            (None, None) => {
                self.add_group(row, values);
                return;
            }
        };
        let group = &self.groups[index];
        let first = group.result.first_row;
        let mut problems = Vec::new();
        if let (Some(id), Some(known)) = (values.id, group.result.supplier_order_id)
            && id != known
        {
            let reason = format!(
                "'{id}' disagrees with '{known}' on row {} for the same key",
                group.id_row
            );
            problems.push((ReturnColumn::DroplineId, reason));
        }
        if let (Some(key), Some(known)) = (&values.key, &group.result.idempotency_key)
            && key != known
        {
            let reason = format!("{} disagrees with {} on row {}", shown(key), shown(known), group.id_row);
            problems.push((ReturnColumn::IdempotencyKey, reason));
        }
        if values.agent_order_id != group.result.agent_order_id {
            let reason = format!(
                "{} disagrees with {} on row {first} for the same supplier order",
                shown(&values.agent_order_id),
                shown(&group.result.agent_order_id)
            );
            problems.push((ReturnColumn::AgentOrderId, reason));
        }
        if let (Some(cost), Some(known)) = (values.cost, group.result.cost)
            && cost != known
        {
            let reason = format!(
                "{cost} disagrees with {known} on row {} for the same supplier order",
                group.cost_row
            );
            problems.push((ReturnColumn::Cost, reason));
        }
        for parcel in &values.parcels {
            let Some(known) = group
                .result
                .parcels
                .iter()
                .find(|p| p.tracking_number == parcel.tracking_number)
            else {
                continue;
            };
            for (column, new, old) in [
                (ReturnColumn::Carrier, &parcel.carrier, &known.carrier),
                (ReturnColumn::TrackingUrl, &parcel.tracking_url, &known.tracking_url),
            ] {
                if let (Some(new), Some(old)) = (new, old)
                    && new != old
                {
                    let reason = format!(
                        "{} disagrees with {} given earlier for tracking number {}",
                        shown(new),
                        shown(old),
                        shown(&parcel.tracking_number)
                    );
                    problems.push((column, reason));
                }
            }
        }
        if !problems.is_empty() {
            for (column, reason) in problems {
                self.error(row, column, reason);
            }
            return;
        }

        let group = &mut self.groups[index];
        if group.result.supplier_order_id.is_none()
            && let Some(id) = values.id
        {
            group.result.supplier_order_id = Some(id);
            self.by_id.insert(id, index);
        }
        if group.result.idempotency_key.is_none()
            && let Some(key) = values.key
        {
            group.result.idempotency_key = Some(key.clone());
            self.by_key.insert(key, index);
        }
        if group.result.cost.is_none() && values.cost.is_some() {
            group.result.cost = values.cost;
            group.cost_row = row;
        }
        for parcel in values.parcels {
            match group
                .result
                .parcels
                .iter_mut()
                .find(|p| p.tracking_number == parcel.tracking_number)
            {
                Some(known) => {
                    known.carrier = known.carrier.take().or(parcel.carrier);
                    known.tracking_url = known.tracking_url.take().or(parcel.tracking_url);
                }
                None => group.result.parcels.push(parcel),
            }
        }
    }

    fn add_group(&mut self, row: u64, values: RowValues) {
        let index = self.groups.len();
        if let Some(id) = values.id {
            self.by_id.insert(id, index);
        }
        if let Some(key) = &values.key {
            self.by_key.insert(key.clone(), index);
        }
        self.groups.push(Group {
            result: AgentResult {
                supplier_order_id: values.id,
                idempotency_key: values.key,
                agent_order_id: values.agent_order_id,
                parcels: values.parcels,
                cost: values.cost,
                first_row: row,
            },
            cost_row: row,
            id_row: row,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

/// Why a result was not matched to its supplier order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// The supplier order already has a different agent order id.
    DifferentReference { recorded: String },
    /// The result's dropline id and idempotency key name different supplier orders (or the
    /// key is not the one of the supplier order its id names).
    IdAndKeyDisagree,
    /// Another result of the file matched the same supplier order first.
    MatchedTwice { other_first_row: u64 },
    /// The cost is not in the supplier order's currency.
    CostCurrency { expected: Currency },
}

impl fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConflictReason::DifferentReference { recorded } => {
                write!(f, "the supplier order already has the agent order id '{recorded}'")
            }
            ConflictReason::IdAndKeyDisagree => {
                f.write_str("the dropline id and the idempotency key name different supplier orders")
            }
            ConflictReason::MatchedTwice { other_first_row } => {
                write!(
                    f,
                    "the rows from row {other_first_row} already matched this supplier order"
                )
            }
            ConflictReason::CostCurrency { expected } => write!(f, "the cost must be in {expected}"),
        }
    }
}

/// A result that names a known supplier order but cannot be applied to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchConflict {
    pub supplier_order_id: SupplierOrderId,
    pub result: AgentResult,
    pub reason: ConflictReason,
}

/// The results sorted by what the caller can do with them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchReport {
    /// Results to apply (an agent order id equal to the one recorded is matched again).
    pub matched: Vec<(SupplierOrderId, AgentResult)>,
    /// Results naming no supplier order of `known`.
    pub unknown: Vec<AgentResult>,
    /// Results that would overwrite or contradict what is known.
    pub conflicting: Vec<MatchConflict>,
}

/// Matches results to supplier orders: by dropline id, else by idempotency key. A result is a
/// conflict, never an overwrite, when its supplier order already records another agent order
/// id (see [`ConflictReason`]).
pub fn match_results(results: Vec<AgentResult>, known: &[&SupplierOrder]) -> MatchReport {
    let mut report = MatchReport::default();
    let mut matched_rows: HashMap<SupplierOrderId, u64> = HashMap::new();
    for result in results {
        let by_id = result
            .supplier_order_id
            .and_then(|id| known.iter().find(|so| so.id == id));
        let by_key = result
            .idempotency_key
            .as_deref()
            .and_then(|key| known.iter().find(|so| so.idempotency_key == key));
        let order = match (by_id, by_key) {
            (Some(order), _) | (None, Some(order)) => *order,
            (None, None) => {
                report.unknown.push(result);
                continue;
            }
        };
        let key_disagrees = by_id.is_some()
            && result
                .idempotency_key
                .as_deref()
                .is_some_and(|key| key != order.idempotency_key);
        let reason = if key_disagrees {
            Some(ConflictReason::IdAndKeyDisagree)
        } else if let Some(recorded) = order
            .supplier_reference
            .as_deref()
            .filter(|recorded| *recorded != result.agent_order_id)
        {
            Some(ConflictReason::DifferentReference {
                recorded: recorded.to_string(),
            })
        } else if let Some(&other_first_row) = matched_rows.get(&order.id) {
            Some(ConflictReason::MatchedTwice { other_first_row })
        } else {
            result
                .cost
                .filter(|cost| cost.currency != order.expected_cost.currency)
                .map(|_| ConflictReason::CostCurrency {
                    expected: order.expected_cost.currency,
                })
        };
        match reason {
            Some(reason) => report.conflicting.push(MatchConflict {
                supplier_order_id: order.id,
                result,
                reason,
            }),
            None => {
                matched_rows.insert(order.id, result.first_row);
                report.matched.push((order.id, result));
            }
        }
    }
    report
}

// ---------------------------------------------------------------------------------------------
// The engine's port
// ---------------------------------------------------------------------------------------------

/// The agent spreadsheet format behind the engine's [`AgentSheets`](dropline_app::agent::AgentSheets) port.
#[derive(Clone, Copy, Debug, Default)]
pub struct AgentCsv;

impl dropline_app::agent::AgentSheets for AgentCsv {
    fn check_layout(&self, spec: &str) -> Result<(), String> {
        AgentLayout::parse(spec).map(|_| ()).map_err(|e| e.to_string())
    }

    fn export(
        &self,
        rows: &[dropline_app::agent::AgentExportRow<'_>],
        offers: &[Offer],
        layout: Option<&str>,
    ) -> Result<Vec<u8>, dropline_app::AppError> {
        let layout = match layout {
            Some(spec) => {
                AgentLayout::parse(spec).map_err(|e| dropline_app::AppError::invalid("agent_layout", e.to_string()))?
            }
            None => AgentLayout::default(),
        };
        let orders: Vec<SupplierOrderExport<'_>> = rows
            .iter()
            .map(|row| SupplierOrderExport {
                supplier_order: row.supplier_order,
                order_number: row.order_number,
                note: row.note,
                offers,
            })
            .collect();
        Ok(export(&orders, &layout))
    }

    fn import(
        &self,
        bytes: &[u8],
        known: &[&SupplierOrder],
    ) -> Result<Vec<dropline_app::agent::AgentReturn>, Vec<dropline_app::FieldError>> {
        use dropline_app::FieldError;
        let results = import_results(bytes).map_err(|error| {
            error
                .file
                .iter()
                .map(|problem| FieldError::new("file", problem.to_string()))
                .chain(
                    error
                        .rows
                        .iter()
                        .map(|row| FieldError::new(format!("row {}.{}", row.row, row.field), row.reason.clone())),
                )
                .collect::<Vec<_>>()
        })?;
        let report = match_results(results, known);
        let mut problems: Vec<FieldError> = report
            .unknown
            .iter()
            .map(|result| {
                FieldError::new(
                    format!("row {}", result.first_row),
                    "names no supplier order of this agent".to_string(),
                )
            })
            .collect();
        problems.extend(report.conflicting.iter().map(|conflict| {
            FieldError::new(
                format!("row {}", conflict.result.first_row),
                conflict.reason.to_string(),
            )
        }));
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(report
            .matched
            .into_iter()
            .map(|(supplier_order_id, result)| dropline_app::agent::AgentReturn {
                supplier_order_id,
                agent_order_id: result.agent_order_id,
                parcels: result
                    .parcels
                    .into_iter()
                    .map(|p| dropline_app::agent::AgentParcel {
                        tracking_number: p.tracking_number,
                        carrier: p.carrier,
                        tracking_url: p.tracking_url,
                    })
                    .collect(),
                cost: result.cost,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::address::Address;
    use dropline_domain::catalog::{OfferPriority, SupplierKind};
    use dropline_domain::ids::{LineItemId, OfferId, SupplierId, VariantId};
    use dropline_domain::order::SupplierOrderLine;
    use dropline_domain::state::SupplierOrderState;
    use time::macros::datetime;

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    fn line(sku: &str, title: &str, variant: Option<&str>, quantity: u32) -> SupplierOrderLine {
        SupplierOrderLine {
            line_item_id: LineItemId::new(),
            offer_id: OfferId::new(),
            variant_id: VariantId::new(),
            supplier_sku: sku.into(),
            product_url: Some(format!("https://agent.example/p/{sku}")),
            title: title.into(),
            variant_title: variant.map(Into::into),
            quantity,
            unit_cost: Money::new(500, usd()),
            supplier_product_id: None,
            supplier_variant_id: None,
        }
    }

    fn supplier_order(key: &str, lines: Vec<SupplierOrderLine>) -> SupplierOrder {
        SupplierOrder {
            id: SupplierOrderId::new(),
            supplier_id: SupplierId::new(),
            supplier_name: "Agent Li".into(),
            supplier_kind: SupplierKind::Agent,
            lines,
            ship_to: Address {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                company: Some("Analytical, Ltd".into()),
                address1: "1 Market St".into(),
                address2: Some("Apt \"4\"".into()),
                city: "San Francisco".into(),
                region: Some("CA".into()),
                postal_code: "94105".into(),
                country_code: "US".into(),
                phone: Some("+1 415 555 0100".into()),
            },
            shipping_method: Some("YunExpress".into()),
            expected_cost: Money::new(1500, usd()),
            actual_cost: None,
            cost_rate: None,
            supplier_reference: None,
            idempotency_key: key.into(),
            attempt: 1,
            state: SupplierOrderState::NEW,
            shipments: Vec::new(),
            created_at: datetime!(2026-11-01 10:06 UTC),
            placement: Default::default(),
        }
    }

    fn two_line_order() -> SupplierOrder {
        supplier_order(
            "order-1-supplier-1-1",
            vec![
                line("MUG-BLK", "Ceramic mug", Some("Black / 11 oz"), 2),
                line("FRAME-A2", "Oak frame", None, 1),
            ],
        )
    }

    /// The file read back with the csv crate: header, then rows.
    fn read_back(bytes: &[u8]) -> Vec<Vec<String>> {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes);
        reader
            .records()
            .map(|r| r.expect("valid csv").iter().map(String::from).collect())
            .collect()
    }

    fn import_err(text: &str) -> AgentImportError {
        import_results(text.as_bytes()).expect_err("should fail")
    }

    /// The (row, column) pairs of the errors.
    fn places(error: &AgentImportError) -> Vec<(u64, &str)> {
        error.rows.iter().map(|e| (e.row, e.field.as_str())).collect()
    }

    // ----- layout -----

    #[test]
    fn the_default_layout_round_trips_through_its_spec() {
        let layout = AgentLayout::default();
        assert_eq!(
            layout.columns()[0],
            ("Dropline ID".to_string(), AgentField::SupplierOrderId)
        );
        let spec = layout.to_spec();
        assert_eq!(AgentLayout::parse(&spec), Ok(layout.clone()));
        assert_eq!(spec.parse::<AgentLayout>(), Ok(layout));
    }

    #[test]
    fn a_spec_takes_field_names_loosely() {
        let layout =
            AgentLayout::parse("Order No = Order Number,\nSKU=supplier-sku, Qty=QUANTITY,,Key=idempotency_key")
                .expect("valid spec");
        assert_eq!(
            layout.columns(),
            [
                ("Order No".to_string(), AgentField::OrderNumber),
                ("SKU".to_string(), AgentField::SupplierSku),
                ("Qty".to_string(), AgentField::Quantity),
                ("Key".to_string(), AgentField::IdempotencyKey),
            ]
        );
    }

    #[test]
    fn a_bad_spec_reports_every_problem() {
        let error = AgentLayout::parse("ID=supplier_order_id, SKU=sku, Qty=quantity, qty=quantity, Note, =title")
            .expect_err("should fail");
        assert_eq!(error.problems.len(), 4, "{error}");
        assert!(
            matches!(&error.problems[0], LayoutProblem::UnknownField { header, field, .. } if header == "SKU" && field == "sku")
        );
        assert!(matches!(&error.problems[1], LayoutProblem::NotAnEntry { position: 5, entry } if entry == "Note"));
        assert_eq!(error.problems[2], LayoutProblem::BlankHeader { position: 6 });
        assert_eq!(
            error.problems[3],
            LayoutProblem::DuplicateHeader { header: "qty".into() }
        );
        assert!(error.to_string().contains("known fields: supplier_order_id"), "{error}");
        assert_eq!(
            AgentLayout::parse("  ").expect_err("empty").problems,
            [LayoutProblem::Empty]
        );
        assert_eq!(
            AgentLayout::parse("SKU=supplier_sku").expect_err("no id").problems,
            [LayoutProblem::NoIdColumn]
        );
        assert_eq!(
            AgentLayout::new(vec![("A,B".into(), AgentField::SupplierOrderId)])
                .expect_err("comma")
                .problems,
            [LayoutProblem::UnwritableHeader { header: "A,B".into() }]
        );
    }

    // ----- export -----

    #[test]
    fn a_two_line_order_exports_one_row_per_line() {
        let order = two_line_order();
        let offers = [Offer {
            units: 1,
            id: order.lines[0].offer_id,
            variant_id: order.lines[0].variant_id,
            supplier_id: order.supplier_id,
            supplier_sku: "MUG-BLK".into(),
            supplier_product_id: Some("P-77".into()),
            supplier_variant_id: Some("V-78".into()),
            product_url: None,
            unit_cost: Money::new(500, usd()),
            stock: None,
            shipping: Vec::new(),
            priority: OfferPriority::Primary,
        }];
        let export_of = SupplierOrderExport {
            note: Some("Please, no invoice in the parcel"),
            offers: &offers,
            ..SupplierOrderExport::new(&order, "#1001")
        };
        let bytes = export(&[export_of], &AgentLayout::default());
        assert!(bytes.ends_with(b"\r\n"));
        let rows = read_back(&bytes);
        assert_eq!(rows.len(), 3);
        let layout = AgentLayout::default();
        let header: Vec<&str> = layout.columns().iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(rows[0], header);
        let id = order.id.to_string();
        let url0 = "https://agent.example/p/MUG-BLK";
        let url1 = "https://agent.example/p/FRAME-A2";
        let address = [
            "Ada Lovelace",
            "Analytical, Ltd",
            "1 Market St",
            "Apt \"4\"",
            "San Francisco",
            "CA",
            "94105",
            "US",
            "'+1 415 555 0100",
            "YunExpress",
            "Please, no invoice in the parcel",
        ];
        let mut first = vec![
            id.as_str(),
            "#1001",
            "1",
            "MUG-BLK",
            "P-77",
            "V-78",
            url0,
            "Ceramic mug",
            "Black / 11 oz",
            "2",
        ];
        first.extend(address);
        let mut second = vec![
            id.as_str(),
            "#1001",
            "2",
            "FRAME-A2",
            "",
            "",
            url1,
            "Oak frame",
            "",
            "1",
        ];
        second.extend(address);
        assert_eq!(rows[1], first);
        assert_eq!(rows[2], second);
    }

    #[test]
    fn a_custom_layout_chooses_and_orders_the_columns() {
        let order = two_line_order();
        let layout = AgentLayout::parse("Qty=quantity, 订单号=order_number, SKU=supplier_sku, Ref=idempotency_key")
            .expect("valid layout");
        let bytes = export(&[SupplierOrderExport::new(&order, "#1001")], &layout);
        let rows = read_back(&bytes);
        assert_eq!(
            rows,
            [
                vec!["Qty", "订单号", "SKU", "Ref"],
                vec!["2", "#1001", "MUG-BLK", "order-1-supplier-1-1"],
                vec!["1", "#1001", "FRAME-A2", "order-1-supplier-1-1"],
            ]
        );
        // Nothing to send: only the header.
        assert_eq!(
            export(&[], &layout),
            b"Qty,\xE8\xAE\xA2\xE5\x8D\x95\xE5\x8F\xB7,SKU,Ref\r\n"
        );
    }

    #[test]
    fn cells_that_look_like_formulas_are_defused() {
        let mut order = two_line_order();
        order.lines.truncate(1);
        order.ship_to.first_name = "=HYPERLINK(\"http://evil.example\",\"x\")".into();
        order.ship_to.last_name = String::new();
        order.ship_to.address1 = "@SUM(A1)".into();
        order.ship_to.address2 = Some("-2+3".into());
        order.ship_to.city = "  =1+1".into();
        order.ship_to.region = Some("\tTAB".into());
        order.lines[0].title = "Mug = great".into();
        let layout = AgentLayout::parse(
            "ID=supplier_order_id, Name=ship_to_name, A1=ship_to_address1, A2=ship_to_address2, \
             City=ship_to_city, Region=ship_to_region, Phone=ship_to_phone, Title=title",
        )
        .expect("layout");
        let rows = read_back(&export(&[SupplierOrderExport::new(&order, "#1")], &layout));
        assert_eq!(
            &rows[1][1..],
            [
                "'=HYPERLINK(\"http://evil.example\",\"x\")",
                "'@SUM(A1)",
                "'-2+3",
                "'  =1+1",
                "'\tTAB",
                "'+1 415 555 0100",
                "Mug = great",
            ]
        );
    }

    // ----- import -----

    const ID: &str = "0190a3f2-7c4e-7d2a-9b1c-2f3e4d5c6b7a";
    const OTHER_ID: &str = "0190a3f2-7c4e-7d2a-9b1c-2f3e4d5c6b7b";

    #[test]
    fn a_good_file_gives_one_result_per_supplier_order() {
        let text = format!(
            "\u{feff}Dropline ID,Idempotency Key,Agent Order No.,Tracking No.,Carrier,Tracking URL,Cost,Currency,Remarks\r\n\
             {ID},,AG-1001,YT123,YunExpress,https://t.example/YT123,12.50,usd,first line\r\n\
             {ID},key-1,AG-1001,YT123; YT456,,,,,second line\r\n\
             \r\n\
             ,key-2,AG-1002,,,,1500 JPY,,\r\n"
        );
        let results = import_results(text.as_bytes()).expect("valid file");
        assert_eq!(results.len(), 2);
        let first = &results[0];
        assert_eq!(first.supplier_order_id, Some(ID.parse().expect("uuid")));
        assert_eq!(first.idempotency_key.as_deref(), Some("key-1"));
        assert_eq!(first.agent_order_id, "AG-1001");
        assert_eq!(first.cost, Some(Money::new(1250, usd())));
        assert_eq!(first.first_row, 2);
        assert_eq!(
            first.parcels,
            [
                AgentParcel {
                    tracking_number: "YT123".into(),
                    carrier: Some("YunExpress".into()),
                    tracking_url: Some("https://t.example/YT123".into()),
                },
                AgentParcel {
                    tracking_number: "YT456".into(),
                    carrier: None,
                    tracking_url: None,
                },
            ]
        );
        let second = &results[1];
        assert_eq!(second.supplier_order_id, None);
        assert_eq!(second.idempotency_key.as_deref(), Some("key-2"));
        assert_eq!(
            second.cost,
            Some(Money::new(1500, Currency::parse("JPY").expect("JPY")))
        );
        assert!(second.parcels.is_empty());
        assert_eq!(second.first_row, 5);
    }

    #[test]
    fn missing_required_columns_are_file_errors() {
        let error = import_err("tracking_number,carrier\nYT1,UPS\n");
        assert_eq!(
            error.file,
            [
                ReturnFileError::MissingIdColumn,
                ReturnFileError::MissingColumn {
                    column: "agent_order_id".into()
                },
            ]
        );
        assert!(error.rows.is_empty());
        let error = import_err("dropline_id,Tracking,tracking_no,agent_order_id\n");
        assert_eq!(
            error.file,
            [ReturnFileError::DuplicateColumn {
                column: "tracking_number".into()
            }]
        );
        assert_eq!(import_err("").file, [ReturnFileError::Empty]);
        assert_eq!(
            import_err("dropline_id,agent_order_id\n\n").file,
            [ReturnFileError::NoRows]
        );
        assert!(
            matches!(&import_err("PK\x03\x04xlsx").file[..], [ReturnFileError::NotCsv { reason }] if reason.contains(".xlsx"))
        );
    }

    #[test]
    fn every_bad_row_is_reported_with_its_row_and_column() {
        let text = format!(
            "dropline_id,idempotency_key,agent_order_id,tracking_number,tracking_url,cost,currency\n\
             {ID},,   ,,,,\n\
             {ID},,AG-1,,,\"12,50\",USD\n\
             not-a-uuid,,AG-2,,,,\n\
             ,,AG-3,,,,\n\
             {OTHER_ID},bad key!,AG-4,,,-1.00,USD\n\
             {OTHER_ID},,AG-5,T1;T2,https://t.example/x,1.00,\n\
             {OTHER_ID},,AG-6,T3,ftp://t.example,1.00,ZZZ\n\
             {OTHER_ID},,AG-7\n"
        );
        let error = import_err(&text);
        assert!(error.file.is_empty());
        assert_eq!(
            places(&error),
            [
                (2, "agent_order_id"),
                (3, "cost"),
                (4, "dropline_id"),
                (5, "dropline_id"),
                (6, "idempotency_key"),
                (6, "cost"),
                (7, "tracking_url"),
                (7, "currency"),
                (8, "tracking_url"),
                (8, "currency"),
                (9, "columns"),
            ],
            "{error}"
        );
        let text = error.to_string();
        assert!(text.contains("row 3, cost: '12,50' is not an amount"), "{text}");
        assert!(text.contains("row 2, agent_order_id: is blank"), "{text}");
        assert!(
            text.contains("row 7, currency: is required when a cost is given"),
            "{text}"
        );
    }

    #[test]
    fn repeated_rows_of_one_supplier_order_must_agree() {
        let text = format!(
            "dropline_id,idempotency_key,agent_order_id,tracking_number,carrier,cost,currency\n\
             {ID},key-1,AG-1,T1,UPS,10.00,USD\n\
             {ID},key-1,AG-2,,,10.00,USD\n\
             {ID},,AG-1,T1,DHL,10.01,USD\n\
             {ID},key-9,AG-1,,,,\n\
             {OTHER_ID},key-1,AG-3,,,,\n\
             ,key-1,AG-1,T2,,,\n"
        );
        let error = import_err(&text);
        assert_eq!(
            places(&error),
            [
                (3, "agent_order_id"),
                (4, "cost"),
                (4, "carrier"),
                (5, "idempotency_key"),
                (6, "dropline_id"),
                (6, "agent_order_id"),
            ],
            "{error}"
        );
        assert!(
            error.rows[0].reason.contains("'AG-2' disagrees with 'AG-1' on row 2"),
            "{error}"
        );
    }

    #[test]
    fn a_file_that_is_not_utf8_is_reported_by_cell() {
        let mut bytes = format!("dropline_id,agent_order_id,carrier,tracking_number\n{ID},AG-1,").into_bytes();
        bytes.extend_from_slice(b"Cor\xE9e,T1\n");
        let error = import_results(&bytes).expect_err("should fail");
        assert_eq!(places(&error), [(2, "carrier")]);
        assert!(error.rows[0].reason.contains("not UTF-8"));
        let header = b"dropline_id,agent_\xE9order_id\n";
        assert!(matches!(
            &import_results(header).expect_err("bad header").file[..],
            [ReturnFileError::NotCsv { .. }]
        ));
    }

    // ----- matching -----

    fn result(id: Option<SupplierOrderId>, key: Option<&str>, agent: &str, row: u64) -> AgentResult {
        AgentResult {
            supplier_order_id: id,
            idempotency_key: key.map(Into::into),
            agent_order_id: agent.into(),
            parcels: Vec::new(),
            cost: None,
            first_row: row,
        }
    }

    #[test]
    fn results_match_by_id_then_by_key() {
        let a = supplier_order("key-a", Vec::new());
        let b = supplier_order("key-b", Vec::new());
        let mut recorded = supplier_order("key-c", Vec::new());
        recorded.supplier_reference = Some("AG-C".into());
        let results = vec![
            result(Some(a.id), None, "AG-A", 2),
            result(None, Some("key-b"), "AG-B", 3),
            result(Some(SupplierOrderId::new()), Some("key-x"), "AG-X", 4),
            result(Some(recorded.id), None, "AG-C", 5),
        ];
        let report = match_results(results.clone(), &[&a, &b, &recorded]);
        assert_eq!(
            report.matched,
            [
                (a.id, results[0].clone()),
                (b.id, results[1].clone()),
                (recorded.id, results[3].clone()),
            ]
        );
        assert_eq!(report.unknown, [results[2].clone()]);
        assert!(report.conflicting.is_empty());
    }

    #[test]
    fn contradictions_are_conflicts_not_overwrites() {
        let a = supplier_order("key-a", Vec::new());
        let b = supplier_order("key-b", Vec::new());
        let mut recorded = supplier_order("key-c", Vec::new());
        recorded.supplier_reference = Some("AG-C".into());
        let mut euro = result(None, Some("key-b"), "AG-B", 6);
        euro.cost = Some(Money::new(100, Currency::parse("EUR").expect("EUR")));
        let results = vec![
            result(None, Some("key-c"), "AG-OTHER", 2),
            result(Some(a.id), Some("key-b"), "AG-A", 3),
            result(Some(a.id), None, "AG-A", 4),
            result(None, Some("key-a"), "AG-A", 5),
            euro,
        ];
        let report = match_results(results, &[&a, &b, &recorded]);
        assert_eq!(report.matched.len(), 1);
        assert_eq!(report.matched[0].0, a.id);
        assert_eq!(report.matched[0].1.first_row, 4);
        let reasons: Vec<(SupplierOrderId, &ConflictReason)> = report
            .conflicting
            .iter()
            .map(|c| (c.supplier_order_id, &c.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    recorded.id,
                    &ConflictReason::DifferentReference {
                        recorded: "AG-C".into()
                    }
                ),
                (a.id, &ConflictReason::IdAndKeyDisagree),
                (a.id, &ConflictReason::MatchedTwice { other_first_row: 4 }),
                (b.id, &ConflictReason::CostCurrency { expected: usd() }),
            ]
        );
        assert!(report.unknown.is_empty());
        assert_eq!(
            report.conflicting[0].reason.to_string(),
            "the supplier order already has the agent order id 'AG-C'"
        );
    }
}
