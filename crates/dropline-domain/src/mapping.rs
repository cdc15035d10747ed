//! Suggestions for mapping a supplier product's variants to a store product's variants
//! (issue 8, item 1).
//!
//! Both sides describe their variants differently: the store in a variant title such as
//! `Black / XL`, the supplier in its own form (`color: black; size: XL`,
//! `Colour:Noir,Taille:XL`, `BLACK-XL`). [`parse_options`] reads either into
//! [`ProductOption`]s whose names and values are normalised across case, punctuation,
//! accents and spellings in English and French (colour/color/couleur, black/noir,
//! grey/gray/gris, XXL/2XL/xx-large, …).
//!
//! [`check_mapping`] compares one store variant with one supplier variant: an option named
//! on both sides with different values is a contradiction and the mapping is refused with
//! its reasons; otherwise the pair gets an integer score and the reasons behind it, in this
//! order of weight: the same barcode (EAN/UPC/GTIN), the same SKU, then each option that
//! agrees. [`suggest_mappings`] ranks, for every store variant, the supplier variants that
//! do not contradict it. A store variant sold as a pack of n supplier units carries the
//! number of units in [`Suggestion::units`] ([`Units`], 1 to 100).
//!
//! Pure: no I/O, no floating point.

use crate::catalog::Variant;
use crate::ids::VariantId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Score of the same barcode on both sides.
pub const SCORE_SAME_BARCODE: u32 = 1000;
/// Score of the same SKU (after normalisation) on both sides.
pub const SCORE_SAME_SKU: u32 = 400;
/// Score of one SKU containing the other (the shorter at least [`MIN_SKU_CONTAINED`] long).
pub const SCORE_SKU_CONTAINS: u32 = 150;
/// Score of each named option (colour, size, pack, …) whose values agree.
pub const SCORE_OPTION: u32 = 100;
/// Score of a value without a name on one side found on the other side.
pub const SCORE_VALUE: u32 = 50;
/// The shortest normalised SKU that counts when contained in the other side's SKU.
pub const MIN_SKU_CONTAINED: usize = 6;

/// The most supplier units one store variant may stand for.
pub const MAX_UNITS: u32 = 100;

/// A store variant as the mapping sees it: [`Variant`] has no barcode field, so a caller
/// that knows it (from the storefront's catalogue) sets it here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreVariant {
    pub variant_id: VariantId,
    pub sku: String,
    /// The variant title, options separated as storefronts write them (`Black / XL`).
    pub title: String,
    /// EAN/UPC/GTIN, when the storefront has one.
    #[serde(default)]
    pub barcode: Option<String>,
}

impl From<&Variant> for StoreVariant {
    fn from(variant: &Variant) -> Self {
        Self {
            variant_id: variant.id,
            sku: variant.sku.clone(),
            title: variant.title.clone(),
            barcode: None,
        }
    }
}

impl StoreVariant {
    /// The variant with its barcode.
    pub fn with_barcode(mut self, barcode: impl Into<String>) -> Self {
        self.barcode = Some(barcode.into());
        self
    }
}

/// A supplier's variant as its connector or price list gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierVariant {
    pub sku: String,
    /// The options in the supplier's own form: `color: black; size: XL`, `BLACK-XL`, …
    pub options: String,
    /// EAN/UPC/GTIN, when the supplier gives one.
    #[serde(default)]
    pub barcode: Option<String>,
}

impl SupplierVariant {
    pub fn new(sku: impl Into<String>, options: impl Into<String>) -> Self {
        Self {
            sku: sku.into(),
            options: options.into(),
            barcode: None,
        }
    }

    /// The variant with its barcode.
    pub fn with_barcode(mut self, barcode: impl Into<String>) -> Self {
        self.barcode = Some(barcode.into());
        self
    }
}

/// The normalised name of an option.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionName {
    Colour,
    Size,
    /// How many units the variant is (`2 pcs`, `pack of 3`, `lot de 2`).
    Pack,
    /// Any other name, lower-cased, accents and punctuation removed (`material`).
    Other(String),
}

impl fmt::Display for OptionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Colour => f.write_str("colour"),
            Self::Size => f.write_str("size"),
            Self::Pack => f.write_str("pack"),
            Self::Other(name) => f.write_str(name),
        }
    }
}

/// One option of a variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOption {
    /// `None` when the text gave no name and the value is neither a known colour, a size
    /// nor a pack (`Cotton` in `Cotton / XL`): it is compared with every value of the other
    /// side and never contradicts.
    pub name: Option<OptionName>,
    /// The value as written, trimmed and lower-cased (shown in reasons).
    pub raw: String,
    /// The value normalised for comparison (`black`, `2XL`, `3` for a pack of 3).
    pub value: String,
}

/// Why a pair of variants is a good match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    SameBarcode {
        barcode: String,
    },
    SameSku {
        sku: String,
    },
    SkuContains {
        store: String,
        supplier: String,
    },
    OptionAgrees {
        name: OptionName,
        store: String,
        supplier: String,
    },
    ValueAgrees {
        store: String,
        supplier: String,
    },
    /// The store variant is several supplier units.
    Bundle {
        units: Units,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SameBarcode { barcode } => write!(f, "same EAN {barcode}"),
            Self::SameSku { sku } => write!(f, "same SKU {sku}"),
            Self::SkuContains { store, supplier } => {
                write!(f, "SKU {store} and {supplier} overlap")
            }
            Self::OptionAgrees { name, store, supplier } => write!(f, "{name} {store} = {supplier}"),
            Self::ValueAgrees { store, supplier } => write!(f, "{store} = {supplier}"),
            Self::Bundle { units } => write!(f, "bundle of {units} supplier units"),
        }
    }
}

/// Why a mapping is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Contradiction {
    /// An option named on both sides has different values.
    #[error("{name} {store} ≠ {supplier}")]
    Option {
        name: OptionName,
        store: String,
        supplier: String,
    },
    /// The store's pack is not a whole number of the supplier's packs.
    #[error("store pack of {store} is not a whole number of supplier packs of {supplier}")]
    Pack { store: u32, supplier: u32 },
    /// The store variant would be more supplier units than [`MAX_UNITS`].
    #[error("{0} supplier units per store variant is more than {MAX_UNITS}")]
    TooManyUnits(u32),
}

/// A refused mapping, with every contradiction found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("mapping refused: {}", join(.contradictions))]
pub struct Refusal {
    pub contradictions: Vec<Contradiction>,
}

fn join(items: &[Contradiction]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A number of supplier units per store variant, 1 to [`MAX_UNITS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Units(u32);

/// A number of units out of 1..=[`MAX_UNITS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("units per variant must be 1 to {MAX_UNITS}, not {0}")]
pub struct UnitsError(pub u32);

impl Units {
    pub const ONE: Units = Units(1);

    pub fn parse(units: u32) -> Result<Self, UnitsError> {
        if (1..=MAX_UNITS).contains(&units) {
            Ok(Self(units))
        } else {
            Err(UnitsError(units))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Units {
    type Error = UnitsError;
    fn try_from(units: u32) -> Result<Self, UnitsError> {
        Self::parse(units)
    }
}

impl From<Units> for u32 {
    fn from(units: Units) -> u32 {
        units.0
    }
}

impl fmt::Display for Units {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What [`check_mapping`] found for a pair that does not contradict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub score: u32,
    /// Supplier units per store variant.
    pub units: Units,
    pub reasons: Vec<Reason>,
}

/// One candidate supplier variant for a store variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Position of the supplier variant in the list given to [`suggest_mappings`].
    pub supplier_index: usize,
    pub supplier_sku: String,
    pub score: u32,
    /// Supplier units per store variant (a bundle when more than 1).
    pub units: Units,
    pub reasons: Vec<Reason>,
}

impl Suggestion {
    /// The same suggestion for a bundle the seller declares (`units` supplier units per
    /// store variant).
    pub fn with_units(mut self, units: u32) -> Result<Self, UnitsError> {
        self.units = Units::parse(units)?;
        Ok(self)
    }
}

/// The candidates of one store variant, best first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantSuggestions {
    pub variant_id: VariantId,
    pub candidates: Vec<Suggestion>,
    /// How many supplier variants were refused because they contradict this one.
    pub refused: usize,
}

impl VariantSuggestions {
    /// The best candidate.
    pub fn best(&self) -> Option<&Suggestion> {
        self.candidates.first()
    }

    /// No supplier variant fits: work for the seller.
    pub fn is_unmapped(&self) -> bool {
        self.candidates.is_empty()
    }
}

/// For every store variant, at most `limit` supplier variants that do not contradict it
/// and share at least one piece of evidence (barcode, SKU or an option), best first (ties
/// in the supplier list's order).
pub fn suggest_mappings(store: &[StoreVariant], supplier: &[SupplierVariant], limit: usize) -> Vec<VariantSuggestions> {
    let supplier_sides: Vec<Side> = supplier
        .iter()
        .map(|s| Side::new(&s.sku, &s.options, s.barcode.as_deref()))
        .collect();
    store
        .iter()
        .map(|variant| {
            let store_side = Side::new(&variant.sku, &variant.title, variant.barcode.as_deref());
            let mut refused = 0;
            let mut candidates = Vec::new();
            for (index, (supplier_variant, supplier_side)) in supplier.iter().zip(&supplier_sides).enumerate() {
                match compare(&store_side, supplier_side) {
                    Ok(agreement) if agreement.score > 0 => candidates.push(Suggestion {
                        supplier_index: index,
                        supplier_sku: supplier_variant.sku.clone(),
                        score: agreement.score,
                        units: agreement.units,
                        reasons: agreement.reasons,
                    }),
                    Ok(_) => {}
                    Err(_) => refused += 1,
                }
            }
            candidates.sort_by(|a, b| b.score.cmp(&a.score).then(a.supplier_index.cmp(&b.supplier_index)));
            candidates.truncate(limit);
            VariantSuggestions {
                variant_id: variant.variant_id,
                candidates,
                refused,
            }
        })
        .collect()
}

/// Whether `supplier_variant` may ship `store_variant`: refused when an option named on
/// both sides has different values (or the packs do not divide); otherwise its score,
/// units and reasons. A score of 0 means nothing speaks for the pair, nothing against it.
pub fn check_mapping(store_variant: &StoreVariant, supplier_variant: &SupplierVariant) -> Result<Agreement, Refusal> {
    compare(
        &Side::new(
            &store_variant.sku,
            &store_variant.title,
            store_variant.barcode.as_deref(),
        ),
        &Side::new(
            &supplier_variant.sku,
            &supplier_variant.options,
            supplier_variant.barcode.as_deref(),
        ),
    )
}

/// One side of a comparison, normalised once.
struct Side {
    sku_raw: String,
    sku: String,
    barcode: Option<String>,
    options: Vec<ProductOption>,
}

impl Side {
    fn new(sku: &str, options: &str, barcode: Option<&str>) -> Self {
        Self {
            sku_raw: sku.trim().to_owned(),
            sku: normalize_sku(sku),
            barcode: barcode.map(normalize_barcode).filter(|b| !b.is_empty()),
            options: parse_options(options),
        }
    }

    fn pack(&self) -> Option<u32> {
        self.options
            .iter()
            .find(|o| o.name == Some(OptionName::Pack))
            .and_then(|o| o.value.parse().ok())
            .filter(|n| *n >= 1)
    }
}

fn compare(store: &Side, supplier: &Side) -> Result<Agreement, Refusal> {
    let mut contradictions = Vec::new();
    let mut reasons = Vec::new();
    let mut score = 0;

    if let (Some(a), Some(b)) = (&store.barcode, &supplier.barcode)
        && a == b
    {
        score += SCORE_SAME_BARCODE;
        reasons.push(Reason::SameBarcode { barcode: a.clone() });
    }

    if !store.sku.is_empty() && store.sku == supplier.sku {
        score += SCORE_SAME_SKU;
        reasons.push(Reason::SameSku {
            sku: store.sku_raw.clone(),
        });
    } else {
        let (short, long) = if store.sku.len() <= supplier.sku.len() {
            (&store.sku, &supplier.sku)
        } else {
            (&supplier.sku, &store.sku)
        };
        if short.len() >= MIN_SKU_CONTAINED && long.contains(short.as_str()) {
            score += SCORE_SKU_CONTAINS;
            reasons.push(Reason::SkuContains {
                store: store.sku_raw.clone(),
                supplier: supplier.sku_raw.clone(),
            });
        }
    }

    // Named options (packs apart): every name on both sides must share a value.
    let mut names: Vec<&OptionName> = store
        .options
        .iter()
        .filter_map(|o| o.name.as_ref())
        .filter(|n| **n != OptionName::Pack)
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let ours: Vec<&ProductOption> = named(&store.options, name).collect();
        let theirs: Vec<&ProductOption> = named(&supplier.options, name).collect();
        if theirs.is_empty() {
            continue;
        }
        let agreeing = ours
            .iter()
            .find_map(|o| theirs.iter().find(|t| t.value == o.value).map(|t| (o, t)));
        match agreeing {
            Some((o, t)) => {
                score += SCORE_OPTION;
                reasons.push(Reason::OptionAgrees {
                    name: name.clone(),
                    store: o.raw.clone(),
                    supplier: t.raw.clone(),
                });
            }
            None => contradictions.push(Contradiction::Option {
                name: name.clone(),
                store: values(&ours),
                supplier: values(&theirs),
            }),
        }
    }

    // Values without a name: found anywhere on the other side, or nothing is said.
    let unnamed =
        |side: &Side| -> Vec<ProductOption> { side.options.iter().filter(|o| o.name.is_none()).cloned().collect() };
    for o in unnamed(store) {
        if let Some(t) = supplier.options.iter().find(|t| t.value == o.value) {
            score += SCORE_VALUE;
            reasons.push(Reason::ValueAgrees {
                store: o.raw,
                supplier: t.raw.clone(),
            });
        }
    }
    for t in unnamed(supplier) {
        if let Some(o) = store.options.iter().find(|o| o.name.is_some() && o.value == t.value) {
            score += SCORE_VALUE;
            reasons.push(Reason::ValueAgrees {
                store: o.raw.clone(),
                supplier: t.raw,
            });
        }
    }

    // Packs: the store variant is a whole number of supplier packs, 1 when neither says.
    let store_pack = store.pack().unwrap_or(1);
    let supplier_pack = supplier.pack().unwrap_or(1);
    let mut units = Units::ONE;
    if !store_pack.is_multiple_of(supplier_pack) {
        contradictions.push(Contradiction::Pack {
            store: store_pack,
            supplier: supplier_pack,
        });
    } else {
        let n = store_pack / supplier_pack;
        match Units::parse(n) {
            Ok(u) => units = u,
            Err(_) => contradictions.push(Contradiction::TooManyUnits(n)),
        }
        if store_pack > 1 && store_pack == supplier_pack {
            score += SCORE_OPTION;
            reasons.push(Reason::OptionAgrees {
                name: OptionName::Pack,
                store: store_pack.to_string(),
                supplier: supplier_pack.to_string(),
            });
        } else if n > 1 {
            reasons.push(Reason::Bundle { units });
        }
    }

    if contradictions.is_empty() {
        Ok(Agreement { score, units, reasons })
    } else {
        Err(Refusal { contradictions })
    }
}

fn named<'a>(options: &'a [ProductOption], name: &'a OptionName) -> impl Iterator<Item = &'a ProductOption> {
    options.iter().filter(move |o| o.name.as_ref() == Some(name))
}

fn values(options: &[&ProductOption]) -> String {
    options.iter().map(|o| o.raw.as_str()).collect::<Vec<_>>().join("/")
}

/// A SKU for comparison: upper case, letters and digits only.
pub fn normalize_sku(sku: &str) -> String {
    fold(sku)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A barcode for comparison: digits without leading zeros when it is numeric (a UPC-A and
/// its EAN-13 or GTIN-14 form compare equal), else upper-case letters and digits.
pub fn normalize_barcode(barcode: &str) -> String {
    let compact = normalize_sku(barcode);
    if !compact.is_empty() && compact.chars().all(|c| c.is_ascii_digit()) {
        compact.trim_start_matches('0').to_owned()
    } else {
        compact
    }
}

/// The options a variant's text describes, in the order written. Labelled text
/// (`color: black; size: XL`, `Colour:Noir,Taille:XL`, `size=XL | couleur=noir`) gives
/// named options; unlabelled text (`Black / XL`, `BLACK-XL`, `Black XL`) is split and each
/// value recognised as a colour, a size or a pack, else kept without a name.
/// `Default Title` (a storefront's variant without options) gives none.
pub fn parse_options(text: &str) -> Vec<ProductOption> {
    let folded = decimal_points(&fold(text.trim()));
    if folded.is_empty() || folded == "default title" || folded == "default" {
        return Vec::new();
    }
    let mut out = Vec::new();
    for piece in folded.split([';', ',', '|', '\n']) {
        let labels = piece.matches([':', '=']).count();
        if labels == 0 {
            parse_unlabelled(piece, &mut out);
        } else if labels == 1 {
            parse_labelled(piece, &mut out);
        } else {
            // `color:black/size:xl`
            for part in piece.split(['/', ' ']).filter(|p| !p.trim().is_empty()) {
                if part.contains([':', '=']) {
                    parse_labelled(part, &mut out);
                } else {
                    parse_unlabelled(part, &mut out);
                }
            }
        }
    }
    out
}

fn parse_labelled(piece: &str, out: &mut Vec<ProductOption>) {
    let Some((name, value)) = piece.split_once([':', '=']) else {
        return;
    };
    let raw = tidy(value);
    if raw.is_empty() {
        return;
    }
    let name = option_name(name);
    let bare = strip_brackets(&raw);
    let value = match &name {
        OptionName::Colour => canonical_colour(&bare).unwrap_or_else(|| words(&bare)),
        OptionName::Size => {
            let spelled = spell_sizes(&bare);
            canonical_size(&spelled).unwrap_or_else(|| words(&spelled))
        }
        OptionName::Pack => match parse_pack(&bare).or_else(|| bare.trim().parse().ok()) {
            Some(n) => n.to_string(),
            None => words(&bare),
        },
        OptionName::Other(_) => words(&bare),
    };
    if !value.is_empty() {
        out.push(ProductOption {
            name: Some(name),
            raw,
            value,
        });
    }
}

fn parse_unlabelled(piece: &str, out: &mut Vec<ProductOption>) {
    let piece = spell_sizes(piece);
    for segment in piece.split(['/', '-', '_', '+', '&']) {
        let raw = tidy(segment);
        if raw.is_empty() {
            continue;
        }
        let bare = strip_brackets(&raw);
        if let Some(option) = classify(&raw, &bare) {
            out.push(option);
            continue;
        }
        // Several words, some of which are a size or a pack: those apart, the rest together.
        let tokens: Vec<&str> = bare.split_whitespace().collect();
        let mut rest = Vec::new();
        let mut singles = Vec::new();
        // Where the rest goes among the singles, to keep the order written.
        let mut rest_at = None;
        let mut i = 0;
        while i < tokens.len() {
            // A pack may take up to three words (`pack of 2`, `2 pcs`), a size one.
            let pack = (2..=3).rev().find_map(|n| {
                let phrase = tokens.get(i..i + n)?.join(" ");
                parse_pack(&phrase).map(|units| (n, phrase, units))
            });
            let single = match pack {
                Some((n, phrase, units)) => Some((n, phrase, OptionName::Pack, units.to_string())),
                None => {
                    let token = tokens[i];
                    canonical_size(token)
                        .map(|v| (OptionName::Size, v))
                        .or_else(|| parse_pack(token).map(|u| (OptionName::Pack, u.to_string())))
                        .map(|(name, value)| (1, token.to_owned(), name, value))
                }
            };
            match single {
                Some((n, phrase, name, value)) if n < tokens.len() => {
                    singles.push(ProductOption {
                        name: Some(name),
                        raw: phrase,
                        value,
                    });
                    i += n;
                }
                _ => {
                    rest_at.get_or_insert(singles.len());
                    rest.push(tokens[i]);
                    i += 1;
                }
            }
        }
        let found = !singles.is_empty();
        let rest_raw = if found { rest.join(" ") } else { raw.clone() };
        let rest_bare = if found { rest.join(" ") } else { bare.clone() };
        let rest_option = if rest_bare.trim().is_empty() {
            None
        } else if let Some(value) = canonical_colour(&rest_bare).filter(|_| has_colour_word(&rest_bare)) {
            Some(ProductOption {
                name: Some(OptionName::Colour),
                raw: rest_raw,
                value,
            })
        } else {
            let value = words(&rest_bare);
            (!value.is_empty()).then_some(ProductOption {
                name: None,
                raw: rest_raw,
                value,
            })
        };
        if let Some(option) = rest_option {
            singles.insert(rest_at.unwrap_or(singles.len()), option);
        }
        out.extend(singles);
    }
}

/// A whole segment recognised as a pack, a size or a colour.
fn classify(raw: &str, bare: &str) -> Option<ProductOption> {
    let (name, value) = if let Some(n) = parse_pack(bare) {
        (OptionName::Pack, n.to_string())
    } else if let Some(size) = canonical_size(bare) {
        (OptionName::Size, size)
    } else if has_colour_word(bare)
        && !bare
            .split_whitespace()
            .any(|w| canonical_size(w).is_some() || parse_pack(w).is_some())
    {
        (OptionName::Colour, canonical_colour(bare)?)
    } else {
        return None;
    };
    Some(ProductOption {
        name: Some(name),
        raw: raw.to_owned(),
        value,
    })
}

fn option_name(name: &str) -> OptionName {
    let name = words(name);
    match name.as_str() {
        "colour" | "color" | "colours" | "colors" | "couleur" | "couleurs" | "color family" | "main color"
        | "colour family" | "coloris" | "颜色" => OptionName::Colour,
        "size" | "sizes" | "taille" | "tailles" | "pointure" | "shoe size" | "尺码" | "尺寸" => OptionName::Size,
        "pack" | "pack size" | "quantity" | "qty" | "quantite" | "lot" | "pieces" | "pcs" | "number of pieces"
        | "units" => OptionName::Pack,
        "material" | "matiere" | "materiau" => OptionName::Other("material".to_owned()),
        "style" | "modele" | "model" => OptionName::Other("style".to_owned()),
        _ => OptionName::Other(name),
    }
}

/// Lower case without accents (the letters of French), other characters kept.
fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            '（' => '(',
            '）' => ')',
            '：' => ':',
            '；' => ';',
            '，' => ',',
            other => other,
        })
        .collect()
}

/// A decimal comma between digits (`42,5`) written as a point, so it does not separate.
fn decimal_points(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let between_digits =
                i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c == ',' && between_digits { '.' } else { c }
        })
        .collect()
}

/// Trimmed, inner whitespace collapsed.
fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Without what is in brackets (`XL (175-180cm)` → `XL`).
fn strip_brackets(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    tidy(&out)
}

/// Letters and digits in words separated by one space.
fn words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Size phrases that contain a separator or a space, written as one word first.
fn spell_sizes(text: &str) -> String {
    const PHRASES: &[(&str, &str)] = &[
        ("xxxx-large", "4xl"),
        ("xxx-large", "3xl"),
        ("xx-large", "2xl"),
        ("x-large", "xl"),
        ("xxx large", "3xl"),
        ("xx large", "2xl"),
        ("x large", "xl"),
        ("extra-large", "xl"),
        ("extra large", "xl"),
        ("xx-small", "2xs"),
        ("x-small", "xs"),
        ("extra-small", "xs"),
        ("extra small", "xs"),
        ("one size", "onesize"),
        ("one-size", "onesize"),
        ("free size", "onesize"),
        ("taille unique", "onesize"),
        ("-pack", "pack"),
        ("-pcs", "pcs"),
        ("-pc", "pc"),
        ("-piece", "piece"),
    ];
    let mut out = text.to_owned();
    for (from, to) in PHRASES {
        if out.contains(from) {
            out = out.replace(from, to);
        }
    }
    out
}

/// The canonical size of one value: letter sizes (`XS`, `S` … `2XL` … `6XL`), `ONE SIZE`,
/// or a number (`42`, `42.5`).
fn canonical_size(value: &str) -> Option<String> {
    let compact: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .collect();
    let named = match compact.as_str() {
        "s" | "small" | "petit" => Some("S"),
        "m" | "medium" | "moyen" => Some("M"),
        "l" | "large" | "grand" => Some("L"),
        "onesize" | "tu" | "freesize" | "os" => Some("ONE SIZE"),
        _ => None,
    };
    if let Some(size) = named {
        return Some(size.to_owned());
    }
    // xl, xxl, 2xl, xs, xxs, 3xs …
    for (suffix, letter) in [("l", "L"), ("s", "S")] {
        if let Some(head) = compact.strip_suffix(suffix) {
            let xs = if !head.is_empty() && head.chars().all(|c| c == 'x') {
                Some(head.len())
            } else if let Some(digit) = head.strip_suffix('x') {
                digit.parse::<usize>().ok().filter(|n| (1..=9).contains(n))
            } else {
                None
            };
            if let Some(n) = xs.filter(|n| *n <= 9) {
                return Some(if n == 1 {
                    format!("X{letter}")
                } else {
                    format!("{n}X{letter}")
                });
            }
        }
    }
    // 42, 42.5, 42,5
    let number = value.trim().replace(',', ".");
    let (whole, fraction) = number.split_once('.').unwrap_or((&number, ""));
    if !whole.is_empty()
        && whole.len() <= 3
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.chars().all(|c| c.is_ascii_digit())
    {
        let whole = whole.trim_start_matches('0');
        let whole = if whole.is_empty() { "0" } else { whole };
        let fraction = fraction.trim_end_matches('0');
        return Some(if fraction.is_empty() {
            whole.to_owned()
        } else {
            format!("{whole}.{fraction}")
        });
    }
    None
}

/// A pack of n units: `2pcs`, `2 pcs`, `pack of 2`, `2-pack`, `lot de 2`, `x2`, `2 pieces`,
/// `3 pairs`. `None` for anything else (a lone number is a size, not a pack).
fn parse_pack(value: &str) -> Option<u32> {
    const PACK_WORDS: &[&str] = &[
        "pcs", "pc", "piece", "pieces", "pack", "packs", "lot", "set", "pair", "pairs", "paire", "paires", "unit",
        "units", "unite", "unites", "x",
    ];
    const FILLER: &[&str] = &["of", "de", "du", "a"];
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut digits = false;
    for c in value.chars() {
        let kind_digit = c.is_ascii_digit();
        if c.is_alphanumeric() {
            if !current.is_empty() && kind_digit != digits {
                tokens.push(std::mem::take(&mut current));
            }
            digits = kind_digit;
            current.push(c);
        } else if !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    let mut number = None;
    let mut pack_word = false;
    for token in &tokens {
        if token.chars().all(|c| c.is_ascii_digit()) {
            if number.is_some() {
                return None;
            }
            number = Some(token.parse::<u32>().ok()?);
        } else if PACK_WORDS.contains(&token.as_str()) {
            pack_word = true;
        } else if !FILLER.contains(&token.as_str()) {
            return None;
        }
    }
    match number {
        Some(n) if pack_word && n >= 1 => Some(n),
        _ => None,
    }
}

/// The canonical name of a colour word, or a modifier (`light`, `dark`).
fn colour_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "black" | "noir" | "noire" | "blk" => "black",
        "white" | "blanc" | "blanche" | "wht" => "white",
        "red" | "rouge" => "red",
        "blue" | "bleu" | "bleue" => "blue",
        "green" | "vert" | "verte" => "green",
        "grey" | "gray" | "gris" | "grise" => "grey",
        "yellow" | "jaune" => "yellow",
        "pink" | "rose" => "pink",
        "purple" | "violet" | "violette" => "purple",
        "orange" => "orange",
        "brown" | "marron" | "brun" | "brune" => "brown",
        "beige" => "beige",
        "navy" | "marine" => "navy",
        "gold" | "golden" | "dore" | "doree" => "gold",
        "silver" | "argent" | "argente" | "argentee" => "silver",
        "khaki" | "kaki" => "khaki",
        "multicolor" | "multicolour" | "multicolore" | "multi" => "multicolour",
        "transparent" | "clear" => "transparent",
        "light" | "clair" | "claire" | "pale" => "light",
        "dark" | "fonce" | "foncee" => "dark",
        _ => return None,
    })
}

fn has_colour_word(value: &str) -> bool {
    words(value)
        .split(' ')
        .any(|w| colour_word(w).is_some_and(|c| c != "light" && c != "dark"))
}

/// A colour's words translated to English, `color`/`colour`/`couleur` dropped, sorted (so
/// `bleu clair`, `light blue` and `Blue Light` are one colour); unknown words kept.
fn canonical_colour(value: &str) -> Option<String> {
    let mut parts: Vec<String> = words(value)
        .split(' ')
        .filter(|w| !w.is_empty() && !matches!(*w, "color" | "colour" | "couleur"))
        .map(|w| colour_word(w).map_or_else(|| w.to_owned(), str::to_owned))
        .collect();
    parts.sort();
    parts.dedup();
    let joined = parts.join(" ");
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn store(sku: &str, title: &str) -> StoreVariant {
        StoreVariant {
            variant_id: VariantId::new(),
            sku: sku.to_owned(),
            title: title.to_owned(),
            barcode: None,
        }
    }

    fn supplier(sku: &str, options: &str) -> SupplierVariant {
        SupplierVariant::new(sku, options)
    }

    /// The (name, value) pairs of a text, `?` for a value without a name.
    fn check_parse(text: &str, expected: &[(&str, &str)]) {
        let got: Vec<(String, String)> = parse_options(text)
            .into_iter()
            .map(|o| (o.name.map_or("?".to_owned(), |n| n.to_string()), o.value))
            .collect();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(got, expected, "parsing {text:?}");
    }

    #[test]
    fn parses_every_spelling_of_options() {
        check_parse("Black / XL", &[("colour", "black"), ("size", "XL")]);
        check_parse("color: black; size: XL", &[("colour", "black"), ("size", "XL")]);
        check_parse("Colour:Noir,Taille:XL", &[("colour", "black"), ("size", "XL")]);
        check_parse("BLACK-XL", &[("colour", "black"), ("size", "XL")]);
        check_parse("Black XL", &[("colour", "black"), ("size", "XL")]);
        check_parse("size=XXL | couleur=Gris", &[("size", "2XL"), ("colour", "grey")]);
        check_parse("Color:Gray/Size:2XL", &[("colour", "grey"), ("size", "2XL")]);
        check_parse("Couleur : Bleu clair", &[("colour", "blue light")]);
        check_parse("Light Blue / X-Large", &[("colour", "blue light"), ("size", "XL")]);
        check_parse("Navy Blue-3XL", &[("colour", "blue navy"), ("size", "3XL")]);
        check_parse("Taille: 42", &[("size", "42")]);
        check_parse("Noire / 42,5", &[("colour", "black"), ("size", "42.5")]);
        check_parse("Size: XL (175-180cm)", &[("size", "XL")]);
        check_parse("Color: Black Color", &[("colour", "black")]);
        check_parse("Cotton / M", &[("?", "cotton"), ("size", "M")]);
        check_parse("Material: Coton", &[("material", "coton")]);
        check_parse("Black / 2 Pack", &[("colour", "black"), ("pack", "2")]);
        check_parse("Black 2 Pack", &[("colour", "black"), ("pack", "2")]);
        check_parse("Red Pack of 3 XL", &[("colour", "red"), ("pack", "3"), ("size", "XL")]);
        check_parse("Pack of 3", &[("pack", "3")]);
        check_parse("Lot de 2", &[("pack", "2")]);
        check_parse("RED-2PCS", &[("colour", "red"), ("pack", "2")]);
        check_parse("Quantity: 4 pcs", &[("pack", "4")]);
        check_parse("Default Title", &[]);
        check_parse("", &[]);
        check_parse("taille unique", &[("size", "ONE SIZE")]);
        check_parse("Champagne Beige / S", &[("colour", "beige champagne"), ("size", "S")]);
    }

    #[test]
    fn sizes_are_one_scale() {
        for (a, b) in [
            ("XXL", "2XL"),
            ("xx-large", "2xl"),
            ("XXXL", "3XL"),
            ("x-small", "XS"),
            ("Medium", "M"),
            ("042", "42"),
            ("42.0", "42"),
        ] {
            assert_eq!(
                canonical_size(&spell_sizes(&fold(a))),
                canonical_size(&spell_sizes(&fold(b))),
                "{a} vs {b}"
            );
        }
        assert_ne!(canonical_size("xl"), canonical_size("2xl"));
        assert_eq!(canonical_size("128gb"), None);
    }

    #[test]
    fn same_barcode_comes_first() {
        let s = store("SHIRT-1", "Black / XL").with_barcode("0 12345 67890 5");
        let by_ean = supplier("CJ777", "Black-XL").with_barcode("0012345678905");
        let by_options = supplier("CJ888", "color: black; size: XL");
        let got = check_mapping(&s, &by_ean).expect("agrees");
        assert!(got.reasons.contains(&Reason::SameBarcode {
            barcode: "12345678905".to_owned()
        }));
        assert_eq!(got.reasons[0].to_string(), "same EAN 12345678905");
        let out = suggest_mappings(&[s], &[by_options, by_ean], 5);
        let best = out[0].best().expect("a candidate");
        assert_eq!(best.supplier_sku, "CJ777");
        assert_eq!(best.score, SCORE_SAME_BARCODE + 2 * SCORE_OPTION);
    }

    #[test]
    fn barcode_alone_is_enough() {
        let s = store("A", "Default Title").with_barcode("4006381333931");
        let x = supplier("B", "").with_barcode("4006381333931");
        assert_eq!(check_mapping(&s, &x).expect("agrees").score, SCORE_SAME_BARCODE);
        let other = supplier("B", "").with_barcode("4006381333948");
        assert_eq!(check_mapping(&s, &other).expect("agrees").score, 0);
    }

    #[test]
    fn same_sku_after_normalisation() {
        let s = store("ts-blk_xl", "Black / XL");
        let got = check_mapping(&s, &supplier("TS BLK XL", "")).expect("agrees");
        assert_eq!(got.score, SCORE_SAME_SKU);
        assert_eq!(got.reasons[0].to_string(), "same SKU ts-blk_xl");
        // A store SKU that wraps the supplier's.
        let got = check_mapping(&store("DL-CJ123456-BK", ""), &supplier("CJ123456", "")).expect("agrees");
        assert_eq!(got.score, SCORE_SKU_CONTAINS);
        // Too short to count.
        let got = check_mapping(&store("DL-A1-BK", ""), &supplier("A1", "")).expect("agrees");
        assert_eq!(got.score, 0);
    }

    #[test]
    fn sku_outranks_options() {
        let s = store("TS-001", "Black / XL");
        let out = suggest_mappings(
            &[s],
            &[
                supplier("ZZ-9", "color: black; size: XL"),
                supplier("ts001", "Black-XL"),
            ],
            5,
        );
        let c = &out[0].candidates;
        assert_eq!(c[0].supplier_sku, "ts001");
        assert_eq!(c[0].score, SCORE_SAME_SKU + 2 * SCORE_OPTION);
        assert_eq!(c[1].score, 2 * SCORE_OPTION);
    }

    #[test]
    fn options_agree_across_languages_with_reasons() {
        let s = store("S1", "Black / XL");
        let got = check_mapping(&s, &supplier("X", "Colour:Noir,Taille:XL")).expect("agrees");
        assert_eq!(got.score, 2 * SCORE_OPTION);
        let shown: Vec<String> = got.reasons.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["colour black = noir", "size xl = xl"]);
        for (a, b) in [
            ("White / M", "couleur: blanc; taille: M"),
            ("Red / S", "Colour: ROUGE, Size: small"),
            ("Blue / L", "color=bleu|size=large"),
            ("Green / 2XL", "Couleur:Verte,Taille:XXL"),
            ("Grey / 3XL", "color: gris; size: xxx-large"),
            ("Gray / XS", "GREY-XS"),
        ] {
            let got = check_mapping(&store("S", a), &supplier("X", b)).expect(a);
            assert_eq!(got.score, 2 * SCORE_OPTION, "{a} vs {b}: {:?}", got.reasons);
        }
    }

    #[test]
    fn unnamed_values_match_anything_but_never_contradict() {
        let s = store("S", "Cotton / XL");
        let got = check_mapping(&s, &supplier("X", "material: cotton; size: XL")).expect("ok");
        assert_eq!(got.score, SCORE_OPTION + SCORE_VALUE);
        assert!(got.reasons.contains(&Reason::ValueAgrees {
            store: "cotton".to_owned(),
            supplier: "cotton".to_owned()
        }));
        let got = check_mapping(&s, &supplier("X", "material: linen; size: XL")).expect("ok");
        assert_eq!(got.score, SCORE_OPTION);
    }

    #[test]
    fn contradicting_options_are_refused_with_the_reason() {
        let s = store("S1", "Black / XL");
        let refusal = check_mapping(&s, &supplier("X", "white; XL")).expect_err("refused");
        assert_eq!(
            refusal.contradictions,
            [Contradiction::Option {
                name: OptionName::Colour,
                store: "black".to_owned(),
                supplier: "white".to_owned()
            }]
        );
        assert_eq!(refusal.to_string(), "mapping refused: colour black ≠ white");
        let refusal = check_mapping(&s, &supplier("X", "couleur: noir; taille: M")).expect_err("refused");
        assert_eq!(refusal.to_string(), "mapping refused: size xl ≠ m");
        // Same SKU or barcode does not save a contradicting mapping.
        let s = store("TS-1", "Black / XL").with_barcode("4006381333931");
        let x = supplier("TS-1", "Blanc / XL").with_barcode("4006381333931");
        assert!(check_mapping(&s, &x).is_err());
    }

    #[test]
    fn contradicting_variants_are_never_suggested() {
        let s = store("S1", "Black / XL");
        let out = suggest_mappings(
            &[s],
            &[
                supplier("W", "white; XL"),
                supplier("B", "black; XL"),
                supplier("BM", "black; M"),
            ],
            10,
        );
        assert_eq!(out[0].refused, 2);
        let skus: Vec<&str> = out[0].candidates.iter().map(|c| c.supplier_sku.as_str()).collect();
        assert_eq!(skus, ["B"]);
    }

    #[test]
    fn missing_options_on_one_side_are_not_contradictions() {
        let s = store("S", "Black / XL");
        let got = check_mapping(&s, &supplier("X", "Colour: noir")).expect("ok");
        assert_eq!(got.score, SCORE_OPTION);
        let got = check_mapping(&s, &supplier("X", "")).expect("ok");
        assert_eq!(got.score, 0);
        let out = suggest_mappings(&[s], &[supplier("X", "")], 3);
        assert!(out[0].is_unmapped());
    }

    #[test]
    fn bundles_carry_their_units() {
        let s = store("S", "Black / Pack of 3");
        let got = check_mapping(&s, &supplier("X", "color: black")).expect("ok");
        assert_eq!(got.units.get(), 3);
        assert!(got.reasons.contains(&Reason::Bundle {
            units: Units::parse(3).expect("valid")
        }));
        assert_eq!(
            Reason::Bundle { units: got.units }.to_string(),
            "bundle of 3 supplier units"
        );
        // 4 = 2 supplier packs of 2.
        let got = check_mapping(&store("S", "4 pcs"), &supplier("X", "Quantity: 2pcs")).expect("ok");
        assert_eq!(got.units.get(), 2);
        // The same pack on both sides: one unit.
        let got = check_mapping(&store("S", "Lot de 2"), &supplier("X", "2PCS")).expect("ok");
        assert_eq!(got.units, Units::ONE);
        assert_eq!(got.score, SCORE_OPTION);
        // A supplier pack the store's does not divide into.
        let refusal = check_mapping(&store("S", "Pack of 3"), &supplier("X", "2pcs")).expect_err("refused");
        assert_eq!(refusal.contradictions, [Contradiction::Pack { store: 3, supplier: 2 }]);
        // A pack of 0 says nothing (and never divides by zero).
        let got = check_mapping(&store("S", "Qty: 0"), &supplier("X", "pack: 0")).expect("ok");
        assert_eq!(got.units, Units::ONE);
        // A store variant of one unit is not a supplier pack of 2.
        assert!(check_mapping(&store("S", "Black"), &supplier("X", "Black-2PCS")).is_err());
        // More than 100 units.
        let refusal = check_mapping(&store("S", "pack of 200"), &supplier("X", "black")).expect_err("refused");
        assert_eq!(refusal.contradictions, [Contradiction::TooManyUnits(200)]);
    }

    #[test]
    fn units_are_validated() {
        assert_eq!(Units::parse(0), Err(UnitsError(0)));
        assert_eq!(Units::parse(101), Err(UnitsError(101)));
        assert_eq!(Units::parse(1).map(Units::get), Ok(1));
        assert_eq!(Units::parse(100).map(Units::get), Ok(100));
        assert!(serde_json::from_str::<Units>("0").is_err());
        assert_eq!(
            serde_json::from_str::<Units>("12").expect("valid"),
            Units::parse(12).expect("valid")
        );
        let s = store("S", "Black");
        let out = suggest_mappings(&[s], &[supplier("X", "black")], 1);
        let best = out[0].best().expect("one").clone();
        assert_eq!(best.units, Units::ONE);
        assert_eq!(best.clone().with_units(6).map(|b| b.units.get()), Ok(6));
        assert_eq!(best.with_units(101), Err(UnitsError(101)));
    }

    #[test]
    fn store_variant_from_catalogue() {
        let variant = Variant {
            id: VariantId::new(),
            product_id: crate::ids::ProductId::new(),
            sku: "TS-BLK-XL".to_owned(),
            title: "Noir / XL".to_owned(),
            price: crate::money::Money::new(1999, crate::money::Currency::parse("EUR").expect("EUR")),
            platform_variant_id: None,
        };
        let s = StoreVariant::from(&variant);
        assert_eq!(s.variant_id, variant.id);
        let out = suggest_mappings(
            &[s],
            &[
                supplier("1", "color: white; size: XL"),
                supplier("2", "color: black; size: XL"),
            ],
            3,
        );
        assert_eq!(out[0].variant_id, variant.id);
        assert_eq!(out[0].best().map(|b| b.supplier_index), Some(1));
    }

    #[test]
    fn limit_and_order() {
        let s = store("S", "Black / XL");
        let many: Vec<SupplierVariant> = (0..5).map(|i| supplier(&format!("X{i}"), "black")).collect();
        let out = suggest_mappings(&[s], &many, 2);
        let idx: Vec<usize> = out[0].candidates.iter().map(|c| c.supplier_index).collect();
        assert_eq!(idx, [0, 1]);
    }

    const COLOURS: &[&[&str]] = &[
        &["Black", "black", "BLACK", "Noir", "noire"],
        &["White", "white", "Blanc", "BLANCHE"],
        &["Red", "rouge", "ROUGE"],
        &["Blue", "bleu", "Bleue"],
        &["Green", "vert", "Verte"],
        &["Grey", "gray", "Gris", "GRISE"],
        &["Light Blue", "bleu clair", "Blue Light"],
        &["Navy Blue", "Bleu Marine"],
    ];
    const SIZES: &[&[&str]] = &[
        &["S", "s", "Small"],
        &["M", "m", "Medium"],
        &["L", "l", "Large"],
        &["XL", "xl", "X-Large"],
        &["XXL", "2XL", "xx-large"],
        &["3XL", "XXXL", "xxx-large"],
        &["38", "38"],
        &["42", "042"],
    ];

    fn spelled(words: &[&str], pick: usize) -> String {
        words[pick % words.len()].to_owned()
    }

    fn store_title(colour: &str, size: &str, form: usize) -> String {
        match form % 4 {
            0 => format!("{colour} / {size}"),
            1 => format!("{size} / {colour}"),
            2 => format!("{colour} - {size}"),
            _ => format!("{colour}/{size}"),
        }
    }

    fn supplier_text(colour: &str, size: &str, form: usize) -> String {
        match form % 6 {
            0 => format!("color: {colour}; size: {size}"),
            1 => format!("Colour:{colour},Taille:{size}"),
            2 => format!("size={size} | couleur={colour}"),
            3 => format!("{}-{}", colour.to_uppercase(), size.to_uppercase()),
            4 => format!("Size: {size}; Color: {colour} color"),
            _ => format!("{size}/{colour}"),
        }
    }

    proptest! {
        /// Variants described by the same options in different spellings and orders always
        /// best-match their counterpart, strictly ahead of every other candidate.
        #[test]
        fn a_variant_best_matches_itself(
            combos in proptest::sample::subsequence(
                (0..COLOURS.len()).flat_map(|c| (0..SIZES.len()).map(move |s| (c, s)))
                    .collect::<Vec<_>>(),
                1..12,
            ),
            spellings in proptest::collection::vec((0usize..8, 0usize..8, 0usize..8, 0usize..8, 0usize..8, 0usize..8), 12),
            order in any::<u64>(),
        ) {
            let stores: Vec<StoreVariant> = combos
                .iter()
                .zip(&spellings)
                .enumerate()
                .map(|(i, (&(c, s), &(sc, ss, sf, _, _, _)))| {
                    store(
                        &format!("STORE-{i}"),
                        &store_title(&spelled(COLOURS[c], sc), &spelled(SIZES[s], ss), sf),
                    )
                })
                .collect();
            let mut suppliers: Vec<(usize, SupplierVariant)> = combos
                .iter()
                .zip(&spellings)
                .enumerate()
                .map(|(i, (&(c, s), &(_, _, _, pc, ps, pf)))| {
                    (i, supplier(
                        &format!("CJ{}X", 1000 + i * 7),
                        &supplier_text(&spelled(COLOURS[c], pc), &spelled(SIZES[s], ps), pf),
                    ))
                })
                .collect();
            // Shuffle the supplier side deterministically from the drawn seed.
            let len = suppliers.len();
            let mut seed = order;
            for k in (1..len).rev() {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let j = usize::try_from(seed >> 33).unwrap_or(0) % (k + 1);
                suppliers.swap(k, j);
            }
            let truth: Vec<usize> = suppliers.iter().map(|(i, _)| *i).collect();
            let list: Vec<SupplierVariant> = suppliers.into_iter().map(|(_, v)| v).collect();
            let out = suggest_mappings(&stores, &list, 3);
            for (i, suggestions) in out.iter().enumerate() {
                let best = suggestions.best();
                prop_assert!(best.is_some(), "{:?} has no candidate", stores[i].title);
                let best = best.map(|b| (b.supplier_index, b.score)).unwrap_or_default();
                prop_assert_eq!(truth[best.0], i, "{:?} matched {:?}", stores[i].title, list[best.0].options);
                prop_assert_eq!(best.1, 2 * SCORE_OPTION);
                if let Some(second) = suggestions.candidates.get(1) {
                    prop_assert!(second.score < best.1);
                }
            }
        }
    }
}
