//! What CJ sells now: the `data` of `GET /product/variant/queryByVid?vid=` (one variant, its
//! SKU and sell price) and of `GET /product/stock/queryByVid?vid=` (its stock per warehouse).
//!
//! Both are read before an order is placed: a variant CJ no longer answers for, or whose price
//! moved, is SKU drift the engine must see before it buys.
//!
//! Shapes, from CJ's product page (§2.2 "Variant Id Inquiry", §3.1 "Inventory Inquiry"): the
//! variant is one object (`vid`, `pid`, `variantSku`, `variantNameEn`, `variantSellPrice` in
//! USD, …); the stock is a list of warehouses (`areaId`, `areaEn`, `countryCode`,
//! `totalInventoryNum`, and the deprecated `storageNum` older answers still carry). What CJ
//! answers for a variant it no longer sells is not documented: `data: null` is read as "no such
//! variant" (`None`).

use super::envelope::{self, CjError};
use super::values::{self, Fields};
use dropline_domain::money::{Currency, Money};
use serde_json::Value;

/// The highest sell price believed for one variant: 10,000.00 USD. CJ sells dropshipping
/// goods; a price above this is a broken answer, refused rather than passed to a margin check.
pub const MAX_VARIANT_PRICE_CENTS: i64 = 1_000_000;

fn usd() -> Currency {
    Currency::parse("USD").unwrap_or_else(|_| unreachable!("USD is an ISO 4217 code"))
}

/// One variant as CJ sells it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CjVariantInfo {
    /// CJ's variant id (`vid`).
    pub vid: String,
    /// CJ's product id (`pid`), when given.
    pub pid: Option<String>,
    /// CJ's variant SKU (`variantSku`).
    pub sku: String,
    /// English name (`variantNameEn`, else `variantName`), when given.
    pub name: Option<String>,
    /// What CJ charges for one (`variantSellPrice`), in USD: above zero and at most
    /// [`MAX_VARIANT_PRICE_CENTS`].
    pub sell_price: Money,
}

/// Reads a `variant/queryByVid` body; `None` when CJ answers without data (no such variant).
pub fn parse_variant(body: &[u8]) -> Result<Option<CjVariantInfo>, CjError> {
    let data: Option<Value> = envelope::parse(body)?;
    let Some(data) = data else {
        return Ok(None);
    };
    let item = Fields::new(&data, "data")?;
    let sell_price = sell_price(&item)?;
    Ok(Some(CjVariantInfo {
        vid: item.required_text("vid")?,
        pid: item.text("pid")?,
        sku: item.required_text("variantSku")?,
        name: match item.text("variantNameEn")? {
            Some(name) => Some(name),
            None => item.text("variantName")?,
        },
        sell_price,
    }))
}

/// `variantSellPrice` of a variant object, in USD: above zero and at most
/// [`MAX_VARIANT_PRICE_CENTS`].
pub(crate) fn sell_price(item: &Fields<'_>) -> Result<Money, CjError> {
    let price = item
        .plausible_money("variantSellPrice", Money::new(MAX_VARIANT_PRICE_CENTS, usd()))?
        .ok_or_else(|| item.missing("variantSellPrice", ""))?;
    // A variant is never given away: zero is a missing price written as a number.
    if price.minor == 0 {
        return Err(item.invalid("variantSellPrice", "0 is not a price"));
    }
    Ok(price)
}

/// A variant's stock in one CJ warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseStock {
    /// CJ's warehouse id (`areaId`), when given.
    pub warehouse_id: Option<String>,
    /// The warehouse's name (`areaEn`), when given.
    pub warehouse: Option<String>,
    /// Country of the warehouse (`countryCode`), when given.
    pub country_code: Option<String>,
    /// Units (`totalInventoryNum`, else the deprecated `storageNum`; neither reads as 0).
    pub quantity: u32,
}

/// Reads a `stock/queryByVid` body; `None` when CJ answers without data (no such variant), an
/// empty list when it has the variant in no warehouse.
pub fn parse_stock(body: &[u8]) -> Result<Option<Vec<WarehouseStock>>, CjError> {
    let data: Option<Vec<Value>> = envelope::parse(body)?;
    let Some(items) = data else {
        return Ok(None);
    };
    values::each(&items, |item| {
        let quantity = match item.count("totalInventoryNum")? {
            Some(quantity) => quantity,
            None => item.count("storageNum")?.unwrap_or(0),
        };
        Ok(WarehouseStock {
            warehouse_id: item.text("areaId")?,
            warehouse: item.text("areaEn")?,
            country_code: item.text("countryCode")?,
            quantity,
        })
    })
    .map(Some)
}

/// Units over all warehouses; a sum that does not fit is [`CjError::Malformed`].
pub fn total_stock(warehouses: &[WarehouseStock]) -> Result<u32, CjError> {
    warehouses.iter().try_fold(0u32, |sum, warehouse| {
        sum.checked_add(warehouse.quantity)
            .ok_or_else(|| CjError::Malformed("data: total stock does not fit in 32 bits".to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(data: Value) -> Vec<u8> {
        json!({"code": 200, "result": true, "message": "Success", "data": data})
            .to_string()
            .into_bytes()
    }

    fn malformed(message: &str) -> CjError {
        CjError::Malformed(message.to_string())
    }

    #[test]
    fn variant_is_read_with_an_exact_price() {
        let body = ok(json!({
            "vid": "7874B45D-E971-4DC8-8F59-40530B0F6B77", "pid": "P1", "variantSku": "CJNS1-Black",
            "variantNameEn": "Lamp Black", "variantSellPrice": 7.49, "variantWeight": 120.5
        }));
        assert_eq!(
            parse_variant(&body),
            Ok(Some(CjVariantInfo {
                vid: "7874B45D-E971-4DC8-8F59-40530B0F6B77".into(),
                pid: Some("P1".into()),
                sku: "CJNS1-Black".into(),
                name: Some("Lamp Black".into()),
                sell_price: Money::new(749, usd()),
            }))
        );
        assert_eq!(parse_variant(&ok(Value::Null)), Ok(None));
    }

    #[test]
    fn bad_variants_are_malformed_naming_the_field() {
        let cases = [
            (
                json!({"vid": "V", "variantSku": "S", "variantSellPrice": -1}),
                "data.variantSellPrice: -1 is a negative amount",
            ),
            (
                json!({"vid": "V", "variantSku": "S", "variantSellPrice": 0}),
                "data.variantSellPrice: 0 is not a price",
            ),
            (
                json!({"vid": "V", "variantSku": "S", "variantSellPrice": "10000.01"}),
                "data.variantSellPrice: 10000.01 USD is above the plausible ceiling of 10000.00 USD",
            ),
            (json!({"vid": "V", "variantSku": "S"}), "data.variantSellPrice: missing"),
            (json!({"variantSku": "S", "variantSellPrice": 1}), "data.vid: missing"),
            (json!([1]), "data: an array is not an object"),
        ];
        for (data, expected) in cases {
            assert_eq!(parse_variant(&ok(data.clone())), Err(malformed(expected)), "{data}");
        }
    }

    #[test]
    fn stock_is_summed_over_warehouses() {
        let body = ok(json!([
            {"vid": 1, "areaId": 2, "areaEn": "China Warehouse", "countryCode": "CN", "totalInventoryNum": 10, "storageNum": 99},
            {"areaEn": "US Warehouse", "countryCode": "US", "storageNum": "3"},
            {"countryCode": "DE"},
        ]));
        let stock = parse_stock(&body).expect("stock").expect("known variant");
        assert_eq!(stock.iter().map(|w| w.quantity).collect::<Vec<_>>(), [10, 3, 0]);
        assert_eq!(stock[0].warehouse_id.as_deref(), Some("2"));
        assert_eq!(total_stock(&stock), Ok(13));
        assert_eq!(parse_stock(&ok(Value::Null)), Ok(None));
        assert_eq!(parse_stock(&ok(json!([]))), Ok(Some(vec![])));
    }

    #[test]
    fn bad_stock_is_malformed() {
        assert_eq!(
            parse_stock(&ok(json!([{"totalInventoryNum": -4}]))),
            Err(malformed(
                "data[0].totalInventoryNum: \"-4\" is not a whole, non-negative number"
            ))
        );
        assert!(matches!(parse_stock(&ok(json!({"a": 1}))), Err(CjError::Malformed(m)) if m.starts_with("data:")));
        let huge = [u32::MAX, 1].map(|quantity| WarehouseStock {
            warehouse_id: None,
            warehouse: None,
            country_code: None,
            quantity,
        });
        assert!(matches!(total_stock(&huge), Err(CjError::Malformed(_))));
    }
}
