//! A CJ product as a whole: the `data` of `GET /product/query?pid=` (its name and SKU),
//! `GET /product/variant/query?pid=` (every variant with its sell price) and
//! `GET /product/stock/getInventoryByPid?pid=` (every variant's stock per warehouse). The
//! stock-and-price sync reads a product's variants in two calls instead of two per variant;
//! the catalogue import reads all three.
//!
//! # Trust per variant
//!
//! One variant's bad data must not hide the others': a body that is not CJ's envelope, or
//! whose `data` is not the expected list or object, is [`CjError::Malformed`] as elsewhere,
//! but inside a good answer each variant is read on its own. A price that cannot be believed
//! (missing, negative, zero, more decimals than USD has, above
//! [`MAX_VARIANT_PRICE_CENTS`](super::catalog::MAX_VARIANT_PRICE_CENTS)) or a stock that
//! cannot (negative, not a whole number, a sum beyond 32 bits, the variant listed twice) is
//! kept as the reason (`Err(text naming the field)`) beside what could be read. An entry that
//! cannot be tied to a variant (not an object, no `vid`, another product's) is counted in
//! `unreadable`: a caller must then not read a variant's absence as "CJ no longer sells it".
//!
//! # Shapes
//!
//! From CJ's product page (§1.3 "Product Details", §2.1 "Inquiry Of All Variants", §3.3 "Query
//! inventory by product ID"). Variants carry `vid`, `pid`, `variantSku`, `variantNameEn`,
//! `variantKey` (the option values: `Black`, or JSON text such as `["XS"]`) and
//! `variantSellPrice` (USD). The inventory is `{inventories: [per warehouse],
//! variantInventories: [{vid, inventory: [{countryCode, totalInventory…}]}]}`; CJ's table names
//! the count `totalInventoryNum` and its example `totalInventory`, so both are read (the first
//! when both are there); a warehouse without either holds none, as for `stock/queryByVid`.
//!
//! Not documented, and read leniently here: what CJ answers for a product it does not have or
//! no longer sells. `data: null` is read as no such product (`None`) by the detail and the
//! inventory; an empty or null variant list as a product without variants. An error code
//! comes back as an error.

use super::catalog;
use super::envelope::{self, CjError};
use super::values::Fields;
use dropline_domain::money::Money;
use serde_json::Value;

/// A product as `product/query` shows it (its variants are read from `variant/query`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CjProductInfo {
    /// CJ's product id (`pid`).
    pub pid: String,
    /// The English name (`productNameEn`), else the first of `productName`, else the SKU or
    /// the id.
    pub name: String,
    /// The product's SKU (`productSku`), when given.
    pub sku: Option<String>,
    /// The main image (`productImage`), when given.
    pub image: Option<String>,
}

/// One variant as CJ lists it, its price kept with the reason it cannot be believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CjVariantEntry {
    /// CJ's variant id (`vid`).
    pub vid: String,
    /// CJ's product id (`pid`), when given.
    pub pid: Option<String>,
    /// The variant's SKU (`variantSku`), when given.
    pub sku: Option<String>,
    /// English name (`variantNameEn`, else `variantName`), when given.
    pub name: Option<String>,
    /// The option values (`variantKey`), JSON list text written as `A / B`, when given.
    pub key: Option<String>,
    /// What CJ charges for one, in USD, or why that cannot be believed.
    pub sell_price: Result<Money, String>,
}

/// The variants of one product (`variant/query?pid=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CjProductVariants {
    pub variants: Vec<CjVariantEntry>,
    /// Why entries that could not be tied to a variant were left out.
    pub unreadable: Vec<String>,
}

impl CjProductVariants {
    /// The variant with this id (CJ's ids compared without case).
    pub fn by_vid(&self, vid: &str) -> Option<&CjVariantEntry> {
        self.variants.iter().find(|v| v.vid.eq_ignore_ascii_case(vid.trim()))
    }

    /// The variant with this SKU.
    pub fn by_sku(&self, sku: &str) -> Option<&CjVariantEntry> {
        self.variants.iter().find(|v| v.sku.as_deref() == Some(sku.trim()))
    }
}

/// One variant's units over all warehouses, or why they cannot be believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CjVariantStock {
    /// CJ's variant id (`vid`).
    pub vid: String,
    pub units: Result<u32, String>,
}

/// The stock of one product's variants (`getInventoryByPid`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CjProductStock {
    pub variants: Vec<CjVariantStock>,
    /// Why entries that could not be tied to a variant were left out.
    pub unreadable: Vec<String>,
}

impl CjProductStock {
    /// The stock of the variant with this id (compared without case).
    pub fn of(&self, vid: &str) -> Option<&Result<u32, String>> {
        self.variants
            .iter()
            .find(|v| v.vid.eq_ignore_ascii_case(vid.trim()))
            .map(|v| &v.units)
    }
}

/// The text of a reading error, without the "malformed" preamble.
fn why(error: CjError) -> String {
    match error {
        CjError::Malformed(message) => message,
        other => other.to_string(),
    }
}

/// Text CJ sometimes writes as a JSON list (`["XS"]`, `["猫耳朵卫衣","定制卫衣"]`): its
/// non-empty elements; any other text as itself.
fn list_text(text: String) -> Vec<String> {
    if text.starts_with('[')
        && let Ok(items) = serde_json::from_str::<Vec<String>>(&text)
    {
        return items
            .into_iter()
            .map(|item| item.trim().to_string())
            .filter(|item| !item.is_empty())
            .collect();
    }
    vec![text]
}

/// Reads a `product/query` body; `None` when CJ answers without data (no such product).
pub fn parse_product(body: &[u8]) -> Result<Option<CjProductInfo>, CjError> {
    let data: Option<Value> = envelope::parse(body)?;
    let Some(data) = data else {
        return Ok(None);
    };
    let item = Fields::new(&data, "data")?;
    let pid = item.required_text("pid")?;
    let sku = item.text("productSku")?;
    let name = match item.text("productNameEn")? {
        Some(name) => Some(name),
        None => item
            .text("productName")?
            .and_then(|text| list_text(text).into_iter().next()),
    };
    Ok(Some(CjProductInfo {
        name: name.or_else(|| sku.clone()).unwrap_or_else(|| pid.clone()),
        pid,
        sku,
        image: item.text("productImage")?,
    }))
}

/// One variant object; `Err` when it cannot be tied to a variant (no readable `vid`).
fn read_entry(item: &Fields<'_>) -> Result<CjVariantEntry, String> {
    let vid = item
        .text("vid")
        .map_err(why)?
        .ok_or_else(|| format!("{}.vid: missing", item.path()))?;
    // Descriptive fields that cannot be read are left out rather than held against the price.
    let text = |key: &str| item.text(key).ok().flatten();
    Ok(CjVariantEntry {
        pid: text("pid"),
        sku: text("variantSku"),
        name: text("variantNameEn").or_else(|| text("variantName")),
        key: text("variantKey")
            .map(|key| list_text(key).join(" / "))
            .filter(|key| !key.is_empty()),
        sell_price: catalog::sell_price(item).map_err(why),
        vid,
    })
}

/// Reads a `variant/query?pid=` body for product `pid`: every variant, each with its price or
/// why it cannot be believed. A null or empty list is a product without variants; entries of
/// another product than `pid` are counted unreadable.
pub fn parse_product_variants(body: &[u8], pid: &str) -> Result<CjProductVariants, CjError> {
    let data: Option<Vec<Value>> = envelope::parse(body)?;
    let mut read = CjProductVariants::default();
    for (i, value) in data.unwrap_or_default().iter().enumerate() {
        let entry = Fields::new(value, format!("data[{i}]"))
            .map_err(why)
            .and_then(|item| read_entry(&item));
        match entry {
            Ok(entry)
                if entry
                    .pid
                    .as_deref()
                    .is_some_and(|p| !p.eq_ignore_ascii_case(pid.trim())) =>
            {
                read.unreadable.push(format!(
                    "data[{i}]: variant {} belongs to product {}",
                    entry.vid,
                    entry.pid.unwrap_or_default()
                ));
            }
            Ok(entry) => read.variants.push(entry),
            Err(reason) => read.unreadable.push(reason),
        }
    }
    Ok(read)
}

/// Reads a `variant/queryByVid` body leniently: `None` when CJ answers without data (no such
/// variant), `Some(Err(why))` when the data cannot be read as a variant.
pub fn parse_variant_entry(body: &[u8]) -> Result<Option<Result<CjVariantEntry, String>>, CjError> {
    let data: Option<Value> = envelope::parse(body)?;
    Ok(data.map(|data| {
        Fields::new(&data, "data")
            .map_err(why)
            .and_then(|item| read_entry(&item))
    }))
}

/// Units over the warehouse objects `values` (the list at `path`): a count per warehouse
/// (`keys` in order of preference, none of them meaning 0), summed.
fn warehouse_total(values: &[Value], path: &str, keys: &[&str]) -> Result<u32, String> {
    let mut total = 0u32;
    for (i, value) in values.iter().enumerate() {
        let warehouse = Fields::new(value, format!("{path}[{i}]")).map_err(why)?;
        let mut units = None;
        for key in keys {
            units = warehouse.count(key).map_err(why)?;
            if units.is_some() {
                break;
            }
        }
        total = total
            .checked_add(units.unwrap_or(0))
            .ok_or_else(|| format!("{path}: total stock does not fit in 32 bits"))?;
    }
    Ok(total)
}

/// Reads a `stock/queryByVid` body leniently: `None` when CJ answers without data,
/// `Some(Err(why))` when a warehouse's count cannot be believed.
pub fn parse_stock_entry(body: &[u8]) -> Result<Option<Result<u32, String>>, CjError> {
    let data: Option<Value> = envelope::parse(body)?;
    Ok(data.map(|data| match data {
        Value::Array(items) => warehouse_total(&items, "data", &["totalInventoryNum", "storageNum"]),
        _ => Err("data: not a list of warehouses".to_string()),
    }))
}

/// Reads a `getInventoryByPid` body: `None` when CJ answers without data (no such product),
/// else each listed variant's units or why they cannot be believed.
pub fn parse_product_stock(body: &[u8]) -> Result<Option<CjProductStock>, CjError> {
    let data: Option<Value> = envelope::parse(body)?;
    let Some(data) = data else {
        return Ok(None);
    };
    let data = Fields::new(&data, "data")?;
    let mut read = CjProductStock::default();
    for (i, value) in data.values("variantInventories")?.iter().enumerate() {
        let path = format!("data.variantInventories[{i}]");
        let item = match Fields::new(value, path.clone()) {
            Ok(item) => item,
            Err(error) => {
                read.unreadable.push(why(error));
                continue;
            }
        };
        let vid = match item.text("vid") {
            Ok(Some(vid)) => vid,
            Ok(None) => {
                read.unreadable.push(format!("{path}.vid: missing"));
                continue;
            }
            Err(error) => {
                read.unreadable.push(why(error));
                continue;
            }
        };
        let units = item.values("inventory").map_err(why).and_then(|warehouses| {
            warehouse_total(
                warehouses,
                &format!("{path}.inventory"),
                &["totalInventoryNum", "totalInventory"],
            )
        });
        match read.variants.iter_mut().find(|v| v.vid.eq_ignore_ascii_case(&vid)) {
            // Two counts for one variant: neither is believed.
            Some(earlier) => earlier.units = Err(format!("{path}: variant {vid} is listed twice")),
            None => read.variants.push(CjVariantStock { vid, units }),
        }
    }
    Ok(Some(read))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropline_domain::money::Currency;
    use serde_json::json;

    fn ok(data: Value) -> Vec<u8> {
        json!({"code": 200, "result": true, "message": "Success", "data": data})
            .to_string()
            .into_bytes()
    }

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").expect("usd"))
    }

    #[test]
    fn product_detail_from_the_documented_shape() {
        let body = ok(json!({
            "pid": "000B9312-456A-4D31-94BD-B083E2A198E8", "productName": "[\"攀爬车 拖斗车 \",\"攀爬车 \"]",
            "productNameEn": "Small trailer model", "productSku": "CJJJJTJT05843",
            "productImage": "https://example.invalid/1.jpg", "sellPrice": 58.09, "status": "3",
        }));
        let product = parse_product(&body).expect("read").expect("a product");
        assert_eq!(product.name, "Small trailer model");
        assert_eq!(product.sku.as_deref(), Some("CJJJJTJT05843"));
        let chinese = ok(json!({"pid": "P", "productName": "[\"猫耳朵卫衣\",\"定制卫衣\"]"}));
        assert_eq!(
            parse_product(&chinese).expect("read").expect("a product").name,
            "猫耳朵卫衣"
        );
        assert_eq!(
            parse_product(&ok(json!({"pid": "P"})))
                .expect("read")
                .expect("a product")
                .name,
            "P"
        );
        assert_eq!(parse_product(&ok(Value::Null)), Ok(None));
        assert!(
            matches!(parse_product(&ok(json!({"productSku": "S"}))), Err(CjError::Malformed(m)) if m == "data.pid: missing")
        );
    }

    #[test]
    fn variants_keep_each_ones_bad_price_to_itself() {
        let body = ok(json!([
            {"vid": "V1", "pid": "P", "variantSku": "S-XS", "variantNameEn": "Tee XS", "variantKey": "[\"XS\"]", "variantSellPrice": 3.00},
            {"vid": "V2", "pid": "P", "variantSku": "S-M", "variantKey": "Black-M", "variantSellPrice": -1},
            {"vid": "V3", "variantSku": "S-L", "variantSellPrice": "abc"},
            {"vid": "V4", "variantSellPrice": 0},
            {"variantSku": "S-XL", "variantSellPrice": 4},
            {"vid": "V5", "pid": "OTHER", "variantSellPrice": 4},
            7,
        ]));
        let read = parse_product_variants(&body, "p").expect("read");
        assert_eq!(read.variants.len(), 4);
        let first = read.by_vid("v1").expect("V1");
        assert_eq!(first.sell_price, Ok(usd(300)));
        assert_eq!(first.key.as_deref(), Some("XS"));
        assert_eq!(first.name.as_deref(), Some("Tee XS"));
        assert_eq!(read.by_sku("S-M").expect("V2").key.as_deref(), Some("Black-M"));
        assert_eq!(
            read.by_vid("V2").expect("V2").sell_price,
            Err("data[1].variantSellPrice: -1 is a negative amount".into())
        );
        assert!(read.by_vid("V3").expect("V3").sell_price.is_err());
        assert_eq!(
            read.by_vid("V4").expect("V4").sell_price,
            Err("data[3].variantSellPrice: 0 is not a price".into())
        );
        assert_eq!(
            read.unreadable,
            [
                "data[4].vid: missing",
                "data[5]: variant V5 belongs to product OTHER",
                "data[6]: a number is not an object",
            ]
        );
        assert_eq!(
            parse_product_variants(&ok(Value::Null), "P"),
            Ok(CjProductVariants::default())
        );
        assert!(matches!(
            parse_product_variants(&ok(json!({"vid": "V"})), "P"),
            Err(CjError::Malformed(_))
        ));
    }

    #[test]
    fn inventory_by_product_sums_warehouses_per_variant() {
        let body = ok(json!({
            "inventories": [{"areaEn": "US Warehouse", "areaId": 2, "countryCode": "US", "totalInventoryNum": 264}],
            "variantInventories": [
                {"vid": "V1", "inventory": [
                    {"countryCode": "CN", "totalInventory": 10044, "cjInventory": 0, "factoryInventory": 10044, "verifiedWarehouse": 2},
                    {"countryCode": "US", "totalInventoryNum": 6, "totalInventory": 99}]},
                {"vid": "V2", "inventory": [{"countryCode": "CN", "totalInventory": -5}]},
                {"vid": "V3"},
                {"vid": "V4", "inventory": [{"totalInventory": 1}]},
                {"vid": "v4", "inventory": [{"totalInventory": 2}]},
                {"inventory": []},
                {"vid": "V5", "inventory": [{"totalInventory": 4_294_967_295u64}, {"totalInventory": 1}]},
            ]
        }));
        let stock = parse_product_stock(&body).expect("read").expect("a product");
        assert_eq!(stock.of("v1"), Some(&Ok(10_050)));
        assert_eq!(
            stock.of("V2"),
            Some(&Err(
                "data.variantInventories[1].inventory[0].totalInventory: \"-5\" is not a whole, non-negative number"
                    .into()
            ))
        );
        assert_eq!(stock.of("V3"), Some(&Ok(0)), "no warehouse holds it");
        assert!(matches!(stock.of("V4"), Some(Err(m)) if m.contains("listed twice")));
        assert!(matches!(stock.of("V5"), Some(Err(m)) if m.contains("32 bits")));
        assert_eq!(stock.unreadable, ["data.variantInventories[5].vid: missing"]);
        assert_eq!(parse_product_stock(&ok(Value::Null)), Ok(None));
        assert!(matches!(
            parse_product_stock(&ok(json!([1]))),
            Err(CjError::Malformed(_))
        ));
        assert!(matches!(
            parse_product_stock(&ok(json!({"variantInventories": 3}))),
            Err(CjError::Malformed(_))
        ));
    }

    #[test]
    fn single_variant_readers_are_lenient_inside_a_good_envelope() {
        let entry = parse_variant_entry(&ok(json!({"vid": "V", "variantSellPrice": "1.005"}))).expect("read");
        assert!(matches!(entry, Some(Ok(CjVariantEntry { sell_price: Err(_), .. }))));
        assert!(matches!(parse_variant_entry(&ok(json!([1]))), Ok(Some(Err(_)))));
        assert_eq!(parse_variant_entry(&ok(Value::Null)), Ok(None));
        assert_eq!(
            parse_stock_entry(&ok(json!([{"totalInventoryNum": 3}, {"storageNum": "2"}, {}]))),
            Ok(Some(Ok(5)))
        );
        assert_eq!(
            parse_stock_entry(&ok(json!([{"totalInventoryNum": -1}]))),
            Ok(Some(Err(
                "data[0].totalInventoryNum: \"-1\" is not a whole, non-negative number".into()
            )))
        );
        assert!(matches!(parse_stock_entry(b"not json"), Err(CjError::Malformed(_))));
    }
}
